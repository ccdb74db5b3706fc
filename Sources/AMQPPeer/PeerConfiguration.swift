public import AMQPCodec
public import AMQPEngine
public import AMQPReactor
public import AMQPTLS
public import AMQPWebSocket

/// Everything an `EmbeddedPeer` does, fixed before it starts: where it listens, who may
/// log in, how much it holds, and the faults it plays for tests.
public struct PeerConfiguration: Sendable {
    /// Where to listen (port 0: the kernel picks one; `EmbeddedPeer.address` tells).
    public var address: SocketAddress = .loopbackIPv4()
    /// OPEN's `container-id`.
    public var containerID = "amqp-peer"
    /// Let clients in with SASL ANONYMOUS.
    public var allowAnonymous = true
    /// SASL PLAIN users: name → password. PLAIN is offered when this is not empty.
    public var users: [String: String] = [:]
    /// The largest frame accepted (OPEN's `max-frame-size`).
    public var maxFrameSize: UInt32 = 63_488
    /// Close a connection on which nothing arrives for this many milliseconds (OPEN's
    /// `idle-time-out`); `nil` for none.
    public var idleTimeout: UInt32? = nil
    /// Bounds on what the peer holds.
    public var limits = PeerLimits()
    /// Queues that exist from the start and are never forgotten, even when empty.
    public var queues: Set<String> = []
    /// Make a queue for any address a client names (the default), as a test broker
    /// should. When false, only `queues`, the dead-letter address and dynamic addresses
    /// exist: a link to any other address is refused with `amqp:not-found`, as real
    /// brokers refuse unknown queues, and so is a message relayed to one.
    public var autoCreateQueues = true
    /// Credit each client sender gets, topped up as messages arrive.
    public var credit: UInt32 = 1_000
    /// Where rejected messages go; `nil` drops them.
    public var deadLetterAddress: String? = "$dlq"
    /// The `$cbs` node: which addresses need a token and which tokens it accepts.
    public var cbs = CBSPolicy()
    /// Faults to play, for tests of clients.
    public var faults = PeerFaults()
    /// Reactor options when the peer makes its own reactor (`EmbeddedPeer.run`).
    public var reactor = ReactorOptions()
    /// Record frame traces (`EmbeddedPeer.log`).
    public var trace = false
    /// Listen with TLS (a server configuration: certificate and key, and whether client
    /// certificates are asked for). Every client must then use TLS, from the first byte
    /// or after the AMQP TLS header; a plaintext client is answered with the TLS header
    /// and closed. With client certificates verified, SASL EXTERNAL is offered and
    /// authenticates as the certificate's subject.
    public var tls: TLSConfiguration? = nil
    /// Listen for AMQP over WebSocket (a server configuration, `.server(path:)`; any path
    /// by default): every client must open with an HTTP upgrade to subprotocol `amqp`.
    /// With `tls` too, WebSocket runs over TLS (`amqpwss://`).
    public var webSocket: WebSocketConfiguration? = nil

    /// Creates the default configuration: 127.0.0.1 on a port the kernel picks, SASL
    /// ANONYMOUS, no faults.
    public init() {}
}

/// Bounds on what an `EmbeddedPeer` holds. A message that would break one is refused
/// (`rejected` with `amqp:resource-limit-exceeded`); a link or connection that would
/// break one is refused with the same condition.
public struct PeerLimits: Hashable, Sendable {
    /// Messages one queue holds.
    public var maxQueueMessages = 100_000
    /// Bytes one queue holds.
    public var maxQueueBytes = 64 << 20
    /// Bytes all queues hold together, counting messages handed to consumers and not yet
    /// settled (they may come back).
    public var maxTotalBytes = 256 << 20
    /// Queues (addresses) at once; empty queues nobody uses are forgotten.
    public var maxQueues = 10_000
    /// Largest message accepted (the receiving links' `max-message-size`).
    public var maxMessageSize: UInt64 = 16 << 20
    /// Connections at once; more are refused at accept.
    public var maxConnections = 1_024
    /// Links one connection may have attached; more are refused.
    public var maxLinksPerConnection = 1_024
    /// Addresses `$cbs` tokens may open on one connection, and `$cbs` responses waiting
    /// for the client's `$cbs` receiver; requests beyond are refused.
    public var maxTokensPerConnection = 256

    /// Creates the default limits.
    public init() {}
}

/// Where a redirect sends the client: the `info` of `amqp:link:redirect` and
/// `amqp:connection:redirect` (part 2, sections 2.8.16 and 2.8.18).
public struct RedirectTarget: Hashable, Sendable, CustomStringConvertible {
    /// `hostname` (and `network-host`).
    public var host: String
    /// `port`.
    public var port: UInt16
    /// `address`: the node at the new place (link redirects).
    public var address: String?

    /// Creates a target.
    public init(host: String, port: UInt16, address: String? = nil) {
        self.host = host
        self.port = port
        self.address = address
    }

    /// Parses `host:port[/address]` (IPv6 hosts in brackets).
    public init?(parsing text: String) {
        var rest = Substring(text)
        var address: String? = nil
        if let slash = rest.firstIndex(of: "/") {
            address = String(rest[rest.index(after: slash)...])
            rest = rest[..<slash]
        }
        guard let colon = rest.lastIndex(of: ":"), let port = UInt16(rest[rest.index(after: colon)...]) else { return nil }
        var host = rest[..<colon]
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty else { return nil }
        self.init(host: String(host), port: port, address: address.flatMap { $0.isEmpty ? nil : $0 })
    }

    /// The error info: `hostname`, `network-host`, `port` and, when set, `address`.
    public var info: Fields {
        var f: Fields = ["hostname": .string(host), "network-host": .string(host), "port": .int(Int32(port))]
        if let address { f.entries.append(.init(key: "address", value: .string(address))) }
        return f
    }

    /// `host:port/address`.
    public var description: String { "\(host):\(port)" + (address.map { "/\($0)" } ?? "") }
}

/// Faults an `EmbeddedPeer` plays on purpose, so clients' error handling can be tested.
public struct PeerFaults: Sendable {
    /// Links attached to these addresses are refused with `amqp:link:redirect`.
    public var linkRedirects: [String: RedirectTarget] = [:]
    /// Every OPEN is answered with OPEN and CLOSE with `amqp:connection:redirect`.
    public var connectionRedirect: RedirectTarget? = nil
    /// Links attached to these addresses are detached with the error once they have
    /// carried `afterMessages` messages (0: right after they attach).
    public var linkErrors: [String: LinkFault] = [:]
    /// Each connection is ended once this many messages crossed it (both directions).
    public var dropConnections: ConnectionFault? = nil

    /// Creates the default: no faults.
    public init() {}
}

/// Detach a link with an error.
public struct LinkFault: Hashable, Sendable {
    /// The DETACH's error.
    public var error: AMQPError
    /// Messages the link carries first.
    public var afterMessages: Int

    /// Creates a fault.
    public init(error: AMQPError, afterMessages: Int = 0) {
        self.error = error
        self.afterMessages = afterMessages
    }
}

/// End a connection after some messages.
public struct ConnectionFault: Hashable, Sendable {
    /// How the connection ends.
    public enum Mode: Hashable, Sendable {
        /// CLOSE with this error.
        case close(AMQPError)
        /// Drop the socket without a goodbye, as a crashed broker would.
        case abort
    }
    /// Messages the connection carries first.
    public var afterMessages: Int
    /// How it ends.
    public var mode: Mode

    /// Creates a fault.
    public init(afterMessages: Int, mode: Mode = .close(AMQPError(condition: .connectionForced, description: "the peer closes after this many messages"))) {
        self.afterMessages = afterMessages
        self.mode = mode
    }
}

/// The `$cbs` node (AMQP Claims-Based Security as Azure runs it): clients send put-token
/// requests to `$cbs` and read the answers from a receiver on `$cbs`. An address that
/// needs a token can be attached only after a token for it was accepted on the same
/// connection.
public struct CBSPolicy: Sendable {
    /// Addresses that need a token (a token for `a` also covers `a/…`).
    public var protectedAddresses: Set<String> = []
    /// Every address needs a token (except `$cbs` itself).
    public var protectAll = false
    /// Decides on a request whose token has not expired (by its `expiration`); by
    /// default any non-empty token is accepted.
    public var accepts: @Sendable (CBSRequest) -> Bool = { !$0.token.isEmpty }

    /// Creates the default policy: nothing protected, any non-empty token accepted.
    public init() {}

    /// True when attaching `address` needs a token.
    public func protects(_ address: String) -> Bool {
        guard address != CBSNode.address else { return false }
        if protectAll { return true }
        return protectedAddresses.contains { CBSRequest.covers($0, address) }
    }
}
