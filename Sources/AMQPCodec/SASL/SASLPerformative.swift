/// Any of the five SASL frame bodies (part 5, section 5.3.3).
public enum SASLPerformative: Hashable, Sendable {
    /// `sasl-mechanisms` (0x40).
    case saslMechanisms(SASLMechanisms)
    /// `sasl-init` (0x41).
    case saslInit(SASLInit)
    /// `sasl-challenge` (0x42).
    case saslChallenge(SASLChallenge)
    /// `sasl-response` (0x43).
    case saslResponse(SASLResponse)
    /// `sasl-outcome` (0x44).
    case saslOutcome(SASLOutcome)

    /// Decodes the SASL body `d` describes. A descriptor that names no SASL body is
    /// `unexpectedDescriptor`.
    public init(decoding d: DescribedView) throws(DecodeError) {
        switch d.descriptor.knownCode {
        case Descriptors.saslMechanisms: self = .saslMechanisms(try SASLMechanisms(decoding: d))
        case Descriptors.saslInit: self = .saslInit(try SASLInit(decoding: d))
        case Descriptors.saslChallenge: self = .saslChallenge(try SASLChallenge(decoding: d))
        case Descriptors.saslResponse: self = .saslResponse(try SASLResponse(decoding: d))
        case Descriptors.saslOutcome: self = .saslOutcome(try SASLOutcome(decoding: d))
        default:
            throw DecodeError(
                .unexpectedDescriptor, at: d.encodedValue.offset,
                detail: "descriptor \(d.descriptor.text) is not a SASL performative")
        }
    }

    /// Encodes the body (without a frame header).
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        switch self {
        case .saslMechanisms(let p): try p.encode(into: &e)
        case .saslInit(let p): try p.encode(into: &e)
        case .saslChallenge(let p): try p.encode(into: &e)
        case .saslResponse(let p): try p.encode(into: &e)
        case .saslOutcome(let p): try p.encode(into: &e)
        }
    }

    /// The specification's name: `sasl-mechanisms`, …, `sasl-outcome`.
    public var name: String {
        switch self {
        case .saslMechanisms: "sasl-mechanisms"
        case .saslInit: "sasl-init"
        case .saslChallenge: "sasl-challenge"
        case .saslResponse: "sasl-response"
        case .saslOutcome: "sasl-outcome"
        }
    }

    /// The numeric descriptor.
    public var descriptor: UInt64 {
        switch self {
        case .saslMechanisms: Descriptors.saslMechanisms
        case .saslInit: Descriptors.saslInit
        case .saslChallenge: Descriptors.saslChallenge
        case .saslResponse: Descriptors.saslResponse
        case .saslOutcome: Descriptors.saslOutcome
        }
    }
}

extension FrameEncoder {
    /// Writes a SASL frame (type 1, channel 0) holding `performative`. On any error the
    /// encoder is rewound to where the frame would have started.
    public static func encode(_ performative: SASLPerformative, into e: inout AMQPEncoder) throws(EncodeError) {
        try encodeFrame(type: .sasl, channel: 0, into: &e) { (e) throws(EncodeError) in
            try performative.encode(into: &e)
        }
    }
}

extension FrameView {
    /// The frame's SASL body, decoded; `nil` for an empty frame. An AMQP frame is
    /// `unexpectedDescriptor`: its body is not a SASL performative.
    public func saslPerformative() throws(DecodeError) -> SASLPerformative? {
        guard let performative else { return nil }
        guard header.type == .sasl else {
            throw DecodeError(
                .unexpectedDescriptor, at: performative.encodedValue.offset,
                detail: "an AMQP frame does not carry a SASL performative")
        }
        return try SASLPerformative(decoding: performative)
    }
}
