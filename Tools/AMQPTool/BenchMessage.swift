import AMQPCodec

/// The message every `amqp bench` sender sends: a properties section (`to`) and one data
/// section of `bodySize` bytes, whose first 16 bytes carry a stamp the receiver reads:
///
/// | bytes | what |
/// |---|---|
/// | 0..<8 | send time, CLOCK_MONOTONIC nanoseconds, little-endian |
/// | 8..<12 | the sending pair's index, little-endian |
/// | 12..<16 | the run's nonce: messages left in a broker's queue by another run do not count |
///
/// Encoded once per pool slot; sending only overwrites the time in place.
public struct BenchMessage: Sendable {
    /// Bytes at the start of the body that the stamp takes.
    public static let stampSize = 16

    /// The encoded message, its time zero.
    public let bytes: [UInt8]
    /// Where the body (the data section's bytes) starts in `bytes`.
    public let bodyOffset: Int
    /// Bytes in the body.
    public let bodySize: Int

    /// Encodes the message for `pair` of the run `nonce`.
    ///
    /// - Precondition: `bodySize >= stampSize`.
    public init(bodySize: Int, address: String, pair: UInt32, nonce: UInt32) {
        precondition(bodySize >= Self.stampSize, "a bench body holds a \(Self.stampSize)-byte stamp")
        var body = (0..<bodySize).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        body.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt64(0), toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: pair.littleEndian, toByteOffset: 8, as: UInt32.self)
            raw.storeBytes(of: nonce.littleEndian, toByteOffset: 12, as: UInt32.self)
        }
        var properties = MessageProperties()
        properties.to = address
        // Built from checked values: encoding cannot fail.
        bytes = try! Message(properties: properties, body: .data([body])).encoded()
        // The data section is the last section: the body is the message's tail.
        bodyOffset = bytes.count - bodySize
        self.bodySize = bodySize
    }

    /// Writes the send time into an encoded message of this layout.
    @inline(__always)
    public func stamp(_ message: UnsafeMutableRawBufferPointer, time: UInt64) {
        message.storeBytes(of: time.littleEndian, toByteOffset: bodyOffset, as: UInt64.self)
    }

    /// A received stamp.
    public struct Stamp: Hashable, Sendable {
        /// Send time (CLOCK_MONOTONIC nanoseconds).
        public var time: UInt64
        /// The sending pair.
        public var pair: UInt32
    }

    /// Reads the stamp of run `nonce` from the first bytes of a received message (the
    /// whole message, or the first frame's part of it). Where this layout puts it when the
    /// message arrives as it was sent; otherwise (a broker added sections in front) the
    /// first data section's start is searched for. `nil`: not a message of this run.
    public func readStamp(_ payload: UnsafeRawBufferPointer, nonce: UInt32) -> Stamp? {
        if let s = Self.stamp(in: payload, at: bodyOffset, nonce: nonce) { return s }
        // A data section: descriptor 0x00 0x53 0x75, then vbin8 (0xa0, 1-byte size) or
        // vbin32 (0xb0, 4-byte size).
        var i = 0
        while i + 5 + Self.stampSize <= payload.count {
            if payload[i] == 0x00 && payload[i + 1] == 0x53 && payload[i + 2] == 0x75 {
                let start = payload[i + 3] == 0xa0 ? i + 5 : payload[i + 3] == 0xb0 ? i + 8 : -1
                if start >= 0, let s = Self.stamp(in: payload, at: start, nonce: nonce) { return s }
            }
            i += 1
        }
        return nil
    }

    @inline(__always)
    static func stamp(in payload: UnsafeRawBufferPointer, at offset: Int, nonce: UInt32) -> Stamp? {
        guard offset >= 0, offset + stampSize <= payload.count,
            UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self)) == nonce
        else { return nil }
        return Stamp(
            time: UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: offset, as: UInt64.self)),
            pair: UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)))
    }
}
