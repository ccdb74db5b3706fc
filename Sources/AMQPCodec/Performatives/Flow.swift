/// Updates session and link flow state: `amqp:flow:list` (part 2, section 2.7.4).
///
/// On the hot path: decoding and encoding allocate nothing unless `properties` is set.
public struct Flow: Hashable, Sendable {
    /// The next transfer-id the sender expects; `nil` until the peer's begin is seen.
    public var nextIncomingID: UInt32?
    /// The sender's incoming window, in transfers (mandatory).
    public var incomingWindow: UInt32
    /// The transfer-id the sender will assign next (mandatory).
    public var nextOutgoingID: UInt32
    /// The sender's outgoing window, in transfers (mandatory).
    public var outgoingWindow: UInt32
    /// The link this flow is about; `nil` for session-only flow state.
    public var handle: UInt32?
    /// The link's delivery-count (a sequence number); only with `handle`.
    public var deliveryCount: UInt32?
    /// The receiver's credit, in messages; only with `handle`.
    public var linkCredit: UInt32?
    /// Messages waiting at the sender for credit; only with `handle`.
    public var available: UInt32?
    /// Drain mode (actual at the sender, desired at the receiver); only with `handle`.
    /// Default `false`.
    public var drain: Bool
    /// Asks the peer to answer with its own flow state. Default `false`.
    public var echo: Bool
    /// Link state properties.
    public var properties: Fields?

    /// Creates a flow; every optional field defaults to its absent value.
    @inline(__always)
    public init(
        nextIncomingID: UInt32? = nil, incomingWindow: UInt32, nextOutgoingID: UInt32, outgoingWindow: UInt32,
        handle: UInt32? = nil, deliveryCount: UInt32? = nil, linkCredit: UInt32? = nil, available: UInt32? = nil,
        drain: Bool = false, echo: Bool = false, properties: Fields? = nil
    ) {
        self.nextIncomingID = nextIncomingID
        self.incomingWindow = incomingWindow
        self.nextOutgoingID = nextOutgoingID
        self.outgoingWindow = outgoingWindow
        self.handle = handle
        self.deliveryCount = deliveryCount
        self.linkCredit = linkCredit
        self.available = available
        self.drain = drain
        self.echo = echo
        self.properties = properties
    }

    /// The link fields that the specification forbids without a handle, if any is set.
    @inline(__always)
    var linkFieldWithoutHandle: StaticString? {
        guard handle == nil else { return nil }
        if deliveryCount != nil { return "delivery-count" }
        if linkCredit != nil { return "link-credit" }
        if available != nil { return "available" }
        if drain { return "drain" }
        return nil
    }

    /// Decodes an `amqp:flow:list`. Link fields (delivery-count, link-credit, available,
    /// drain) without a handle are `invalidFieldValue`.
    @inline(__always)
    public init(decoding d: DescribedView) throws(DecodeError) {
        var r = try FieldReader(d, code: Descriptors.flow, composite: "flow")
        nextIncomingID = try r.uint("next-incoming-id")
        incomingWindow = try r.required(try r.uint("incoming-window"), "incoming-window")
        nextOutgoingID = try r.required(try r.uint("next-outgoing-id"), "next-outgoing-id")
        outgoingWindow = try r.required(try r.uint("outgoing-window"), "outgoing-window")
        handle = try r.uint("handle")
        deliveryCount = try r.uint("delivery-count")
        linkCredit = try r.uint("link-credit")
        available = try r.uint("available")
        drain = try r.bool("drain") ?? false
        echo = try r.bool("echo") ?? false
        properties = try r.fields("properties")
        if let field = linkFieldWithoutHandle { throw r.invalid(field, "set without a handle") }
    }

    /// Encodes as an `amqp:flow:list`, dropping trailing defaults. Throws
    /// `invalidFieldValue` for link fields without a handle.
    @inline(__always)
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        if let field = linkFieldWithoutHandle {
            throw EncodeError(.invalidFieldValue, detail: "flow.\(field): set without a handle")
        }
        var w = try FieldWriter(descriptor: Descriptors.flow, &e)
        try w.uint(nextIncomingID, &e)
        try w.uint(incomingWindow, &e)
        try w.uint(nextOutgoingID, &e)
        try w.uint(outgoingWindow, &e)
        try w.uint(handle, &e)
        try w.uint(deliveryCount, &e)
        try w.uint(linkCredit, &e)
        try w.uint(available, &e)
        try w.bool(drain, default: false, &e)
        try w.bool(echo, default: false, &e)
        try w.fields(properties, &e)
        try w.finish(&e)
    }
}
