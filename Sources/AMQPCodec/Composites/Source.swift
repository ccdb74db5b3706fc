/// Where a link's messages come from: `amqp:source:list` (part 3, section 3.5.3).
///
/// Optional fields with a specification default are plain properties set to that
/// default; the others are optionals, `nil` when absent. The multiple-valued `outcomes`
/// and `capabilities` are empty when absent (null and an empty array mean the same).
public struct Source: Hashable, Sendable {
    /// The node's address. The specification types it `*` (requires `address`), and the
    /// only address type it defines is the string; other types are a decode error.
    public var address: String?
    /// What state survives. Default `none`.
    public var durable: TerminusDurability
    /// When the expiry timer starts. Default `session-end`.
    public var expiryPolicy: TerminusExpiryPolicy
    /// Seconds the terminus is kept after its expiry timer starts. Default 0.
    public var timeout: UInt32
    /// Asks the peer to create the node (receiver), or says it was created (sender).
    /// Default `false`.
    public var dynamic: Bool
    /// Properties of the dynamic node (node-properties, e.g. `lifetime-policy`); may be
    /// set only when `dynamic` is true.
    public var dynamicNodeProperties: Fields?
    /// How messages leave the node; no default (the node's own).
    public var distributionMode: DistributionMode?
    /// Filters admitting messages onto the link (filter-set: symbol keys, described
    /// filter values or null).
    public var filter: Fields?
    /// The outcome applied to deliveries settled before reaching a terminal state; must be
    /// an outcome. No default (the node's own).
    public var defaultOutcome: DeliveryState?
    /// Symbolic descriptors of the outcomes the receiver may choose, e.g.
    /// `amqp:accepted:list`.
    public var outcomes: [Symbol]
    /// Extension capabilities of the source.
    public var capabilities: [Symbol]

    /// Creates a source; every field defaults to its absent value.
    public init(
        address: String? = nil, durable: TerminusDurability = .none,
        expiryPolicy: TerminusExpiryPolicy = .sessionEnd, timeout: UInt32 = 0, dynamic: Bool = false,
        dynamicNodeProperties: Fields? = nil, distributionMode: DistributionMode? = nil,
        filter: Fields? = nil, defaultOutcome: DeliveryState? = nil, outcomes: [Symbol] = [],
        capabilities: [Symbol] = []
    ) {
        self.address = address
        self.durable = durable
        self.expiryPolicy = expiryPolicy
        self.timeout = timeout
        self.dynamic = dynamic
        self.dynamicNodeProperties = dynamicNodeProperties
        self.distributionMode = distributionMode
        self.filter = filter
        self.defaultOutcome = defaultOutcome
        self.outcomes = outcomes
        self.capabilities = capabilities
    }

    /// Decodes an `amqp:source:list`.
    public init(decoding d: DescribedView) throws(DecodeError) {
        var r = try FieldReader(d, code: Descriptors.source, composite: "source")
        let head = try TerminusHead(reading: &r, kind: "source")
        address = head.address
        durable = head.durable
        expiryPolicy = head.expiryPolicy
        timeout = head.timeout
        dynamic = head.dynamic
        dynamicNodeProperties = head.dynamicNodeProperties
        distributionMode = try r.distributionMode("distribution-mode")
        filter = try r.fields("filter")
        defaultOutcome = try r.deliveryState("default-outcome", outcomeOnly: true)
        outcomes = try r.symbolList("outcomes")
        capabilities = try r.symbolList("capabilities")
    }

    /// Encodes as an `amqp:source:list`, dropping trailing defaults. Throws
    /// `invalidFieldValue` for node properties without `dynamic`, or a default outcome
    /// that is not an outcome.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        let head = self.head
        try head.check(kind: "source")
        if let defaultOutcome, !defaultOutcome.isOutcome {
            throw EncodeError(.invalidFieldValue, detail: "source.default-outcome: \(defaultOutcome.name) is not an outcome")
        }
        var w = try FieldWriter(descriptor: Descriptors.source, &e)
        try head.write(to: &w, &e)
        try w.symbol(distributionMode?.symbol, &e)
        try w.fields(filter, &e)
        try w.deliveryState(defaultOutcome, &e)
        try w.symbols(outcomes, &e)
        try w.symbols(capabilities, &e)
        try w.finish(&e)
    }

    /// The fields source and target share.
    var head: TerminusHead {
        TerminusHead(
            address: address, durable: durable, expiryPolicy: expiryPolicy, timeout: timeout, dynamic: dynamic,
            dynamicNodeProperties: dynamicNodeProperties)
    }
}
