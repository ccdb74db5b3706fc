public import AMQPReactor

/// How a `SendClient` or `ReceiveClient` authenticates: the reference's `auth` argument
/// (`SASLAnonymous`, `SASLPlain`, `SASTokenAuth`, `JWTTokenAuth`).
public enum ClientAuthentication: Sendable {
    /// SASL with these credentials (anonymous, plain or external).
    case sasl(SASLCredentials)
    /// CBS tokens put on `$cbs` (SAS or JWT), over SASL ANONYMOUS; the link attaches once
    /// the first token is in force.
    case token(TokenAuthentication)
}

/// The connection, session and recovery settings of a `SendClient` or `ReceiveClient`
/// (the reference's keyword arguments, and what it lacked: redirect limits, reconnect).
public struct ClientOptions: Sendable {
    /// OPEN's `max-frame-size`; default 63,488.
    public var maxFrameSize: UInt32 = ConnectionSettings.defaultMaxFrameSize
    /// OPEN's `channel-max`.
    public var channelMax: UInt16 = .max
    /// OPEN's `idle-time-out` in milliseconds; `nil` for none.
    public var idleTimeout: UInt32? = nil
    /// OPEN's `properties`.
    public var properties: Fields? = nil
    /// When to send empty frames, as a fraction of the peer's idle time-out; in (0, 1].
    public var remoteIdleTimeoutEmptyFrameSendRatio = ConnectionSettings.defaultEmptyFrameSendRatio
    /// BEGIN's `incoming-window`.
    public var incomingWindow: UInt32 = 5_000
    /// BEGIN's `outgoing-window`.
    public var outgoingWindow: UInt32 = 2_147_483_647
    /// BEGIN's `handle-max`.
    public var handleMax: UInt32 = 65_535
    /// Redirects (`amqp:connection:redirect` on CLOSE, `amqp:link:redirect` on DETACH)
    /// followed while opening before giving up with the last redirect's error; 0 follows
    /// none. Default 3.
    public var maxRedirects = 3
    /// Reconnect after a lost connection; `nil` (the default) fails instead.
    public var reconnect: ReconnectPolicy? = nil
    /// The TCP connect time-out and socket options (`ConnectionSettings.tcp`), e.g.
    /// `tcp.socket.userTimeoutMilliseconds` for fast detection of a peer that vanished.
    public var tcp = ConnectOptions()
    /// How long opening (connect, SASL, CBS, attach, redirects, reconnects) may take.
    public var openTimeout: Duration = .seconds(60)
    /// The reactor the client's connection runs on.
    public var reactor: ConnectionReactor = .shared
    /// On a `.manual` reactor, step the client's connection (`Connection.work()`) this
    /// often from a thread of the client's own, so heartbeats go out and the peer's
    /// frames are read while the application is busy elsewhere: the reference's
    /// `keep_alive_interval`, which ran such a thread. `nil` (the default): no thread.
    /// Own-thread reactors (the default) keep connections alive by themselves, so there
    /// this setting does nothing.
    public var keepAliveInterval: Duration? = nil
    /// Credentials for other SASL mechanisms, tried in this order when the server does
    /// not offer the mechanism of the client's `auth` (`ConnectionSettings.saslAlternatives`).
    public var saslAlternatives: [SASLCredentials] = []

    /// The defaults.
    public init() {}
}

/// Reconnecting after a lost connection, as the Azure SDK and Qpid clients offer it: up
/// to `maxAttempts` consecutive attempts, waiting an exponentially growing, jittered
/// back-off before each, going round the client's host and then `alternateHosts`.
///
/// Sessions and links are opened again on the new connection. A message that was sent
/// and not settled when the connection went has an unknown fate: it is reported as a
/// `messageFateUnknown` error, never sent again silently, unless `resendUnsettled` is
/// set (then it is sent again, and the peer may get it twice). Messages that never left
/// are sent again in either case.
public struct ReconnectPolicy: Sendable {
    /// More hosts to try (`host`, `host:port` or `amqp://` URLs), after the client's own.
    public var alternateHosts: [String]
    /// Consecutive failed attempts before giving up (the count resets once a link is
    /// attached again).
    public var maxAttempts: Int
    /// The back-off before the first attempt.
    public var initialBackoff: Duration
    /// The longest back-off.
    public var maxBackoff: Duration
    /// The factor each back-off grows by.
    public var multiplier: Double
    /// Each back-off is spread by up to this fraction either way, in [0, 1], so clients
    /// dropped together do not come back together.
    public var jitter: Double
    /// Send unsettled messages again after reconnecting (at least once, duplicates
    /// possible) instead of reporting them as `messageFateUnknown`.
    public var resendUnsettled: Bool

    /// Creates a policy.
    public init(
        alternateHosts: [String] = [], maxAttempts: Int = 5, initialBackoff: Duration = .milliseconds(100),
        maxBackoff: Duration = .seconds(30), multiplier: Double = 2, jitter: Double = 0.2, resendUnsettled: Bool = false
    ) {
        self.alternateHosts = alternateHosts
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.multiplier = multiplier
        self.jitter = jitter
        self.resendUnsettled = resendUnsettled
    }

    /// The back-off before attempt `attempt` (1 for the first), with `unit` (in [0, 1))
    /// choosing where in the jitter range it falls.
    public func backoff(attempt: Int, unit: Double) -> Duration {
        let base = Double(initialBackoff.wholeMilliseconds) * pow(max(multiplier, 1), Double(max(attempt - 1, 0)))
        let capped = min(base, Double(maxBackoff.wholeMilliseconds))
        let j = min(max(jitter, 0), 1)
        let spread = capped * (1 - j + 2 * j * min(max(unit, 0), 1))
        return .milliseconds(Int64(min(spread, Double(maxBackoff.wholeMilliseconds))))
    }
}

/// `x` to the power `y` for the back-off (no Foundation here).
private func pow(_ x: Double, _ y: Double) -> Double {
    var result = 1.0
    var n = Int(y)
    while n > 0 {
        result *= x
        n -= 1
        if result > 1e15 { break }
    }
    return result
}

extension ConnectionSettings {
    /// The settings of a client's connection, and the node address, from its target or
    /// source URL (`amqp://[user:password@]host[:port]/address`) and arguments.
    static func client(
        url: String, auth: ClientAuthentication?, clientName: String?, debug: Bool, errorPolicy: ErrorPolicy,
        options: ClientOptions
    ) throws(ConfigurationError) -> (ConnectionSettings, address: String) {
        var sasl: SASLCredentials? = nil
        var token: TokenAuthentication? = nil
        switch auth {
        case .sasl(let c)?: sasl = c
        case .token(let t)?: token = t
        case nil: break
        }
        var settings = try ConnectionSettings(
            hostname: url, sasl: sasl, containerID: clientName, maxFrameSize: options.maxFrameSize,
            channelMax: options.channelMax, idleTimeout: options.idleTimeout, properties: options.properties,
            remoteIdleTimeoutEmptyFrameSendRatio: options.remoteIdleTimeoutEmptyFrameSendRatio,
            errorPolicy: errorPolicy, debug: debug)
        settings.tokenAuthentication = token
        settings.tcp = options.tcp
        settings.saslAlternatives = options.saslAlternatives
        var path = Substring(settings.endpoint.path ?? "")
        while path.hasPrefix("/") { path = path.dropFirst() }
        guard !path.isEmpty else {
            throw ConfigurationError(
                .missingAddress, setting: "target",
                detail: "\"\(settings.endpoint)\" names no node: give the address as the URL's path, e.g. amqp://host:5672/orders")
        }
        settings.endpoint.path = nil
        return (settings, String(path))
    }
}
