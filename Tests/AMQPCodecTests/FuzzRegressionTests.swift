import AMQPCodec
import Testing

/// Inputs that Tools/Fuzz found breaking an oracle, kept so the bug stays fixed. Each test
/// names the oracle and the commit that fixed the codec.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    /// Decodes `bytes` as one described value and hands it to `body`.
    static func withDescribed<R>(_ bytes: [UInt8], _ body: (DescribedView) throws(DecodeError) -> R) throws -> R {
        try bytes.withUnsafeBytes { raw in
            let r = Result { () throws(DecodeError) -> R in
                let (view, consumed) = try ValueDecoder.decode(raw)
                guard consumed == raw.count, case .described(let d) = view else {
                    throw DecodeError(.unexpectedType, at: 0, detail: "test input is not one described value")
                }
                return try body(d)
            }
            return try r.get()
        }
    }

    /// Encodes with `encode` into a buffer of exactly `capacity` bytes, guarded by canary
    /// bytes after it; returns the bytes written, or the error, and whether any byte past
    /// `capacity` changed.
    static func encode(capacity: Int, _ encode: (inout AMQPEncoder) throws(EncodeError) -> Void) -> (Result<[UInt8], EncodeError>, wroteOutside: Bool) {
        let canary: UInt8 = 0xA5
        var storage = [UInt8](repeating: canary, count: capacity + 32)
        let result = storage.withUnsafeMutableBytes { raw in
            var e = AMQPEncoder(UnsafeMutableRawBufferPointer(rebasing: raw[0..<capacity]))
            return Result { () throws(EncodeError) -> [UInt8] in
                try encode(&e)
                return Array(e.written)
            }
        }
        return (result, storage[capacity...].contains { $0 != canary })
    }

    /// Oracle "composite round trip / bounded encoding": a composite whose trailing fields
    /// are absent did not fit a buffer of exactly its encoded size. FieldWriter wrote a
    /// null for each absent field and dropped the trailing ones only at `finish`, so it
    /// needed a byte of slack per trailing absent field (a frame that fits was refused at
    /// the end of an outbound ring). Fixed in FieldWriter.null: "Composites fit a buffer
    /// of exactly their size".
    @Test("composites with absent trailing fields fit a buffer of their exact size", arguments: [
        // The fuzzer's inputs: a source, an end and an accepted with no fields at all.
        "00 53 28 45",
        "00 53 17 45",
        "00 53 24 45",
        // A transfer with only its handle: ten absent fields after it.
        "00 53 14 c0 02 01 43",
        // An attach whose fields stop at the role; a flow whose last field is `echo`.
        "00 53 12 c0 06 03 a1 01 6c 43 41",
        "00 53 13 c0 0c 0b 40 43 43 43 40 40 40 40 40 41 40",
    ])
    func exactFit(hex: String) throws {
        let input = WireBytes.hex(hex)
        let decoded: Any = try Self.withDescribed(input) { (d) throws(DecodeError) -> Any in
            switch d.descriptor.knownCode {
            case Descriptors.source: return try Source(decoding: d)
            case Descriptors.accepted: return try DeliveryState(decoding: d)
            default: return try Performative(decoding: d)
            }
        }
        let encode: (inout AMQPEncoder) throws(EncodeError) -> Void = { (e) throws(EncodeError) in
            switch decoded {
            case let v as Source: try v.encode(into: &e)
            case let v as DeliveryState: try v.encode(into: &e)
            case let v as Performative: try v.encode(into: &e)
            default: Issue.record("unexpected type \(type(of: decoded))")
            }
        }
        let expected = try AMQPEncoder.encode { (e) throws(EncodeError) in try encode(&e) }
        let (exact, outside) = Self.encode(capacity: expected.count, encode)
        #expect(try exact.get() == expected)
        #expect(!outside)
        for capacity in 0..<expected.count {
            let (short, outside) = Self.encode(capacity: capacity, encode)
            #expect(short.failure?.code == .bufferTooSmall, "capacity \(capacity)")
            #expect(!outside, "capacity \(capacity)")
        }
    }

    /// The same through the frame encoder: the frame fits its exact size, and one byte
    /// less leaves nothing behind (FrameEncoder rewinds a partial frame).
    @Test("a frame with a sparse performative fits its exact size")
    func frameExactFit() throws {
        let transfer = try Self.withDescribed(WireBytes.hex("00 53 14 c0 02 01 43")) { (d) throws(DecodeError) in try Performative(decoding: d) }
        let payload: [UInt8] = [0x00, 0x53, 0x75, 0xA0, 0x01, 0x2A]
        let encode: (inout AMQPEncoder) throws(EncodeError) -> Void = { (e) throws(EncodeError) in
            try payload.withUnsafeBytes { raw in
                Result { () throws(EncodeError) in try FrameEncoder.encode(transfer, channel: 1, payload: raw, into: &e) }
            }.get()
        }
        let expected = try AMQPEncoder.encode { (e) throws(EncodeError) in try encode(&e) }
        #expect(try Self.encode(capacity: expected.count, encode).0.get() == expected)
        let (short, outside) = Self.encode(capacity: expected.count - 1, encode)
        #expect(short.failure?.code == .bufferTooSmall)
        #expect(!outside)
    }

    /// Oracle "a re-encoded value decodes under the same limits" (FuzzFrameDecoder with
    /// maxDepth 2, then FuzzValueDecoder at the default depth through 32 nested
    /// descriptors): an array of empty lists arrived with the zero-width constructor
    /// list0, which the depth limit let through, and re-encoded with list32 elements
    /// (`d0 00000004 00000000` each), which it refused: the decoder checked the depth of a
    /// list8/list32, map or array before its count, so an empty one nested "too deep"
    /// where list0 did not. An empty compound nests nothing and now passes at any depth.
    @Test("an empty list8/list32/map/array passes the depth limit like list0")
    func emptyCompoundsPassTheDepthLimit() throws {
        let limits = DecodeLimits(maxDepth: 2, maxElements: 4)
        let viaList0: [UInt8] = [0x00, 0x53, 0x14, 0xE0, 0x02, 0x03, 0x45]
        let decoded = try AMQPValue(decoding: viaList0, limits: limits)
        let reencoded = try decoded.encoded()
        #expect(reencoded == [0x00, 0x53, 0x14, 0xE0, 0x1A, 0x03, 0xD0] +
            Array([[UInt8]](repeating: [0, 0, 0, 4, 0, 0, 0, 0], count: 3).joined()))
        #expect(try AMQPValue(decoding: reencoded, limits: limits) == decoded)
        // Each empty form at depth 3 (described → array → element), and the same with one
        // element inside, which does nest and is still refused.
        for empty: [UInt8] in [[0xC0, 0x01, 0x00], [0xC1, 0x01, 0x00], [0xD1, 0, 0, 0, 4, 0, 0, 0, 0], [0xE0, 0x02, 0x00, 0x40]] {
            let nested: [UInt8] = [0x00, 0x53, 0x14, 0xC0, UInt8(1 + empty.count), 0x01] + empty
            #expect(try AMQPValue(decoding: nested, limits: limits) != .null)
        }
        #expect(WireBytes.decodeValue([0x00, 0x53, 0x14, 0xC0, 0x05, 0x01, 0xC0, 0x02, 0x01, 0x40], limits: limits).failure?.code == .nestingTooDeep)
    }
}
