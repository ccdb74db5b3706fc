import AMQPCodec
import Testing

@Suite struct MessageEncodingTests {
    /// A durable header and a data section holding "hello", derived by hand.
    ///
    /// Part 3, 3.2.1 and part 1, 1.2 / 1.6:
    ///
    ///     00                 described-type constructor
    ///     53 70              descriptor: smallulong 0x70 (amqp:header:list)
    ///     C0 02 01           list8, size 2 (the count byte and one element), count 1
    ///     41                 durable = true (the boolean-true constructor); priority,
    ///                        ttl, first-acquirer and delivery-count are default, so the
    ///                        trailing fields are omitted
    ///     00                 described-type constructor
    ///     53 75              descriptor: smallulong 0x75 (amqp:data:binary)
    ///     A0 05              vbin8, 5 bytes
    ///     68 65 6C 6C 6F     "hello"
    @Test func durableHeaderAndHelloData() throws {
        var message = Message(body: Array("hello".utf8))
        message.durable = true
        let expected: [UInt8] = [
            0x00, 0x53, 0x70, 0xC0, 0x02, 0x01, 0x41,
            0x00, 0x53, 0x75, 0xA0, 0x05, 0x68, 0x65, 0x6C, 0x6C, 0x6F,
        ]
        #expect(try message.encoded() == expected)
        #expect(try Message(decoding: expected) == message)
    }

    @Test func presentSectionsOfDefaultsAreStillEncoded() throws {
        // A header and properties with every field default/absent: empty lists (list0).
        let m = Message(header: MessageHeader(), properties: MessageProperties(), body: .value(.null))
        #expect(try m.encoded() == [0x00, 0x53, 0x70, 0x45, 0x00, 0x53, 0x73, 0x45, 0x00, 0x53, 0x77, 0x40])
        #expect(try Message(decoding: m.encoded()) == m)
    }

    @Test func defaultsAreWrittenAsNullAndTrailingNullsDropped() throws {
        // priority 4 is the default: null; ttl set: smalluint.
        let h = Message(header: MessageHeader(durable: false, priority: 4, ttl: 1000), body: .value(.null))
        #expect(try h.encoded().prefix(11) == [0x00, 0x53, 0x70, 0xC0, 0x08, 0x03, 0x40, 0x40, 0x70, 0x00, 0x00])
        // Only `to`: message-id and user-id null, then str8 "q"; nothing after it.
        let p = Message(properties: MessageProperties(to: "q"), body: .value(.null))
        #expect(try p.encoded().prefix(11) == [0x00, 0x53, 0x73, 0xC0, 0x06, 0x03, 0x40, 0x40, 0xA1, 0x01, 0x71])
    }

    @Test func messageWithoutBodyIsSentWithNullValue() throws {
        #expect(try Message().encoded() == [0x00, 0x53, 0x77, 0x40])
        let m = Message(properties: MessageProperties(subject: "s"))
        let back = try Message(decoding: m.encoded())
        #expect(back.body == .value(.null))
        #expect(back.properties == m.properties)
    }

    @Test func sectionsAreWrittenInSpecificationOrder() throws {
        let bytes = try MessageFixtures.full.encoded()
        var codes: [UInt64] = []
        try bytes.withUnsafeBytes { raw in
            try ValueDecoder.decodeAll(UnsafeRawBufferPointer(raw)) { (v) throws(DecodeError) in
                guard case .described(let d) = v, let c = d.descriptor.knownCode else { return }
                codes.append(c)
            }
        }
        #expect(codes == [0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x75, 0x75, 0x78])
    }

    @Test func sequenceAndValueBodies() throws {
        // amqp-sequence: 00 53 76, list8 of smallint 1 and str8 "a".
        #expect(try Message(sequence: [.int(1), .string("a")]).encoded() == [
            0x00, 0x53, 0x76, 0xC0, 0x06, 0x02, 0x54, 0x01, 0xA1, 0x01, 0x61,
        ])
        // amqp-value: 00 53 77, str8 "hi".
        #expect(try Message(value: "hi").encoded() == [0x00, 0x53, 0x77, 0xA1, 0x02, 0x68, 0x69])
    }

    @Test func applicationPropertiesRefuseCompoundValues() {
        for bad: AMQPValue in [.list([]), .map([:]), .array(AMQPArray(.int, [])), .described(descriptor: .ulong(1), value: .list([]))] {
            let m = Message(applicationProperties: ["k": bad], body: .value(.null))
            let error = #expect(throws: EncodeError.self) { try m.encoded() }
            #expect(error?.code == .invalidFieldValue)
            #expect(error?.detail.hasPrefix("application-properties value for \"k\"") == true)
        }
        let ok = Message(applicationProperties: ["k": .described(descriptor: .symbol("x:y"), value: .long(1))], body: .value(.null))
        #expect(throws: Never.self) { try ok.encoded() }
    }

    @Test func bodyWithoutSectionsIsRefused() {
        #expect(throws: EncodeError(.invalidFieldValue, detail: "body: data needs at least one section")) {
            try Message(body: .data([])).encoded()
        }
        #expect(throws: EncodeError(.invalidFieldValue, detail: "body: amqp-sequence needs at least one section")) {
            try Message(body: .sequence([])).encoded()
        }
    }

    @Test func nonASCIIAnnotationKeyIsRefused() {
        let m = Message(messageAnnotations: ["x-é": .null], body: .value(.null))
        #expect(throws: EncodeError.self) { try m.encoded() }
    }

    @Test func encodingIntoTooSmallBufferThrows() throws {
        let message = MessageFixtures.full
        let size = try message.encoded().count
        for capacity in [0, 1, 10, size / 2, size - 1] {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
            defer { buffer.deallocate() }
            var e = AMQPEncoder(buffer)
            #expect(throws: EncodeError(.bufferTooSmall)) { try message.encode(into: &e) }
        }
    }
}
