// Writes the seed corpus (Tools/Fuzz/corpus/value, frame, message) with the
// codec's own encoders. Run by Tools/Fuzz/make-seeds.sh; the output is committed, so
// this runs only when seeds change. Performatives are spelled as plain described lists
// (field order and types from part 2 of the specification), independent of the typed
// encoders, so seeds also hold forms those would not write.
import Glibc

@main
enum GenerateSeeds {
    static func main() throws {
        let args = CommandLine.arguments
        guard args.count == 2 else { fatalError("usage: GenerateSeeds CORPUS-DIR") }
        let dir = args[1]
        for (name, value) in valueSeeds() { try write(dir + "/value/" + name, value.encoded()) }
        for (name, bytes) in rawValueSeeds() { try write(dir + "/value/" + name, bytes) }
        for (name, config, stream) in try frameSeeds() { try write(dir + "/frame/" + name, [config] + stream) }
        for (name, bytes) in try messageSeeds() { try write(dir + "/message/" + name, bytes) }
    }

    static func write(_ path: String, _ bytes: [UInt8]) throws {
        guard let f = fopen(path, "wb") else { fatalError("cannot open \(path)") }
        defer { fclose(f) }
        guard fwrite(bytes, 1, bytes.count, f) == bytes.count else { fatalError("cannot write \(path)") }
    }

    // MARK: Values

    static func described(_ code: UInt64, _ fields: [AMQPValue]) -> AMQPValue {
        .described(descriptor: .ulong(code), value: .list(fields))
    }
    static func symbols(_ s: [Symbol]) -> AMQPValue { .array(.symbols(s)) }
    static func error(_ condition: Symbol, _ text: String) -> AMQPValue {
        described(Descriptors.error, [.symbol(condition), .string(text), .map(["x-opt-retry": .uint(3)] as AMQPMap).symbolKeys])
    }

    static func valueSeeds() -> [(String, AMQPValue)] {
        var out: [(String, AMQPValue)] = [
            ("null", .null), ("true", .boolean(true)), ("false", .boolean(false)),
            ("ubyte", .ubyte(200)), ("ushort", .ushort(0xBEEF)), ("uint0", .uint(0)), ("smalluint", .uint(7)),
            ("uint", .uint(0xDEAD_BEEF)), ("ulong0", .ulong(0)), ("smallulong", .ulong(9)), ("ulong", .ulong(1 << 40)),
            ("byte", .byte(-5)), ("short", .short(-300)), ("smallint", .int(-1)), ("int", .int(-70000)),
            ("smalllong", .long(100)), ("long", .long(-(1 << 50))), ("float", .float(1.5)), ("float-nan", .float(.nan)),
            ("double", .double(-0.0)), ("double-inf", .double(.infinity)),
            ("decimal32", .decimal32(Decimal32(bits: 0x2230_0001))), ("decimal64", .decimal64(Decimal64(bits: 0x2238_0000_0000_0001))),
            ("decimal128", .decimal128(Decimal128(high: 0x2208_0000_0000_0000, low: 1))),
            ("char", .char("é")), ("char-astral", .char("😀")), ("timestamp", .timestamp(Timestamp(millisecondsSinceEpoch: 1_700_000_000_000))),
            ("uuid", .uuid(AMQPUUID(high: 0x0011_2233_4455_6677, low: 0x8899_AABB_CCDD_EEFF))),
            ("vbin8", .binary([0xCA, 0xFE])), ("vbin32", .binary(Array(repeating: 0xAB, count: 300))),
            ("str8", .string("héllo wörld")), ("str32", .string(String(repeating: "ab€", count: 100))),
            ("sym8", .symbol("amqp:accepted:list")), ("sym32", .symbol(Symbol(String(repeating: "x", count: 260)))),
            ("list0", .list([])), ("list8", .list([.uint(1), .string("a"), .null, .boolean(true)])),
            ("list32", .list(Array(repeating: .ulong(1 << 33), count: 40))),
            ("map8", .map(["k": .int(1), .symbol("s"): .list([]), .ulong(5): .null])),
            ("map32", .map(AMQPMap((0..<40).map { AMQPMap.Entry(key: .string("key\($0)"), value: .long(Int64($0) << 20)) }))),
            ("array-sym", symbols(["PLAIN", "ANONYMOUS", "EXTERNAL"])),
            ("array-uint-small", .array(AMQPArray(.uint, [.uint(1), .uint(2)]))),
            ("array-uint", .array(AMQPArray(.uint, [.uint(1), .uint(70000)]))),
            ("array-long", .array(AMQPArray(.long, [.long(-1), .long(1 << 40)]))),
            ("array-bool", .array(AMQPArray(.boolean, [.boolean(true), .boolean(false)]))),
            ("array-uuid", .array(AMQPArray(.uuid, [.uuid(AMQPUUID(high: 1, low: 2))]))),
            ("array-str32", .array(AMQPArray(.string, [.string("a"), .string(String(repeating: "z", count: 256))]))),
            ("array-list", .array(AMQPArray(.list, [.list([.uint(1)]), .list([])]))),
            ("array-map", .array(AMQPArray(.map, [.map(["a": .null])]))),
            ("array-array", .array(AMQPArray(.array, [.array(.symbols(["x"])), .array(AMQPArray(.int, [.int(5)]))]))),
            ("array-described", .array(AMQPArray(.binary, descriptor: .ulong(Descriptors.data), [.binary([1]), .binary([2, 3])]))),
            ("array-empty", .array(AMQPArray(.null, []))),
            ("described-sym", .described(descriptor: .symbol("amqp:accepted:list"), value: .list([]))),
            ("described-vendor", .described(descriptor: .ulong(0x0000_0137_0000_0001), value: .string("x"))),
            ("described-other", .described(descriptor: .string("not a code"), value: .null)),
            ("described-nested", .described(descriptor: .ulong(Descriptors.amqpValue), value: described(Descriptors.accepted, []))),
            ("error", error("amqp:not-found", "no such node")),
            ("nested", .list([.list([.list([.map(["deep": .array(AMQPArray(.list, [.list([.null])]))])])])])),
        ]
        out.append(("outcomes", .list([described(Descriptors.accepted, []), described(Descriptors.rejected, [error("amqp:invalid-field", "bad")]),
                                        described(Descriptors.released, []), described(Descriptors.modified, [.boolean(true), .boolean(false)]),
                                        described(Descriptors.received, [.uint(1), .ulong(100)])])))
        return out
    }

    /// Encodings the encoder never picks (wide forms for small content) and a few
    /// near-misses that the decoder must reject.
    static func rawValueSeeds() -> [(String, [UInt8])] {
        [
            ("wide-list32-small", [0xD0, 0, 0, 0, 6, 0, 0, 0, 2, 0x43, 0x44]),
            ("wide-map32-small", [0xD1, 0, 0, 0, 7, 0, 0, 0, 2, 0xA3, 1, 0x6B, 0x40]),
            ("wide-str32-short", [0xB1, 0, 0, 0, 2, 0x68, 0x69]),
            ("wide-sym32-short", [0xB3, 0, 0, 0, 1, 0x61]),
            ("wide-vbin32-short", [0xB0, 0, 0, 0, 1, 0xFF]),
            ("wide-uint", [0x70, 0, 0, 0, 1]),
            ("wide-ulong-descriptor", [0x00, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x24, 0x45]),
            ("boolean-byte", [0x56, 0x01, 0x56, 0x00]),
            ("array8-true", [0xE0, 0x02, 0x03, 0x41]),
            ("array8-list0", [0xE0, 0x02, 0x02, 0x45]),
            ("array32-null", [0xF0, 0, 0, 0, 5, 0, 0, 0, 4, 0x40]),
            ("array-described-sym", [0xE0, 0x0A, 0x01, 0x00, 0xA3, 0x04, 0x61, 0x62, 0x63, 0x64, 0xA1, 0x00]),
            ("several", [0x40, 0x41, 0x52, 0x05, 0xA1, 0x01, 0x61, 0x45]),
            ("bad-utf8", [0xA1, 0x02, 0xC0, 0xAF]),
            ("bad-surrogate-char", [0x73, 0x00, 0x00, 0xD8, 0x00]),
            ("bad-count", [0xC0, 0x02, 0x05, 0x40]),
            ("bad-odd-map", [0xC1, 0x02, 0x01, 0x40]),
            ("bad-truncated-list32", [0xD0, 0, 0, 0, 0x10, 0, 0, 0, 1]),
            ("bad-size-mismatch", [0xC0, 0x03, 0x01, 0x40, 0x40]),
            ("bad-nonascii-symbol", [0xA3, 0x01, 0xE9]),
        ]
    }

    // MARK: Frames

    static func frame(_ body: AMQPValue?, type: FrameHeader.FrameType = .amqp, channel: UInt16 = 0, payload: [UInt8] = []) throws(EncodeError) -> [UInt8] {
        try AMQPEncoder.encode { (e) throws(EncodeError) in
            guard let body else { return try FrameEncoder.encodeEmptyFrame(channel: channel, into: &e) }
            try FrameEncoder.encodeFrame(type: type, channel: channel, into: &e) { (e) throws(EncodeError) in
                try body.encode(into: &e)
                try e.encodeRaw(payload)
            }
        }
    }

    /// Transfer payloads: the full message, each body kind, and section-order mistakes.
    static func messageSeeds() throws -> [(String, [UInt8])] {
        func sections(_ values: [AMQPValue]) throws(EncodeError) -> [UInt8] {
            try AMQPEncoder.encode { (e) throws(EncodeError) in for v in values { try v.encode(into: &e) } }
        }
        func section(_ code: UInt64, _ value: AMQPValue) -> AMQPValue { .described(descriptor: .ulong(code), value: value) }
        let data = section(Descriptors.data, .binary(Array("payload".utf8)))
        let props = described(Descriptors.properties, [.ulong(42), .null, .string("queue"), .null, .null, .string("corr")])
        return [
            ("full", try message()),
            ("empty", []),
            ("data", try sections([data])),
            ("data-multi", try sections([data, section(Descriptors.data, .binary([])), data])),
            ("sequence", try sections([section(Descriptors.amqpSequence, .list([.uint(1), .string("two")])),
                                      section(Descriptors.amqpSequence, .list([]))])),
            ("value-map", try sections([section(Descriptors.amqpValue, .map(["k": .array(.symbols(["a"]))]))])),
            ("value-null", try sections([section(Descriptors.amqpValue, .null)])),
            ("header-only", try sections([described(Descriptors.header, [.boolean(false), .ubyte(9)])])),
            ("annotations", try sections([section(Descriptors.deliveryAnnotations, .map([.symbol("x-opt-a"): .ulong(1)])),
                                         section(Descriptors.messageAnnotations, .map([.ulong(7): .string("v")])), data])),
            ("app-properties", try sections([props, section(Descriptors.applicationProperties, .map(["a": .int(1), "b": .null])), data])),
            ("symbolic-sections", try sections([.described(descriptor: .symbol("amqp:data:binary"), value: .binary([1, 2]))])),
            ("bad-order", try sections([data, described(Descriptors.header, [])])),
            ("bad-mixed-body", try sections([data, section(Descriptors.amqpValue, .null)])),
            ("bad-not-described", try sections([.binary([1])])),
            ("bad-section-type", try sections([section(Descriptors.data, .string("text"))])),
            ("bad-app-key", try sections([section(Descriptors.applicationProperties, .map([.symbol("k"): .int(1)]))])),
        ]
    }

    static func message() throws(EncodeError) -> [UInt8] {
        try AMQPEncoder.encode { (e) throws(EncodeError) in
            for section in [
                described(Descriptors.header, [.boolean(true), .ubyte(4), .uint(30_000)]),
                .described(descriptor: .ulong(Descriptors.messageAnnotations), value: .map([.symbol("x-opt-partition-key"): .string("p1")])),
                described(Descriptors.properties, [.string("id-1"), .binary([0x75]), .string("/queue"), .string("subject"), .null,
                                                   .uuid(AMQPUUID(high: 1, low: 2)), .symbol("text/plain"), .null, .null,
                                                   .timestamp(Timestamp(millisecondsSinceEpoch: 1_700_000_000_000))]),
                .described(descriptor: .ulong(Descriptors.applicationProperties), value: .map(["count": .int(3), "ok": .boolean(true)])),
                .described(descriptor: .ulong(Descriptors.data), value: .binary(Array("hello".utf8))),
                .described(descriptor: .ulong(Descriptors.footer), value: .map([.symbol("x-crc"): .uint(1234)])),
            ] { try section.encode(into: &e) }
        }
    }

    static func frameSeeds() throws -> [(String, UInt8, [UInt8])] {
        let amqp = ProtocolHeader.amqp.bytes, sasl = ProtocolHeader.sasl.bytes
        let open = described(Descriptors.open, [.string("container-1"), .string("broker.example"), .uint(65536), .ushort(255),
                                                .uint(60_000), .null, .null, symbols(["ANONYMOUS-RELAY"]), .null,
                                                .map([.symbol("product"): .string("swift-amqp")])])
        let begin = described(Descriptors.begin, [.null, .uint(0), .uint(5000), .uint(5000), .uint(1023)])
        let source = described(Descriptors.source, [.string("queue/a"), .uint(0), .symbol("session-end"), .uint(0), .boolean(false),
                                                    .null, .symbol("move"), .map([.symbol("selector"): described(0x0000_468C_0000_0004, [.string("a = 1")])]),
                                                    .null, symbols(["amqp:accepted:list", "amqp:rejected:list"])])
        let target = described(Descriptors.target, [.string("queue/b")])
        let attach = described(Descriptors.attach, [.string("link-1"), .uint(0), .boolean(true), .ubyte(2), .ubyte(0), source, target,
                                                    .null, .null, .null, .ulong(1 << 20)])
        let flow = described(Descriptors.flow, [.uint(0), .uint(5000), .uint(1), .uint(5000), .uint(0), .uint(0), .uint(100), .null, .boolean(false)])
        let transfer = described(Descriptors.transfer, [.uint(0), .uint(7), .binary([0, 0, 0, 0, 0, 0, 0, 7]), .uint(0), .boolean(false), .boolean(false)])
        let transferMore = described(Descriptors.transfer, [.uint(0), .uint(8), .binary([8]), .uint(0), .null, .boolean(true)])
        let disposition = described(Descriptors.disposition, [.boolean(true), .uint(7), .uint(9), .boolean(true), described(Descriptors.accepted, [])])
        let detach = described(Descriptors.detach, [.uint(0), .boolean(true), error("amqp:link:detach-forced", "bye")])
        let end = described(Descriptors.end, [])
        let close = described(Descriptors.close, [error("amqp:connection:forced", "shutting down")])
        let mechanisms = described(Descriptors.saslMechanisms, [symbols(["PLAIN", "ANONYMOUS", "EXTERNAL"])])
        let initPlain = described(Descriptors.saslInit, [.symbol("PLAIN"), .binary(Array("\0user\0secret".utf8)), .string("broker.example")])
        let challenge = described(Descriptors.saslChallenge, [.binary([1, 2, 3])])
        let response = described(Descriptors.saslResponse, [.binary([4, 5])])
        let outcome = described(Descriptors.saslOutcome, [.ubyte(0), .binary([])])
        let msg = try message()
        let big = 0x07 as UInt8, small = 0x00 as UInt8

        var seeds: [(String, UInt8, [UInt8])] = [
            ("heartbeat", small, try frame(nil)),
            ("open", small, try frame(open)),
            ("begin", big, try frame(begin, channel: 1)),
            ("attach", big, try frame(attach, channel: 1)),
            ("flow", big, try frame(flow, channel: 1)),
            ("transfer", big, try frame(transfer, channel: 1, payload: msg)),
            ("transfer-more", big, try frame(transferMore, channel: 1, payload: [0x00, 0x53, 0x75, 0xA0, 0x03, 1, 2])),
            ("disposition", big, try frame(disposition, channel: 1)),
            ("detach", big, try frame(detach, channel: 1)),
            ("end", big, try frame(end, channel: 1)),
            ("close", small, try frame(close)),
            ("sasl-mechanisms", small, try frame(mechanisms, type: .sasl)),
            ("sasl-init", small, try frame(initPlain, type: .sasl)),
            ("sasl-challenge", small, try frame(challenge, type: .sasl)),
            ("sasl-response", small, try frame(response, type: .sasl)),
            ("sasl-outcome", small, try frame(outcome, type: .sasl)),
            ("limits-depth", 0x0F, try frame(attach, channel: 1)),
            ("limits-elements", 0x17, try frame(open)),
        ]
        seeds.append(("amqp-session", big, amqp + (try frame(open)) + (try frame(begin, channel: 1)) + (try frame(attach, channel: 1))
                      + (try frame(flow, channel: 1)) + (try frame(transfer, channel: 1, payload: msg)) + (try frame(nil))
                      + (try frame(disposition, channel: 1)) + (try frame(close))))
        seeds.append(("sasl-exchange", small, sasl + (try frame(mechanisms, type: .sasl)) + (try frame(initPlain, type: .sasl)) + (try frame(outcome, type: .sasl)) + amqp))
        seeds.append(("header-only", small, amqp))
        seeds.append(("header-tls", small, ProtocolHeader.tls.bytes))
        seeds.append(("header-bad-version", small, [0x41, 0x4D, 0x51, 0x50, 0x00, 0x00, 0x09, 0x0A]))
        // Hand-made framing: an extended header (data offset 3), a symbolic descriptor,
        // and frames the decoder must refuse.
        var extended = try frame(end, channel: 2)
        extended[4] = 3
        extended.insert(contentsOf: [0xEE, 0xEE, 0xEE, 0xEE], at: 8)
        extended[3] &+= 4
        seeds.append(("extended-header", big, extended))
        let symbolic = AMQPValue.described(descriptor: .symbol("amqp:flow:list"), value: .list([.null, .uint(10), .uint(0), .uint(10)]))
        seeds.append(("symbolic-descriptor", big, try frame(symbolic)))
        seeds.append(("bad-too-large", small, [0x00, 0x00, 0x10, 0x00, 0x02, 0x00, 0x00, 0x00]))
        seeds.append(("bad-doff", big, [0x00, 0x00, 0x00, 0x0C, 0x01, 0x00, 0x00, 0x00, 0x00, 0x53, 0x17, 0x45]))
        seeds.append(("bad-type", big, [0x00, 0x00, 0x00, 0x08, 0x02, 0x07, 0x00, 0x00]))
        seeds.append(("bad-not-described", big, [0x00, 0x00, 0x00, 0x0A, 0x02, 0x00, 0x00, 0x00, 0x45, 0x40]))
        seeds.append(("partial", big, Array(try frame(attach, channel: 1).dropLast(5))))
        return seeds
    }
}

extension AMQPValue {
    /// A map whose string keys become symbols (the `fields` type).
    var symbolKeys: AMQPValue {
        guard case .map(let m) = self else { return self }
        return .map(AMQPMap(m.entries.map { e in
            if case .string(let s) = e.key { return AMQPMap.Entry(key: .symbol(Symbol(s)), value: e.value) }
            return e
        }))
    }
}

extension AMQPEncoder {
    mutating func encodeRaw(_ bytes: [UInt8]) throws(EncodeError) {
        for b in bytes { try writeByte(b) }
    }
}
