/// What became of a sent message: the outcome the receiving peer settled it with.
///
/// `rejected` is an outcome, not a failure: `send` returns it, and throws only when the
/// message's fate is unknown or it could not be sent at all. `error` gives the rejection
/// as an `AMQPClientError` (the reference's `MessageSendFailed`), for callers that want
/// to throw it.
public enum Outcome: Hashable, Sendable, CustomStringConvertible {
    /// The peer processed the message.
    case accepted
    /// The peer found the message invalid, with its reason.
    case rejected(AMQPError?)
    /// The peer did not and will not process the message; it may be sent again.
    case released
    /// The peer did not process the message and asks for it to be sent again with
    /// changes: `deliveryFailed` counts a failed attempt, `undeliverableHere` asks not to
    /// send it to this link again, `messageAnnotations` are merged into the message.
    case modified(deliveryFailed: Bool, undeliverableHere: Bool, messageAnnotations: Fields?)
    /// The message was sent settled (sender settle mode `settled`): at most once, and
    /// the peer reports no outcome. Reported once the engine has taken it.
    case presettled

    /// The outcome a delivery state stands for; `nil` for non-terminal states. A delivery
    /// settled without a state counts as accepted (the usual meaning of a bare settle).
    init?(_ state: DeliveryState?) {
        switch state {
        case nil, .accepted?: self = .accepted
        case .rejected(let error)?: self = .rejected(error)
        case .released?: self = .released
        case .modified(let failed, let here, let annotations)?:
            self = .modified(deliveryFailed: failed, undeliverableHere: here, messageAnnotations: annotations)
        case .declared?: self = .accepted
        case .received?, .transactionalState?: return nil
        }
    }

    /// True for `accepted` (and `presettled`, which has no other answer).
    public var isAccepted: Bool { self == .accepted || self == .presettled }

    /// The rejection as an error, classified by `policy`; `nil` for other outcomes.
    public func error(policy: ErrorPolicy = ErrorPolicy()) -> AMQPClientError? {
        guard case .rejected(let e) = self else { return nil }
        return policy.sendError(e)
    }

    /// `accepted`, `rejected(amqp:…)`, `released`, `modified`, `presettled`.
    public var description: String {
        switch self {
        case .accepted: "accepted"
        case .rejected(let e): "rejected(\(e.map { "\($0)" } ?? "no error"))"
        case .released: "released"
        case .modified(let failed, let here, _): "modified(deliveryFailed: \(failed), undeliverableHere: \(here))"
        case .presettled: "presettled"
        }
    }
}

/// How a receiver settles a message: the outcomes of part 3, section 3.4.
public enum Settlement: Hashable, Sendable {
    /// Processed.
    case accept
    /// Invalid; the error says why.
    case reject(AMQPError?)
    /// Not processed; deliver it again, possibly elsewhere.
    case release
    /// Not processed; deliver it again with these changes.
    case modify(deliveryFailed: Bool, undeliverableHere: Bool, messageAnnotations: Fields?)

    var state: DeliveryState {
        switch self {
        case .accept: .accepted
        case .reject(let e): .rejected(e)
        case .release: .released
        case .modify(let failed, let here, let annotations):
            .modified(deliveryFailed: failed, undeliverableHere: here, messageAnnotations: annotations)
        }
    }
}
