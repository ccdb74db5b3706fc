import AMQPCodec
import Foundation
import PropertyBased
import Testing

/// Arbitrary `AMQPValue` trees: every primitive type with its edge values (NaN payloads,
/// -0.0, every kind of Unicode scalar, sizes around the 8/32-bit switch, long strings),
/// nested lists, maps, arrays (homogeneous, empty, described, of compounds) and described
/// values, up to a given depth.
enum ArbitraryAMQP {
    static let primitiveTypes: [AMQPType] = AMQPType.allCases.filter { ![.list, .map, .array].contains($0) }

    /// A value tree; at depth 0 only primitives, otherwise a compound two times in three
    /// (always, with `compound`).
    static func value(depth: Int, compound: Bool = false, using rng: inout some RandomNumberGenerator) -> AMQPValue {
        guard depth > 0, compound || Int.random(in: 0..<3, using: &rng) > 0 else {
            return primitive(primitiveTypes.randomElement(using: &rng)!, using: &rng)
        }
        // A long compound (around 255 elements) holds only primitives, so trees stay small.
        let n = count(using: &rng)
        let inner = n > 6 ? 0 : depth - 1
        switch Int.random(in: 0..<4, using: &rng) {
        case 0:
            return .list((0..<n).map { _ in value(depth: inner, using: &rng) })
        case 1:
            let entries = (0..<n / 2).map { _ in
                AMQPMap.Entry(key: value(depth: inner, using: &rng), value: value(depth: inner, using: &rng))
            }
            return .map(AMQPMap(entries))
        case 2:
            return .array(array(depth: depth - 1, using: &rng))
        default:
            return .described(descriptor: descriptor(depth: depth - 1, using: &rng), value: value(depth: depth - 1, using: &rng))
        }
    }

    /// Mostly short, sometimes around the 255/256 boundary.
    static func count(using rng: inout some RandomNumberGenerator) -> Int {
        Int.random(in: 0..<20, using: &rng) == 0 ? Int.random(in: 250...260, using: &rng) : Int.random(in: 0...6, using: &rng)
    }

    static func descriptor(depth: Int, using rng: inout some RandomNumberGenerator) -> AMQPValue {
        switch Int.random(in: 0..<8, using: &rng) {
        case 0...3: .ulong(edgeOrRandom(using: &rng))
        case 4...5: .symbol(symbol(using: &rng))
        default: value(depth: depth, using: &rng)
        }
    }

    /// A homogeneous array: any element type, empty or not, described or not.
    static func array(depth: Int, using rng: inout some RandomNumberGenerator) -> AMQPArray {
        let compound: [AMQPType] = depth > 0 ? [.list, .map, .array] : []
        let type = (primitiveTypes + compound).randomElement(using: &rng)!
        // Arrays of nulls take no bytes per element; the decoder caps them (by default at 16).
        let n = type == .null ? min(count(using: &rng), DecodeLimits.default.maxZeroWidthElements) : count(using: &rng)
        // Large arrays of compounds blow up quickly; keep those short.
        let elements: [AMQPValue] = (0..<(compound.contains(type) ? min(n, 4) : n)).map { _ in
            switch type {
            case .list: .list((0..<Int.random(in: 0...3, using: &rng)).map { _ in value(depth: depth - 1, using: &rng) })
            case .map:
                .map(AMQPMap((0..<Int.random(in: 0...2, using: &rng)).map { _ in
                    AMQPMap.Entry(key: value(depth: depth - 1, using: &rng), value: value(depth: depth - 1, using: &rng))
                }))
            case .array: .array(array(depth: depth - 1, using: &rng))
            default: primitive(type, using: &rng)
            }
        }
        let described = Int.random(in: 0..<4, using: &rng) == 0
        return AMQPArray(type, descriptor: described ? descriptor(depth: max(depth - 1, 0), using: &rng) : nil, elements)
    }

    /// Integers: half the time an edge where the encoding switches form.
    static func edgeOrRandom<T: FixedWidthInteger>(using rng: inout some RandomNumberGenerator) -> T {
        let edges: [T] = [0, 1, 127, 128, 255, 256, T.max, T.min, T.max - 1]
            + (T.isSigned ? [-1, -127, -128, -129].compactMap { T(exactly: $0) } : [])
            + [T(truncatingIfNeeded: 65_535), T(truncatingIfNeeded: 65_536)]
        return Bool.random(using: &rng) ? edges.randomElement(using: &rng)! : T(truncatingIfNeeded: rng.next())
    }

    static func scalar(using rng: inout some RandomNumberGenerator) -> Unicode.Scalar {
        let edges: [UInt32] = [0, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFD, 0xFFFF, 0x10000, 0x10FFFF]
        let v: UInt32
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: v = edges.randomElement(using: &rng)!
        case 1: v = UInt32.random(in: 0..<0x80, using: &rng)
        case 2: v = UInt32.random(in: 0x80..<0x800, using: &rng)
        case 3: v = UInt32.random(in: 0x800..<0x10000, using: &rng)
        default: v = UInt32.random(in: 0x10000...0x10FFFF, using: &rng)
        }
        return Unicode.Scalar(v) ?? Unicode.Scalar(0xFFFD)!  // surrogates are not scalars
    }

    /// Scalars for a string: mostly a few, sometimes enough to straddle 255 UTF-8 bytes,
    /// rarely thousands.
    static func string(using rng: inout some RandomNumberGenerator) -> String {
        let n: Int
        switch Int.random(in: 0..<40, using: &rng) {
        case 0: n = Int.random(in: 1000...4000, using: &rng)
        case 1...4: n = Int.random(in: 60...260, using: &rng)
        default: n = Int.random(in: 0...12, using: &rng)
        }
        var s = String.UnicodeScalarView()
        for _ in 0..<n { s.append(scalar(using: &rng)) }
        return String(s)
    }

    static func symbol(using rng: inout some RandomNumberGenerator) -> Symbol {
        let n = Int.random(in: 0..<10, using: &rng) == 0 ? Int.random(in: 250...260, using: &rng) : Int.random(in: 0...16, using: &rng)
        return Symbol(String(decoding: (0..<n).map { _ in UInt8.random(in: 0..<0x80, using: &rng) }, as: UTF8.self))
    }

    static func binary(using rng: inout some RandomNumberGenerator) -> [UInt8] {
        let n: Int
        switch Int.random(in: 0..<20, using: &rng) {
        case 0: n = Int.random(in: 250...260, using: &rng)
        case 1: n = Int.random(in: 1000...5000, using: &rng)
        default: n = Int.random(in: 0...12, using: &rng)
        }
        return (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    static func float(using rng: inout some RandomNumberGenerator) -> Float {
        let edges: [UInt32] = [0, 0x8000_0000, 0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0xFFC0_0000, 0x7F80_0001, 0x7FBF_FFFF, 0x0000_0001, 0x3F80_0000]
        return Float(bitPattern: Bool.random(using: &rng) ? edges.randomElement(using: &rng)! : UInt32(truncatingIfNeeded: rng.next()))
    }

    static func double(using rng: inout some RandomNumberGenerator) -> Double {
        let edges: [UInt64] = [0, 0x8000_0000_0000_0000, 0x7FF0_0000_0000_0000, 0xFFF0_0000_0000_0000, 0x7FF8_0000_0000_0000,
                               0x7FF0_0000_0000_0001, 0xFFF8_DEAD_BEEF_0000, 1, 0x3FF0_0000_0000_0000]
        return Double(bitPattern: Bool.random(using: &rng) ? edges.randomElement(using: &rng)! : rng.next())
    }

    static func primitive(_ type: AMQPType, using rng: inout some RandomNumberGenerator) -> AMQPValue {
        switch type {
        case .null: .null
        case .boolean: .boolean(Bool.random(using: &rng))
        case .ubyte: .ubyte(edgeOrRandom(using: &rng))
        case .ushort: .ushort(edgeOrRandom(using: &rng))
        case .uint: .uint(edgeOrRandom(using: &rng))
        case .ulong: .ulong(edgeOrRandom(using: &rng))
        case .byte: .byte(edgeOrRandom(using: &rng))
        case .short: .short(edgeOrRandom(using: &rng))
        case .int: .int(edgeOrRandom(using: &rng))
        case .long: .long(edgeOrRandom(using: &rng))
        case .float: .float(float(using: &rng))
        case .double: .double(double(using: &rng))
        case .decimal32: .decimal32(Decimal32(bits: UInt32(truncatingIfNeeded: rng.next())))
        case .decimal64: .decimal64(Decimal64(bits: rng.next()))
        case .decimal128: .decimal128(Decimal128(high: rng.next(), low: rng.next()))
        case .char: .char(scalar(using: &rng))
        case .timestamp: .timestamp(Timestamp(millisecondsSinceEpoch: edgeOrRandom(using: &rng)))
        case .uuid: .uuid(AMQPUUID(high: rng.next(), low: rng.next()))
        case .binary: .binary(binary(using: &rng))
        case .string: .string(string(using: &rng))
        case .symbol: .symbol(symbol(using: &rng))
        case .list, .map, .array: .null  // compounds come from `value(depth:)`
        }
    }

    /// The PropertyBased generator of value trees up to depth 4.
    static let trees = Generator<AMQPValue, Shrink.None<AMQPValue>> { rng in value(depth: 4, compound: true, using: &rng) }

    /// `count` trees from a fixed seed: the same on every run.
    static func fixedTrees(_ count: Int, seed: UInt64) -> [AMQPValue] {
        var rng = Xoshiro(seed: (seed, 0x9E37_79B9_7F4A_7C15, 0xD1B5_4A32_D192_ED03, 0x8CB9_2BA7_2F3D_8DD7))
        return (0..<count).map { _ in trees.run(using: &rng) }
    }
}

/// The properties, each recording an issue that carries the value's encoding in hex,
/// so a failure can be replayed by decoding it.
enum RoundTripProperties {
    static func label(_ bytes: [UInt8]) -> String {
        bytes.count <= 512 ? Hex.encode(bytes) : "\(Hex.encode(bytes.prefix(256)))… (\(bytes.count) bytes)"
    }

    /// decode(encode(v)) == v, byte-exact when re-encoded, and deterministic.
    static func roundTrip(_ v: AMQPValue) throws {
        let bytes = try v.encoded()
        let decoded = try WireBytes.decodeValue(bytes).get()
        #expect(decoded == v, "\(label(bytes))")
        // `==` compares strings by canonical equivalence; the bytes must match exactly too.
        #expect(try decoded.encoded() == bytes, "\(label(bytes))")
        #expect(try v.encoded() == bytes, "encoding is not deterministic: \(label(bytes))")
        // The lazy views agree: type, length, and a full cursor walk without error.
        try bytes.withUnsafeBytes { raw in
            let (view, consumed) = try ValueDecoder.decode(raw, baseOffset: 7)
            #expect(consumed == bytes.count)
            #expect(view.type == v.type)
            try MalformedRun.walk(view)
        }
    }

    /// Below the encoding's size the encoder throws `bufferTooSmall`; at or above it, it
    /// writes exactly `AMQPEncoder.encode`'s bytes. Never a byte past the buffer.
    static func bufferBounds(_ v: AMQPValue, sampleWith rng: inout some RandomNumberGenerator) throws {
        let bytes = try v.encoded()
        let needed = bytes.count
        var capacities = Array(0...min(needed, 300)) + [needed, needed + 1, needed + 9]
        if needed > 300 {
            capacities += (0..<48).map { _ in Int.random(in: 301..<needed, using: &rng) } + Array(max(301, needed - 12)..<needed)
        }
        for capacity in capacities {
            let (result, outside) = WireBytes.encode(v, capacity: capacity)
            #expect(!outside, "wrote past a buffer of \(capacity): \(label(bytes))")
            if capacity < needed {
                #expect(result.failure?.code == .bufferTooSmall, "capacity \(capacity) of \(needed): \(label(bytes))")
            } else {
                #expect((try? result.get()) == bytes, "capacity \(capacity) of \(needed): \(label(bytes))")
            }
        }
    }
}

@Suite("Round trips of arbitrary values")
struct RoundTripPropertyTests {
    static let trees = ArbitraryAMQP.fixedTrees(1000, seed: 0x00A4_7195)

    @Test("the generator reaches every type, both forms, and deep trees")
    func generatorCoverage() throws {
        var types = Set<String>()
        var codes = Set<UInt8>()
        var maxDepth = 0
        var describedArrays = 0, emptyArrays = 0, nans = 0, negativeZeros = 0, longStrings = 0
        func visit(_ v: AMQPValue, depth: Int) {
            maxDepth = max(maxDepth, depth)
            types.insert(v.type?.rawValue ?? "described")
            switch v {
            case .list(let items): items.forEach { visit($0, depth: depth + 1) }
            case .map(let m): m.entries.forEach { visit($0.key, depth: depth + 1); visit($0.value, depth: depth + 1) }
            case .array(let a):
                if a.descriptor != nil { describedArrays += 1 }
                if a.elements.isEmpty { emptyArrays += 1 }
                a.elements.forEach { visit($0, depth: depth + 1) }
            case .described(let d, let inner): visit(d, depth: depth + 1); visit(inner, depth: depth + 1)
            case .float(let f): if f.isNaN { nans += 1 } else if f == 0 && f.sign == .minus { negativeZeros += 1 }
            case .double(let d): if d.isNaN { nans += 1 } else if d == 0 && d.sign == .minus { negativeZeros += 1 }
            case .string(let s): if s.utf8.count > 255 { longStrings += 1 }
            default: break
            }
        }
        var sizes: [Int] = []
        for v in Self.trees {
            visit(v, depth: 0)
            let bytes = try v.encoded()
            codes.insert(bytes[0])
            sizes.append(bytes.count)
        }
        sizes.sort()
        // Mostly small, with a long tail past the 8-bit forms (median ~40 bytes, max ~56 KB).
        #expect(sizes[sizes.count / 2] < 255 && sizes.last! > 10_000)
        #expect(types.count == AMQPType.allCases.count + 1, "\(types.sorted())")
        #expect(maxDepth >= 4)
        #expect(describedArrays > 0 && emptyArrays > 0 && nans > 0 && negativeZeros > 0 && longStrings > 0)
        // Both widths of every variable-size form show up at the top level.
        for code: UInt8 in [0xC0, 0xD0, 0xC1, 0xD1, 0xE0, 0xF0, 0x45, 0x00] { #expect(codes.contains(code), "0x\(Hex.encode([code]))") }
    }

    @Test("decode(encode(v)) == v, byte-exact and deterministic")
    func roundTrip() throws {
        for v in Self.trees { try RoundTripProperties.roundTrip(v) }
    }

    @Test("the encoder stays inside any buffer and fills an exact-size one")
    func bufferBounds() throws {
        var rng = SplitMix64(seed: 77)
        for v in Self.trees.prefix(300) { try RoundTripProperties.bufferBounds(v, sampleWith: &rng) }
    }

    @Test("shallow trees, many of them")
    func shallowTrees() throws {
        var rng = SplitMix64(seed: 5)
        for _ in 0..<1500 {
            let v = ArbitraryAMQP.value(depth: 1, using: &rng)
            try RoundTripProperties.roundTrip(v)
        }
    }

    /// Fresh random seeds each run, with PropertyBased's reporting: for exploring, not CI.
    /// `AMQP_PROPERTY_RANDOM=1 swift test --filter RoundTripPropertyTests`.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["AMQP_PROPERTY_RANDOM"] == "1"))
    func randomSeeds() async {
        await propertyCheck(count: 2000, input: ArbitraryAMQP.trees) { v in
            try RoundTripProperties.roundTrip(v)
            var rng = SplitMix64(seed: 1)
            try RoundTripProperties.bufferBounds(v, sampleWith: &rng)
        }
    }
}
