/// What to do about an error: retry (after a back-off) or fail.
///
/// The reference's `ErrorAction(retry, backoff=0, increment_retries=True)`.
public struct ErrorAction: Hashable, Sendable, CustomStringConvertible {
    /// Try the operation again.
    public var retry: Bool
    /// How long to wait before retrying.
    public var backoff: Duration
    /// Count this retry against `ErrorPolicy.maxRetries`; `false` retries without limit
    /// (for errors known to be transient, such as a token refresh).
    public var incrementRetries: Bool

    /// Creates an action.
    public init(retry: Bool, backoff: Duration = .zero, incrementRetries: Bool = true) {
        self.retry = retry
        self.backoff = backoff
        self.incrementRetries = incrementRetries
    }

    /// Retry at once, counting the retry.
    public static let retry = ErrorAction(retry: true)
    /// Do not retry.
    public static let fail = ErrorAction(retry: false)

    /// `retry after 1 seconds`, `retry (uncounted)`, `fail`.
    public var description: String {
        guard retry else { return "fail" }
        var s = "retry"
        if backoff > .zero { s += " after \(backoff)" }
        if !incrementRetries { s += " (uncounted)" }
        return s
    }
}

/// Decides, for each error, whether to retry: the reference's `ErrorPolicy(max_retries=3,
/// on_error=None)`.
///
/// By default an error is retried unless its condition is in `noRetryConditions` (the
/// reference's list: conditions that retrying the same thing cannot fix), with two
/// refinements:
/// - `amqp:resource-limit-exceeded` raised *locally* on a connection (our idle time-out
///   expired because the peer went silent, or the peer overran one of our limits) is
///   retried: a new connection is the cure. Sent by the peer (a quota), it is not.
/// - SASL outcomes `auth` and `sys-perm`, and CBS token rejections with status 400, 401,
///   403 or 404, are not retried; the others are.
///
/// `onError`, when set, is asked about **every** error (the reference asks it only about
/// conditions it does not recognise, which surprised its users). It receives the error
/// with the default action already in `action`, and returns the action to take; return
/// `error.action` to keep the default.
public struct ErrorPolicy: Sendable {
    /// Conditions not retried by default (the reference's `no_retry` set).
    public static let noRetryConditions: Set<ErrorCondition> = [
        .decodeError,
        .messageSizeExceeded,
        .notFound,
        .notImplemented,
        .linkRedirect,
        .notAllowed,
        .unauthorizedAccess,
        .linkStolen,
        .resourceLimitExceeded,
        .connectionRedirect,
        .preconditionFailed,
        .invalidField,
        .resourceDeleted,
        .illegalState,
        .frameSizeTooSmall,
        .framingError,
        .unattachedHandle,
        .handleInUse,
        .errantLink,
        .windowViolation,
    ]

    /// The conditions the reference recognises (its `ErrorCodes`: AMQP 1.0's own plus
    /// `amqp:client-error`, `amqp:unknown-error` and `amqp:vendor-error`). Any other
    /// condition is a broker's own, and maps to a vendor error kind.
    public static let knownConditions: Set<ErrorCondition> = [
        .internalError, .illegalState, .decodeError, .notFound, .notImplemented, .notAllowed,
        .invalidField, .resourceLocked, .resourceDeleted, .unauthorizedAccess, .frameSizeTooSmall,
        .resourceLimitExceeded, .preconditionFailed, .connectionRedirect, .connectionForced,
        .framingError, .windowViolation, .errantLink, .handleInUse, .unattachedHandle,
        .linkRedirect, .linkStolen, .detachForced, .transferLimitExceeded, .messageSizeExceeded,
        .clientError, .unknownError, .vendorError,
    ]

    /// How many counted retries an operation gets before its error is final.
    public var maxRetries: Int
    /// Decides the action for each error instead of the default (see the type's notes).
    public var onError: (@Sendable (AMQPClientError) -> ErrorAction)?

    /// Creates a policy.
    public init(maxRetries: Int = 3, onError: (@Sendable (AMQPClientError) -> ErrorAction)? = nil) {
        self.maxRetries = maxRetries
        self.onError = onError
    }

    /// The action without `onError`: the reference's rules, refined as the type's notes say.
    public func defaultAction(for error: AMQPClientError) -> ErrorAction {
        switch error.kind {
        case .configuration, .clientError:
            return .fail
        case .timeout, .tokenExpired:
            return .retry
        case .authentication:
            switch error.saslCode {
            case .auth?, .sysPerm?: return .fail
            case .sys?, .sysTemp?: return .retry
            default: break
            }
        case .tokenAuthFailure:
            switch error.statusCode {
            case 400?, 401?, 403?, 404?: return .fail
            case nil: break  // no status: an unreadable response; the condition decides
            default: return .retry
            }
        case .connectionClose where error.condition == .resourceLimitExceeded && error.origin == .local:
            return .retry
        default:
            break
        }
        return Self.noRetryConditions.contains(error.condition) ? .fail : .retry
    }

    /// The action for `error`: `onError`'s answer, or the default.
    public func action(for error: AMQPClientError) -> ErrorAction {
        var e = error
        e.action = defaultAction(for: error)
        return onError?(e) ?? e.action
    }

    /// `error` with `action` decided by this policy.
    public func classified(_ error: AMQPClientError) -> AMQPClientError {
        var e = error
        e.action = action(for: error)
        return e
    }

    /// Whether to retry after `error`, given the counted retries so far: the back-off to
    /// wait, or `nil` to give up. Counts the retry in `retries` when the action says so.
    ///
    /// As in the reference, an operation is retried while `retries < maxRetries`, so the
    /// default policy makes at most 4 attempts in all.
    public func nextRetry(after error: AMQPClientError, retries: inout Int) -> Duration? {
        let a = error.action
        guard a.retry, retries < maxRetries else { return nil }
        if a.incrementRetries { retries += 1 }
        return a.backoff
    }
}

extension ErrorCondition {
    /// `amqp:resource-locked`.
    public static let resourceLocked = ErrorCondition("amqp:resource-locked")
    /// `amqp:resource-deleted`.
    public static let resourceDeleted = ErrorCondition("amqp:resource-deleted")
    /// `amqp:client-error`: the application misused the API (the reference's ClientError).
    public static let clientError = ErrorCondition("amqp:client-error")
    /// `amqp:unknown-error`.
    public static let unknownError = ErrorCondition("amqp:unknown-error")
    /// `amqp:vendor-error`.
    public static let vendorError = ErrorCondition("amqp:vendor-error")
}
