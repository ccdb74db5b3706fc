import AMQPCodec
import Testing

@Suite struct MessageRoundTripTests {
    @Test func everySectionAndFieldRoundTrips() throws {
        let original = MessageFixtures.full
        let bytes = try original.encoded()
        #expect(try Message(decoding: bytes) == original)
        try bytes.withUnsafeBytes { raw in
            let view = try MessageView(raw)
            #expect(try view.materialize() == original)
        }
    }

    @Test func viewExposesEveryField() throws {
        let bytes = try MessageFixtures.full.encoded()
        try bytes.withUnsafeBytes { raw in
            let v = try MessageView(raw)
            #expect(v.header == MessageFixtures.full.header)
            #expect(v.durable && v.priority == 9 && v.ttl == 60_000 && v.deliveryCount == 3)
            #expect(v.header?.firstAcquirer == true)

            let p = try #require(v.properties)
            guard case .uuid(let id)? = p.messageID else { Issue.record("message-id"); return }
            #expect(id == AMQPUUID(high: 0x0011_2233_4455_6677, low: 0x8899_AABB_CCDD_EEFF))
            #expect(p.userID?.array == Array("user".utf8))
            #expect(p.to?.equals("amqp://broker/queue") == true)
            #expect(p.subject?.string == "subject")
            #expect(p.replyTo?.string == "reply-queue")
            #expect(p.correlationID?.equals(.ulong(99)) == true)
            #expect(p.contentType?.equals("text/plain") == true)
            #expect(p.contentEncoding?.symbol == "gzip")
            #expect(p.absoluteExpiryTime == Timestamp(millisecondsSinceEpoch: 1_700_000_060_000))
            #expect(p.creationTime == Timestamp(millisecondsSinceEpoch: 1_700_000_000_000))
            #expect(p.groupID?.string == "group")
            #expect(p.groupSequence == 5)
            #expect(p.replyToGroupID?.string == "reply-group")
            #expect(p.materialize() == MessageFixtures.full.properties)

            let da = try #require(v.deliveryAnnotations)
            #expect(da.count == 2)
            guard case .uuid? = da[symbol: "x-opt-lock-token"], case .string(let s)? = da[ulong: 7] else {
                Issue.record("delivery-annotations lookups")
                return
            }
            #expect(s.string == "numeric key")
            #expect(da[symbol: "absent"] == nil)

            let ma = try #require(v.messageAnnotations)
            #expect(ma.map { $0.key.description } == ["x-opt-partition-key", "x-opt-sequence-number", "x-opt-nested"])

            let ap = try #require(v.applicationProperties)
            #expect(ap.count == 10)
            guard case .int(-5)? = ap["int"], case .null? = ap["null"], case .described? = ap["described"] else {
                Issue.record("application-properties lookups")
                return
            }
            #expect(ap["missing"] == nil)
            #expect(ap.map { $0.key.string }.first == "string")

            let data = try #require(v.data)
            #expect(data.count == 3)
            #expect(data.byteCount == 302)
            #expect(data.first.array == [1, 2])
            #expect(data.map { $0.count } == [2, 0, 300])
            var joined = [UInt8](repeating: 0, count: data.byteCount)
            #expect(joined.withUnsafeMutableBytes { data.copyBytes(to: $0) } == 302)
            #expect(joined == [1, 2] + Array(repeating: 0xAB, count: 300))

            #expect(v.footer?[symbol: "x-opt-hash"] != nil)
        }
    }

    static let ids: [MessageID] = [
        .ulong(0), .ulong(255), .ulong(UInt64.max), .uuid(AMQPUUID(high: .max, low: 1)),
        .binary([]), .binary([0, 1, 2, 0xFF]), .binary(Array(repeating: 7, count: 300)),
        .string(""), .string("id"), .string("ünïcödé ✓"), .string(String(repeating: "x", count: 400)),
    ]

    @Test(arguments: ids)
    func everyMessageIDKind(id: MessageID) throws {
        let m = Message(properties: MessageProperties(messageID: id, correlationID: id), body: .value(.null))
        let bytes = try m.encoded()
        #expect(try Message(decoding: bytes) == m)
        try bytes.withUnsafeBytes { raw in
            let v = try MessageView(raw)
            #expect(v.messageID?.materialize() == id)
            #expect(v.correlationID?.equals(id) == true)
            for other in Self.ids where other != id {
                #expect(v.messageID?.equals(other) == false)
            }
        }
    }

    static let bodies: [MessageBody] = [
        .data([[]]),
        .data([Array("hello".utf8)]),
        .data([[1], [2, 3], [], Array(repeating: 9, count: 70_000)]),
        .sequence([[]]),
        .sequence([[.int(1), .string("two"), .list([.null, .boolean(true)])]]),
        .sequence([[.int(1)], [], [.map(["k": "v"])], [.array(AMQPArray(.symbol, [.symbol("a"), .symbol("b")]))]]),
        .value(.null),
        .value(.string("text")),
        .value(.binary([1, 2, 3])),
        .value(.list([.int(1), .list([.int(2), .list([])])])),
        .value(.map([.ulong(1): .string("a"), .string("b"): .map([:])])),
        .value(.array(AMQPArray(.int, [.int(1), .int(100_000)]))),
        .value(.described(descriptor: .symbol("com.example:thing"), value: .list([.string("x")]))),
    ]

    @Test(arguments: bodies)
    func everyBodyKind(body: MessageBody) throws {
        let m = Message(header: MessageHeader(durable: true), body: body, footer: ["x-f": 1])
        let bytes = try m.encoded()
        #expect(try Message(decoding: bytes) == m)
        try bytes.withUnsafeBytes { raw in
            let v = try MessageView(raw)
            switch (body, v.body) {
            case (.data(let sections), .data(let view)?):
                #expect(view.count == sections.count)
                #expect(view.byteCount == sections.reduce(0) { $0 + $1.count })
                #expect(view.map { $0.array } == sections)
                #expect(view.first.array == sections[0])
            case (.sequence(let sections), .sequence(let view)?):
                #expect(view.count == sections.count)
                #expect(try view.map { list in try list.elements().map { try $0.materialize() } } == sections)
            case (.value(let value), .value(let view)?):
                #expect(try view.materialize() == value)
            default:
                Issue.record("body decoded as the wrong kind")
            }
            #expect(v.footer?.count == 1)
        }
    }

    @Test func convenienceInitialisersAndAccessors() throws {
        #expect(Message(body: [1, 2]).body == .data([[1, 2]]))
        #expect(Message(body: [1, 2]).data == [1, 2])
        #expect(Message(value: "v").value == "v")
        #expect(Message(sequence: [1, 2]).body == .sequence([[1, 2]]))

        var m = Message(body: [0])
        #expect(m.properties == nil && m.header == nil)
        m.to = nil
        m.ttl = nil
        #expect(m.properties == nil && m.header == nil)
        m.messageID = "m1"
        m.correlationID = 42
        m.to = "t"
        m.subject = "s"
        m.replyTo = "r"
        m.contentType = "application/octet-stream"
        m.contentEncoding = "identity"
        m.groupID = "g"
        m.creationTime = Timestamp(millisecondsSinceEpoch: 5)
        m.absoluteExpiryTime = Timestamp(millisecondsSinceEpoch: 6)
        m.durable = true
        m.priority = 7
        m.ttl = 100
        m.deliveryCount = 2
        #expect(m.properties == MessageProperties(
            messageID: "m1", to: "t", subject: "s", replyTo: "r", correlationID: 42,
            contentType: "application/octet-stream", contentEncoding: "identity",
            absoluteExpiryTime: Timestamp(millisecondsSinceEpoch: 6), creationTime: Timestamp(millisecondsSinceEpoch: 5),
            groupID: "g"))
        #expect(m.header == MessageHeader(durable: true, priority: 7, ttl: 100, deliveryCount: 2))
        #expect(m.messageID == "m1" && m.correlationID == .ulong(42) && m.to == "t" && m.subject == "s")
        #expect(m.replyTo == "r" && m.contentType == "application/octet-stream" && m.contentEncoding == "identity")
        #expect(m.groupID == "g" && m.creationTime?.millisecondsSinceEpoch == 5 && m.absoluteExpiryTime?.millisecondsSinceEpoch == 6)
        #expect(m.durable && m.priority == 7 && m.ttl == 100 && m.deliveryCount == 2)
        m.to = nil
        #expect(m.properties?.to == nil && m.properties != nil)
        #expect(try Message(decoding: m.encoded()) == m)

        let bare = Message()
        #expect(!bare.durable && bare.priority == 4 && bare.ttl == nil && bare.deliveryCount == 0)
        #expect(bare.data == nil && bare.value == nil && bare.messageID == nil)
    }

    @Test func ownedMapsKeepOrderAndEdit() {
        var a: Annotations = ["x-b": 1, "x-a": 2]
        a["x-b"] = 3
        a["x-c"] = 4
        a[5] = "five"
        a["x-a"] = nil
        #expect(a.entries.map(\.key) == ["x-b", "x-c", .ulong(5)])
        #expect(a["x-b"] == 3 && a.count == 3 && !a.isEmpty)
        var p: ApplicationProperties = ["b": 1, "a": 2]
        p["b"] = nil
        p["c"] = "x"
        #expect(p.entries.map(\.key) == ["a", "c"])
        #expect(p["c"] == "x" && p.count == 2)
    }

    @Test func symbolicDescriptorsAreAccepted() throws {
        // Every section with its symbolic descriptor decodes like the numeric one.
        func section(_ name: String, _ value: AMQPValue) throws -> [UInt8] {
            try AMQPValue.described(descriptor: .symbol(Symbol(name)), value: value).encoded()
        }
        var bytes: [UInt8] = []
        bytes += try section("amqp:header:list", .list([.boolean(true)]))
        bytes += try section("amqp:delivery-annotations:map", .map([.symbol("x-d"): 1]))
        bytes += try section("amqp:message-annotations:map", .map([.symbol("x-m"): 2]))
        bytes += try section("amqp:properties:list", .list([.string("id")]))
        bytes += try section("amqp:application-properties:map", .map(["k": "v"]))
        bytes += try section("amqp:data:binary", .binary([1]))
        bytes += try section("amqp:data:binary", .binary([2]))
        bytes += try section("amqp:footer:map", .map([.symbol("x-f"): 3]))
        let expected = Message(
            header: MessageHeader(durable: true), deliveryAnnotations: ["x-d": 1], messageAnnotations: ["x-m": 2],
            properties: MessageProperties(messageID: "id"), applicationProperties: ["k": "v"],
            body: .data([[1], [2]]), footer: ["x-f": 3])
        #expect(try Message(decoding: bytes) == expected)
        for (name, value) in [("amqp:amqp-sequence:list", AMQPValue.list([1])), ("amqp:amqp-value:*", .string("v"))] {
            let m = try Message(decoding: try section(name, value))
            #expect(m.body == (name.contains("sequence") ? .sequence([[1]]) : .value("v")))
        }
    }

    @Test func bareMessageCoversPropertiesThroughBody() throws {
        let m = MessageFixtures.full
        let bytes = try m.encoded()
        var withoutBare = m
        withoutBare.properties = nil
        withoutBare.applicationProperties = nil
        withoutBare.body = nil
        let head = try Message(header: m.header, deliveryAnnotations: m.deliveryAnnotations, messageAnnotations: m.messageAnnotations).encoded()
        let headLength = head.count - 4  // minus the amqp-value null that encode adds
        let footerLength = try Message(footer: m.footer).encoded().count - 4
        try bytes.withUnsafeBytes { raw in
            let v = try MessageView(raw, baseOffset: 100)
            #expect(v.bareMessage.offset == 100 + headLength)
            #expect(v.bareMessage.array == Array(bytes[headLength..<(bytes.count - footerLength)]))
        }
        try [UInt8]([0x00, 0x53, 0x70, 0x45]).withUnsafeBytes { raw in
            let v = try MessageView(raw)
            #expect(v.bareMessage.count == 0)
        }
    }

    @Test func viewOfFramePayloadKeepsOffsets() throws {
        let payload = try Message(body: [1, 2, 3]).encoded()
        let frame = try AMQPEncoder.encode { (e) throws(EncodeError) in
            try FrameEncoder.encodeFrame(channel: 1, into: &e) { (e) throws(EncodeError) in
                try e.encodeDescriptor(Descriptors.transfer)
                let m = try e.beginList()
                try e.encode(UInt32(0))
                try e.endList(m, count: 1)
                for b in payload { try e.writeByte(b) }
            }
        }
        try frame.withUnsafeBytes { raw in
            guard case .frame(let f) = try FrameDecoder().decode(raw) else { Issue.record("no frame"); return }
            let v = try MessageView(payload: f.payload)
            #expect(v.data?.first.array == [1, 2, 3])
            #expect(v.data?.first.offset == f.payload.offset + 5)
        }
    }

    @Test func messageWithoutBodyDecodesWithNilBody() throws {
        let bytes = try AMQPValue.described(descriptor: .ulong(0x73), value: .list([.string("id")])).encoded()
        let m = try Message(decoding: bytes)
        #expect(m.body == nil)
        #expect(m.messageID == "id")
        try bytes.withUnsafeBytes { raw in
            let v = try MessageView(raw)
            #expect(v.body == nil)
        }
    }
}
