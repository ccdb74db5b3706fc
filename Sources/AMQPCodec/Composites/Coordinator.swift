/// The target of a link that declares and discharges transactions:
/// `amqp:coordinator:list` (part 4, section 4.5.1).
public struct Coordinator: Hashable, Sendable {
    /// The transaction capabilities (txn-capability symbols, e.g.
    /// `amqp:local-transactions`); empty when absent.
    public var capabilities: [Symbol]

    /// Creates a coordinator.
    public init(capabilities: [Symbol] = []) { self.capabilities = capabilities }

    /// `amqp:local-transactions`: transactions local to one session are supported.
    public static let localTransactions: Symbol = "amqp:local-transactions"
    /// `amqp:distributed-transactions`: distributed transactions are supported.
    public static let distributedTransactions: Symbol = "amqp:distributed-transactions"
    /// `amqp:promotable-transactions`: local transactions may be promoted to distributed.
    public static let promotableTransactions: Symbol = "amqp:promotable-transactions"
    /// `amqp:multi-txns-per-ssn`: a session may have several transactions at once.
    public static let multipleTransactionsPerSession: Symbol = "amqp:multi-txns-per-ssn"
    /// `amqp:multi-ssns-per-txn`: a transaction may span several sessions.
    public static let multipleSessionsPerTransaction: Symbol = "amqp:multi-ssns-per-txn"

    /// Decodes an `amqp:coordinator:list`.
    public init(decoding d: DescribedView) throws(DecodeError) {
        var r = try FieldReader(d, code: Descriptors.coordinator, composite: "coordinator")
        capabilities = try r.symbolList("capabilities")
    }

    /// Encodes as an `amqp:coordinator:list`.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        var w = try FieldWriter(descriptor: Descriptors.coordinator, &e)
        try w.symbols(capabilities, &e)
        try w.finish(&e)
    }
}
