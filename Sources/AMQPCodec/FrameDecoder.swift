/// A frame decoded in place: header, performative and payload, all borrowed from the
/// bytes given to `FrameDecoder.decode`.
public struct FrameView {
    /// The 8-byte header.
    public let header: FrameHeader
    /// Bytes between the fixed header and the body (empty unless `dataOffset > 2`).
    public let extendedHeader: BytesView
    /// The performative, or `nil` for an empty (heartbeat) frame.
    public let performative: DescribedView?
    /// The bytes after the performative (a transfer's message data); may be empty.
    public let payload: BytesView
    /// Bytes the whole frame took (`header.size`).
    public var length: Int { Int(header.size) }
    /// True for a frame with no body: a heartbeat.
    public var isEmpty: Bool { performative == nil }
}

/// Cuts frames out of a byte stream without copying.
///
/// Stateless: call `decode` with the bytes starting at a frame boundary; it answers
/// `.needMore(n)` (at least `n` more bytes are needed), a frame (advance by its `length`),
/// or throws. Frame-layer errors carry `amqp:connection:framing-error`; a malformed
/// performative carries `amqp:decode-error`.
public struct FrameDecoder: Sendable {
    /// The largest frame accepted: our announced `max-frame-size`.
    public var maxFrameSize: UInt32
    /// Bounds for decoding the performative.
    public var limits: DecodeLimits

    /// Creates a decoder. Before OPEN is exchanged, use 512 (the smallest value a peer
    /// may announce), as the specification requires for the frames that negotiate it.
    public init(maxFrameSize: UInt32 = UInt32.max, limits: DecodeLimits = .default) {
        self.maxFrameSize = maxFrameSize
        self.limits = limits
    }

    /// What `decode` found.
    public enum Result {
        /// At least this many more bytes are needed before a frame can be cut.
        case needMore(Int)
        /// A whole frame.
        case frame(FrameView)
    }

    /// Cuts the frame at the start of `bytes`.
    public func decode(_ bytes: UnsafeRawBufferPointer, baseOffset: Int = 0) throws(DecodeError) -> Result {
        guard bytes.count >= FrameHeader.size else { return .needMore(FrameHeader.size - bytes.count) }
        let size = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        let doff = bytes[4]
        let typeByte = bytes[5]
        let channel = UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
        func framing(_ code: DecodeError.Code, _ at: Int, _ detail: String) -> DecodeError {
            DecodeError(code, at: baseOffset + at, detail: detail, condition: .framingError)
        }
        guard size >= 8 else { throw framing(.invalidFrameHeader, 0, "size \(size) is below 8") }
        guard doff >= 2 else { throw framing(.invalidFrameHeader, 4, "data offset \(doff) is below 2") }
        guard UInt32(doff) * 4 <= size else {
            throw framing(.invalidFrameHeader, 4, "data offset \(doff) words exceeds size \(size)")
        }
        guard size <= maxFrameSize else {
            throw framing(.frameTooLarge, 0, "size \(size), maximum \(maxFrameSize)")
        }
        guard let type = FrameHeader.FrameType(rawValue: typeByte) else {
            throw framing(.unknownFrameType, 5, "type \(typeByte)")
        }
        let total = Int(size)
        guard bytes.count >= total else { return .needMore(total - bytes.count) }

        let bodyStart = Int(doff) * 4
        let extended = BytesView(UnsafeRawBufferPointer(rebasing: bytes[8..<bodyStart]), offset: baseOffset + 8)
        let header = FrameHeader(size: size, dataOffset: doff, type: type, channel: channel)
        if bodyStart == total {
            let none = BytesView(UnsafeRawBufferPointer(rebasing: bytes[total..<total]), offset: baseOffset + total)
            return .frame(FrameView(header: header, extendedHeader: extended, performative: nil, payload: none))
        }
        // The performative every frame carries, a smallulong descriptor and a list8, is
        // framed in place with the checks `ValueDecoder.decodeDescribed` and
        // `readCompoundHeader` make of it (depth 2 within the limit, size at least 1 and
        // within the body, count within the size and the element limit); anything else,
        // and any check that fails, takes the general decoder, which reports it.
        if total &- bodyStart >= 6, limits.storedMaxDepth >= 2, let base = bytes.baseAddress {
            // described, smallulong, code, list8, size, count
            let p = base + bodyStart
            let size = Int(p.load(fromByteOffset: 4, as: UInt8.self))
            let count = Int(p.load(fromByteOffset: 5, as: UInt8.self))
            if p.load(as: UInt8.self) == FormatCode.described, p.load(fromByteOffset: 1, as: UInt8.self) == FormatCode.smallULong,
                p.load(fromByteOffset: 3, as: UInt8.self) == FormatCode.list8, size >= 1, size <= total &- bodyStart &- 5,
                count <= size &- 1, UInt32(count) <= limits.storedMaxElements
            {
                let end = bodyStart &+ 5 &+ size
                let performative = DescribedView(
                    descriptor: .code(UInt64(p.load(fromByteOffset: 2, as: UInt8.self))),
                    encodedValue: EncodedValueView(
                        bytes: UnsafeRawBufferPointer(start: p + 3, count: size &+ 2), offset: baseOffset &+ bodyStart &+ 3, depth: 2,
                        limits: limits))
                let payload = BytesView(UnsafeRawBufferPointer(start: base + end, count: total &- end), offset: baseOffset &+ end)
                return .frame(FrameView(header: header, extendedHeader: extended, performative: performative, payload: payload))
            }
        }
        var reader = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[bodyStart..<total]), baseOffset: baseOffset + bodyStart)
        let codeAt = reader.position
        guard try reader.readByte() == FormatCode.described else {
            throw reader.error(.invalidPerformative, detail: "body does not start with a described value", at: codeAt)
        }
        let performative = try ValueDecoder.decodeDescribed(&reader, depth: 1, limits: limits, codeOffset: codeAt)
        let payloadStart = bodyStart + reader.position
        let payload = BytesView(UnsafeRawBufferPointer(rebasing: bytes[payloadStart..<total]), offset: baseOffset + payloadStart)
        return .frame(FrameView(header: header, extendedHeader: extended, performative: performative, payload: payload))
    }
}

/// Writes frames: header, performative and payload, straight into an encoder's buffer.
public enum FrameEncoder {
    /// Writes one frame; `body` encodes the performative (and anything else in the body).
    /// The size is back-patched. On `bufferTooSmall` the encoder is rewound to where the
    /// frame would have started, so a partial frame is never left behind.
    @inline(__always)
    public static func encodeFrame(
        type: FrameHeader.FrameType = .amqp, channel: UInt16, into e: inout AMQPEncoder,
        _ body: (inout AMQPEncoder) throws(EncodeError) -> Void
    ) throws(EncodeError) {
        let start = e.count
        do {
            try e.writeBigEndian(UInt32(0))
            try e.writeByte(2)
            try e.writeByte(type.rawValue)
            try e.writeBigEndian(channel)
            try body(&e)
        } catch {
            e.rewind(to: start)
            throw error
        }
        let size = e.count - start
        guard size <= Int(UInt32.max) else {
            e.rewind(to: start)
            throw EncodeError(.valueTooLarge)
        }
        e.base!.storeBytes(of: UInt32(truncatingIfNeeded: size).bigEndian, toByteOffset: start, as: UInt32.self)
    }

    /// Starts a frame: writes its header with the size left to `endFrame`, which gets the
    /// returned position. The two halves of `encodeFrame`, for a caller that writes the
    /// body in several steps and may rewind within it (rewind to the returned position
    /// to drop the frame). Inlinable: a sender calls both once per frame.
    @inlinable
    public static func beginFrame(type: FrameHeader.FrameType = .amqp, channel: UInt16, into e: inout AMQPEncoder) throws(EncodeError) -> Int {
        let start = e.count
        // One claim for the whole header: nothing is written unless all of it fits.
        let p = try e.claim(FrameHeader.size)
        p.storeBytes(of: UInt32(0), as: UInt32.self)
        (p + 4).storeBytes(of: 2, as: UInt8.self)
        (p + 5).storeBytes(of: type.rawValue, as: UInt8.self)
        (p + 6).storeBytes(of: channel.bigEndian, as: UInt16.self)
        return start
    }

    /// Ends the frame `beginFrame` started at `start`: writes its size.
    @inlinable
    public static func endFrame(_ start: Int, into e: inout AMQPEncoder) throws(EncodeError) {
        let size = e.count &- start
        guard size <= Int(UInt32.max) else {
            e.rewind(to: start)
            throw EncodeError(.valueTooLarge)
        }
        e.base.unsafelyUnwrapped.storeBytes(of: UInt32(truncatingIfNeeded: size).bigEndian, toByteOffset: start, as: UInt32.self)
    }

    /// Ends the frame `beginFrame` started at `start` when `external` more bytes of its
    /// body are not in the encoder but go out right after it (a payload sent by
    /// reference): writes the size that includes them.
    @inlinable
    public static func endFrame(_ start: Int, followedBy external: Int, into e: inout AMQPEncoder) throws(EncodeError) {
        let size = (e.count &- start) &+ external
        guard external >= 0, size <= Int(UInt32.max) else {
            e.rewind(to: start)
            throw EncodeError(.valueTooLarge)
        }
        e.base.unsafelyUnwrapped.storeBytes(of: UInt32(truncatingIfNeeded: size).bigEndian, toByteOffset: start, as: UInt32.self)
    }

    /// Writes an empty frame (a heartbeat): 8 bytes, no body.
    public static func encodeEmptyFrame(channel: UInt16 = 0, into e: inout AMQPEncoder) throws(EncodeError) {
        try FrameHeader(size: 8, type: .amqp, channel: channel).encode(into: &e)
    }
}
