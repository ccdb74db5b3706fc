import AMQPCodec

/// Values we encode for Proton to read back: every type, the edges of every encoding
/// (0-, 8- and 32-bit forms; compounds past 255 bytes or elements), awkward text, NaN
/// payloads, and nesting of every compound in every other.
func ownedCorpus() -> [AMQPValue] {
    var v: [AMQPValue] = [.null, .boolean(true), .boolean(false)]
    v += [0, 1, 255].map { AMQPValue.ubyte($0) }
    v += [0, 255, 256, 65535].map { AMQPValue.ushort($0) }
    v += [0, 1, 255, 256, 65535, 65536, .max].map { AMQPValue.uint($0) }
    v += [0, 1, 255, 256, UInt64(UInt32.max), UInt64(UInt32.max) + 1, 1 << 63, .max].map { AMQPValue.ulong($0) }
    v += [0, 1, -1, 127, -128].map { AMQPValue.byte($0) }
    v += [0, -1, 128, -129, .max, .min].map { AMQPValue.short($0) }
    v += [0, 1, -1, 127, 128, -128, -129, .max, .min].map { AMQPValue.int($0) }
    v += [0, 1, -1, 127, 128, -128, -129, Int64(Int32.max) + 1, .max, .min].map { AMQPValue.long($0) }
    let floatBits: [UInt32] = [
        0x0000_0000, 0x8000_0000, 0x3FC0_0000, 0xBFC0_0000, 0x3DCC_CCCD, 0x7F7F_FFFF, 0x0080_0000,
        0x0000_0001, 0x4B80_0000, 0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0xFFC0_0000, 0x7FA0_0001,
    ]
    v += floatBits.map { AMQPValue.float(Float(bitPattern: $0)) }
    let doubleBits: [UInt64] = [
        0, 0x8000_0000_0000_0000, 0x3FF8_0000_0000_0000, 0x3FB9_9999_9999_999A, 0x4009_21FB_5444_2D18,
        0x7FEF_FFFF_FFFF_FFFF, 0x0010_0000_0000_0000, 1, 0x4340_0000_0000_0000, 0x3EE4_F8B5_88E3_68F1,
        0x7FF0_0000_0000_0000, 0xFFF0_0000_0000_0000, 0x7FF8_0000_0000_0000, 0xFFF8_0000_0000_0000,
        0x7FF0_0000_0000_0001,
    ]
    v += doubleBits.map { AMQPValue.double(Double(bitPattern: $0)) }
    v += [0, 0x3280_0001, .max].map { AMQPValue.decimal32(Decimal32(bits: $0)) }
    v += [0, 0x31C0_0000_0000_0001, .max].map { AMQPValue.decimal64(Decimal64(bits: $0)) }
    v += [(0, 0), (0x3040_0000_0000_0000, 1), (0x0001_0203_0405_0607, 0x0809_0A0B_0C0D_0E0F)].map {
        AMQPValue.decimal128(Decimal128(high: $0.0, low: $0.1))
    }
    let scalars: [Unicode.Scalar] = ["\u{0}", "A", "é", "€", "\u{D7FF}", "\u{E000}", "\u{FFFF}", "😀", "\u{10FFFF}"]
    v += scalars.map { AMQPValue.char($0) }
    v += [0, -1, 1_700_000_000_000, .max, .min].map { AMQPValue.timestamp(Timestamp(millisecondsSinceEpoch: $0)) }
    v += [(0, 0), (0x0011_2233_4455_6677, 0x8899_AABB_CCDD_EEFF), (.max, .max)].map {
        AMQPValue.uuid(AMQPUUID(high: $0.0, low: $0.1))
    }
    v += [[], [0], Array(repeating: 0xAB, count: 255), Array(repeating: 0xCD, count: 256), (0...255).map { UInt8($0) }].map {
        AMQPValue.binary($0)
    }
    let texts = [
        "", "hello", #"quote " backslash \ slash /"#, "nl \n cr \r tab \t bs \u{8} ff \u{C}",
        String((0..<32).map { Character(Unicode.Scalar(UInt8($0))) }), "DEL \u{7F} line \u{2028} para \u{2029} bom \u{FEFF}",
        "grüße, ça va", "中文字符", "😀🎉 𝄞", String(repeating: "x", count: 255), String(repeating: "y", count: 256),
        String(repeating: "é", count: 200),
    ]
    v += texts.map { AMQPValue.string($0) }
    v += ["", "a", "amqp:accepted:list", "with space\tand \"quote\"", String(repeating: "s", count: 300)].map {
        AMQPValue.symbol(Symbol($0))
    }

    // Lists and maps.
    v.append(.list([]))
    v.append(.list([.null, .boolean(true), .uint(7), .string("x"), .symbol("y"), .binary([1])]))
    v.append(.list([.list([]), .list([.list([.list([.int(-1)])])])]))
    v.append(.list((0..<300).map { .uint(UInt32($0)) }))
    v.append(.list([.string(String(repeating: "z", count: 300))]))
    v.append(.map(AMQPMap()))
    v.append(.map([.symbol("b"): .string("2"), .symbol("a"): .string("1")]))
    v.append(.map([.int(1): .null, .null: .int(1), .list([.ubyte(1)]): .map([.ulong(2): .list([])])]))
    v.append(.map([.string("k"): .described(descriptor: .ulong(0x24), value: .list([]))]))
    v.append(.map(AMQPMap((0..<150).map { AMQPMap.Entry(key: .uint(UInt32($0)), value: .string("v\($0)")) })))

    // Arrays of every element type, both widths where there are two.
    let arrays: [AMQPArray] = [
        AMQPArray(.null, [.null, .null]),
        AMQPArray(.boolean, [.boolean(true), .boolean(false)]),
        AMQPArray(.ubyte, [.ubyte(0), .ubyte(255)]),
        AMQPArray(.ushort, [.ushort(1), .ushort(65535)]),
        AMQPArray(.uint, [.uint(0), .uint(255)]),
        AMQPArray(.uint, [.uint(0), .uint(256)]),
        AMQPArray(.ulong, [.ulong(1), .ulong(255)]),
        AMQPArray(.ulong, [.ulong(1), .ulong(.max)]),
        AMQPArray(.byte, [.byte(-1), .byte(1)]),
        AMQPArray(.short, [.short(-1), .short(.max)]),
        AMQPArray(.int, [.int(-128), .int(127)]),
        AMQPArray(.int, [.int(.min), .int(0)]),
        AMQPArray(.long, [.long(-128), .long(127)]),
        AMQPArray(.long, [.long(.min), .long(.max)]),
        AMQPArray(.float, [.float(1.5), .float(.nan)]),
        AMQPArray(.double, [.double(-0.0), .double(.infinity)]),
        AMQPArray(.decimal32, [.decimal32(Decimal32(bits: 1))]),
        AMQPArray(.decimal64, [.decimal64(Decimal64(bits: 2))]),
        AMQPArray(.decimal128, [.decimal128(Decimal128(high: 3, low: 4))]),
        AMQPArray(.char, [.char("a"), .char("😀")]),
        AMQPArray(.timestamp, [.timestamp(Timestamp(millisecondsSinceEpoch: 1)), .timestamp(Timestamp(millisecondsSinceEpoch: -1))]),
        AMQPArray(.uuid, [.uuid(AMQPUUID(high: 1, low: 2))]),
        AMQPArray(.binary, [.binary([]), .binary([1, 2, 3])]),
        AMQPArray(.binary, [.binary(Array(repeating: 7, count: 300))]),
        AMQPArray(.string, [.string("a"), .string("bé")]),
        AMQPArray(.string, [.string(String(repeating: "w", count: 256))]),
        AMQPArray.symbols(["PLAIN", "ANONYMOUS", "EXTERNAL"]),
        AMQPArray(.symbol, [.symbol(Symbol(String(repeating: "q", count: 256)))]),
        AMQPArray(.int, []),
        AMQPArray(.symbol, []),
        AMQPArray(.list, []),
        AMQPArray(.list, [.list([]), .list([.uint(1), .string("two")])]),
        AMQPArray(.map, [.map([.symbol("k"): .int(1)]), .map(AMQPMap())]),
        AMQPArray(.array, [.array(AMQPArray(.int, [.int(1)])), .array(AMQPArray(.int, []))]),
        AMQPArray(.array, [.array(AMQPArray(.string, descriptor: .symbol("x:y"), [.string("s")]))]),
        AMQPArray(.uint, (0..<300).map { .uint(UInt32($0) * 1000) }),
        AMQPArray(.list, descriptor: .ulong(0x24), [.list([]), .list([])]),
        AMQPArray(.list, descriptor: .symbol("amqp:modified:list"), [.list([.boolean(true)]), .list([])]),
        AMQPArray(.string, descriptor: .ulong(0x1234_5678_9ABC), [.string("a"), .string("b")]),
        AMQPArray(.list, descriptor: .ulong(0x25), []),
    ]
    v += arrays.map { AMQPValue.array($0) }

    // Described values.
    func described(_ d: AMQPValue, _ value: AMQPValue) -> AMQPValue { .described(descriptor: d, value: value) }
    let error = described(.ulong(0x1D), .list([.symbol("amqp:not-found"), .string("gone"), .map([.symbol("k"): .uint(5)])]))
    v += [
        described(.ulong(0x24), .list([])),
        described(.symbol("amqp:accepted:list"), .list([])),
        described(.ulong(0x99), .string("unknown code")),
        described(.ulong(0x1_0000_0010), .list([])),
        described(.symbol("com.example:thing"), .int(1)),
        described(.string("string descriptor"), .null),
        // An empty list as descriptor; Proton refuses non-empty compound descriptors
        // (see ProtonCrossCheckTests.compoundDescriptors).
        described(.list([]), .uint(2)),
        described(.ulong(0x77), described(.symbol("nested"), described(.ulong(0x75), .binary([1])))),
        described(.ulong(0x75), .binary(Array("payload".utf8))),
        described(.ulong(0x74), .map([.string("color"): .string("red"), .string("n"): .int(3)])),
        error,
        described(.ulong(0x25), .list([error])),
        described(.ulong(0x27), .list([.boolean(true), .boolean(false), .map([.symbol("x-opt-a"): .string("b")])])),
        described(.ulong(0x23), .list([.uint(1), .ulong(1024)])),
        described(.ulong(0x34), .list([.binary([0, 0, 0, 42]), described(.ulong(0x24), .list([]))])),
    ]

    // Performatives and message sections, as they travel.
    let source = described(.ulong(0x28), .list([
        .string("queue://orders"), .uint(2), .symbol("never"), .uint(300), .boolean(false),
        .map([.symbol("lifetime-policy"): described(.ulong(0x2B), .list([]))]), .symbol("copy"),
        .map([.symbol("selector"): described(.symbol("apache.org:selector-filter:string"), .string("a = 1"))]),
        described(.ulong(0x27), .list([])), .array(.symbols(["amqp:accepted:list"])), .array(.symbols(["queue"])),
    ]))
    v += [
        described(.ulong(0x10), .list([
            .string("container"), .string("host"), .uint(65536), .ushort(255), .uint(30000),
            .array(.symbols(["en-US"])), .null, .array(.symbols(["ANONYMOUS-RELAY"])), .null,
            .map([.symbol("product"): .string("swift-amqp")]),
        ])),
        described(.ulong(0x11), .list([.null, .uint(1), .uint(2048), .uint(2048), .uint(255)])),
        described(.ulong(0x12), .list([
            .string("link"), .uint(0), .boolean(true), .ubyte(2), .ubyte(0), source,
            described(.ulong(0x29), .list([.string("topic://t")])), .null, .null, .null, .ulong(1 << 20),
        ])),
        described(.ulong(0x13), .list([.uint(1), .uint(2048), .uint(1), .uint(2048), .uint(0), .uint(0), .uint(100), .null, .boolean(false)])),
        described(.ulong(0x14), .list([.uint(0), .uint(7), .binary([0, 0, 0, 7]), .uint(0), .boolean(false), .boolean(true)])),
        described(.ulong(0x15), .list([.boolean(true), .uint(0), .uint(9), .boolean(true), described(.ulong(0x24), .list([]))])),
        described(.ulong(0x16), .list([.uint(0), .boolean(true), error])),
        described(.ulong(0x17), .list([])),
        described(.ulong(0x18), .list([error])),
        described(.ulong(0x40), .list([.array(.symbols(["PLAIN", "ANONYMOUS"]))])),
        described(.ulong(0x41), .list([.symbol("PLAIN"), .binary([0, 0x75, 0, 0x70]), .string("host")])),
        described(.ulong(0x44), .list([.ubyte(0)])),
        described(.ulong(0x70), .list([.boolean(true), .ubyte(4), .uint(1000)])),
        described(.ulong(0x73), .list([
            .uuid(AMQPUUID(high: 1, low: 2)), .null, .string("to"), .string("subject"), .null, .null,
            .symbol("text/plain"), .null, .timestamp(Timestamp(millisecondsSinceEpoch: 1_700_000_000_000)),
        ])),
        described(.ulong(0x76), .list([.int(1), .string("two")])),
        described(.ulong(0x78), .map([.symbol("x-opt-checksum"): .uint(0xDEAD)])),
    ]
    return v
}
