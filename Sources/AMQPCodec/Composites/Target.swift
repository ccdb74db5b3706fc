/// Where a link's messages go: `amqp:target:list` (part 3, section 3.5.4).
///
/// Optional fields with a specification default are plain properties set to that
/// default; the others are optionals. `capabilities` is empty when absent.
public struct Target: Hashable, Sendable {
    /// The node's address. The specification types it `*` (requires `address`), and the
    /// only address type it defines is the string; other types are a decode error.
    public var address: String?
    /// What state survives. Default `none`.
    public var durable: TerminusDurability
    /// When the expiry timer starts. Default `session-end`.
    public var expiryPolicy: TerminusExpiryPolicy
    /// Seconds the terminus is kept after its expiry timer starts. Default 0.
    public var timeout: UInt32
    /// Asks the peer to create the node (sender), or says it was created (receiver).
    /// Default `false`.
    public var dynamic: Bool
    /// Properties of the dynamic node (node-properties, e.g. `lifetime-policy`); may be
    /// set only when `dynamic` is true.
    public var dynamicNodeProperties: Fields?
    /// Extension capabilities of the target.
    public var capabilities: [Symbol]

    /// Creates a target; every field defaults to its absent value.
    public init(
        address: String? = nil, durable: TerminusDurability = .none,
        expiryPolicy: TerminusExpiryPolicy = .sessionEnd, timeout: UInt32 = 0, dynamic: Bool = false,
        dynamicNodeProperties: Fields? = nil, capabilities: [Symbol] = []
    ) {
        self.address = address
        self.durable = durable
        self.expiryPolicy = expiryPolicy
        self.timeout = timeout
        self.dynamic = dynamic
        self.dynamicNodeProperties = dynamicNodeProperties
        self.capabilities = capabilities
    }

    /// Decodes an `amqp:target:list`.
    public init(decoding d: DescribedView) throws(DecodeError) {
        var r = try FieldReader(d, code: Descriptors.target, composite: "target")
        let head = try TerminusHead(reading: &r, kind: "target")
        address = head.address
        durable = head.durable
        expiryPolicy = head.expiryPolicy
        timeout = head.timeout
        dynamic = head.dynamic
        dynamicNodeProperties = head.dynamicNodeProperties
        capabilities = try r.symbolList("capabilities")
    }

    /// Encodes as an `amqp:target:list`, dropping trailing defaults. Throws
    /// `invalidFieldValue` for node properties without `dynamic`.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        let head = self.head
        try head.check(kind: "target")
        var w = try FieldWriter(descriptor: Descriptors.target, &e)
        try head.write(to: &w, &e)
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
