/// Any of the nine AMQP performatives (part 2, section 2.7): the body of an AMQP frame.
///
/// Decoding dispatches on the descriptor, numeric or symbolic. `attach`, more than twice
/// the size of any other, is boxed (it allocates on decode anyway), so the enum is no
/// larger than a `Transfer`.
public enum Performative: Hashable, Sendable {
    /// `open` (0x10).
    case open(Open)
    /// `begin` (0x11).
    case begin(Begin)
    /// `attach` (0x12).
    indirect case attach(Attach)
    /// `flow` (0x13).
    case flow(Flow)
    /// `transfer` (0x14).
    case transfer(Transfer)
    /// `disposition` (0x15).
    case disposition(Disposition)
    /// `detach` (0x16).
    case detach(Detach)
    /// `end` (0x17).
    case end(End)
    /// `close` (0x18).
    case close(Close)

    /// Decodes the performative `d` describes. A descriptor that names no performative
    /// is `unexpectedDescriptor`.
    @inline(__always)
    public init(decoding d: DescribedView) throws(DecodeError) {
        switch d.descriptor.knownCode {
        case Descriptors.transfer: self = .transfer(try Transfer(decoding: d))
        case Descriptors.disposition: self = .disposition(try Disposition(decoding: d))
        case Descriptors.flow: self = .flow(try Flow(decoding: d))
        case Descriptors.open: self = .open(try Open(decoding: d))
        case Descriptors.begin: self = .begin(try Begin(decoding: d))
        case Descriptors.attach: self = .attach(try Attach(decoding: d))
        case Descriptors.detach: self = .detach(try Detach(decoding: d))
        case Descriptors.end: self = .end(try End(decoding: d))
        case Descriptors.close: self = .close(try Close(decoding: d))
        default:
            throw DecodeError(
                .unexpectedDescriptor, at: d.encodedValue.offset,
                detail: "descriptor \(d.descriptor.text) is not an AMQP performative")
        }
    }

    /// Encodes the performative (without a frame header).
    @inline(__always)
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        switch self {
        case .open(let p): try p.encode(into: &e)
        case .begin(let p): try p.encode(into: &e)
        case .attach(let p): try p.encode(into: &e)
        case .flow(let p): try p.encode(into: &e)
        case .transfer(let p): try p.encode(into: &e)
        case .disposition(let p): try p.encode(into: &e)
        case .detach(let p): try p.encode(into: &e)
        case .end(let p): try p.encode(into: &e)
        case .close(let p): try p.encode(into: &e)
        }
    }

    /// The specification's name: `open`, `begin`, …, `close`.
    public var name: String {
        switch self {
        case .open: "open"
        case .begin: "begin"
        case .attach: "attach"
        case .flow: "flow"
        case .transfer: "transfer"
        case .disposition: "disposition"
        case .detach: "detach"
        case .end: "end"
        case .close: "close"
        }
    }

    /// The numeric descriptor.
    public var descriptor: UInt64 {
        switch self {
        case .open: Descriptors.open
        case .begin: Descriptors.begin
        case .attach: Descriptors.attach
        case .flow: Descriptors.flow
        case .transfer: Descriptors.transfer
        case .disposition: Descriptors.disposition
        case .detach: Descriptors.detach
        case .end: Descriptors.end
        case .close: Descriptors.close
        }
    }
}

extension FrameEncoder {
    /// Writes an AMQP frame (type 0) on `channel` holding `performative`, followed by
    /// `payload` (a transfer's message bytes) when given. On any error the encoder is
    /// rewound to where the frame would have started.
    @inline(__always)
    public static func encode(
        _ performative: Performative, channel: UInt16, payload: UnsafeRawBufferPointer? = nil,
        into e: inout AMQPEncoder
    ) throws(EncodeError) {
        try encodeFrame(type: .amqp, channel: channel, into: &e) { (e) throws(EncodeError) in
            try performative.encode(into: &e)
            if let payload { try e.writeBytes(payload) }
        }
    }
}

extension FrameView {
    /// The frame's performative, decoded; `nil` for an empty (heartbeat) frame. A SASL
    /// frame is `unexpectedDescriptor`: its body is not an AMQP performative.
    @inline(__always)
    public func performativeValue() throws(DecodeError) -> Performative? {
        guard let performative else { return nil }
        guard header.type == .amqp else {
            throw DecodeError(
                .unexpectedDescriptor, at: performative.encodedValue.offset,
                detail: "a SASL frame does not carry an AMQP performative")
        }
        return try Performative(decoding: performative)
    }
}
