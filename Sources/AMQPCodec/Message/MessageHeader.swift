/// The header section (part 3, section 3.2.1): how the message is to be delivered.
///
/// Every field is a scalar, so the same type serves building a message and reading one
/// in place: decoding it allocates nothing.
public struct MessageHeader: Hashable, Sendable {
    /// Whether the message must survive an intermediary's restart (default `false`).
    public var durable: Bool
    /// Relative priority, 0 to 255; the specification's default is 4.
    public var priority: UInt8
    /// Time to live in milliseconds; `nil` when the message does not expire.
    public var ttl: UInt32?
    /// Whether no other link has acquired the message before (default `false`).
    public var firstAcquirer: Bool
    /// Number of earlier unsuccessful delivery attempts (default 0).
    public var deliveryCount: UInt32

    /// The specification's default priority.
    public static let defaultPriority: UInt8 = 4

    /// Creates a header; every argument defaults to the specification's default.
    public init(
        durable: Bool = false, priority: UInt8 = MessageHeader.defaultPriority, ttl: UInt32? = nil,
        firstAcquirer: Bool = false, deliveryCount: UInt32 = 0
    ) {
        self.durable = durable
        self.priority = priority
        self.ttl = ttl
        self.firstAcquirer = firstAcquirer
        self.deliveryCount = deliveryCount
    }

    /// Decodes an `amqp:header:list`; null or absent fields take their defaults.
    public init(decoding d: DescribedView) throws(DecodeError) {
        guard d.descriptor.knownCode == Descriptors.header else {
            throw DecodeError(.unexpectedDescriptor, at: d.encodedValue.offset, detail: "header: expected amqp:header:list")
        }
        var r = try FieldReader(d, composite: "header")
        durable = try r.bool("durable") ?? false
        priority = try r.ubyte("priority") ?? Self.defaultPriority
        ttl = try r.uint("ttl")
        firstAcquirer = try r.bool("first-acquirer") ?? false
        deliveryCount = try r.uint("delivery-count") ?? 0
        try r.finishChecked()
    }

    /// Encodes as an `amqp:header:list`, leaving defaults null and dropping trailing nulls
    /// (a header of all defaults is `00 53 70 45`).
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        var w = try FieldWriter(descriptor: Descriptors.header, &e)
        try w.bool(durable, default: false, &e)
        try w.ubyte(priority, default: Self.defaultPriority, &e)
        try w.uint(ttl, &e)
        try w.bool(firstAcquirer, default: false, &e)
        try w.uint(deliveryCount, default: 0, &e)
        try w.finish(&e)
    }
}
