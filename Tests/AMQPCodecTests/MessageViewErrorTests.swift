import AMQPCodec
import Testing

/// Encodes one section as a described value with a numeric descriptor.
private func section(_ code: UInt64, _ value: AMQPValue) -> [UInt8] {
    (try? AMQPValue.described(descriptor: .ulong(code), value: value).encoded()) ?? []
}

private let header = section(0x70, .list([.boolean(true)]))
private let deliveryAnnotations = section(0x71, .map([.symbol("x-d"): 1]))
private let messageAnnotations = section(0x72, .map([.symbol("x-m"): 1]))
private let properties = section(0x73, .list([.string("id")]))
private let applicationProperties = section(0x74, .map(["k": "v"]))
private let data = section(0x75, .binary([1, 2]))
private let sequence = section(0x76, .list([1]))
private let value = section(0x77, .string("v"))
private let footer = section(0x78, .map([.symbol("x-f"): 1]))

/// Decodes `bytes` as a message view and returns the error it throws, if any.
private func viewError(_ bytes: [UInt8], baseOffset: Int = 0, limits: DecodeLimits = .default, requireBody: Bool = false) -> DecodeError? {
    bytes.withUnsafeBytes { raw in
        do throws(DecodeError) {
            _ = try MessageView(raw, baseOffset: baseOffset, limits: limits, requireBody: requireBody)
            return nil
        } catch {
            return error
        }
    }
}

@Suite struct MessageViewErrorTests {
    /// Sections whose last one is out of order.
    struct OrderCase: CustomTestStringConvertible, Sendable {
        let sections: [[UInt8]]
        let detail: String
        var testDescription: String { detail }
    }

    static let orderCases: [OrderCase] = [
        OrderCase(sections: [applicationProperties, properties], detail: "properties after application-properties"),
        OrderCase(sections: [header, header], detail: "header after header"),
        OrderCase(sections: [properties, header], detail: "header after properties"),
        OrderCase(sections: [messageAnnotations, deliveryAnnotations], detail: "delivery-annotations after message-annotations"),
        OrderCase(sections: [deliveryAnnotations, deliveryAnnotations], detail: "delivery-annotations after delivery-annotations"),
        OrderCase(sections: [properties, properties], detail: "properties after properties"),
        OrderCase(sections: [applicationProperties, applicationProperties], detail: "application-properties after application-properties"),
        OrderCase(sections: [value, data], detail: "data after amqp-value"),
        OrderCase(sections: [data, value], detail: "amqp-value after data"),
        OrderCase(sections: [value, value], detail: "amqp-value after amqp-value"),
        OrderCase(sections: [data, sequence], detail: "amqp-sequence after data"),
        OrderCase(sections: [sequence, data], detail: "data after amqp-sequence"),
        OrderCase(sections: [sequence, value], detail: "amqp-value after amqp-sequence"),
        OrderCase(sections: [data, applicationProperties], detail: "application-properties after data"),
        OrderCase(sections: [data, footer, data], detail: "data after footer"),
        OrderCase(sections: [data, footer, footer], detail: "footer after footer"),
        OrderCase(sections: [footer, header], detail: "header after footer"),
        OrderCase(sections: [data, footer, messageAnnotations], detail: "message-annotations after footer"),
    ]

    @Test(arguments: orderCases)
    func sectionOrderViolations(_ c: OrderCase) throws {
        let bytes = c.sections.flatMap { $0 }
        let offending = c.sections.dropLast().reduce(0) { $0 + $1.count }
        let error = try #require(viewError(bytes, baseOffset: 10))
        #expect(error.code == .sectionOutOfOrder)
        #expect(error.detail == c.detail)
        #expect(error.offset == 10 + offending)
        #expect(throws: DecodeError.self) { try Message(decoding: bytes) }
    }

    @Test func validOrdersAreAccepted() {
        let orders: [[[UInt8]]] = [
            [header, deliveryAnnotations, messageAnnotations, properties, applicationProperties, data, data, footer],
            [header, sequence, sequence, sequence],
            [deliveryAnnotations, value, footer],
            [footer], [header], [data], [value], [sequence],
        ]
        for sections in orders { #expect(viewError(sections.flatMap { $0 }) == nil) }
    }

    @Test func unknownDescriptorsAreRefused() throws {
        for (bytes, name) in [
            (section(0x14, .list([])), "amqp:transfer:list"),
            (section(0x79, .list([])), "0x0000000000000079"),
            (section(0x6F, .list([])), "0x000000000000006f"),
            (try AMQPValue.described(descriptor: .symbol("com.example:section"), value: .null).encoded(), "com.example:section"),
        ] {
            let error = try #require(viewError(header + bytes))
            #expect(error.code == .unexpectedDescriptor)
            #expect(error.detail == "message: \(name) is not a message section")
            #expect(error.offset == header.count)
        }
        let other = try #require(viewError(try AMQPValue.described(descriptor: .string("x"), value: .null).encoded()))
        #expect(other.code == .unexpectedDescriptor)
    }

    @Test func nonDescribedTopLevelValuesAreRefused() throws {
        for (bytes, type) in [
            (try AMQPValue.binary([1]).encoded(), "binary"), (try AMQPValue.null.encoded(), "null"),
            (try AMQPValue.list([]).encoded(), "list"), ([0xFF], "unknown constructor 0xff"),
        ] {
            let error = try #require(viewError(data + bytes))
            #expect(error.code == .unexpectedType)
            #expect(error.detail == "message: a section must be a described value, found \(type)")
            #expect(error.offset == data.count)
        }
    }

    @Test func sectionsOfTheWrongTypeNameTheSection() throws {
        let cases: [([UInt8], String)] = [
            (section(0x70, .map([:])), "header is not a list"),
            (section(0x71, .list([])), "delivery-annotations is list, expected map"),
            (section(0x72, .string("x")), "message-annotations is string, expected map"),
            (section(0x73, .map([:])), "properties is not a list"),
            (section(0x74, .list([])), "application-properties is list, expected map"),
            (section(0x75, .string("x")), "data is string, expected binary"),
            (section(0x76, .map([:])), "amqp-sequence is map, expected list"),
            (section(0x78, .binary([])), "footer is binary, expected map"),
        ]
        for (bytes, detail) in cases {
            let error = try #require(viewError(bytes))
            #expect(error.code == .unexpectedType)
            #expect(error.detail == detail)
        }
    }

    @Test func fieldsOfTheWrongTypeNameTheField() throws {
        let cases: [([UInt8], String)] = [
            (section(0x70, .list([.null, .uint(4)])), "header.priority is uint, expected ubyte"),
            (section(0x70, .list([.null, .null, .ulong(1)])), "header.ttl is ulong, expected uint"),
            (section(0x73, .list([.symbol("id")])), "properties.message-id is symbol, expected ulong, uuid, binary or string"),
            (section(0x73, .list([.null, .string("u")])), "properties.user-id is string, expected binary"),
            (section(0x73, .list([.null, .null, .ulong(1)])), "properties.to is ulong, expected string"),
            (section(0x73, .list([.null, .null, .null, .null, .null, .long(1)])), "properties.correlation-id is long, expected ulong, uuid, binary or string"),
            (section(0x73, .list([.null, .null, .null, .null, .null, .null, .string("text/plain")])), "properties.content-type is string, expected symbol"),
            (section(0x73, .list(Array(repeating: .null, count: 9) + [.long(1)])), "properties.creation-time is long, expected timestamp"),
            (section(0x73, .list(Array(repeating: .null, count: 11) + [.ulong(1)])), "properties.group-sequence is ulong, expected uint"),
        ]
        for (bytes, detail) in cases {
            let error = try #require(viewError(bytes))
            #expect(error.code == .unexpectedType)
            #expect(error.detail == detail)
        }
    }

    @Test func annotationKeysMustBeSymbolsOrULongs() throws {
        for code: UInt64 in [0x71, 0x72, 0x78] {
            let name = MessageSection(descriptor: code)!.name
            let error = try #require(viewError(section(code, .map(["string-key": 1]))))
            #expect(error.code == .unexpectedType)
            #expect(error.detail == "\(name) key is string, expected symbol or ulong")
            #expect(viewError(section(code, .map([.symbol("x-a"): .list([.map([:])]), .ulong(3): .null]))) == nil)
        }
    }

    @Test func applicationPropertiesAreStringKeyedAndSimple() throws {
        let badKey = try #require(viewError(section(0x74, .map([.symbol("k"): 1]))))
        #expect(badKey.code == .unexpectedType)
        #expect(badKey.detail == "application-properties key is symbol, expected string")

        let compound: [AMQPValue] = [
            .list([]), .map([:]), .array(AMQPArray(.int, [.int(1)])),
            .described(descriptor: .symbol("x:y"), value: .list([])),
        ]
        for v in compound {
            let error = try #require(viewError(section(0x74, .map(["k": v]))))
            #expect(error.code == .invalidFieldValue)
            #expect(error.condition == .invalidField)
            #expect(error.detail.hasPrefix("application-properties value for \"k\" is "))
        }
        let simple = section(0x74, .map(["a": .null, "b": .described(descriptor: .symbol("x:y"), value: .long(1)), "c": .uuid(AMQPUUID(high: 1, low: 1))]))
        #expect(viewError(simple) == nil)
    }

    @Test func malformedNestedValuesAreFoundUpFront() throws {
        // message-annotations {x-a: [ "<invalid UTF-8>" ]}: the nested string is checked
        // when the view is made, and the error names the section.
        let bytes: [UInt8] = [0x00, 0x53, 0x72, 0xC1, 0x0C, 0x02, 0xA3, 0x03, 0x78, 0x2D, 0x61, 0xC0, 0x04, 0x01, 0xA1, 0x01, 0xFF]
        let error = try #require(viewError(bytes))
        #expect(error.code == .invalidUTF8)
        #expect(error.detail == "message-annotations")
        #expect(error.offset == 16)

        // A header list whose declared size holds more than its elements.
        let padded: [UInt8] = [0x00, 0x53, 0x70, 0xC0, 0x03, 0x01, 0x41, 0x40]
        let sizeError = try #require(viewError(padded))
        #expect(sizeError.code == .sizeMismatch)
        #expect(sizeError.detail == "header")

        // Fields beyond the known ones are checked too.
        let extra = section(0x73, .list(Array(repeating: .null, count: 13) + [.list([])]))
        #expect(viewError(extra) == nil)
    }

    @Test func nestingLimitNamesTheSection() throws {
        var v: AMQPValue = .null
        for _ in 0..<10 { v = .list([v]) }
        let bytes = section(0x77, v)
        #expect(viewError(bytes, limits: DecodeLimits(maxDepth: 12)) == nil)
        let error = try #require(viewError(bytes, limits: DecodeLimits(maxDepth: 8)))
        #expect(error.code == .nestingTooDeep)
        #expect(error.detail == "amqp-value")
    }

    /// An empty payload is a message with no sections. The specification's grammar
    /// requires a body, but Proton-C and go-amqp send bodyless messages when no body was
    /// set, so a receiver accepts them unless it asks for `requireBody`.
    @Test func emptyPayloadIsAnEmptyMessage() throws {
        let empty: [UInt8] = []
        try empty.withUnsafeBytes { raw in
            let v = try MessageView(raw)
            #expect(v.header == nil && v.properties == nil && v.body == nil && v.footer == nil)
            #expect(v.bareMessage.count == 0)
        }
        #expect(try Message(decoding: empty) == Message())
        let error = try #require(viewError(empty, requireBody: true))
        #expect(error.code == .missingMandatoryField)
        #expect(error.detail.hasPrefix("body"))
        #expect(viewError(header + properties, requireBody: true)?.code == .missingMandatoryField)
        #expect(viewError(header + data, requireBody: true) == nil)
    }

    /// Cutting a full message at every byte: a cut that falls between two sections is a
    /// shorter, valid message; any other cut is a decode error. Never a crash.
    @Test func truncationAtEveryOffset() throws {
        let bytes = try MessageFixtures.full.encoded()
        var boundaries: Set<Int> = [0]
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            try ValueDecoder.decodeAll(raw) { (v) throws(DecodeError) in
                guard case .described(let d) = v else { return }
                offset = d.encodedValue.offset + d.encodedValue.bytes.count
                boundaries.insert(offset)
            }
        }
        #expect(boundaries.count == 10)
        for cut in 0..<bytes.count {
            let prefix = Array(bytes[0..<cut])
            let error = viewError(prefix)
            if boundaries.contains(cut) {
                #expect(error == nil, "cut at \(cut)")
            } else {
                #expect(error != nil, "cut at \(cut)")
                #expect((error?.offset ?? -1) <= cut)
                #expect(throws: DecodeError.self) { try Message(decoding: prefix) }
            }
        }
    }

    /// Random corruption never crashes; whatever parses also materialises and walks.
    @Test func corruptedMessagesNeverCrash() throws {
        let bytes = try MessageFixtures.full.encoded()
        var rng = SplitMix64(seed: 0xA3C9_1F00_2B7D_5E11)
        var parsed = 0
        for _ in 0..<3000 {
            var mutated = bytes
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let i = Int(rng.next() % UInt64(mutated.count))
                mutated[i] = UInt8(truncatingIfNeeded: rng.next())
            }
            mutated.withUnsafeBytes { raw in
                guard let v = try? MessageView(raw) else { return }
                parsed += 1
                #expect(throws: Never.self) { _ = try v.materialize() }
                _ = v.deliveryAnnotations?.map { $0.key.description }
                _ = v.applicationProperties?.map { $0.key.string }
                if case .data(let d)? = v.body { #expect(d.reduce(0) { $0 + $1.count } == d.byteCount) }
            }
        }
        #expect(parsed > 0)
    }
}


