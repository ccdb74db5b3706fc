public import AMQPCodec

/// One unit of an AMQP byte stream, decoded into owned values so it can be kept, compared
/// and printed after the bytes are gone.
public enum DecodedFrame: Hashable, Sendable, CustomStringConvertible {
    /// A protocol header (`AMQP 0 1.0.0`, `AMQP 3 1.0.0`).
    case header(ProtocolHeader)
    /// An AMQP frame (type 0) on `channel`, its performative and any payload after it.
    case amqp(channel: UInt16, Performative, payload: [UInt8])
    /// A SASL frame (type 1).
    case sasl(SASLPerformative)
    /// A frame without a body: a heartbeat.
    case empty(channel: UInt16)
    /// A frame whose header could be read but whose body could not be decoded; `bytes`
    /// is the whole frame.
    case undecodable(FrameHeader, bytes: [UInt8], error: DecodeError)
    /// Bytes that cannot be cut into frames (a broken frame header); nothing after them
    /// can be decoded either.
    case garbage(bytes: [UInt8], error: DecodeError)

    /// The AMQP performative, if this is an AMQP frame.
    public var performative: Performative? {
        if case .amqp(_, let p, _) = self { return p }
        return nil
    }

    /// The SASL performative, if this is a SASL frame.
    public var saslPerformative: SASLPerformative? {
        if case .sasl(let p) = self { return p }
        return nil
    }

    /// The frame's channel (0 for SASL frames); `nil` for headers and garbage.
    public var channel: UInt16? {
        switch self {
        case .amqp(let c, _, _), .empty(let c): c
        case .sasl: 0
        case .undecodable(let h, _, _): h.channel
        case .header, .garbage: nil
        }
    }

    /// The protocol header, if this is one.
    public var protocolHeader: ProtocolHeader? {
        if case .header(let h) = self { return h }
        return nil
    }

    /// True for a heartbeat.
    public var isEmptyFrame: Bool {
        if case .empty = self { return true }
        return false
    }

    /// A compact, one-line rendering for failure messages, e.g.
    /// `[0] OPEN(container-id: "c", max-frame-size: 512)` or `HEADER AMQP 3 1.0.0`.
    public var description: String {
        switch self {
        case .header(let h): "HEADER \(h)"
        case .amqp(let c, let p, let payload):
            "[\(c)] \(FrameDescription.describe(p))" + (payload.isEmpty ? "" : " +\(payload.count) payload bytes")
        case .sasl(let p): FrameDescription.describe(p)
        case .empty(let c): "[\(c)] EMPTY"
        case .undecodable(let h, let bytes, let error):
            "UNDECODABLE \(FrameDescription.describe(h)) \(error) \(FrameDescription.hex(bytes, limit: 24))"
        case .garbage(let bytes, let error): "GARBAGE \(error) \(FrameDescription.hex(bytes, limit: 24))"
        }
    }

    /// Decodes a whole byte stream (what an engine produced) into frames. A trailing
    /// incomplete frame is reported as `.garbage` with a `truncated` error.
    public static func decodeAll(_ bytes: [UInt8]) -> [DecodedFrame] {
        var decoder = FrameStreamDecoder()
        var frames = decoder.feed(bytes)
        if !decoder.buffered.isEmpty {
            frames.append(.garbage(bytes: decoder.buffered, error: DecodeError(
                .truncated, at: bytes.count - decoder.buffered.count,
                detail: "the stream ends inside a frame (\(decoder.buffered.count) bytes left)")))
        }
        return frames
    }
}

/// Cuts a byte stream, fed in pieces of any size, into `DecodedFrame`s.
///
/// A protocol header may appear at any frame boundary: the four bytes `AMQP` there are
/// read as a header (as a frame size they would claim over 1 GiB, which no test sends).
public struct FrameStreamDecoder: Sendable {
    /// Bytes fed but not yet decoded: the start of an incomplete frame.
    public private(set) var buffered: [UInt8] = []
    /// True after garbage: the stream cannot be cut into frames any more, and everything
    /// fed from then on is reported as garbage.
    public private(set) var isDesynchronized = false
    /// Limits for decoding performatives.
    public var limits: DecodeLimits

    /// Creates a decoder.
    public init(limits: DecodeLimits = .default) {
        self.limits = limits
    }

    /// Adds `bytes` to the stream and returns every frame now complete.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [DecodedFrame] {
        feedCountingBytes(bytes).map(\.frame)
    }

    /// Like `feed(_:)`, with the number of bytes each frame took on the wire.
    public mutating func feedCountingBytes(_ bytes: some Sequence<UInt8>) -> [(frame: DecodedFrame, byteCount: Int)] {
        buffered.append(contentsOf: bytes)
        if isDesynchronized {
            defer { buffered.removeAll() }
            return buffered.isEmpty ? [] : [(.garbage(bytes: buffered, error: DecodeError(
                .invalidFrameHeader, at: 0, detail: "after an earlier broken frame", condition: .framingError)), buffered.count)]
        }
        var frames: [(frame: DecodedFrame, byteCount: Int)] = []
        var consumed = 0
        let limits = self.limits
        var lostSync = false
        buffered.withUnsafeBytes { all in
            while consumed < all.count {
                let rest = UnsafeRawBufferPointer(rebasing: all[consumed...])
                if rest.count >= 4 && rest[0] == 0x41 && rest[1] == 0x4D && rest[2] == 0x51 && rest[3] == 0x50 {
                    guard rest.count >= ProtocolHeader.size else { return }
                    switch Result(catching: { () throws(DecodeError) in try ProtocolHeader.decode(rest, baseOffset: consumed) }) {
                    case .success(.header(let h)):
                        frames.append((.header(h), ProtocolHeader.size))
                    case .success(.needMore):
                        return
                    case .failure(let error):
                        frames.append((.garbage(bytes: Array(rest), error: error), rest.count))
                        lostSync = true
                        consumed = all.count
                        return
                    }
                    consumed += ProtocolHeader.size
                    continue
                }
                let decoder = FrameDecoder(maxFrameSize: .max, limits: limits)
                switch Result(catching: { () throws(DecodeError) in try decoder.decode(rest, baseOffset: consumed) }) {
                case .success(.needMore):
                    return
                case .success(.frame(let frame)):
                    frames.append((Self.decoded(frame, bytes: rest), frame.length))
                    consumed += frame.length
                case .failure(let error):
                    // The header is readable (the decoder reached the body) when the
                    // error is past it: keep going after this frame.
                    if rest.count >= FrameHeader.size, let header = Self.header(rest), error.code != .invalidFrameHeader,
                        error.code != .unknownFrameType, Int(header.size) <= rest.count
                    {
                        frames.append((.undecodable(header, bytes: Array(rest[..<Int(header.size)]), error: error), Int(header.size)))
                        consumed += Int(header.size)
                    } else {
                        frames.append((.garbage(bytes: Array(rest), error: error), rest.count))
                        lostSync = true
                        consumed = all.count
                        return
                    }
                }
            }
        }
        buffered.removeFirst(consumed)
        if lostSync { isDesynchronized = true }
        return frames
    }

    static func header(_ bytes: UnsafeRawBufferPointer) -> FrameHeader? {
        let size = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        guard let type = FrameHeader.FrameType(rawValue: bytes[5]) else { return nil }
        let channel = UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
        return FrameHeader(size: size, dataOffset: bytes[4], type: type, channel: channel)
    }

    static func decoded(_ frame: FrameView, bytes: UnsafeRawBufferPointer) -> DecodedFrame {
        let whole = Array(bytes[..<frame.length])
        guard frame.performative != nil else { return .empty(channel: frame.header.channel) }
        switch frame.header.type {
        case .amqp:
            switch Result(catching: { () throws(DecodeError) in try frame.performativeValue() }) {
            case .success(let p?): return .amqp(channel: frame.header.channel, p, payload: frame.payload.array)
            case .success(nil): return .empty(channel: frame.header.channel)
            case .failure(let error): return .undecodable(frame.header, bytes: whole, error: error)
            }
        case .sasl:
            switch Result(catching: { () throws(DecodeError) in try frame.saslPerformative() }) {
            case .success(let p?): return .sasl(p)
            case .success(nil): return .empty(channel: frame.header.channel)
            case .failure(let error): return .undecodable(frame.header, bytes: whole, error: error)
            }
        }
    }
}
