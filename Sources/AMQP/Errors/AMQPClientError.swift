import AMQPEngine
public import AMQPTLS
public import AMQPWebSocket

/// An error from a connection, session, link, delivery or authentication: what happened,
/// the AMQP error behind it, and what the error policy decided to do about it.
///
/// One type for every failure, so APIs can throw it typed and callers catch it once;
/// `kind` says which of the reference's exception classes it corresponds to. Kinds,
/// origins and the fields here can grow without breaking code that switches on them
/// (a `switch` over `kind` needs a `default`).
///
/// ```swift
/// do { … } catch let error as AMQPClientError {
///     if error.kind == .linkRedirect, let target = error.redirect { … }
///     else if error.action.retry { … }
/// }
/// ```
public struct AMQPClientError: Error, Sendable, CustomStringConvertible {
    /// Which kind of failure; each mirrors an exception class of the reference client.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        /// The reference's class name, e.g. `LinkDetach`.
        public let name: String
        init(_ name: String) { self.name = name }
        /// The name.
        public var description: String { name }

        /// The connection closed with a standard AMQP condition (`ConnectionClose`).
        public static let connectionClose = Kind("ConnectionClose")
        /// The connection closed with a broker's own condition (`VendorConnectionClose`).
        public static let vendorConnectionClose = Kind("VendorConnectionClose")
        /// The peer closed the connection with `amqp:connection:redirect`: see `redirect`.
        public static let connectionRedirect = Kind("ConnectionRedirect")
        /// A session ended with an error (the reference folds these into link and
        /// connection errors; here they keep their own kind).
        public static let sessionEnd = Kind("SessionEnd")
        /// A link detached with a standard AMQP condition (`LinkDetach`).
        public static let linkDetach = Kind("LinkDetach")
        /// A link detached with a broker's own condition (`VendorLinkDetach`).
        public static let vendorLinkDetach = Kind("VendorLinkDetach")
        /// The peer detached the link with `amqp:link:redirect`: see `redirect`
        /// (`LinkRedirect`).
        public static let linkRedirect = Kind("LinkRedirect")
        /// The peer rejected a message with a standard condition (`MessageSendFailed`).
        public static let messageSendFailed = Kind("MessageSendFailed")
        /// The peer rejected a message with a broker's own condition (`MessageException`).
        public static let messageException = Kind("MessageException")
        /// SASL authentication failed (`AuthenticationException`); see `saslCode`.
        public static let authentication = Kind("AuthenticationException")
        /// The CBS node refused a token (`TokenAuthFailure`); see `statusCode`.
        public static let tokenAuthFailure = Kind("TokenAuthFailure")
        /// The CBS token expired before a new one was accepted (`TokenExpired`).
        public static let tokenExpired = Kind("TokenExpired")
        /// An operation did not finish in time (`ClientTimeout`).
        public static let timeout = Kind("ClientTimeout")
        /// The application used the API wrongly (`ClientError`).
        public static let clientError = Kind("ClientError")
        /// A setting is invalid (see `ConfigurationError`).
        public static let configuration = Kind("ConfigurationError")
        /// The connection or link was lost while a sent message awaited its outcome: the
        /// peer may or may not have it. `SendClient` reports these per message instead of
        /// sending them again, unless its reconnect policy says to resend.
        public static let messageFateUnknown = Kind("MessageFateUnknown")
    }

    /// Who raised the error.
    public struct Origin: Hashable, Sendable, CustomStringConvertible {
        /// `local`, `remote`, `transport` or `client`.
        public let name: String
        init(_ name: String) { self.name = name }
        /// The name.
        public var description: String { name }

        /// We detected it (the peer broke the protocol, a local limit or time-out).
        public static let local = Origin("local")
        /// The peer sent it (CLOSE, END, DETACH, a rejected outcome, a CBS response).
        public static let remote = Origin("remote")
        /// The byte stream below AMQP failed.
        public static let transport = Origin("transport")
        /// This library's client layer decided it (time-outs, misuse, configuration).
        public static let client = Origin("client")

        init(_ origin: EngineError.Origin) {
            switch origin {
            case .local: self = .local
            case .remote: self = .remote
            case .transport: self = .transport
            }
        }
    }

    /// Which kind of failure.
    public var kind: Kind
    /// The AMQP condition, e.g. `amqp:not-found` or a broker's `com.microsoft:server-busy`.
    public var condition: ErrorCondition
    /// The description that came with the condition (the peer's words when it sent it).
    public var errorDescription: String?
    /// The error's `info` map, as sent.
    public var info: Fields?
    /// Who raised it.
    public var origin: Origin
    /// What the error policy decided.
    public var action: ErrorAction
    /// Where to go instead, for `connectionRedirect` and `linkRedirect` (nil if the
    /// peer's info could not be parsed; `redirectProblem` says why).
    public var redirect: RedirectInfo?
    /// Why `redirect` is nil for a redirect kind.
    public var redirectProblem: RedirectError?
    /// What failed in TLS, when the connection's TLS layer ended it: an expired,
    /// untrusted or wrong-host certificate, a peer without TLS, a failed handshake. Also
    /// set, with code `.peerRequiresTLS`, when a connection without TLS (`amqp://`)
    /// reached a TLS endpoint (the peer answered with a TLS record or the AMQP TLS header).
    public var tls: TLSError?
    /// What failed in WebSocket, when the connection's WebSocket layer ended it: a refused
    /// upgrade (with the HTTP status), a wrong accept key or subprotocol, a frame the
    /// protocol forbids, the peer closing the WebSocket.
    public var webSocket: WebSocketError?
    /// The CBS response's `status-code`, for `tokenAuthFailure`.
    public var statusCode: Int?
    /// The SASL outcome code, for `authentication`.
    public var saslCode: SASLCode?
    /// For a send that failed without an outcome: `true` when the message went out and
    /// the peer may have it (its fate is unknown), `false` when it was never sent (so
    /// sending it again cannot make a duplicate); `nil` for other errors.
    public var messageMayHaveReachedPeer: Bool?

    /// Creates an error. Its `action` is `.fail` until an `ErrorPolicy` classifies it.
    public init(
        kind: Kind, condition: ErrorCondition, description: String? = nil, info: Fields? = nil,
        origin: Origin, action: ErrorAction = .fail
    ) {
        self.kind = kind
        self.condition = condition
        self.errorDescription = description
        self.info = info
        self.origin = origin
        self.action = action
    }

    /// The condition, description and info as an AMQP `error`.
    public var amqpError: AMQPError { AMQPError(condition: condition, description: errorDescription, info: info) }

    /// True when the condition is a broker's own rather than one of AMQP's.
    public var isVendor: Bool { !ErrorPolicy.knownConditions.contains(condition) }

    /// What happened, in a few words: `the peer detached the link`.
    public var summary: String {
        let by: String
        switch origin {
        case .remote: by = "the peer"
        case .transport: by = "the transport"
        default: by = "this client"
        }
        switch kind {
        case .connectionClose, .vendorConnectionClose:
            return origin == .transport ? "the connection's byte stream failed" : "\(by) closed the connection"
        case .connectionRedirect: return "the peer redirected the connection"
        case .sessionEnd: return "\(by) ended the session"
        case .linkDetach, .vendorLinkDetach: return "\(by) detached the link"
        case .linkRedirect: return "the peer redirected the link"
        case .messageSendFailed, .messageException: return "the peer rejected the message"
        case .authentication: return "SASL authentication failed"
        case .tokenAuthFailure: return "the CBS node refused the token" + (statusCode.map { " (status \($0))" } ?? "")
        case .tokenExpired: return "the CBS token expired before a new one was accepted"
        case .timeout: return "the operation timed out"
        case .clientError: return "the API was used in a way it does not allow"
        case .configuration: return "a setting is invalid"
        case .messageFateUnknown: return "the message's outcome is unknown: the connection or link was lost before the peer settled it"
        default: return "\(by) reported an error"
        }
    }

    /// What to do about it.
    public var advice: String {
        if kind == .connectionRedirect || kind == .linkRedirect {
            if let r = redirect {
                return kind == .linkRedirect
                    ? "attach the link again at \(r.address ?? r.connectHost) on \(r.connectHost):\(r.port.map(String.init) ?? "the default port")"
                    : "connect to \(r.connectHost)\(r.port.map { ":\($0)" } ?? "") instead (Connection.redirect)"
            }
            return "the redirect target could not be read (\(redirectProblem?.description ?? "no info")); report this with a trace (debug: true)"
        }
        if let code = tls?.code, let advice = Self.tlsAdvice[code] {
            return advice
        }
        switch kind {
        case .tokenAuthFailure:
            switch statusCode {
            case 400?: return "the put-token request was malformed: check the token type and audience"
            case 401?, 403?: return "the token does not grant access: check the key or credential, the audience (entity URI) and the claims (Send, Listen, Manage)"
            case 404?: return "the audience names no entity: check the namespace and entity path"
            default: return "the CBS node could not process the token now; retry with back-off"
            }
        case .tokenExpired: return "refresh the token sooner (a shorter refresh margin) or check that the token provider answers"
        case .timeout: return "the peer did not answer in time: check connectivity and the peer's health, then retry"
        case .configuration: return "fix the setting named in the description"
        case .messageFateUnknown: return "send it again if a duplicate is acceptable (ReconnectPolicy.resendUnsettled), or check with the receiver first"
        case .authentication:
            switch saslCode {
            case .auth?: return "check the SASL mechanism, user name and password"
            case .sysPerm?: return "the server cannot authenticate anyone now; retrying will not help"
            default: return "the server could not authenticate now; retry later"
            }
        default: break
        }
        return Self.advice[condition] ?? (isVendor
            ? "this is a broker-specific condition: see the broker's documentation for \(condition)"
            : "see the description")
    }

    /// `LinkDetach: the peer detached the link: amqp:not-found: "…". Check the address…
    /// (not retried)`.
    public var description: String {
        var s = "\(kind.name): \(summary): \(condition)"
        if let d = errorDescription, !d.isEmpty { s += ": \"\(d)\"" }
        s += ". \(advice.prefix(1).uppercased())\(advice.dropFirst())"
        s += action.retry ? " (retrying: \(action))" : " (not retried)"
        return s
    }

    /// What to do about a TLS failure: the connection's condition (the transport ended)
    /// would only say that the peer closed it.
    static let tlsAdvice: [TLSError.Code: String] = [
        .peerRequiresTLS: "the peer speaks TLS on this port: connect with amqps:// (TLS from the first byte), or set ConnectionSettings.tls",
        .certificateExpired: "the peer's certificate has expired (or the clock is wrong): renew it, or check the system time",
        .certificateNotYetValid: "the peer's certificate is not valid yet: check the system time on both ends",
        .certificateUntrusted: "the peer's certificate does not lead to a trusted CA: trust its CA (TLSConfiguration.trust: .file or .systemAndFile)",
        .hostnameMismatch: "the peer's certificate does not name the host connected to: connect by a name it lists, or set TLSConfiguration.serverName",
        .certificateInvalid: "the peer's certificate failed verification: see the detail for OpenSSL's reason",
        .peerRejectedCertificate: "the peer wants a client certificate it trusts: configure one (TLSConfiguration.certificate) or check its CA",
        .plaintextPeer: "the peer does not speak TLS on this port: connect with amqp://, or to its TLS port",
        .protocolHeaderMismatch: "the peer does not offer TLS after the AMQP TLS header: start TLS from the first byte (TLSConfiguration.start: .immediately)",
        .notTLS: "the port speaks neither TLS nor AMQP: check the host and port",
        .handshakeFailed: "the TLS handshake failed (no common version or cipher, or an alert): see the detail for OpenSSL's reason",
        .invalidConfiguration: "a configured TLS file cannot be used: fix the file named in the detail",
    ]

    static let advice: [ErrorCondition: String] = [
        .decodeError: "a frame could not be decoded, a bug on one side: capture a trace (debug: true) and report it",
        .framingError: "the byte stream is not valid AMQP framing: check that the port speaks AMQP 1.0 (not AMQP 0-9-1, HTTP or TLS), or report a bug with a trace",
        .messageSizeExceeded: "the message is larger than the link allows: send smaller messages or raise the entity's limit",
        .notFound: "the addressed node does not exist: check the address (queue, topic or entity path) and that it was created",
        .notImplemented: "the peer does not support this operation or option",
        .notAllowed: "the peer does not allow this operation here: check the link's role, settle modes and the entity's settings",
        .unauthorizedAccess: "the credentials do not grant access: check the SASL credentials or CBS token and their rights on this entity",
        .linkStolen: "another link with the same name took over: use unique link names or stop the other client",
        .resourceLimitExceeded: "a limit was exceeded (a quota, connections, links, sizes, or an idle time-out): reduce use or raise the limit",
        .preconditionFailed: "a precondition of the operation did not hold: check the operation's arguments and the entity's state",
        .invalidField: "a field had a value the peer does not accept: check the settings and message fields sent",
        .resourceDeleted: "the node was deleted while in use: recreate it or use another address",
        .resourceLocked: "another client holds a lock on the resource: retry later",
        .illegalState: "a frame arrived that its receiver did not expect in its state, a protocol bug: report it with a trace (debug: true)",
        .frameSizeTooSmall: "a frame did not fit the negotiated max-frame-size: raise maxFrameSize or send less in OPEN and ATTACH properties",
        .windowViolation: "a session-window protocol error, a bug on one side: report it with a trace",
        .errantLink: "a link-handle protocol error, a bug on one side: report it with a trace",
        .handleInUse: "a link-handle protocol error, a bug on one side: report it with a trace",
        .unattachedHandle: "a frame named a link handle that is not attached, a bug on one side: report it with a trace",
        .connectionForced: "the peer closed the connection (shutdown, failover, idle or overload): reconnecting usually works",
        .internalError: "the peer hit an internal error: retrying usually works",
        .detachForced: "the peer detached the link (an entity update or rebalancing): attaching again usually works",
        .transferLimitExceeded: "more was sent than the receiver's credit allowed, a bug on the sending side",
        .clientError: "the API was used wrongly: see the description",
        .unknownError: "the peer gave no usable reason: retrying may work",
    ]
}
