/// Reports the state or settlement of a range of deliveries:
/// `amqp:disposition:list` (part 2, section 2.7.6).
///
/// On the hot path: decoding and encoding allocate nothing when `state` is absent,
/// accepted, released or received.
public struct Disposition: Hashable, Sendable {
    /// Whether the sender of this disposition is the links' sender or receiver
    /// (mandatory).
    public var role: Role
    /// The first delivery-id of the range (mandatory).
    public var first: UInt32
    /// The last delivery-id of the range; `nil` means `first`.
    public var last: UInt32?
    /// The deliveries are settled. Default `false`.
    public var settled: Bool
    /// The deliveries' new state.
    public var state: DeliveryState?
    /// Hint that the peer need not answer urgently. Default `false`.
    public var batchable: Bool

    /// Creates a disposition; every optional field defaults to its absent value.
    @inline(__always)
    public init(
        role: Role, first: UInt32, last: UInt32? = nil, settled: Bool = false, state: DeliveryState? = nil,
        batchable: Bool = false
    ) {
        self.role = role
        self.first = first
        self.last = last
        self.settled = settled
        self.state = state
        self.batchable = batchable
    }

    /// Decodes an `amqp:disposition:list`.
    @inline(__always)
    public init(decoding d: DescribedView) throws(DecodeError) {
        var r = try FieldReader(d, code: Descriptors.disposition, composite: "disposition")
        role = try r.required(try r.role("role"), "role")
        first = try r.required(try r.uint("first"), "first")
        last = try r.uint("last")
        settled = try r.bool("settled") ?? false
        state = try r.deliveryState("state")
        batchable = try r.bool("batchable") ?? false
    }

    /// Encodes as an `amqp:disposition:list`, dropping trailing defaults.
    @inline(__always)
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        var w = try FieldWriter(descriptor: Descriptors.disposition, &e)
        try w.bool(role.rawValue, &e)
        try w.uint(first, &e)
        try w.uint(last, &e)
        try w.bool(settled, default: false, &e)
        try w.deliveryState(state, &e)
        try w.bool(batchable, default: false, &e)
        try w.finish(&e)
    }
}
