public import AMQPCodec

/// Why a connection (or one of its sessions or links) stopped: an AMQP error and who
/// raised it.
///
/// The `error` is what travels (or would travel) in CLOSE, END or DETACH; `origin` tells
/// whether we detected it, the peer sent it, or the transport below failed.
public struct EngineError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Who raised the error.
    public enum Origin: String, Hashable, Sendable {
        /// We found the peer breaking the protocol (or a local limit), and closed.
        case local
        /// The peer closed with this error.
        case remote
        /// The byte stream below AMQP failed (wrong protocol header, framing lost, I/O).
        case transport
    }
    /// The condition, description and info.
    public var error: AMQPError
    /// Who raised it.
    public var origin: Origin
    /// When the connection ended because the peer's protocol header was not the one
    /// expected: what arrived instead (`peerSpeaksTLS` for a TLS endpoint reached without
    /// TLS). `nil` for every other error.
    public var headerMismatch: ProtocolHeaderMismatch?

    /// Creates an error.
    public init(_ error: AMQPError, origin: Origin, headerMismatch: ProtocolHeaderMismatch? = nil) {
        self.error = error
        self.origin = origin
        self.headerMismatch = headerMismatch
    }

    /// Shorthand for a condition and description.
    public init(_ condition: ErrorCondition, _ description: String, origin: Origin, info: Fields? = nil) {
        self.init(AMQPError(condition: condition, description: description, info: info), origin: origin)
    }

    /// The condition.
    public var condition: ErrorCondition { error.condition }

    /// `<origin>: <condition>: <description>`.
    public var description: String { "\(origin): \(error)" }
}

extension ErrorCondition {
    /// `amqp:internal-error`.
    public static let internalError = ErrorCondition("amqp:internal-error")
    /// `amqp:not-found`.
    public static let notFound = ErrorCondition("amqp:not-found")
    /// `amqp:unauthorized-access`.
    public static let unauthorizedAccess = ErrorCondition("amqp:unauthorized-access")
    /// `amqp:not-allowed`.
    public static let notAllowed = ErrorCondition("amqp:not-allowed")
    /// `amqp:not-implemented`.
    public static let notImplemented = ErrorCondition("amqp:not-implemented")
    /// `amqp:illegal-state`.
    public static let illegalState = ErrorCondition("amqp:illegal-state")
    /// `amqp:frame-size-too-small`.
    public static let frameSizeTooSmall = ErrorCondition("amqp:frame-size-too-small")
    /// `amqp:precondition-failed`.
    public static let preconditionFailed = ErrorCondition("amqp:precondition-failed")
    /// `amqp:connection:forced`.
    public static let connectionForced = ErrorCondition("amqp:connection:forced")
    /// `amqp:connection:redirect`.
    public static let connectionRedirect = ErrorCondition("amqp:connection:redirect")
    /// `amqp:session:window-violation`.
    public static let windowViolation = ErrorCondition("amqp:session:window-violation")
    /// `amqp:session:errant-link`.
    public static let errantLink = ErrorCondition("amqp:session:errant-link")
    /// `amqp:session:handle-in-use`.
    public static let handleInUse = ErrorCondition("amqp:session:handle-in-use")
    /// `amqp:session:unattached-handle`.
    public static let unattachedHandle = ErrorCondition("amqp:session:unattached-handle")
    /// `amqp:link:detach-forced`.
    public static let detachForced = ErrorCondition("amqp:link:detach-forced")
    /// `amqp:link:transfer-limit-exceeded`.
    public static let transferLimitExceeded = ErrorCondition("amqp:link:transfer-limit-exceeded")
    /// `amqp:link:message-size-exceeded`.
    public static let messageSizeExceeded = ErrorCondition("amqp:link:message-size-exceeded")
    /// `amqp:link:redirect`.
    public static let linkRedirect = ErrorCondition("amqp:link:redirect")
    /// `amqp:link:stolen`.
    public static let linkStolen = ErrorCondition("amqp:link:stolen")
}
