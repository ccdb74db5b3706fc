/// Attaches a link to a session: `amqp:attach:list` (part 2, section 2.7.3).
///
/// Optional fields with a specification default are plain properties set to that
/// default; the others are optionals. Multiple-valued fields are empty when absent.
public struct Attach: Hashable, Sendable {
    /// The link's name, unique between the two containers (mandatory).
    public var name: String
    /// The sender's handle for the link (mandatory).
    public var handle: UInt32
    /// Whether the sender of this attach is the link's sender or receiver (mandatory).
    public var role: Role
    /// The sender's settlement mode (actual at the sender, desired at the receiver).
    /// Default `mixed`.
    public var sndSettleMode: SenderSettleMode
    /// The receiver's settlement mode (actual at the receiver, desired at the sender).
    /// Default `first`.
    public var rcvSettleMode: ReceiverSettleMode
    /// Where messages come from; `nil` when no source is attached.
    public var source: Source?
    /// Where messages go: a node, or a transaction coordinator; `nil` when none.
    public var target: AttachTarget?
    /// Unsettled delivery states when resuming a link: delivery tags (binary) to
    /// delivery states (described) or null, kept as the peer sent them.
    public var unsettled: AMQPMap?
    /// True when `unsettled` lists only some of the unsettled deliveries. Default `false`.
    public var incompleteUnsettled: Bool
    /// The sender's initial delivery-count; required when `role` is `.sender`, ignored
    /// otherwise.
    public var initialDeliveryCount: UInt32?
    /// The largest message the endpoint accepts, in bytes; `nil` or 0 for no limit.
    public var maxMessageSize: UInt64?
    /// Extension capabilities the sender supports.
    public var offeredCapabilities: [Symbol]
    /// Extension capabilities the sender may use if the peer offers them.
    public var desiredCapabilities: [Symbol]
    /// Link properties.
    public var properties: Fields?

    /// Creates an attach; every optional field defaults to its absent value.
    public init(
        name: String, handle: UInt32, role: Role, sndSettleMode: SenderSettleMode = .mixed,
        rcvSettleMode: ReceiverSettleMode = .first, source: Source? = nil, target: AttachTarget? = nil,
        unsettled: AMQPMap? = nil, incompleteUnsettled: Bool = false, initialDeliveryCount: UInt32? = nil,
        maxMessageSize: UInt64? = nil, offeredCapabilities: [Symbol] = [], desiredCapabilities: [Symbol] = [],
        properties: Fields? = nil
    ) {
        self.name = name
        self.handle = handle
        self.role = role
        self.sndSettleMode = sndSettleMode
        self.rcvSettleMode = rcvSettleMode
        self.source = source
        self.target = target
        self.unsettled = unsettled
        self.incompleteUnsettled = incompleteUnsettled
        self.initialDeliveryCount = initialDeliveryCount
        self.maxMessageSize = maxMessageSize
        self.offeredCapabilities = offeredCapabilities
        self.desiredCapabilities = desiredCapabilities
        self.properties = properties
    }

    /// Decodes an `amqp:attach:list`. A sender's attach without `initial-delivery-count`
    /// is `missingMandatoryField`: the specification requires it of senders.
    public init(decoding d: DescribedView) throws(DecodeError) {
        var r = try FieldReader(d, code: Descriptors.attach, composite: "attach")
        name = try r.required(try r.string("name"), "name")
        handle = try r.required(try r.uint("handle"), "handle")
        role = try r.required(try r.role("role"), "role")
        sndSettleMode = try r.senderSettleMode("snd-settle-mode") ?? .mixed
        rcvSettleMode = try r.receiverSettleMode("rcv-settle-mode") ?? .first
        source = try r.described("source").map { (s) throws(DecodeError) in try Source(decoding: s) }
        target = try r.described("target").map { (t) throws(DecodeError) in try AttachTarget(decoding: t) }
        unsettled = try r.map("unsettled")
        incompleteUnsettled = try r.bool("incomplete-unsettled") ?? false
        initialDeliveryCount = try r.uint("initial-delivery-count")
        if role == .sender && initialDeliveryCount == nil {
            throw DecodeError(
                .missingMandatoryField, at: r.cursor.reader.absoluteOffset,
                detail: "attach.initial-delivery-count (required when role is sender)")
        }
        maxMessageSize = try r.ulong("max-message-size")
        offeredCapabilities = try r.symbolList("offered-capabilities")
        desiredCapabilities = try r.symbolList("desired-capabilities")
        properties = try r.fields("properties")
    }

    /// Encodes as an `amqp:attach:list`, dropping trailing defaults. Throws
    /// `invalidFieldValue` for a sender without `initialDeliveryCount`.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        if role == .sender && initialDeliveryCount == nil {
            throw EncodeError(.invalidFieldValue, detail: "attach.initial-delivery-count: required when role is sender")
        }
        var w = try FieldWriter(descriptor: Descriptors.attach, &e)
        try w.string(name, &e)
        try w.uint(handle, &e)
        try w.bool(role.rawValue, &e)
        try w.ubyte(sndSettleMode.rawValue, default: SenderSettleMode.mixed.rawValue, &e)
        try w.ubyte(rcvSettleMode.rawValue, default: ReceiverSettleMode.first.rawValue, &e)
        if let source {
            try source.encode(into: &e)
            w.wrote(&e)
        } else {
            try w.null(&e)
        }
        if let target {
            try target.encode(into: &e)
            w.wrote(&e)
        } else {
            try w.null(&e)
        }
        try w.map(unsettled, &e)
        try w.bool(incompleteUnsettled, default: false, &e)
        try w.uint(initialDeliveryCount, &e)
        try w.ulong(maxMessageSize, &e)
        try w.symbols(offeredCapabilities, &e)
        try w.symbols(desiredCapabilities, &e)
        try w.fields(properties, &e)
        try w.finish(&e)
    }
}

/// The target of an attach: a node (`amqp:target:list`), or a transaction coordinator
/// (`amqp:coordinator:list`, part 4) on links that declare and discharge transactions.
///
/// The specification types the field `*` with `requires="target"`; these are the two
/// composites that provide it. Any other descriptor is `unexpectedDescriptor`.
public enum AttachTarget: Hashable, Sendable {
    /// A node that receives messages.
    case target(Target)
    /// A transaction coordinator.
    case coordinator(Coordinator)

    /// Decodes a target or a coordinator, by descriptor.
    public init(decoding d: DescribedView) throws(DecodeError) {
        switch d.descriptor.knownCode {
        case Descriptors.target: self = .target(try Target(decoding: d))
        case Descriptors.coordinator: self = .coordinator(try Coordinator(decoding: d))
        default:
            throw DecodeError(
                .unexpectedDescriptor, at: d.encodedValue.offset,
                detail: "attach.target: descriptor \(d.descriptor.text) is neither a target nor a coordinator")
        }
    }

    /// Encodes the target or coordinator.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        switch self {
        case .target(let t): try t.encode(into: &e)
        case .coordinator(let c): try c.encode(into: &e)
        }
    }
}
