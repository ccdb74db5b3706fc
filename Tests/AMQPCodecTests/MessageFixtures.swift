import AMQPCodec

/// Messages shared by the message tests.
enum MessageFixtures {
    /// The receive hot path: header, properties (string message-id, to, subject,
    /// content-type), application-properties and one data section.
    static let hot = Message(
        header: MessageHeader(durable: true, ttl: 30_000),
        properties: MessageProperties(messageID: "id-1", to: "queue-a", subject: "orders", contentType: "application/json"),
        applicationProperties: ["kind": "order", "n": .int(7), "urgent": true],
        body: .data([Array("{\"order\":42}".utf8)]))

    /// Every section, every field set to a non-default value.
    static let full = Message(
        header: MessageHeader(durable: true, priority: 9, ttl: 60_000, firstAcquirer: true, deliveryCount: 3),
        deliveryAnnotations: ["x-opt-lock-token": .uuid(AMQPUUID(high: 1, low: 2)), 7: .string("numeric key")],
        messageAnnotations: [
            "x-opt-partition-key": "pk", "x-opt-sequence-number": .long(123_456_789),
            "x-opt-nested": .map(["a": .list([.int(1), .string("b")])]),
        ],
        properties: MessageProperties(
            messageID: .uuid(AMQPUUID(high: 0x0011_2233_4455_6677, low: 0x8899_AABB_CCDD_EEFF)),
            userID: [0x75, 0x73, 0x65, 0x72], to: "amqp://broker/queue", subject: "subject",
            replyTo: "reply-queue", correlationID: .ulong(99), contentType: "text/plain",
            contentEncoding: "gzip", absoluteExpiryTime: Timestamp(millisecondsSinceEpoch: 1_700_000_060_000),
            creationTime: Timestamp(millisecondsSinceEpoch: 1_700_000_000_000), groupID: "group",
            groupSequence: 5, replyToGroupID: "reply-group"),
        applicationProperties: [
            "string": "s", "int": .int(-5), "bool": false, "null": .null, "double": .double(1.5),
            "timestamp": .timestamp(Timestamp(millisecondsSinceEpoch: 1)), "binary": .binary([1, 2]),
            "symbol": .symbol("sym"), "uuid": .uuid(AMQPUUID(high: 3, low: 4)),
            "described": .described(descriptor: .symbol("com.microsoft:datetime-offset"), value: .long(638_000_000_000)),
        ],
        body: .data([[0x01, 0x02], [], Array(repeating: 0xAB, count: 300)]),
        footer: ["x-opt-hash": .binary(Array(repeating: 0x5A, count: 32))])

    /// The encoding of `message`.
    static func bytes(_ message: Message) -> [UInt8] {
        // Fixtures are known to encode; a failure here is a bug in the encoder.
        (try? message.encoded()) ?? []
    }

    /// The encoding of one section, as `Message.encode` writes it.
    static func section(_ body: (inout AMQPEncoder) throws(EncodeError) -> Void) -> [UInt8] {
        (try? AMQPEncoder.encode(body)) ?? []
    }
}
