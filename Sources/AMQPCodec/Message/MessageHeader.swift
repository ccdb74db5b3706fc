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
    ///
    /// Sized first and written with one claim (every field is a scalar of known width),
    /// byte for byte as the field writer would write it; throws `bufferTooSmall`,
    /// writing nothing, when it does not fit.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        let fields =
            deliveryCount != 0 ? 5 : firstAcquirer ? 4 : ttl != nil ? 3 : priority != Self.defaultPriority ? 2 : durable ? 1 : 0
        guard fields > 0 else {
            // described, smallulong, amqp:header:list, list0
            try e.claim(4).storeBytes(of: 0x45_7053_00, as: UInt32.self)
            return
        }
        // durable and first-acquirer take one byte (true or null), priority two or a
        // null, ttl and delivery-count a uint's encoding or a null.
        var content = 1
        if fields >= 2 { content &+= priority != Self.defaultPriority ? 2 : 1 }
        if fields >= 3 { content &+= ttl.map { Transfer.uintSize($0) } ?? 1 }
        if fields >= 4 { content &+= 1 }
        if fields >= 5 { content &+= Transfer.uintSize(deliveryCount) }
        let p = try e.claim(6 &+ content)
        // described, smallulong, amqp:header:list, list8, size, count
        p.storeBytes(of: 0xC0_7053_00, as: UInt32.self)
        (p + 4).storeBytes(of: UInt8(truncatingIfNeeded: content &+ 1), as: UInt8.self)
        (p + 5).storeBytes(of: UInt8(truncatingIfNeeded: fields), as: UInt8.self)
        (p + 6).storeBytes(of: durable ? FormatCode.booleanTrue : FormatCode.null, as: UInt8.self)
        var i = 7
        guard fields >= 2 else { return }
        if priority != Self.defaultPriority {
            (p + i).storeBytes(of: FormatCode.ubyte, as: UInt8.self)
            (p + (i &+ 1)).storeBytes(of: priority, as: UInt8.self)
            i &+= 2
        } else {
            (p + i).storeBytes(of: FormatCode.null, as: UInt8.self)
            i &+= 1
        }
        guard fields >= 3 else { return }
        Transfer.storeOptionalUInt(ttl, p, &i)
        guard fields >= 4 else { return }
        (p + i).storeBytes(of: firstAcquirer ? FormatCode.booleanTrue : FormatCode.null, as: UInt8.self)
        i &+= 1
        guard fields >= 5 else { return }
        Transfer.storeUInt(deliveryCount, p, &i)
    }
}
