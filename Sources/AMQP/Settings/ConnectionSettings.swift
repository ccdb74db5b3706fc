public import AMQPEngine
public import AMQPReactor
public import AMQPTLS
public import AMQPWebSocket

/// How AMQP travels to the broker, as uamqp's `TransportType`.
public enum Transport: Hashable, Sendable {
    /// AMQP straight over TCP, or TLS (`TransportType.Amqp`).
    case amqp
    /// AMQP inside WebSocket (RFC 6455, subprotocol `amqp`), over TLS when the connection
    /// uses TLS (`TransportType.AmqpOverWebsocket`): an upgrade request for `path`
    /// (`nil`: `/$servicebus/websocket/`, Azure's and uamqp's) with `headers` added (for
    /// proxies and gateways that authenticate the upgrade).
    case webSocket(path: String? = nil, headers: [WebSocketConfiguration.Header] = [])
}

/// Everything a connection is created with: the reference constructor's parameters
/// (`Connection(hostname, sasl, container_id, max_frame_size, channel_max, idle_timeout,
/// properties, remote_idle_timeout_empty_frame_send_ratio, error_policy, debug,
/// encoding)`), checked, with the reference's defaults.
///
/// ```swift
/// let settings = try ConnectionSettings(
///     hostname: "amqp://user:secret@broker.example.com",
///     idleTimeout: 120_000,
///     properties: ["product": "my-app"])
/// ```
///
/// The initializer validates and throws a typed `ConfigurationError`. The properties
/// stay settable; `validate()` and `engineConfiguration()` check them again, so a value
/// set later cannot slip through. A connection keeps its settings so that `redirect`
/// can re-apply them to the new host (`redirected(to:)`).
public struct ConnectionSettings: Sendable {
    /// Where to connect (scheme, host, port), parsed from `hostname`.
    public var endpoint: AMQPEndpoint
    /// OPEN's and sasl-init's `hostname` when it is not the host connected to (set by a
    /// connection redirect whose `hostname` differs from its `network-host`).
    public var virtualHost: String?
    /// The SASL credentials. The initializer's default is PLAIN with the URL's user and
    /// password when the URL has them, else ANONYMOUS (the reference's default).
    public var sasl: SASLCredentials
    /// Credentials for other SASL mechanisms, tried in this order when the server's
    /// sasl-mechanisms does not list `sasl`'s: say `sasl = .external()` with
    /// `[.plain(username:password:), .anonymous()]` behind it to send a password only to
    /// a server that takes no client certificate. Empty (the default): `sasl` alone. A
    /// server that offers none of them fails the connection with an `authentication`
    /// error whose `info` names both lists (`SASLCredentials.serverMechanismsInfoKey`,
    /// `SASLCredentials.clientMechanismsInfoKey`).
    public var saslAlternatives: [SASLCredentials] = []
    /// TLS for the connection. `nil` (the default): TLS exactly when the URL is
    /// `amqps://`, with `TLSConfiguration.client()`: the system's trust store, the
    /// server's certificate checked against the host connected to. Set it for a private
    /// CA, a client certificate (SASL EXTERNAL), the AMQP TLS header (`start =
    /// .afterProtocolHeader`, also on an `amqp://` URL), or, loudly,
    /// `TLSConfiguration.insecureSkipVerification()`.
    public var tls: TLSConfiguration?
    /// How AMQP travels: `.amqp` (the default) straight over TCP or TLS, or
    /// `.webSocket(path:headers:)` inside WebSocket. `amqpws://` and `amqpwss://` URLs mean
    /// WebSocket (at the default path) even when this is `.amqp`. The URL's path stays the
    /// node's address, as with `amqp://`; the WebSocket path is the transport's.
    public var transport: Transport = .amqp
    /// How the TCP connection is made: the connect time-out (30 s) and the socket's
    /// options (TCP_NODELAY on; keepalive and TCP_USER_TIMEOUT at the system's defaults).
    /// A peer that vanishes without a reset (a pulled cable, a crashed host) is found by
    /// the idle time-out when it goes silent; `socket.userTimeoutMilliseconds` finds it
    /// sooner while sends are waiting to be acknowledged (the kernel gives up and the
    /// connection fails with a typed transport error), and `socket.keepAlive` while
    /// nothing is sent at all.
    public var tcp = ConnectOptions()
    /// Run SASL before AMQP (the default). Turn off for brokers configured without SASL,
    /// which expect the AMQP protocol header at once.
    public var usesSASL: Bool = true
    /// Our container id (OPEN's `container-id`); the initializer's default is a random
    /// UUID string, as the reference's.
    public var containerID: String
    /// The largest frame we accept, in bytes (OPEN's `max-frame-size`); at least 512.
    /// Default 63,488, the reference's.
    public var maxFrameSize: UInt32
    /// The highest channel number we accept (OPEN's `channel-max`): sessions are bounded
    /// by it. Default 65,535.
    public var channelMax: UInt16
    /// Close the connection when nothing arrives for this many milliseconds; `nil` for
    /// none, and then nothing is sent in OPEN. OPEN's `idle-time-out` announces half of
    /// it, as the specification asks (part 2, section 2.4.5), so the peer's heartbeats
    /// arrive well within it.
    public var idleTimeout: UInt32?
    /// OPEN's `properties`: symbol keys, as AMQP's `fields` type requires (the reference
    /// sent strings there). A literal such as `["product": "my-app"]` makes symbol keys;
    /// for a `[String: AMQPValue]` use `Fields(stringKeys:)`.
    public var properties: Fields?
    /// Send an empty frame once this fraction of the peer's idle time-out has passed
    /// without sending anything; in (0, 1]. Default 0.5. (In the reference this setting
    /// never reached the C layer; here it is what the engine uses.)
    public var remoteIdleTimeoutEmptyFrameSendRatio: Double
    /// Decides which errors are retried.
    public var errorPolicy: ErrorPolicy
    /// CBS token authentication (put-token on `$cbs`), set up each time the connection
    /// starts; `nil` (the default) for none. Not changed by a redirect.
    public var tokenAuthentication: TokenAuthentication? = nil
    /// Trace every frame at info level, in the reference's style (`-> [OPEN]* {…}`).
    public var debug: Bool
    /// The encoding of text arguments. Always `UTF-8`: AMQP strings are UTF-8 on the
    /// wire (part 1, section 1.6.20) and symbols ASCII, and Swift strings are Unicode, so
    /// there is nothing to convert. The reference accepted other encodings and produced
    /// strings no peer could decode; any other name is refused.
    public var encoding: String

    /// The default `maxFrameSize`, 63,488 bytes (the reference's).
    public static let defaultMaxFrameSize: UInt32 = 63_488
    /// The default `remoteIdleTimeoutEmptyFrameSendRatio`, 0.5.
    public static let defaultEmptyFrameSendRatio = 0.5

    /// Creates settings, with the reference's parameters and defaults.
    ///
    /// - Parameters:
    ///   - hostname: `host`, `host:port`, or an `amqp://` (port 5672), `amqps://` (port
    ///     5671, TLS), `amqpws://` (port 80, WebSocket) or `amqpwss://` (port 443,
    ///     WebSocket over TLS) URL, optionally with `user:password@`.
    ///   - sasl: the credentials; `nil` picks PLAIN from the URL's user info, else
    ///     ANONYMOUS.
    ///   - containerID: `nil` or empty for a random UUID string.
    ///   - maxFrameSize: at least 512.
    ///   - channelMax: the highest channel number.
    ///   - idleTimeout: milliseconds; `nil` or 0 for none.
    ///   - properties: OPEN's properties (symbol keys).
    ///   - remoteIdleTimeoutEmptyFrameSendRatio: in (0, 1].
    ///   - errorPolicy: which errors are retried.
    ///   - debug: trace frames at info level.
    ///   - encoding: must name UTF-8 (`UTF-8`, `utf8`, any case).
    ///   - tls: TLS settings; `nil` for TLS only with `amqps://` and `amqpwss://`,
    ///     verified against the system's trust store.
    ///   - transport: `.amqp` or `.webSocket(path:headers:)` (implied by `amqpws://` and
    ///     `amqpwss://`).
    public init(
        hostname: String,
        sasl: SASLCredentials? = nil,
        containerID: String? = nil,
        maxFrameSize: UInt32 = ConnectionSettings.defaultMaxFrameSize,
        channelMax: UInt16 = .max,
        idleTimeout: UInt32? = nil,
        properties: Fields? = nil,
        remoteIdleTimeoutEmptyFrameSendRatio: Double = ConnectionSettings.defaultEmptyFrameSendRatio,
        errorPolicy: ErrorPolicy = ErrorPolicy(),
        debug: Bool = false,
        encoding: String = "UTF-8",
        tls: TLSConfiguration? = nil,
        transport: Transport = .amqp
    ) throws(ConfigurationError) {
        endpoint = try AMQPEndpoint(parsing: hostname)
        if let sasl {
            self.sasl = sasl
        } else if let user = endpoint.username {
            self.sasl = .plain(username: user, password: endpoint.password ?? "")
        } else {
            self.sasl = .anonymous()
        }
        if let containerID, !containerID.isEmpty {
            self.containerID = containerID
        } else {
            self.containerID = AMQPUUID.random().description
        }
        self.maxFrameSize = maxFrameSize
        self.channelMax = channelMax
        self.idleTimeout = idleTimeout == 0 ? nil : idleTimeout
        self.properties = properties
        self.remoteIdleTimeoutEmptyFrameSendRatio = remoteIdleTimeoutEmptyFrameSendRatio
        self.errorPolicy = errorPolicy
        self.debug = debug
        self.encoding = encoding
        self.tls = tls
        self.transport = transport
        try validate()
        self.encoding = "UTF-8"
    }

    /// The TLS configuration the connection uses: `tls`, or for `amqps://` without one
    /// `TLSConfiguration.client()`; `nil` for plain TCP. Its server name, when unset, is
    /// the host connected to.
    public var effectiveTLS: TLSConfiguration? {
        guard var t = tls ?? (endpoint.scheme == .amqps || endpoint.scheme == .amqpwss ? .client() : nil) else { return nil }
        if t.serverName == nil { t.serverName = endpoint.host }
        return t
    }

    /// The WebSocket configuration the connection uses, `nil` for AMQP straight over TCP
    /// or TLS: for `.webSocket` or an `amqpws(s)://` URL, a client asking for the
    /// transport's path (default `/$servicebus/websocket/`) with `Host` naming the
    /// endpoint (its port only when not the default 80, or 443 with TLS).
    public var effectiveWebSocket: WebSocketConfiguration? {
        var path: String? = nil
        var headers: [WebSocketConfiguration.Header] = []
        switch transport {
        case .amqp:
            guard endpoint.scheme.isWebSocket else { return nil }
        case .webSocket(let p, let h):
            path = p
            headers = h
        }
        let defaultPort: UInt16 = effectiveTLS == nil ? 80 : 443
        var host = endpoint.host.contains(":") ? "[\(endpoint.host)]" : endpoint.host
        if endpoint.port != defaultPort { host += ":\(endpoint.port)" }
        return .client(host: host, path: path ?? WebSocketConfiguration.defaultPath, headers: headers)
    }

    /// The host name sent in OPEN and sasl-init.
    public var hostname: String { virtualHost ?? endpoint.host }

    /// Checks every setting; throws the first problem found.
    public func validate() throws(ConfigurationError) {
        if let tls, tls.role != .client {
            throw ConfigurationError(
                .invalidTLS, setting: "tls", detail: "a server's TLS configuration was given to a client connection: use TLSConfiguration.client()")
        }
        if let ws = effectiveWebSocket {
            do throws(WebSocketError) {
                try ws.validate()
            } catch {
                throw ConfigurationError(.invalidWebSocket, setting: "transport", detail: error.detail)
            }
        }
        guard !endpoint.host.isEmpty else {
            throw ConfigurationError(.invalidHostname, setting: "hostname", detail: "names no host")
        }
        guard maxFrameSize >= FrameHeader.minimumMaxFrameSize else {
            throw ConfigurationError(
                .maxFrameSizeTooSmall, setting: "maxFrameSize",
                detail: "\(maxFrameSize) is below AMQP's minimum of 512 bytes; the default is \(Self.defaultMaxFrameSize)")
        }
        let ratio = remoteIdleTimeoutEmptyFrameSendRatio
        guard ratio > 0 && ratio <= 1 else {
            throw ConfigurationError(
                .invalidEmptyFrameSendRatio, setting: "remoteIdleTimeoutEmptyFrameSendRatio",
                detail: "\(ratio) is not in (0, 1]: it is the fraction of the peer's idle time-out after which an empty frame is sent; the default is 0.5")
        }
        if let bad = properties?.entries.first(where: { !$0.key.rawValue.utf8.allSatisfy { $0 < 0x80 } }) {
            throw ConfigurationError(
                .invalidProperties, setting: "properties",
                detail: "key \"\(bad.key)\" is not ASCII: property keys are AMQP symbols, which are ASCII")
        }
        guard Self.isUTF8(encoding) else {
            throw ConfigurationError(
                .unsupportedEncoding, setting: "encoding",
                detail: "\"\(encoding)\" is not UTF-8: AMQP strings are UTF-8 on the wire, so UTF-8 is the only encoding that can be used")
        }
    }

    /// The engine's configuration for these settings (client role).
    public func engineConfiguration() throws(ConfigurationError) -> ConnectionConfiguration {
        try validate()
        var c = ConnectionConfiguration(role: .client, containerID: containerID, hostname: hostname)
        c.maxFrameSize = maxFrameSize
        c.channelMax = channelMax
        c.idleTimeout = idleTimeout == 0 ? nil : idleTimeout
        c.emptyFrameSendRatio = remoteIdleTimeoutEmptyFrameSendRatio
        c.properties = properties
        if usesSASL {
            c.sasl = saslAlternatives.isEmpty ? .client(sasl) : .clientPreferring([sasl] + saslAlternatives)
        }
        c.trace = debug
        return c
    }

    /// These settings pointed at a redirect's target: the same container id, limits,
    /// properties, policy and credentials (unless `sasl` is given), as the reference's
    /// `redirect` re-applies its remembered settings. Given credentials replace `sasl`
    /// and its alternatives: they were chosen for the new host.
    public func redirected(to redirect: RedirectInfo, sasl: SASLCredentials? = nil) -> ConnectionSettings {
        var s = self
        s.endpoint = redirect.endpoint(from: endpoint)
        s.virtualHost = redirect.virtualHost == s.endpoint.host ? nil : redirect.virtualHost
        if let sasl {
            s.sasl = sasl
            s.saslAlternatives = []
        }
        return s
    }

    static func isUTF8(_ name: String) -> Bool {
        let n = name.lowercased()
        return n == "utf-8" || n == "utf8"
    }
}

extension Fields {
    /// Fields from string keys, each encoded as a symbol (as the `fields` type requires),
    /// in key order so the same dictionary always encodes the same way.
    public init(stringKeys dictionary: [String: AMQPValue]) {
        self.init(dictionary.sorted { $0.key < $1.key }.map { Entry(key: Symbol($0.key), value: $0.value) })
    }
}
