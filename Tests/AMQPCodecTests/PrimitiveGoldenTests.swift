import AMQPCodec
import Testing

/// One hand-written encoding and the value it stands for.
///
/// `canonical` marks the encoding our encoder must produce (the smallest form, part 1
/// §1.6); the others are legal encodings a peer may send and the decoder must accept.
struct GoldenVector: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let value: AMQPValue
    let canonical: Bool
    /// Limits to decode with: the default, except where a vector is past a default cap.
    let limits: DecodeLimits

    init(_ name: String, _ hex: String, _ value: AMQPValue, canonical: Bool = true, limits: DecodeLimits = .default) {
        self.init(name, bytes: WireBytes.hex(hex), value, canonical: canonical, limits: limits)
    }
    init(_ name: String, bytes: [UInt8], _ value: AMQPValue, canonical: Bool = true, limits: DecodeLimits = .default) {
        self.name = name
        self.bytes = bytes
        self.value = value
        self.canonical = canonical
        self.limits = limits
    }
    var testDescription: String { name }
}

/// Golden vectors for every encoding of every primitive type in part 1 §1.6 of AMQP 1.0.
enum PrimitiveGoldens {
    static let fixedWidth: [GoldenVector] = [
        GoldenVector("null 0x40", "40", .null),

        GoldenVector("boolean 0x56 00", "56 00", .boolean(false), canonical: false),
        GoldenVector("boolean 0x56 01", "56 01", .boolean(true), canonical: false),
        GoldenVector("boolean true 0x41", "41", .boolean(true)),
        GoldenVector("boolean false 0x42", "42", .boolean(false)),

        GoldenVector("ubyte 0", "50 00", .ubyte(0)),
        GoldenVector("ubyte 255", "50 ff", .ubyte(255)),

        GoldenVector("ushort 0", "60 00 00", .ushort(0)),
        GoldenVector("ushort 0x0102", "60 01 02", .ushort(0x0102)),
        GoldenVector("ushort max", "60 ff ff", .ushort(.max)),

        GoldenVector("uint0 0x43", "43", .uint(0)),
        GoldenVector("smalluint 1", "52 01", .uint(1)),
        GoldenVector("smalluint 255", "52 ff", .uint(255)),
        GoldenVector("uint 256", "70 00 00 01 00", .uint(256)),
        GoldenVector("uint max", "70 ff ff ff ff", .uint(.max)),
        GoldenVector("uint 0x70 for 5", "70 00 00 00 05", .uint(5), canonical: false),
        GoldenVector("uint 0x70 for 0", "70 00 00 00 00", .uint(0), canonical: false),
        GoldenVector("smalluint 0", "52 00", .uint(0), canonical: false),

        GoldenVector("ulong0 0x44", "44", .ulong(0)),
        GoldenVector("smallulong 1", "53 01", .ulong(1)),
        GoldenVector("smallulong 255", "53 ff", .ulong(255)),
        GoldenVector("ulong 256", "80 00 00 00 00 00 00 01 00", .ulong(256)),
        GoldenVector("ulong max", "80 ff ff ff ff ff ff ff ff", .ulong(.max)),
        GoldenVector("ulong 0x80 for 5", "80 00 00 00 00 00 00 00 05", .ulong(5), canonical: false),
        GoldenVector("smallulong 0", "53 00", .ulong(0), canonical: false),

        GoldenVector("byte -128", "51 80", .byte(-128)),
        GoldenVector("byte -1", "51 ff", .byte(-1)),
        GoldenVector("byte 127", "51 7f", .byte(127)),

        GoldenVector("short min", "61 80 00", .short(.min)),
        GoldenVector("short -1", "61 ff ff", .short(-1)),
        GoldenVector("short max", "61 7f ff", .short(.max)),

        GoldenVector("smallint 0", "54 00", .int(0)),
        GoldenVector("smallint -1", "54 ff", .int(-1)),
        GoldenVector("smallint -128", "54 80", .int(-128)),
        GoldenVector("smallint 127", "54 7f", .int(127)),
        GoldenVector("int 128", "71 00 00 00 80", .int(128)),
        GoldenVector("int -129", "71 ff ff ff 7f", .int(-129)),
        GoldenVector("int min", "71 80 00 00 00", .int(.min)),
        GoldenVector("int max", "71 7f ff ff ff", .int(.max)),
        GoldenVector("int 0x71 for 5", "71 00 00 00 05", .int(5), canonical: false),
        GoldenVector("int 0x71 for -1", "71 ff ff ff ff", .int(-1), canonical: false),

        GoldenVector("smalllong 0", "55 00", .long(0)),
        GoldenVector("smalllong -128", "55 80", .long(-128)),
        GoldenVector("smalllong 127", "55 7f", .long(127)),
        GoldenVector("long 128", "81 00 00 00 00 00 00 00 80", .long(128)),
        GoldenVector("long -129", "81 ff ff ff ff ff ff ff 7f", .long(-129)),
        GoldenVector("long min", "81 80 00 00 00 00 00 00 00", .long(.min)),
        GoldenVector("long max", "81 7f ff ff ff ff ff ff ff", .long(.max)),
        GoldenVector("long 0x81 for -1", "81 ff ff ff ff ff ff ff ff", .long(-1), canonical: false),

        GoldenVector("float 1.0", "72 3f 80 00 00", .float(1.0)),
        GoldenVector("float -0.0", "72 80 00 00 00", .float(-0.0)),
        GoldenVector("float +inf", "72 7f 80 00 00", .float(.infinity)),
        GoldenVector("float quiet NaN", "72 7f c0 00 00", .float(Float(bitPattern: 0x7FC0_0000))),
        GoldenVector("float NaN with payload", "72 ff c1 23 45", .float(Float(bitPattern: 0xFFC1_2345))),
        GoldenVector("float smallest subnormal", "72 00 00 00 01", .float(Float(bitPattern: 1))),

        GoldenVector("double 1.0", "82 3f f0 00 00 00 00 00 00", .double(1.0)),
        GoldenVector("double -0.0", "82 80 00 00 00 00 00 00 00", .double(-0.0)),
        GoldenVector("double -inf", "82 ff f0 00 00 00 00 00 00", .double(-.infinity)),
        GoldenVector("double quiet NaN", "82 7f f8 00 00 00 00 00 00", .double(Double(bitPattern: 0x7FF8_0000_0000_0000))),
        GoldenVector("double NaN with payload", "82 7f f8 00 00 de ad be ef", .double(Double(bitPattern: 0x7FF8_0000_DEAD_BEEF))),

        GoldenVector("decimal32", "74 22 50 00 01", .decimal32(Decimal32(bits: 0x2250_0001))),
        GoldenVector("decimal64", "84 22 38 00 00 00 00 00 07", .decimal64(Decimal64(bits: 0x2238_0000_0000_0007))),
        GoldenVector(
            "decimal128", "94 22 08 00 00 00 00 00 00 00 00 00 00 00 00 00 2a",
            .decimal128(Decimal128(high: 0x2208_0000_0000_0000, low: 0x2A))),

        GoldenVector("char A", "73 00 00 00 41", .char("A")),
        GoldenVector("char U+D7FF", "73 00 00 d7 ff", .char(Unicode.Scalar(0xD7FF)!)),
        GoldenVector("char U+E000", "73 00 00 e0 00", .char(Unicode.Scalar(0xE000)!)),
        GoldenVector("char U+1F600", "73 00 01 f6 00", .char("\u{1F600}")),
        GoldenVector("char U+10FFFF", "73 00 10 ff ff", .char(Unicode.Scalar(0x10FFFF)!)),

        GoldenVector("timestamp 2023-11-14T22:13:20Z", "83 00 00 01 8b cf e5 68 00",
                     .timestamp(Timestamp(millisecondsSinceEpoch: 0x18B_CFE5_6800))),
        GoldenVector("timestamp -1", "83 ff ff ff ff ff ff ff ff", .timestamp(Timestamp(millisecondsSinceEpoch: -1))),

        GoldenVector(
            "uuid", "98 00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff",
            .uuid(AMQPUUID(high: 0x0011_2233_4455_6677, low: 0x8899_AABB_CCDD_EEFF))),
    ]

    static let variableWidth: [GoldenVector] = [
        GoldenVector("vbin8 empty", "a0 00", .binary([])),
        GoldenVector("vbin8 3 bytes", "a0 03 01 02 03", .binary([1, 2, 3])),
        GoldenVector("vbin32 3 bytes", "b0 00 00 00 03 01 02 03", .binary([1, 2, 3]), canonical: false),
        GoldenVector("vbin32 empty", "b0 00 00 00 00", .binary([]), canonical: false),
        GoldenVector("vbin8 255 bytes", bytes: [0xA0, 0xFF] + Array(repeating: 0xEE, count: 255),
                     .binary(Array(repeating: 0xEE, count: 255))),
        GoldenVector("vbin32 256 bytes", bytes: [0xB0, 0, 0, 1, 0] + Array(repeating: 0xEE, count: 256),
                     .binary(Array(repeating: 0xEE, count: 256))),

        GoldenVector("str8 empty", "a1 00", .string("")),
        GoldenVector("str8 hello", "a1 05 68 65 6c 6c 6f", .string("hello")),
        GoldenVector("str8 two-byte UTF-8", "a1 02 c3 a9", .string("\u{E9}")),
        GoldenVector("str8 decomposed é stays decomposed", "a1 03 65 cc 81", .string("e\u{301}")),
        GoldenVector("str8 four-byte UTF-8", "a1 04 f0 9f 98 80", .string("\u{1F600}")),
        GoldenVector("str8 NUL inside", "a1 03 61 00 62", .string("a\u{0}b")),
        GoldenVector("str32 3 bytes", "b1 00 00 00 03 61 62 63", .string("abc"), canonical: false),
        GoldenVector("str8 255 bytes", bytes: [0xA1, 0xFF] + Array(repeating: 0x78, count: 255),
                     .string(String(repeating: "x", count: 255))),
        GoldenVector("str32 256 bytes", bytes: [0xB1, 0, 0, 1, 0] + Array(repeating: 0x78, count: 256),
                     .string(String(repeating: "x", count: 256))),
        // 85 three-byte characters: 255 bytes, still str8, although only 85 characters.
        GoldenVector("str8 255 bytes of 3-byte chars", bytes: [0xA1, 0xFF] + Array([UInt8]([0xE2, 0x82, 0xAC]).repeated(85)),
                     .string(String(repeating: "\u{20AC}", count: 85))),
        GoldenVector("str32 258 bytes of 3-byte chars", bytes: [0xB1, 0, 0, 1, 2] + Array([UInt8]([0xE2, 0x82, 0xAC]).repeated(86)),
                     .string(String(repeating: "\u{20AC}", count: 86))),

        GoldenVector("sym8 empty", "a3 00", .symbol("")),
        GoldenVector("sym8 amqp:open:list", "a3 0e 61 6d 71 70 3a 6f 70 65 6e 3a 6c 69 73 74", .symbol("amqp:open:list")),
        GoldenVector("sym32 1 byte", "b3 00 00 00 01 61", .symbol("a"), canonical: false),
        GoldenVector("sym8 255 bytes", bytes: [0xA3, 0xFF] + Array(repeating: 0x73, count: 255),
                     .symbol(Symbol(String(repeating: "s", count: 255)))),
        GoldenVector("sym32 256 bytes", bytes: [0xB3, 0, 0, 1, 0] + Array(repeating: 0x73, count: 256),
                     .symbol(Symbol(String(repeating: "s", count: 256)))),
    ]

    static let zeroWidthRaised = DecodeLimits(maxZeroWidthElements: 1 << 20)
    static let nulls254 = [AMQPValue](repeating: .null, count: 254)
    static let nulls255 = [AMQPValue](repeating: .null, count: 255)
    static let nulls256 = [AMQPValue](repeating: .null, count: 256)

    static let lists: [GoldenVector] = [
        GoldenVector("list0", "45", .list([])),
        GoldenVector("list8 empty", "c0 01 00", .list([]), canonical: false),
        GoldenVector("list32 empty", "d0 00 00 00 04 00 00 00 00", .list([]), canonical: false),
        GoldenVector("list8 [null, true]", "c0 03 02 40 41", .list([.null, .boolean(true)])),
        GoldenVector("list32 [null, true]", "d0 00 00 00 06 00 00 00 02 40 41", .list([.null, .boolean(true)]), canonical: false),
        GoldenVector("list8 nested", "c0 07 03 45 c0 02 01 40 43", .list([.list([]), .list([.null]), .uint(0)])),
        // Content of 254 bytes is the largest list8 (its size byte says 255).
        GoldenVector("list8 content 254 (254 nulls)", bytes: [0xC0, 0xFF, 0xFE] + Array(repeating: 0x40, count: 254), .list(nulls254)),
        GoldenVector("list32 content 255 (255 nulls)", bytes: [0xD0, 0, 0, 1, 3, 0, 0, 0, 0xFF] + Array(repeating: 0x40, count: 255),
                     .list(nulls255)),
        GoldenVector("list32 256 elements", bytes: [0xD0, 0, 0, 1, 4, 0, 0, 1, 0] + Array(repeating: 0x40, count: 256), .list(nulls256)),
        GoldenVector("list8 one string, content 254", bytes: [0xC0, 0xFF, 0x01, 0xA1, 0xFC] + Array(repeating: 0x61, count: 252),
                     .list([.string(String(repeating: "a", count: 252))])),
        GoldenVector("list32 one string, content 255",
                     bytes: [0xD0, 0, 0, 1, 3, 0, 0, 0, 1, 0xA1, 0xFD] + Array(repeating: 0x61, count: 253),
                     .list([.string(String(repeating: "a", count: 253))])),
    ]

    static let maps: [GoldenVector] = [
        GoldenVector("map8 empty", "c1 01 00", .map([:])),
        GoldenVector("map32 empty", "d1 00 00 00 04 00 00 00 00", .map([:]), canonical: false),
        GoldenVector("map8 {:k: true}", "c1 05 02 a3 01 6b 41", .map([.symbol("k"): .boolean(true)])),
        GoldenVector("map32 {:k: true}", "d1 00 00 00 08 00 00 00 02 a3 01 6b 41", .map([.symbol("k"): .boolean(true)]), canonical: false),
        GoldenVector("map8 keeps wire order", "c1 09 04 a1 01 62 43 a1 01 61 44",
                     .map([.string("b"): .uint(0), .string("a"): .ulong(0)])),
        GoldenVector("map8 with compound keys", "c1 06 02 c0 02 01 40 45", .map(AMQPMap([.init(key: .list([.null]), value: .list([]))]))),
        GoldenVector("map8 content 254 (127 entries)", bytes: [0xC1, 0xFF, 0xFE] + Array(repeating: 0x40, count: 254),
                     .map(AMQPMap(Array(repeating: AMQPMap.Entry(key: .null, value: .null), count: 127)))),
        GoldenVector("map32 content 256 (128 entries)", bytes: [0xD1, 0, 0, 1, 4, 0, 0, 1, 0] + Array(repeating: 0x40, count: 256),
                     .map(AMQPMap(Array(repeating: AMQPMap.Entry(key: .null, value: .null), count: 128)))),
    ]

    static let arrays: [GoldenVector] = [
        GoldenVector("array8 empty of uint", "e0 02 00 52", .array(AMQPArray(.uint, []))),
        GoldenVector("array8 empty of uint via 0x70", "e0 02 00 70", .array(AMQPArray(.uint, [])), canonical: false),
        GoldenVector("array8 smalluint", "e0 04 02 52 01 02", .array(AMQPArray(.uint, [.uint(1), .uint(2)]))),
        GoldenVector("array8 uint (one needs 0x70)", "e0 0a 02 70 00 00 00 01 00 00 01 2c", .array(AMQPArray(.uint, [.uint(1), .uint(300)]))),
        GoldenVector("array8 uint0 elements", "e0 02 03 43", .array(AMQPArray(.uint, [.uint(0), .uint(0), .uint(0)])), canonical: false),
        GoldenVector("array8 smallulong", "e0 04 02 53 10 11", .array(AMQPArray(.ulong, [.ulong(0x10), .ulong(0x11)]))),
        GoldenVector("array8 smallint", "e0 04 02 54 80 7f", .array(AMQPArray(.int, [.int(-128), .int(127)]))),
        GoldenVector("array8 int", "e0 0a 02 71 ff ff ff 7f 00 00 00 00", .array(AMQPArray(.int, [.int(-129), .int(0)]))),
        GoldenVector("array8 smalllong", "e0 03 01 55 ff", .array(AMQPArray(.long, [.long(-1)]))),
        GoldenVector("array8 long", "e0 0a 01 81 00 00 00 00 00 00 00 80", .array(AMQPArray(.long, [.long(128)]))),
        GoldenVector("array8 boolean", "e0 04 02 56 01 00", .array(AMQPArray(.boolean, [.boolean(true), .boolean(false)]))),
        GoldenVector("array8 of 0x41 true", "e0 02 02 41", .array(AMQPArray(.boolean, [.boolean(true), .boolean(true)])), canonical: false),
        GoldenVector("array8 ubyte", "e0 04 02 50 00 ff", .array(AMQPArray(.ubyte, [.ubyte(0), .ubyte(255)]))),
        GoldenVector("array8 double", "e0 0a 01 82 3f f0 00 00 00 00 00 00", .array(AMQPArray(.double, [.double(1.0)]))),
        GoldenVector("array8 uuid", "e0 12 01 98 00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff",
                     .array(AMQPArray(.uuid, [.uuid(AMQPUUID(high: 0x0011_2233_4455_6677, low: 0x8899_AABB_CCDD_EEFF))]))),
        GoldenVector("array8 sym8", "e0 07 02 a3 01 61 02 62 63", .array(.symbols(["a", "bc"]))),
        GoldenVector("array8 str8", "e0 05 02 a1 00 01 78", .array(AMQPArray(.string, [.string(""), .string("x")]))),
        GoldenVector("array8 vbin8", "e0 05 01 a0 02 ca fe", .array(AMQPArray(.binary, [.binary([0xCA, 0xFE])]))),
        GoldenVector("array8 of str32 elements", "e0 09 01 b1 00 00 00 03 61 62 63", .array(AMQPArray(.string, [.string("abc")])),
                     canonical: false),
        GoldenVector("array32 smalluint", "f0 00 00 00 07 00 00 00 02 52 01 02", .array(AMQPArray(.uint, [.uint(1), .uint(2)])),
                     canonical: false),
        // The fixed-width element constructors that have one form: the encoder's only choice.
        GoldenVector("array8 byte", "e0 05 03 51 80 ff 7f", .array(AMQPArray(.byte, [.byte(-128), .byte(-1), .byte(127)]))),
        GoldenVector("array8 ushort", "e0 08 03 60 00 00 01 02 ff ff",
                     .array(AMQPArray(.ushort, [.ushort(0), .ushort(0x0102), .ushort(.max)]))),
        GoldenVector("array8 short", "e0 08 03 61 80 00 ff ff 7f ff", .array(AMQPArray(.short, [.short(.min), .short(-1), .short(.max)]))),
        GoldenVector("array8 float", "e0 0a 02 72 3f 80 00 00 bf 00 00 00", .array(AMQPArray(.float, [.float(1.0), .float(-0.5)]))),
        GoldenVector("array8 char", "e0 0a 02 73 00 00 00 61 00 01 f6 00", .array(AMQPArray(.char, [.char("a"), .char("\u{1F600}")]))),
        GoldenVector("array8 decimal32", "e0 0a 02 74 22 50 00 01 a2 50 00 01",
                     .array(AMQPArray(.decimal32, [.decimal32(Decimal32(bits: 0x2250_0001)), .decimal32(Decimal32(bits: 0xA250_0001))]))),
        GoldenVector("array8 decimal64", "e0 12 02 84 22 38 00 00 00 00 00 07 a2 38 00 00 00 00 00 07",
                     .array(AMQPArray(.decimal64, [
                         .decimal64(Decimal64(bits: 0x2238_0000_0000_0007)), .decimal64(Decimal64(bits: 0xA238_0000_0000_0007)),
                     ]))),
        GoldenVector("array8 decimal128", "e0 12 01 94 22 08 00 00 00 00 00 00 00 00 00 00 00 00 00 2a",
                     .array(AMQPArray(.decimal128, [.decimal128(Decimal128(high: 0x2208_0000_0000_0000, low: 0x2A))]))),
        GoldenVector("array8 timestamp", "e0 12 02 83 00 00 01 8b cf e5 68 00 ff ff ff ff ff ff ff ff",
                     .array(AMQPArray(.timestamp, [
                         .timestamp(Timestamp(millisecondsSinceEpoch: 0x18B_CFE5_6800)), .timestamp(Timestamp(millisecondsSinceEpoch: -1)),
                     ]))),
        GoldenVector("array8 ulong (one needs 0x80)", "e0 12 02 80 00 00 00 00 00 00 00 01 00 00 00 00 00 00 01 00",
                     .array(AMQPArray(.ulong, [.ulong(1), .ulong(256)]))),
        // The wide variable-width constructors: chosen when one element needs them,
        // accepted (and narrowed on re-encoding) when none does.
        GoldenVector("array32 of vbin32 for a 256-byte element",
                     bytes: [0xF0, 0, 0, 1, 9, 0, 0, 0, 1, 0xB0, 0, 0, 1, 0] + Array(repeating: 0xEE, count: 256),
                     .array(AMQPArray(.binary, [.binary(Array(repeating: 0xEE, count: 256))]))),
        GoldenVector("array8 of vbin32 elements", "e0 08 01 b0 00 00 00 02 ca fe", .array(AMQPArray(.binary, [.binary([0xCA, 0xFE])])),
                     canonical: false),
        GoldenVector("array32 of sym32 for a 256-byte element",
                     bytes: [0xF0, 0, 0, 1, 9, 0, 0, 0, 1, 0xB3, 0, 0, 1, 0] + Array(repeating: 0x73, count: 256),
                     .array(.symbols([Symbol(String(repeating: "s", count: 256))]))),
        GoldenVector("array8 of sym32 elements", "e0 09 01 b3 00 00 00 03 61 62 63", .array(.symbols(["abc"])), canonical: false),
        // Forms the encoder never picks (it writes 0x56, 0x53 and map32) but a peer may.
        GoldenVector("array8 of 0x42 false", "e0 02 02 42", .array(AMQPArray(.boolean, [.boolean(false), .boolean(false)])),
                     canonical: false),
        GoldenVector("array8 of ulong0 elements", "e0 02 03 44", .array(AMQPArray(.ulong, [.ulong(0), .ulong(0), .ulong(0)])),
                     canonical: false),
        GoldenVector("array8 of map8 elements", "e0 0c 02 c1 01 00 07 02 a1 01 6b a1 01 76",
                     .array(AMQPArray(.map, [.map([:]), .map([.string("k"): .string("v")])])), canonical: false),
        // Zero-width elements: past 16 the default limits refuse them (ZeroWidthArrayTests),
        // so the 255/256-element boundary is decoded with the cap raised.
        GoldenVector("array8 16 nulls", "e0 02 10 40", .array(AMQPArray(.null, Array(repeating: .null, count: 16)))),
        GoldenVector("array8 255 nulls", "e0 02 ff 40", .array(AMQPArray(.null, nulls255)), limits: zeroWidthRaised),
        GoldenVector("array32 256 nulls", "f0 00 00 00 05 00 00 01 00 40", .array(AMQPArray(.null, nulls256)), limits: zeroWidthRaised),
        GoldenVector("array32 255 smalluints (content 256)",
                     bytes: [0xF0, 0, 0, 1, 4, 0, 0, 0, 0xFF, 0x52] + Array(repeating: 7, count: 255),
                     .array(AMQPArray(.uint, Array(repeating: .uint(7), count: 255)))),
        GoldenVector("array8 253 smalluints (content 254)",
                     bytes: [0xE0, 0xFF, 0xFD, 0x52] + Array(repeating: 7, count: 253),
                     .array(AMQPArray(.uint, Array(repeating: .uint(7), count: 253)))),
        GoldenVector("array32 of str8 for a 255-byte element",
                     bytes: [0xF0, 0, 0, 1, 5, 0, 0, 0, 1, 0xA1, 0xFF] + Array(repeating: 0x7A, count: 255),
                     .array(AMQPArray(.string, [.string(String(repeating: "z", count: 255))]))),
        GoldenVector("array32 of str32 for a 256-byte element",
                     bytes: [0xF0, 0, 0, 1, 9, 0, 0, 0, 1, 0xB1, 0, 0, 1, 0] + Array(repeating: 0x7A, count: 256),
                     .array(AMQPArray(.string, [.string(String(repeating: "z", count: 256))]))),
        // Compound elements: the encoder always picks the 32-bit constructor (one must fit all).
        GoldenVector("array8 of list32 elements", "e0 13 02 d0 00 00 00 04 00 00 00 00 00 00 00 05 00 00 00 01 41",
                     .array(AMQPArray(.list, [.list([]), .list([.boolean(true)])]))),
        GoldenVector("array8 of list8 elements", "e0 07 02 c0 01 00 02 01 41",
                     .array(AMQPArray(.list, [.list([]), .list([.boolean(true)])])), canonical: false),
        GoldenVector("array8 of list0 elements", "e0 02 02 45", .array(AMQPArray(.list, [.list([]), .list([])])), canonical: false),
        GoldenVector("array8 of map32 elements", "e0 10 01 d1 00 00 00 0a 00 00 00 02 a1 01 6b a1 01 76",
                     .array(AMQPArray(.map, [.map([.string("k"): .string("v")])]))),
        GoldenVector("array8 of array32 elements", "e0 0d 01 f0 00 00 00 07 00 00 00 02 52 01 02",
                     .array(AMQPArray(.array, [.array(AMQPArray(.uint, [.uint(1), .uint(2)]))]))),
        GoldenVector("array8 of array8 elements", "e0 07 01 e0 04 02 52 01 02",
                     .array(AMQPArray(.array, [.array(AMQPArray(.uint, [.uint(1), .uint(2)]))])), canonical: false),
        // Described elements: one descriptor for all, before the element constructor.
        GoldenVector("array8 described, numeric descriptor", "e0 15 02 00 53 24 d0 00 00 00 04 00 00 00 00 00 00 00 04 00 00 00 00",
                     .array(AMQPArray(.list, descriptor: .ulong(0x24), [.list([]), .list([])]))),
        GoldenVector("array8 described list0 elements", "e0 05 02 00 53 24 45",
                     .array(AMQPArray(.list, descriptor: .ulong(0x24), [.list([]), .list([])])), canonical: false),
        GoldenVector("array8 described, symbolic descriptor", "e0 0c 02 00 a3 03 66 6f 6f a1 01 61 01 62",
                     .array(AMQPArray(.string, descriptor: .symbol("foo"), [.string("a"), .string("b")]))),
        GoldenVector("array8 described, empty", "e0 05 00 00 53 01 52", .array(AMQPArray(.uint, descriptor: .ulong(1), []))),
        GoldenVector("array8 described, ulong descriptor", "e0 0c 01 00 80 00 00 01 37 00 00 00 01 42",
                     .array(AMQPArray(.boolean, descriptor: .ulong(0x0000_0137_0000_0001), [.boolean(false)])), canonical: false),
    ]

    static let described: [GoldenVector] = [
        GoldenVector("described smallulong descriptor", "00 53 10 45", .described(descriptor: .ulong(0x10), value: .list([]))),
        GoldenVector("described ulong0 descriptor", "00 44 40", .described(descriptor: .ulong(0), value: .null)),
        GoldenVector("described ulong descriptor (domain 0x137)", "00 80 00 00 01 37 00 00 00 01 a1 01 78",
                     .described(descriptor: .ulong(0x0000_0137_0000_0001), value: .string("x"))),
        GoldenVector("described 0x80 for a small code", "00 80 00 00 00 00 00 00 00 10 45",
                     .described(descriptor: .ulong(0x10), value: .list([])), canonical: false),
        GoldenVector("described symbolic descriptor", "00 a3 0e 61 6d 71 70 3a 6f 70 65 6e 3a 6c 69 73 74 45",
                     .described(descriptor: .symbol("amqp:open:list"), value: .list([]))),
        GoldenVector("described sym32 descriptor", "00 b3 00 00 00 01 78 40",
                     .described(descriptor: .symbol("x"), value: .null), canonical: false),
        GoldenVector("described string descriptor", "00 a1 01 78 40", .described(descriptor: .string("x"), value: .null)),
        GoldenVector("described described descriptor", "00 00 53 01 53 02 41",
                     .described(descriptor: .described(descriptor: .ulong(1), value: .ulong(2)), value: .boolean(true))),
        GoldenVector("described described value", "00 53 01 00 53 02 43",
                     .described(descriptor: .ulong(1), value: .described(descriptor: .ulong(2), value: .uint(0)))),
        GoldenVector("described in a list", "c0 06 02 00 53 24 45 40",
                     .list([.described(descriptor: .ulong(0x24), value: .list([])), .null])),
    ]

    static let all: [GoldenVector] = fixedWidth + variableWidth + lists + maps + arrays + described
}

extension Array {
    fileprivate func repeated(_ n: Int) -> [Element] { (0..<n).flatMap { _ in self } }
}

@Suite("Primitive golden vectors (part 1 §1.6)")
struct PrimitiveGoldenTests {
    @Test("hand-written bytes decode to the value", arguments: PrimitiveGoldens.all)
    func decodes(_ g: GoldenVector) throws {
        let decoded = try WireBytes.decodeValue(g.bytes, limits: g.limits).get()
        #expect(decoded == g.value)
        // The view reports the type and the exact length, before anything is materialized.
        try g.bytes.withUnsafeBytes { raw in
            let (view, consumed) = try ValueDecoder.decode(raw, limits: g.limits)
            #expect(consumed == g.bytes.count)
            #expect(view.type == g.value.type)
        }
    }

    @Test("the encoder writes exactly the canonical bytes", arguments: PrimitiveGoldens.all.filter(\.canonical))
    func encodes(_ g: GoldenVector) throws {
        #expect(try WireBytes.encode(g.value).get() == g.bytes)
        // Also into a buffer of exactly the encoding's size.
        let (exact, wroteOutside) = WireBytes.encode(g.value, capacity: g.bytes.count)
        #expect(try exact.get() == g.bytes)
        #expect(!wroteOutside)
    }

    @Test("a non-canonical encoding re-encodes to the canonical one", arguments: PrimitiveGoldens.all.filter { !$0.canonical })
    func reencodes(_ g: GoldenVector) throws {
        let reencoded = try WireBytes.encode(g.value).get()
        #expect(reencoded != g.bytes)
        #expect(try WireBytes.decodeValue(reencoded, limits: g.limits).get() == g.value)
    }

    @Test("every format code of §1.6 has a golden vector")
    func coversEveryFormatCode() {
        let codes: [UInt8] = [
            0x40, 0x56, 0x41, 0x42, 0x50, 0x60, 0x70, 0x52, 0x43, 0x80, 0x53, 0x44, 0x51, 0x61, 0x71, 0x54,
            0x81, 0x55, 0x72, 0x82, 0x74, 0x84, 0x94, 0x73, 0x83, 0x98, 0xA0, 0xB0, 0xA1, 0xB1, 0xA3, 0xB3,
            0x45, 0xC0, 0xD0, 0xC1, 0xD1, 0xE0, 0xF0, 0x00,
        ]
        let covered = Set(PrimitiveGoldens.all.map { $0.bytes[0] })
        for code in codes { #expect(covered.contains(code), "no golden vector for 0x\(Hex.encode([code]))") }
        // And every code except `described` is one AMQPType knows.
        for code in codes where code != 0 { #expect(AMQPType(formatCode: code) != nil) }
    }

    @Test("every element constructor of §1.6 has an array golden vector")
    func coversEveryArrayElementConstructor() {
        // Every primitive constructor may head an array's elements (part 1 §1.2.7).
        let codes: [UInt8] = [
            0x40, 0x56, 0x41, 0x42, 0x50, 0x60, 0x70, 0x52, 0x43, 0x80, 0x53, 0x44, 0x51, 0x61, 0x71, 0x54,
            0x81, 0x55, 0x72, 0x82, 0x74, 0x84, 0x94, 0x73, 0x83, 0x98, 0xA0, 0xB0, 0xA1, 0xB1, 0xA3, 0xB3,
            0x45, 0xC0, 0xD0, 0xC1, 0xD1, 0xE0, 0xF0,
        ]
        var covered = Set<UInt8>()
        for g in PrimitiveGoldens.arrays {
            // The constructor follows the size and count (1 byte each in array8, 4 in
            // array32); described arrays put their descriptor first and are left out here.
            let at = g.bytes[0] == 0xE0 ? 3 : 9
            if g.bytes.count > at, g.bytes[at] != 0 { covered.insert(g.bytes[at]) }
        }
        for code in codes { #expect(covered.contains(code), "no array golden vector with element constructor 0x\(Hex.encode([code]))") }
    }

    @Test("typed encoder overloads pick the same smallest forms")
    func typedOverloads() throws {
        func bytes(_ body: (inout AMQPEncoder) throws(EncodeError) -> Void) throws -> String {
            Hex.encode(try AMQPEncoder.encode(body))
        }
        #expect(try bytes { (e) throws(EncodeError) in try e.encode(UInt32(0)) } == "43")
        #expect(try bytes { (e) throws(EncodeError) in try e.encode(UInt32(255)) } == "52ff")
        #expect(try bytes { (e) throws(EncodeError) in try e.encode(UInt32(256)) } == "7000000100")
        #expect(try bytes { (e) throws(EncodeError) in try e.encode(UInt64(0)) } == "44")
        #expect(try bytes { (e) throws(EncodeError) in try e.encode(UInt64(255)) } == "53ff")
        #expect(try bytes { (e) throws(EncodeError) in try e.encode(UInt64(256)) } == "800000000000000100")
        #expect(try bytes { (e) throws(EncodeError) in try e.encode(Int32(-128)) } == "5480")
        #expect(try bytes { (e) throws(EncodeError) in try e.encode(Int32(127)) } == "547f")
        #expect(try bytes { (e) throws(EncodeError) in try e.encode(Int32(128)) } == "7100000080")
        #expect(try bytes { (e) throws(EncodeError) in try e.encode(Int32(-129)) } == "71ffffff7f")
        #expect(try bytes { (e) throws(EncodeError) in try e.encode(Int64(-128)) } == "5580")
        #expect(try bytes { (e) throws(EncodeError) in try e.encode(Int64(128)) } == "810000000000000080")
        #expect(try bytes { (e) throws(EncodeError) in try e.encode(true) } == "41")
        #expect(try bytes { (e) throws(EncodeError) in try e.encode(false) } == "42")
        #expect(try bytes { (e) throws(EncodeError) in try e.encodeNull() } == "40")
        #expect(try bytes { (e) throws(EncodeError) in try e.encodeDescriptor(0x10) } == "005310")
        #expect(try bytes { (e) throws(EncodeError) in try e.encodeDescriptor(0x100) } == "00800000000000000100")
        #expect(try bytes { (e) throws(EncodeError) in try e.encodeDescriptor(Symbol("a:b")) } == "00a303613a62")
        #expect(try bytes { (e) throws(EncodeError) in try e.encode(Symbol("")) } == "a300")
        #expect(try bytes { (e) throws(EncodeError) in try e.encode("") } == "a100")
        #expect(try bytes { (e) throws(EncodeError) in try e.encodeBinary([UInt8]()) } == "a000")
        #expect(try bytes { (e) throws(EncodeError) in try e.encode(DeliveryTag([1, 2])!) } == "a0020102")
    }

    @Test("a symbol with a non-ASCII character is refused, not written")
    func nonASCIISymbolRefused() {
        let r = WireBytes.encode(.symbol("caf\u{E9}"))
        #expect(throws: EncodeError(.nonASCIISymbol)) { try r.get() }
        let inArray = WireBytes.encode(.array(.symbols(["ok", "\u{E9}"])))
        #expect(throws: EncodeError(.nonASCIISymbol)) { try inArray.get() }
    }

    @Test("an array refuses elements of another type")
    func heterogeneousArrayRefused() {
        let r = WireBytes.encode(.array(AMQPArray(.uint, [.uint(1), .ulong(1)])))
        #expect(throws: EncodeError.self) { try r.get() }
        #expect((try? r.get()) == nil)
        if case .failure(let e) = r { #expect(e.code == .heterogeneousArray) }
    }
}
