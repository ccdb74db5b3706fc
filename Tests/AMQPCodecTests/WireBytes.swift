import AMQPCodec

/// Byte helpers shared by the value- and frame-layer evidence (golden vectors, split
/// feeding, the malformed corpus, round trips).
enum WireBytes {
    /// Bytes from hex text; white space is ignored. Traps on bad text: test tables are
    /// written by hand, and a typo there must stop the run, not pass silently.
    static func hex(_ text: String) -> [UInt8] {
        guard let bytes = Hex.decode(text.utf8) else { fatalError("bad hex in a test table: \(text)") }
        return bytes
    }

    /// A big-endian UInt32 as four bytes.
    static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(truncatingIfNeeded: v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    /// Decodes exactly one value filling `bytes` and materializes it (full iteration).
    static func decodeValue(_ bytes: [UInt8], limits: DecodeLimits = .default) -> Result<AMQPValue, DecodeError> {
        Result { () throws(DecodeError) -> AMQPValue in try AMQPValue(decoding: bytes, limits: limits) }
    }

    /// The value's encoding, by the growing-buffer entry point.
    static func encode(_ value: AMQPValue) -> Result<[UInt8], EncodeError> {
        Result { () throws(EncodeError) -> [UInt8] in try value.encoded() }
    }

    /// Encodes into a buffer of exactly `capacity` bytes that sits inside a larger, guarded
    /// allocation, and reports whether any byte past `capacity` was touched.
    static func encode(_ value: AMQPValue, capacity: Int) -> (result: Result<[UInt8], EncodeError>, wroteOutside: Bool) {
        let guardBytes = 64
        let canary: UInt8 = 0xA5
        var storage = [UInt8](repeating: canary, count: capacity + guardBytes)
        let result = storage.withUnsafeMutableBytes { raw -> Result<[UInt8], EncodeError> in
            let region = UnsafeMutableRawBufferPointer(rebasing: raw[0..<capacity])
            var e = AMQPEncoder(region)
            return Result { () throws(EncodeError) -> [UInt8] in
                try value.encode(into: &e)
                return Array(e.written)
            }
        }
        let wroteOutside = storage[capacity...].contains { $0 != canary }
        return (result, wroteOutside)
    }
}

/// SplitMix64: a tiny deterministic generator, so every "random" chunking or sample is
/// the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
