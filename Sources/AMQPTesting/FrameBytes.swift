public import AMQPCodec

/// Builds the bytes a peer sends: well-formed frames from performatives, and broken ones
/// (lying sizes, bad data offsets, unknown types, hand-made bodies) for hostile tests.
public enum FrameBytes {
    /// A protocol header's 8 bytes.
    public static func header(_ header: ProtocolHeader) -> [UInt8] { header.bytes }

    /// An AMQP frame on `channel` holding `performative`, followed by `payload`.
    public static func frame(_ performative: Performative, channel: UInt16 = 0, payload: [UInt8] = []) -> [UInt8] {
        encoded { (e) throws(EncodeError) in
            if payload.isEmpty {
                try FrameEncoder.encode(performative, channel: channel, into: &e)
            } else {
                let r: Result<Void, EncodeError> = payload.withUnsafeBytes { raw in
                    Result { () throws(EncodeError) in try FrameEncoder.encode(performative, channel: channel, payload: raw, into: &e) }
                }
                try r.get()
            }
        }
    }

    /// A SASL frame holding `performative`.
    public static func frame(_ performative: SASLPerformative) -> [UInt8] {
        encoded { (e) throws(EncodeError) in try FrameEncoder.encode(performative, into: &e) }
    }

    /// An empty frame (a heartbeat).
    public static func emptyFrame(channel: UInt16 = 0) -> [UInt8] {
        encoded { (e) throws(EncodeError) in try FrameEncoder.encodeEmptyFrame(channel: channel, into: &e) }
    }

    /// A frame with every header field chosen by hand.
    ///
    /// - Parameters:
    ///   - type: the type byte (0 AMQP, 1 SASL; anything else is unknown).
    ///   - channel: the channel.
    ///   - dataOffset: the data offset in 4-byte words; `nil` for 2 plus the extended
    ///     header's words.
    ///   - extendedHeader: bytes between the fixed header and the body.
    ///   - body: the body bytes (a performative, or anything).
    ///   - size: the size field; `nil` for the true size. Set it to lie.
    public static func rawFrame(
        type: UInt8 = 0, channel: UInt16 = 0, dataOffset: UInt8? = nil, extendedHeader: [UInt8] = [],
        body: [UInt8], size: UInt32? = nil
    ) -> [UInt8] {
        let total = 8 + extendedHeader.count + body.count
        let doff = dataOffset ?? UInt8(truncatingIfNeeded: 2 + (extendedHeader.count + 3) / 4)
        let s = size ?? UInt32(truncatingIfNeeded: total)
        var out: [UInt8] = [UInt8(s >> 24), UInt8((s >> 16) & 0xFF), UInt8((s >> 8) & 0xFF), UInt8(s & 0xFF)]
        out += [doff, type, UInt8(channel >> 8), UInt8(channel & 0xFF)]
        return out + extendedHeader + body
    }

    /// A performative's encoding alone (no frame header), to corrupt or wrap by hand.
    public static func body(_ performative: Performative) -> [UInt8] {
        encoded { (e) throws(EncodeError) in try performative.encode(into: &e) }
    }

    /// A SASL performative's encoding alone.
    public static func body(_ performative: SASLPerformative) -> [UInt8] {
        encoded { (e) throws(EncodeError) in try performative.encode(into: &e) }
    }

    /// Any value's encoding: e.g. a described list with fields of the wrong types,
    /// `.described(descriptor: .ulong(0x10), value: .list([.uint(1)]))`.
    public static func body(_ value: AMQPValue) -> [UInt8] {
        encoded { (e) throws(EncodeError) in try value.encode(into: &e) }
    }

    /// A described list with descriptor `code` whose fields are given as raw encodings
    /// (so fields can be invalid: bad UTF-8, non-ASCII symbols, lying counts).
    public static func describedList(_ code: UInt64, rawFields: [[UInt8]]) -> [UInt8] {
        let content = rawFields.flatMap { $0 }
        var out = encoded { (e) throws(EncodeError) in try e.encodeDescriptor(code) }
        let size = UInt32(content.count + 4)
        out += [0xD0] + bigEndian(size) + bigEndian(UInt32(rawFields.count)) + content
        return out
    }

    /// The big-endian bytes of `value`.
    public static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    /// Encodes with a growing buffer; a failure here is a bug in the test's own input.
    static func encoded(_ body: (inout AMQPEncoder) throws(EncodeError) -> Void) -> [UInt8] {
        switch Result(catching: { () throws(EncodeError) in try AMQPEncoder.encode(body) }) {
        case .success(let bytes): return bytes
        case .failure(let error): preconditionFailure("cannot encode a test frame: \(error)")
        }
    }
}
