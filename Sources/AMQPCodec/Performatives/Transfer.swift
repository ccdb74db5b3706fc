/// Carries (part of) a message on a link: `amqp:transfer:list` (part 2, section 2.7.5).
/// The message bytes follow the performative in the frame.
///
/// On the hot path: decoding and encoding allocate nothing when `state` is absent,
/// accepted, released or received; the delivery tag is stored inline.
public struct Transfer: Hashable, Sendable {
    /// The link (mandatory).
    public var handle: UInt32
    /// The delivery's id; required on the first transfer of a delivery.
    public var deliveryID: UInt32?
    /// The delivery's tag (at most 32 bytes); required on the first transfer.
    public var deliveryTag: DeliveryTag?
    /// The message format (0 for the AMQP format); required on the first transfer.
    public var messageFormat: UInt32?
    /// Settled at the sender. No default: absent means "as before" on continuation
    /// transfers and `false` on the first.
    public var settled: Bool?
    /// More transfers follow for this delivery. Default `false`.
    public var more: Bool
    /// Overrides the link's receiver settle mode for this delivery; `nil` keeps it.
    public var rcvSettleMode: ReceiverSettleMode?
    /// The delivery's state at the sender.
    public var state: DeliveryState?
    /// The transfer resumes an unsettled delivery of a detached link. Default `false`.
    public var resume: Bool
    /// The delivery is aborted; its payload must be ignored. Default `false`.
    public var aborted: Bool
    /// Hint that the peer need not answer urgently. Default `false`.
    public var batchable: Bool

    /// Creates a transfer; every optional field defaults to its absent value.
    @inline(__always)
    public init(
        handle: UInt32, deliveryID: UInt32? = nil, deliveryTag: DeliveryTag? = nil, messageFormat: UInt32? = nil,
        settled: Bool? = nil, more: Bool = false, rcvSettleMode: ReceiverSettleMode? = nil,
        state: DeliveryState? = nil, resume: Bool = false, aborted: Bool = false, batchable: Bool = false
    ) {
        self.handle = handle
        self.deliveryID = deliveryID
        self.deliveryTag = deliveryTag
        self.messageFormat = messageFormat
        self.settled = settled
        self.more = more
        self.rcvSettleMode = rcvSettleMode
        self.state = state
        self.resume = resume
        self.aborted = aborted
        self.batchable = batchable
    }

    /// Decodes an `amqp:transfer:list`.
    @inline(__always)
    public init(decoding d: DescribedView) throws(DecodeError) {
        var r = try FieldReader(d, code: Descriptors.transfer, composite: "transfer")
        handle = try r.required(try r.uint("handle"), "handle")
        deliveryID = try r.uint("delivery-id")
        deliveryTag = try r.deliveryTag("delivery-tag")
        messageFormat = try r.uint("message-format")
        settled = try r.bool("settled")
        more = try r.bool("more") ?? false
        rcvSettleMode = try r.receiverSettleMode("rcv-settle-mode")
        state = try r.deliveryState("state")
        resume = try r.bool("resume") ?? false
        aborted = try r.bool("aborted") ?? false
        batchable = try r.bool("batchable") ?? false
    }

    /// Encodes as an `amqp:transfer:list`, dropping trailing defaults.
    @inline(__always)
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        try Self.encode(
            handle: handle, deliveryID: deliveryID, deliveryTag: deliveryTag, messageFormat: messageFormat,
            settled: settled, more: more, rcvSettleMode: rcvSettleMode, state: state, resume: resume, aborted: aborted,
            batchable: batchable, into: &e)
    }

    /// Encodes an `amqp:transfer:list` from its fields (the parameters are the properties
    /// of the same names), without building a `Transfer`: a sender's per-frame path, where
    /// building, copying and destroying one (its optional state holds references) costs
    /// value witness calls.
    @inline(__always)
    public static func encode(
        handle: UInt32, deliveryID: UInt32? = nil, deliveryTag: DeliveryTag? = nil, messageFormat: UInt32? = nil,
        settled: Bool? = nil, more: Bool = false, rcvSettleMode: ReceiverSettleMode? = nil,
        state: DeliveryState? = nil, resume: Bool = false, aborted: Bool = false, batchable: Bool = false,
        into e: inout AMQPEncoder
    ) throws(EncodeError) {
        var w = try FieldWriter(descriptor: Descriptors.transfer, &e)
        try w.uint(handle, &e)
        try w.uint(deliveryID, &e)
        try w.deliveryTag(deliveryTag, &e)
        try w.uint(messageFormat, &e)
        try w.bool(settled, &e)
        // Nearly every transfer leaves the rest at their defaults: as trailing nulls they
        // would only be written to be dropped.
        if more || rcvSettleMode != nil || state != nil || resume || aborted || batchable {
            try w.bool(more, default: false, &e)
            try w.ubyte(rcvSettleMode?.rawValue, &e)
            try w.deliveryState(state, &e)
            try w.bool(resume, default: false, &e)
            try w.bool(aborted, default: false, &e)
            try w.bool(batchable, default: false, &e)
        }
        try w.finish(&e)
    }
}
