/// How a WebSocket layer (RFC 6455) carries AMQP: as a client (it sends the HTTP upgrade
/// request) or a server (it answers one), with subprotocol `amqp`.
///
/// ```swift
/// // Azure Service Bus / Event Hubs style: wss://host:443/$servicebus/websocket/
/// let ws = WebSocketConfiguration.client(host: "ns.servicebus.windows.net")
/// // Behind a proxy that wants a header of its own:
/// let proxied = WebSocketConfiguration.client(host: "broker", path: "/amqp", headers: [.init(name: "Authorization", value: "Bearer …")])
/// ```
public struct WebSocketConfiguration: Hashable, Sendable {
    /// Which side of the handshake.
    public enum Role: Hashable, Sendable {
        /// Sends the upgrade request; masks every frame it sends.
        case client
        /// Answers the upgrade request; sends unmasked frames.
        case server
    }

    /// One extra request header (client) or response header (server).
    public struct Header: Hashable, Sendable {
        /// The field name (an HTTP token).
        public var name: String
        /// The value (no line breaks).
        public var value: String
        /// A header.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The path Azure Service Bus and Event Hubs serve AMQP over WebSocket on, and
    /// uamqp's `TransportType.AmqpOverWebsocket` uses: `/$servicebus/websocket/`.
    public static let defaultPath = "/$servicebus/websocket/"

    /// Which side of the handshake.
    public var role: Role
    /// Client: the request target. Server: the only path accepted, or `nil` for any.
    public var path: String?
    /// Client: the `Host` header (`host` or `host:port`).
    public var host: String
    /// Client: extra request headers (for proxies, authentication). Server: extra
    /// response headers.
    public var headers: [Header]
    /// The subprotocol offered (client) or required (server): `amqp` (the AMQP
    /// WebSocket binding's name).
    public var subprotocol: String
    /// The largest frame payload accepted; a longer frame closes with 1009. Payloads are
    /// streamed to AMQP as they arrive, so this bounds nothing in memory: it refuses
    /// absurd lengths early. Default 16 MiB.
    public var maxFramePayload: Int
    /// The most bytes the peer's handshake (request or response headers) may take; more
    /// fails with `.handshakeTooLong` (a server answers 431). Default 16 KiB.
    public var maxHandshakeBytes: Int
    /// How long the opening handshake may take once the first byte could be sent.
    public var handshakeTimeout: Duration

    /// A configuration; see `client(host:path:headers:)` and `server(path:)`.
    public init(
        role: Role, host: String = "", path: String? = nil, headers: [Header] = [], subprotocol: String = "amqp",
        maxFramePayload: Int = 16 << 20, maxHandshakeBytes: Int = 16 << 10, handshakeTimeout: Duration = .seconds(30)
    ) {
        self.role = role
        self.host = host
        self.path = path
        self.headers = headers
        self.subprotocol = subprotocol
        self.maxFramePayload = maxFramePayload
        self.maxHandshakeBytes = maxHandshakeBytes
        self.handshakeTimeout = handshakeTimeout
    }

    /// A client asking `host` for `path` (default `/$servicebus/websocket/`).
    public static func client(host: String, path: String = WebSocketConfiguration.defaultPath, headers: [Header] = []) -> WebSocketConfiguration {
        WebSocketConfiguration(role: .client, host: host, path: path, headers: headers)
    }

    /// A server accepting upgrades to `path` (`nil`: any path).
    public static func server(path: String? = nil) -> WebSocketConfiguration {
        WebSocketConfiguration(role: .server, path: path)
    }

    /// Checks what would otherwise corrupt the request: header names that are not HTTP
    /// tokens, values or a host or path with line breaks, an empty path or subprotocol.
    public func validate() throws(WebSocketError) {
        func fail(_ detail: String) -> WebSocketError { WebSocketError(.invalidConfiguration, detail: detail) }
        func hasBreak(_ s: String) -> Bool { s.utf8.contains { $0 == 13 || $0 == 10 || $0 == 0 } }
        if role == .client {
            guard let path, path.hasPrefix("/"), !path.utf8.contains(where: { $0 <= 32 || $0 == 127 }) else {
                throw fail("the path \"\(path ?? "")\" must start with / and contain no spaces or control characters")
            }
            guard !host.isEmpty, !hasBreak(host), !host.contains(" ") else { throw fail("the host \"\(host)\" is empty or has spaces or line breaks") }
        }
        guard !subprotocol.isEmpty, subprotocol.utf8.allSatisfy(HTTPHeaders.isTokenByte) else {
            throw fail("the subprotocol \"\(subprotocol)\" is not an HTTP token")
        }
        for h in headers {
            guard !h.name.isEmpty, h.name.utf8.allSatisfy(HTTPHeaders.isTokenByte) else { throw fail("the header name \"\(h.name)\" is not an HTTP token") }
            guard !hasBreak(h.value) else { throw fail("the value of header \(h.name) contains a line break") }
        }
        guard maxFramePayload > 0, maxHandshakeBytes >= 256 else {
            throw fail("maxFramePayload must be positive and maxHandshakeBytes at least 256")
        }
    }
}
