import AMQPCodec
import AMQPTool
import Testing

/// One value and the exact line `amqp decode` must print for it.
struct RenderCase: Sendable, CustomTestStringConvertible {
    let value: AMQPValue
    let json: String
    init(_ value: AMQPValue, _ json: String) {
        self.value = value
        self.json = json
    }
    var testDescription: String { json }
}

@Suite("JSON rendering of values")
struct JSONValueRenderingTests {
    static let scalars: [RenderCase] = [
        RenderCase(.null, #"{"type":"null"}"#),
        RenderCase(.boolean(true), #"{"type":"boolean","value":true}"#),
        RenderCase(.boolean(false), #"{"type":"boolean","value":false}"#),
        RenderCase(.ubyte(255), #"{"type":"ubyte","value":255}"#),
        RenderCase(.ushort(65535), #"{"type":"ushort","value":65535}"#),
        RenderCase(.uint(0), #"{"type":"uint","value":0}"#),
        RenderCase(.uint(7), #"{"type":"uint","value":7}"#),
        RenderCase(.uint(4_294_967_295), #"{"type":"uint","value":4294967295}"#),
        RenderCase(.byte(-128), #"{"type":"byte","value":-128}"#),
        RenderCase(.short(-32768), #"{"type":"short","value":-32768}"#),
        RenderCase(.int(-2_147_483_648), #"{"type":"int","value":-2147483648}"#),
        RenderCase(.int(5), #"{"type":"int","value":5}"#),
        RenderCase(.ulong(0), #"{"type":"ulong","value":"0"}"#),
        RenderCase(.ulong(.max), #"{"type":"ulong","value":"18446744073709551615"}"#),
        RenderCase(.long(.min), #"{"type":"long","value":"-9223372036854775808"}"#),
        RenderCase(.long(-1), #"{"type":"long","value":"-1"}"#),
        RenderCase(.timestamp(Timestamp(millisecondsSinceEpoch: 1_700_000_000_123)), #"{"type":"timestamp","value":"1700000000123"}"#),
        RenderCase(.timestamp(Timestamp(millisecondsSinceEpoch: -1)), #"{"type":"timestamp","value":"-1"}"#),
    ]

    static let floats: [RenderCase] = [
        RenderCase(.float(1.5), #"{"type":"float","value":"1.5","bits":"3fc00000"}"#),
        RenderCase(.float(0.1), #"{"type":"float","value":"0.1","bits":"3dcccccd"}"#),
        RenderCase(.float(.nan), #"{"type":"float","value":"nan","bits":"7fc00000"}"#),
        RenderCase(.float(.infinity), #"{"type":"float","value":"inf","bits":"7f800000"}"#),
        RenderCase(.float(-.infinity), #"{"type":"float","value":"-inf","bits":"ff800000"}"#),
        RenderCase(.float(-0.0), #"{"type":"float","value":"-0.0","bits":"80000000"}"#),
        RenderCase(.float(.greatestFiniteMagnitude), #"{"type":"float","value":"3.4028235e+38","bits":"7f7fffff"}"#),
        RenderCase(.double(1.5), #"{"type":"double","value":"1.5","bits":"3ff8000000000000"}"#),
        RenderCase(.double(0.1), #"{"type":"double","value":"0.1","bits":"3fb999999999999a"}"#),
        RenderCase(.double(.nan), #"{"type":"double","value":"nan","bits":"7ff8000000000000"}"#),
        RenderCase(.double(-.nan), #"{"type":"double","value":"nan","bits":"fff8000000000000"}"#),
        RenderCase(.double(.infinity), #"{"type":"double","value":"inf","bits":"7ff0000000000000"}"#),
        RenderCase(.double(-.infinity), #"{"type":"double","value":"-inf","bits":"fff0000000000000"}"#),
        RenderCase(.double(-0.0), #"{"type":"double","value":"-0.0","bits":"8000000000000000"}"#),
        RenderCase(.double(0.0), #"{"type":"double","value":"0.0","bits":"0000000000000000"}"#),
        RenderCase(.double(1e300), #"{"type":"double","value":"1e+300","bits":"7e37e43c8800759c"}"#),
        RenderCase(.double(.leastNonzeroMagnitude), #"{"type":"double","value":"5e-324","bits":"0000000000000001"}"#),
    ]

    static let others: [RenderCase] = [
        RenderCase(.decimal32(Decimal32(bits: 0x0123_4567)), #"{"type":"decimal32","value":"01234567"}"#),
        RenderCase(.decimal64(Decimal64(bits: 0x0123_4567_89AB_CDEF)), #"{"type":"decimal64","value":"0123456789abcdef"}"#),
        RenderCase(
            .decimal128(Decimal128(high: 0x0011_2233_4455_6677, low: 0x8899_AABB_CCDD_EEFF)),
            #"{"type":"decimal128","value":"00112233445566778899aabbccddeeff"}"#),
        RenderCase(.char("A"), #"{"type":"char","value":"U+0041"}"#),
        RenderCase(.char("\u{0}"), #"{"type":"char","value":"U+0000"}"#),
        RenderCase(.char("é"), #"{"type":"char","value":"U+00E9"}"#),
        RenderCase(.char("\u{FFFF}"), #"{"type":"char","value":"U+FFFF"}"#),
        RenderCase(.char("😀"), #"{"type":"char","value":"U+1F600"}"#),
        RenderCase(.char("\u{10FFFF}"), #"{"type":"char","value":"U+10FFFF"}"#),
        RenderCase(
            .uuid(AMQPUUID(high: 0x0011_2233_4455_6677, low: 0x8899_AABB_CCDD_EEFF)),
            #"{"type":"uuid","value":"00112233-4455-6677-8899-aabbccddeeff"}"#),
        RenderCase(.binary([]), #"{"type":"binary","value":""}"#),
        RenderCase(.binary([0xCA, 0xFE, 0x00, 0x0F]), #"{"type":"binary","value":"cafe000f"}"#),
        RenderCase(.string(""), #"{"type":"string","value":""}"#),
        RenderCase(.string("text"), #"{"type":"string","value":"text"}"#),
        RenderCase(.symbol("amqp:accepted:list"), #"{"type":"symbol","value":"amqp:accepted:list"}"#),
    ]

    static let strings: [RenderCase] = [
        RenderCase(.string(#"say "hi""#), #"{"type":"string","value":"say \"hi\""}"#),
        RenderCase(.string(#"C:\dir\"#), #"{"type":"string","value":"C:\\dir\\"}"#),
        RenderCase(.string("a\nb\rc\td\u{8}e\u{C}f"), #"{"type":"string","value":"a\nb\rc\td\be\ff"}"#),
        RenderCase(.string("\u{0}\u{1}\u{B}\u{1B}\u{1F}"), #"{"type":"string","value":"\u0000\u0001\u000b\u001b\u001f"}"#),
        // DEL, slash and the line/paragraph separators are legal raw in JSON.
        RenderCase(.string("\u{7F}/\u{2028}\u{2029}"), "{\"type\":\"string\",\"value\":\"\u{7F}/\u{2028}\u{2029}\"}"),
        RenderCase(.string("héllo wörld €"), #"{"type":"string","value":"héllo wörld €"}"#),
        RenderCase(.string("😀 𝄞 中文"), #"{"type":"string","value":"😀 𝄞 中文"}"#),
        RenderCase(.symbol(#"a"b\c"#), #"{"type":"symbol","value":"a\"b\\c"}"#),
        RenderCase(.symbol("tab\there"), #"{"type":"symbol","value":"tab\there"}"#),
    ]

    static let compounds: [RenderCase] = [
        RenderCase(.list([]), #"{"type":"list","value":[]}"#),
        RenderCase(
            .list([.uint(1), .string("x"), .null, .list([.boolean(true)])]),
            #"{"type":"list","value":[{"type":"uint","value":1},{"type":"string","value":"x"},{"type":"null"},{"type":"list","value":[{"type":"boolean","value":true}]}]}"#
        ),
        RenderCase(.map(AMQPMap()), #"{"type":"map","value":[]}"#),
        // Wire order is kept, whatever the keys.
        RenderCase(
            .map([.symbol("z"): .int(1), .symbol("a"): .int(2)]),
            #"{"type":"map","value":[{"key":{"type":"symbol","value":"z"},"value":{"type":"int","value":1}},{"key":{"type":"symbol","value":"a"},"value":{"type":"int","value":2}}]}"#
        ),
        RenderCase(
            .map([.int(-1): .string("minus one"), .null: .boolean(false), .list([.ubyte(1)]): .map([.ulong(2): .null])]),
            #"{"type":"map","value":[{"key":{"type":"int","value":-1},"value":{"type":"string","value":"minus one"}},{"key":{"type":"null"},"value":{"type":"boolean","value":false}},{"key":{"type":"list","value":[{"type":"ubyte","value":1}]},"value":{"type":"map","value":[{"key":{"type":"ulong","value":"2"},"value":{"type":"null"}}]}}]}"#
        ),
        RenderCase(
            .array(.symbols(["PLAIN", "ANONYMOUS"])),
            #"{"type":"array","element":"symbol","value":[{"type":"symbol","value":"PLAIN"},{"type":"symbol","value":"ANONYMOUS"}]}"#
        ),
        RenderCase(.array(AMQPArray(.int, [])), #"{"type":"array","element":"int","value":[]}"#),
        RenderCase(
            .array(AMQPArray(.uint, [.uint(1), .uint(70000)])),
            #"{"type":"array","element":"uint","value":[{"type":"uint","value":1},{"type":"uint","value":70000}]}"#
        ),
        RenderCase(
            .array(AMQPArray(.array, [.array(AMQPArray(.boolean, [.boolean(true)])), .array(AMQPArray(.boolean, []))])),
            #"{"type":"array","element":"array","value":[{"type":"array","element":"boolean","value":[{"type":"boolean","value":true}]},{"type":"array","element":"boolean","value":[]}]}"#
        ),
        // Described elements print as full described nodes, descriptor repeated.
        RenderCase(
            .array(AMQPArray(.list, descriptor: .ulong(0x24), [.list([]), .list([.uint(3)])])),
            #"{"type":"array","element":"described","value":[{"type":"described","name":"amqp:accepted:list","descriptor":{"type":"ulong","value":"36"},"value":{"type":"list","value":[]}},{"type":"described","name":"amqp:accepted:list","descriptor":{"type":"ulong","value":"36"},"value":{"type":"list","value":[{"type":"uint","value":3}]}}]}"#
        ),
        // An array of described arrays, inside a described value.
        RenderCase(
            .described(
                descriptor: .symbol("com.example:outer"),
                value: .array(AMQPArray(.array, [
                    .array(AMQPArray(.string, descriptor: .symbol("amqp:data:binary"), [.string("a")])),
                    .array(AMQPArray(.string, descriptor: .symbol("amqp:data:binary"), [])),
                ]))),
            #"{"type":"described","descriptor":{"type":"symbol","value":"com.example:outer"},"value":{"type":"array","element":"array","value":[{"type":"array","element":"described","value":[{"type":"described","name":"amqp:data:binary","descriptor":{"type":"symbol","value":"amqp:data:binary"},"value":{"type":"string","value":"a"}}]},{"type":"array","element":"described","value":[]}]}}"#
        ),
    ]

    static let described: [RenderCase] = [
        RenderCase(
            .described(descriptor: .ulong(0x24), value: .list([])),
            #"{"type":"described","name":"amqp:accepted:list","descriptor":{"type":"ulong","value":"36"},"value":{"type":"list","value":[]}}"#
        ),
        RenderCase(
            .described(descriptor: .symbol("amqp:rejected:list"), value: .list([])),
            #"{"type":"described","name":"amqp:rejected:list","descriptor":{"type":"symbol","value":"amqp:rejected:list"},"value":{"type":"list","value":[]}}"#
        ),
        // The AMQP domain is 0: the same low bits in another domain are not `open`.
        RenderCase(
            .described(descriptor: .ulong(0x1_0000_0010), value: .null),
            #"{"type":"described","descriptor":{"type":"ulong","value":"4294967312"},"value":{"type":"null"}}"#
        ),
        RenderCase(
            .described(descriptor: .symbol("amqp:nonesuch:list"), value: .int(1)),
            #"{"type":"described","descriptor":{"type":"symbol","value":"amqp:nonesuch:list"},"value":{"type":"int","value":1}}"#
        ),
        // A descriptor of another type is legal and prints as whatever it is.
        RenderCase(
            .described(descriptor: .string("odd"), value: .binary([1])),
            #"{"type":"described","descriptor":{"type":"string","value":"odd"},"value":{"type":"binary","value":"01"}}"#
        ),
        RenderCase(
            .described(descriptor: .ulong(0x1D), value: .list([.symbol("amqp:internal-error"), .string("boom"), .null])),
            #"{"type":"described","name":"amqp:error:list","descriptor":{"type":"ulong","value":"29"},"value":{"type":"list","value":[{"type":"symbol","value":"amqp:internal-error"},{"type":"string","value":"boom"},{"type":"null"}]}}"#
        ),
        RenderCase(
            .described(descriptor: .ulong(0x77), value: .described(descriptor: .symbol("x"), value: .uint(1))),
            #"{"type":"described","name":"amqp:amqp-value:*","descriptor":{"type":"ulong","value":"119"},"value":{"type":"described","descriptor":{"type":"symbol","value":"x"},"value":{"type":"uint","value":1}}}"#
        ),
    ]

    @Test(arguments: scalars) func scalar(_ c: RenderCase) throws { #expect(try render(c.value) == c.json) }
    @Test(arguments: floats) func floatingPoint(_ c: RenderCase) throws { #expect(try render(c.value) == c.json) }
    @Test(arguments: others) func other(_ c: RenderCase) throws { #expect(try render(c.value) == c.json) }
    @Test(arguments: strings) func stringEscaping(_ c: RenderCase) throws { #expect(try render(c.value) == c.json) }
    @Test(arguments: compounds) func compound(_ c: RenderCase) throws { #expect(try render(c.value) == c.json) }
    @Test(arguments: described) func describedValue(_ c: RenderCase) throws { #expect(try render(c.value) == c.json) }

    @Test func everyNaNKeepsItsBits() throws {
        // Swift's `description` says "nan" for every NaN; the bits tell them apart.
        #expect(try renderEncoded(bytes("72 7fa00000")) == #"{"type":"float","value":"nan","bits":"7fa00000"}"#)
        #expect(try renderEncoded(bytes("72 ffc00001")) == #"{"type":"float","value":"nan","bits":"ffc00001"}"#)
        #expect(try renderEncoded(bytes("82 7ff4000000000000")) == #"{"type":"double","value":"nan","bits":"7ff4000000000000"}"#)
    }

    @Test func wireEncodingDoesNotShow() throws {
        // uint0, smalluint and uint; list0, list8 and list32; sym8 and sym32.
        #expect(try renderEncoded(bytes("43")) == #"{"type":"uint","value":0}"#)
        #expect(try renderEncoded(bytes("52 00")) == #"{"type":"uint","value":0}"#)
        #expect(try renderEncoded(bytes("70 00000000")) == #"{"type":"uint","value":0}"#)
        let empty = #"{"type":"list","value":[]}"#
        #expect(try renderEncoded(bytes("45")) == empty)
        #expect(try renderEncoded(bytes("c0 01 00")) == empty)
        #expect(try renderEncoded(bytes("d0 00000004 00000000")) == empty)
        #expect(try renderEncoded(bytes("a3 01 61")) == #"{"type":"symbol","value":"a"}"#)
        #expect(try renderEncoded(bytes("b3 00000001 61")) == #"{"type":"symbol","value":"a"}"#)
        #expect(try renderEncoded(bytes("56 01")) == #"{"type":"boolean","value":true}"#)
    }

    @Test func malformedElementStopsRendering() throws {
        // list8 of two: a uint, then a constructor AMQP does not define at byte 5.
        #expect(throws: DecodeError(.unknownConstructor, at: 5, detail: "0x57")) {
            try renderEncoded(bytes("c0 04 02 52 07 57"))
        }
        // A string deep inside a map that is not UTF-8.
        #expect(throws: DecodeError(.invalidUTF8, at: 6)) {
            try renderEncoded(bytes("c1 06 02 40 a1 02 c3 28"))
        }
    }

    @Test func nestingBeyondTheViewsLimitStops() throws {
        // Three nested lists, the innermost holding a null: fine under a limit of three;
        // under two, the innermost is refused where it starts. (An empty innermost list
        // nests nothing and passes at any depth, like list0.)
        let deep = bytes("c0 08 01 c0 05 01 c0 02 01 40")
        #expect(try renderEncoded(deep, limits: DecodeLimits(maxDepth: 3)) == #"{"type":"list","value":[{"type":"list","value":[{"type":"list","value":[{"type":"null"}]}]}]}"#)
        #expect(try renderEncoded(bytes("c0 07 01 c0 04 01 c0 01 00"), limits: DecodeLimits(maxDepth: 2)) == #"{"type":"list","value":[{"type":"list","value":[{"type":"list","value":[]}]}]}"#)
        #expect(throws: DecodeError(.nestingTooDeep, at: 6)) {
            try renderEncoded(deep, limits: DecodeLimits(maxDepth: 2))
        }
        // Described values count as levels too.
        #expect(throws: DecodeError(.nestingTooDeep, at: 3)) {
            try renderEncoded(bytes("00 53 01 00 53 02 40"), limits: DecodeLimits(maxDepth: 1))
        }
    }
}
