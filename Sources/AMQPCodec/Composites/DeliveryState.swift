/// The state of a delivery, as transfers and dispositions carry it: the delivery states
/// and outcomes of part 3, section 3.4, and the transactional ones of part 4, section 4.5.
///
/// `accepted`, `released` and `received` decode and encode without allocating.
/// `rejected` and `modified`, whose error and annotations are large, are boxed like
/// `transactionalState`: that keeps the enum small, so the hot path's `DeliveryState?`
/// (in every transfer, disposition and delivery event) copies and destroys inline
/// rather than through the runtime's generic value witnesses.
public enum DeliveryState: Hashable, Sendable {
    /// `amqp:received:list`: how much of the message has arrived, for resuming it.
    /// - sectionNumber: the section where data may be missing (mandatory).
    /// - sectionOffset: the first byte of that section that may be missing (mandatory).
    case received(sectionNumber: UInt32, sectionOffset: UInt64)
    /// `amqp:accepted:list`: the message was processed (an outcome).
    case accepted
    /// `amqp:rejected:list`: the message is invalid and cannot be processed (an outcome).
    indirect case rejected(AMQPError? = nil)
    /// `amqp:released:list`: the message was not and will not be processed (an outcome).
    case released
    /// `amqp:modified:list`: the message was not processed and should be delivered again
    /// with changes (an outcome). The two flags are `false` when absent.
    /// - deliveryFailed: count the attempt as failed (increment delivery-count).
    /// - undeliverableHere: do not redeliver to this link.
    /// - messageAnnotations: annotations to merge into the message.
    indirect case modified(deliveryFailed: Bool = false, undeliverableHere: Bool = false, messageAnnotations: Fields? = nil)
    /// `amqp:declared:list`: a transaction was declared (the outcome of a `declare`).
    /// - txnID: the transaction's identifier (mandatory).
    case declared(txnID: [UInt8])
    /// `amqp:transactional-state:list`: the delivery belongs to a transaction.
    /// - txnID: the transaction (mandatory).
    /// - outcome: the provisional outcome, applied when the transaction commits.
    indirect case transactionalState(txnID: [UInt8], outcome: DeliveryState? = nil)

    /// True for the states that are outcomes (terminal states): accepted, rejected,
    /// released, modified and declared.
    public var isOutcome: Bool {
        switch self {
        case .received, .transactionalState: false
        case .accepted, .rejected, .released, .modified, .declared: true
        }
    }

    /// The specification's name: `received`, `accepted`, …, `transactional-state`.
    public var name: String {
        switch self {
        case .received: "received"
        case .accepted: "accepted"
        case .rejected: "rejected"
        case .released: "released"
        case .modified: "modified"
        case .declared: "declared"
        case .transactionalState: "transactional-state"
        }
    }

    /// The numeric descriptor.
    public var descriptor: UInt64 {
        switch self {
        case .received: Descriptors.received
        case .accepted: Descriptors.accepted
        case .rejected: Descriptors.rejected
        case .released: Descriptors.released
        case .modified: Descriptors.modified
        case .declared: Descriptors.declared
        case .transactionalState: Descriptors.transactionalState
        }
    }

    /// Decodes any of the seven states, by descriptor (numeric or symbolic).
    public init(decoding d: DescribedView) throws(DecodeError) {
        switch d.descriptor.knownCode {
        case Descriptors.accepted:
            _ = try FieldReader(d, composite: "accepted")
            self = .accepted
        case Descriptors.released:
            _ = try FieldReader(d, composite: "released")
            self = .released
        case Descriptors.received:
            var r = try FieldReader(d, composite: "received")
            let number = try r.required(try r.uint("section-number"), "section-number")
            let offset = try r.required(try r.ulong("section-offset"), "section-offset")
            self = .received(sectionNumber: number, sectionOffset: offset)
        case Descriptors.rejected:
            var r = try FieldReader(d, composite: "rejected")
            self = .rejected(try r.error("error"))
        case Descriptors.modified:
            var r = try FieldReader(d, composite: "modified")
            let failed = try r.bool("delivery-failed") ?? false
            let here = try r.bool("undeliverable-here") ?? false
            self = .modified(deliveryFailed: failed, undeliverableHere: here, messageAnnotations: try r.fields("message-annotations"))
        case Descriptors.declared:
            var r = try FieldReader(d, composite: "declared")
            self = .declared(txnID: try r.required(try r.binary("txn-id"), "txn-id"))
        case Descriptors.transactionalState:
            var r = try FieldReader(d, composite: "transactional-state")
            let id = try r.required(try r.binary("txn-id"), "txn-id")
            self = .transactionalState(txnID: id, outcome: try r.deliveryState("outcome", outcomeOnly: true))
        default:
            throw DecodeError(
                .unexpectedDescriptor, at: d.encodedValue.offset,
                detail: "delivery-state: descriptor \(d.descriptor.text) is not a delivery state")
        }
    }

    /// Encodes as the state's described list, dropping trailing absent fields.
    @inline(__always)
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        switch self {
        case .accepted, .released:
            try e.encodeDescriptor(descriptor)
            try e.endList(try e.beginList(), count: 0)
        case .received(let number, let offset):
            var w = try FieldWriter(descriptor: Descriptors.received, &e)
            try w.uint(number, &e)
            try w.ulong(offset, &e)
            try w.finish(&e)
        case .rejected(let error):
            var w = try FieldWriter(descriptor: Descriptors.rejected, &e)
            try w.error(error, &e)
            try w.finish(&e)
        case .modified(let failed, let here, let annotations):
            var w = try FieldWriter(descriptor: Descriptors.modified, &e)
            try w.bool(failed, default: false, &e)
            try w.bool(here, default: false, &e)
            try w.fields(annotations, &e)
            try w.finish(&e)
        case .declared(let id):
            var w = try FieldWriter(descriptor: Descriptors.declared, &e)
            try w.binary(id, &e)
            try w.finish(&e)
        case .transactionalState(let id, let outcome):
            if let outcome, !outcome.isOutcome {
                throw EncodeError(.invalidFieldValue, detail: "transactional-state.outcome: \(outcome.name) is not an outcome")
            }
            var w = try FieldWriter(descriptor: Descriptors.transactionalState, &e)
            try w.binary(id, &e)
            try w.deliveryState(outcome, &e)
            try w.finish(&e)
        }
    }
}
