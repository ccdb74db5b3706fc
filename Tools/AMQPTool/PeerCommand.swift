public import AMQPPeer
public import ArgumentParser
import AMQPCodec
import AMQPEngine
public import AMQPReactor
import AMQPWebSocket
import Dispatch
import Glibc

/// `amqp peer`: runs the embedded peer (a small broker) until SIGINT or SIGTERM.
public struct PeerCommand: ParsableCommand {
    /// Describes the subcommand.
    public static let configuration = CommandConfiguration(
        commandName: "peer",
        abstract: "Run the embedded peer: a small AMQP 1.0 broker for tests and demos.",
        discussion: """
            Queues by address (made on first use unless --no-auto-create), at-least-once delivery, SASL ANONYMOUS and \
            PLAIN, a $cbs node for put-token, and faults on request. Prints one line, \
            `amqp peer listening on HOST:PORT`, when ready; runs until SIGINT or SIGTERM, then \
            closes every connection with amqp:connection:forced. With --direct, a receiver \
            instead of a broker, as Qpid Proton's `direct` example: every link a client \
            attaches is accepted and granted --credit, every delivery accepted (or, \
            pre-settled, counted) and dropped; no queues. With --count N it exits once N \
            messages have arrived and every sender has closed its connection; it prints how \
            many it received on standard error.
            """)

    /// Where to listen.
    @Option(help: "Address to listen on, HOST:PORT (port 0: any free port; IPv6 as [::1]:PORT).")
    public var listen = "127.0.0.1:5672"

    /// PLAIN users.
    @Option(name: .customLong("user"), help: "A SASL PLAIN user, NAME:PASSWORD (repeatable).")
    public var users: [String] = []

    /// Refuse ANONYMOUS.
    @Flag(help: "Do not offer SASL ANONYMOUS.")
    public var noAnonymous = false

    /// OPEN's container-id.
    @Option(help: "The peer's container-id.")
    public var containerID = "amqp-peer"

    /// OPEN's max-frame-size.
    @Option(help: "Largest frame accepted, in bytes.")
    public var maxFrameSize: UInt32 = 63_488

    /// OPEN's idle-time-out.
    @Option(help: "Close connections silent for this many milliseconds (sent in OPEN).")
    public var idleTimeout: UInt32?

    /// Credit for client senders.
    @Option(help: "Credit each client sender gets.")
    public var credit: UInt32 = 1_000

    /// Per-queue message bound.
    @Option(help: "Messages one queue holds.")
    public var queueMessages = 100_000

    /// Per-queue byte bound.
    @Option(help: "Bytes one queue holds.")
    public var queueBytes = 64 << 20

    /// Total byte bound.
    @Option(help: "Bytes all queues hold together.")
    public var totalBytes = 256 << 20

    /// Largest message.
    @Option(help: "Largest message accepted, in bytes.")
    public var maxMessageSize: UInt64 = 16 << 20

    /// Queues made at start.
    @Option(name: .customLong("queue"), help: "A queue that exists from the start (repeatable).")
    public var queues: [String] = []

    /// Refuse unknown addresses.
    @Flag(help: "Make no queues on demand: links to addresses other than --queue ones are refused with amqp:not-found.")
    public var noAutoCreate = false

    /// Dead letters.
    @Option(help: "Where rejected messages go.")
    public var deadLetter = "$dlq"

    /// Drop rejected messages.
    @Flag(help: "Drop rejected messages instead of keeping them.")
    public var noDeadLetter = false

    /// Link redirects.
    @Option(name: .customLong("redirect-address"), help: "Refuse links to ADDRESS with amqp:link:redirect to HOST:PORT[/NEW-ADDRESS]: ADDRESS=HOST:PORT[/NEW-ADDRESS] (repeatable).")
    public var redirectAddresses: [String] = []

    /// Connection redirect.
    @Option(help: "Answer every OPEN with amqp:connection:redirect to HOST:PORT.")
    public var redirectConnection: String?

    /// Link errors.
    @Option(name: .customLong("detach-address"), help: "Detach links to ADDRESS with CONDITION after N messages (0: at once): ADDRESS=CONDITION[@N] (repeatable).")
    public var detachAddresses: [String] = []

    /// Close connections after N messages.
    @Option(help: "Close each connection (amqp:connection:forced) after N messages.")
    public var closeAfter: Int?

    /// Abort connections after N messages.
    @Option(help: "Drop each connection's socket without a goodbye after N messages.")
    public var abortAfter: Int?

    /// Accepted CBS tokens.
    @Option(name: .customLong("cbs-token"), help: "A token $cbs accepts (repeatable; default: any non-empty token).")
    public var cbsTokens: [String] = []

    /// CBS-protected addresses.
    @Option(name: .customLong("cbs-protect"), help: "An address that needs a $cbs token first; `*` for all (repeatable).")
    public var cbsProtect: [String] = []

    /// I/O backend.
    @Option(help: "Reactor backend: automatic, epoll or uring.")
    public var backend: ReactorOptions.Backend = .automatic

    /// Listen for AMQP over WebSocket.
    @Flag(name: .customLong("websocket"), help: "Listen for AMQP over WebSocket (HTTP upgrade to subprotocol amqp; clients use amqpws://HOST:PORT/ADDRESS).")
    public var webSocket = false

    /// The only WebSocket path accepted.
    @Option(name: .customLong("websocket-path"), help: "With --websocket: accept upgrades to PATH only (default: any path; Azure's is /$servicebus/websocket/).")
    public var webSocketPath: String?

    /// The TLS listener's certificate chain.
    @Option(name: .customLong("tls-cert"), help: "Listen with TLS (clients use amqps://HOST:PORT/ADDRESS, or the AMQP TLS header): the certificate chain (PEM); needs --tls-key.")
    public var tlsCertificate: String?

    /// The TLS listener's private key.
    @Option(name: .customLong("tls-key"), help: "With --tls-cert: its private key (PEM, not encrypted).")
    public var tlsKey: String?

    /// CA for client certificates.
    @Option(name: .customLong("tls-client-ca"), help: "With --tls-cert: ask clients for a certificate, verified against the CAs in this PEM file, and offer SASL EXTERNAL to those that have one.")
    public var tlsClientCA: String?

    /// Log connections.
    @Flag(help: "Log connections to standard error.")
    public var verbose = false

    /// Log frames.
    @Flag(help: "Log every frame to standard error (implies --verbose).")
    public var trace = false

    /// A receiver (peer to peer) instead of a broker.
    @Flag(help: "Be a receiver, not a broker: accept every link and delivery, keep nothing (as Qpid Proton's `direct`). Takes only --listen, --container-id, --max-frame-size, --credit, --backend and --count.")
    public var direct = false

    /// With `--direct`, messages to take before exiting.
    @Option(help: "With --direct: exit once this many messages have arrived and every sender has closed its connection.")
    public var count: Int?

    /// Creates the command (ArgumentParser fills in the options).
    public init() {}

    /// Checks the options (by building the configuration).
    public func validate() throws {
        _ = try peerConfiguration()
        if direct {
            let brokerOnly =
                !users.isEmpty || noAnonymous || idleTimeout != nil || queueMessages != 100_000 || queueBytes != 64 << 20
                || totalBytes != 256 << 20 || maxMessageSize != 16 << 20 || !queues.isEmpty || noAutoCreate
                || deadLetter != "$dlq" || noDeadLetter || !redirectAddresses.isEmpty || redirectConnection != nil
                || !detachAddresses.isEmpty || closeAfter != nil || abortAfter != nil || !cbsTokens.isEmpty
                || !cbsProtect.isEmpty || verbose || trace || tlsCertificate != nil || tlsKey != nil || tlsClientCA != nil
            if brokerOnly {
                throw ValidationError("--direct takes only --listen, --container-id, --max-frame-size, --credit, --backend and --count")
            }
            if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        } else if count != nil {
            throw ValidationError("--count applies to --direct")
        }
    }

    /// The peer's configuration from the options.
    public func peerConfiguration() throws -> PeerConfiguration {
        var c = PeerConfiguration()
        c.address = try Self.address(listen)
        for user in users {
            guard let colon = user.firstIndex(of: ":"), colon != user.startIndex else {
                throw ValidationError("--user \(user): expected NAME:PASSWORD")
            }
            c.users[String(user[..<colon])] = String(user[user.index(after: colon)...])
        }
        if let webSocketPath {
            guard webSocket else { throw ValidationError("--websocket-path needs --websocket") }
            guard webSocketPath.hasPrefix("/") else { throw ValidationError("--websocket-path \(webSocketPath): must start with /") }
        }
        if webSocket { c.webSocket = .server(path: webSocketPath) }
        if (tlsCertificate == nil) != (tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key go together: the certificate chain and its private key")
        }
        if tlsClientCA != nil && tlsCertificate == nil { throw ValidationError("--tls-client-ca needs --tls-cert and --tls-key") }
        for (option, path) in [("--tls-cert", tlsCertificate), ("--tls-key", tlsKey), ("--tls-client-ca", tlsClientCA)] {
            if let path, access(path, R_OK) != 0 { throw ValidationError("\(option) \(path): cannot be read") }
        }
        if let tlsCertificate, let tlsKey {
            c.tls = .server(
                certificate: .init(chainFile: tlsCertificate, keyFile: tlsKey),
                clients: tlsClientCA == nil ? .none : .optionalClientCertificate,
                trust: tlsClientCA.map { .file($0) } ?? .system)
        }
        c.allowAnonymous = !noAnonymous
        if noAnonymous && c.users.isEmpty { throw ValidationError("--no-anonymous needs at least one --user") }
        c.containerID = containerID
        guard maxFrameSize >= 512 else { throw ValidationError("--max-frame-size must be at least 512") }
        c.maxFrameSize = maxFrameSize
        if let idleTimeout {
            guard idleTimeout > 0 else { throw ValidationError("--idle-timeout must be positive") }
            c.idleTimeout = idleTimeout
        }
        guard credit > 0 else { throw ValidationError("--credit must be at least 1") }
        c.credit = credit
        guard queueMessages > 0, queueBytes > 0, totalBytes > 0, maxMessageSize > 0 else {
            throw ValidationError("--queue-messages, --queue-bytes, --total-bytes and --max-message-size must be positive")
        }
        c.limits.maxQueueMessages = queueMessages
        c.limits.maxQueueBytes = queueBytes
        c.limits.maxTotalBytes = totalBytes
        c.limits.maxMessageSize = maxMessageSize
        c.deadLetterAddress = noDeadLetter ? nil : deadLetter
        c.queues = Set(queues)
        c.autoCreateQueues = !noAutoCreate
        for rule in redirectAddresses {
            guard let eq = rule.firstIndex(of: "="), eq != rule.startIndex,
                let target = RedirectTarget(parsing: String(rule[rule.index(after: eq)...]))
            else { throw ValidationError("--redirect-address \(rule): expected ADDRESS=HOST:PORT[/NEW-ADDRESS]") }
            c.faults.linkRedirects[String(rule[..<eq])] = target
        }
        if let redirectConnection {
            guard let target = RedirectTarget(parsing: redirectConnection), target.address == nil else {
                throw ValidationError("--redirect-connection \(redirectConnection): expected HOST:PORT")
            }
            c.faults.connectionRedirect = target
        }
        for rule in detachAddresses {
            guard let eq = rule.firstIndex(of: "="), eq != rule.startIndex else {
                throw ValidationError("--detach-address \(rule): expected ADDRESS=CONDITION[@N]")
            }
            var condition = rule[rule.index(after: eq)...]
            var after = 0
            if let at = condition.lastIndex(of: "@") {
                guard let n = Int(condition[condition.index(after: at)...]), n >= 0 else {
                    throw ValidationError("--detach-address \(rule): N must be a number of messages")
                }
                after = n
                condition = condition[..<at]
            }
            guard !condition.isEmpty else { throw ValidationError("--detach-address \(rule): no condition") }
            let error = AMQPError(condition: ErrorCondition(Symbol(String(condition))), description: "detached by amqp peer --detach-address")
            c.faults.linkErrors[String(rule[..<eq])] = LinkFault(error: error, afterMessages: after)
        }
        switch (closeAfter, abortAfter) {
        case (let n?, nil):
            guard n > 0 else { throw ValidationError("--close-after must be positive") }
            c.faults.dropConnections = ConnectionFault(afterMessages: n)
        case (nil, let n?):
            guard n > 0 else { throw ValidationError("--abort-after must be positive") }
            c.faults.dropConnections = ConnectionFault(afterMessages: n, mode: .abort)
        case (nil, nil): break
        case (_?, _?): throw ValidationError("--close-after and --abort-after exclude each other")
        }
        if !cbsTokens.isEmpty {
            let accepted = Set(cbsTokens)
            c.cbs.accepts = { accepted.contains($0.token) }
        }
        for address in cbsProtect {
            if address == "*" { c.cbs.protectAll = true } else { c.cbs.protectedAddresses.insert(address) }
        }
        c.reactor.backend = backend
        c.trace = trace
        return c
    }

    /// Parses `HOST:PORT` with a numeric host (IPv6 in brackets).
    static func address(_ text: String) throws -> SocketAddress {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            throw ValidationError("--listen \(text): expected HOST:PORT")
        }
        var host = text[..<colon]
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        if host == "localhost" { host = "127.0.0.1" }
        guard let address = SocketAddress(numericHost: String(host), port: port) else {
            throw ValidationError("--listen \(text): the host must be a numeric address (e.g. 127.0.0.1 or [::1])")
        }
        return address
    }

    /// Runs the peer until SIGINT or SIGTERM.
    public mutating func run() throws {
        try run(output: StandardStreams())
    }

    /// Runs with output going to `output`.
    public func run(output: any CommandOutput) throws {
        if direct { return try runDirect(output: output) }
        let configuration = try peerConfiguration()
        // Signals become a stop request through the reactor's handle (any thread may use
        // it); the default actions would kill the process without closing connections.
        var sources: [any DispatchSourceSignal] = []
        defer { for s in sources { s.cancel() } }
        do {
            try EmbeddedPeer.serve(configuration) { peer in
                if verbose || trace { peer.log = { line in output.printError(line) } }
                let handle = peer.reactor.handle
                sources = onStopSignals { handle.stop() }
                output.printLine("amqp peer listening on \(peer.address)")
                output.flush()
            }
        } catch {
            output.printError("error: \(error)")
            throw ExitCode(1)
        }
        output.printError("amqp peer stopped")
    }

    /// `--direct`: the bench's direct listener (`DirectSink`) on this thread, counting
    /// any messages, until `--count` messages, SIGINT or SIGTERM.
    func runDirect(output: any CommandOutput) throws {
        let configuration = try peerConfiguration()
        let tally = DirectTally(pairs: 1)
        let sink = DirectSink(tally: tally, message: nil, nonce: 0, credit: configuration.credit)
        sink.maxFrameSize = configuration.maxFrameSize
        sink.containerID = configuration.containerID
        sink.limit = count
        var sources: [any DispatchSourceSignal] = []
        defer { for s in sources { s.cancel() } }
        do throws(ReactorError) {
            var options = ReactorOptions()
            options.backend = configuration.reactor.backend
            options.acceptsPerTick = 256
            let reactor = try Reactor<ConnectionEngine>(options: options)
            let address = try sink.listen(on: reactor, at: configuration.address)
            let handle = reactor.handle
            sources = onStopSignals { handle.stop() }
            output.printLine("amqp peer listening on \(address)")
            output.flush()
            try reactor.run()
        } catch {
            output.printError("error: \(error)")
            throw ExitCode(1)
        }
        let (received, failure) = tally.state.withLock { ($0.received, $0.failure) }
        output.printError("amqp peer: received \(received) messages\(failure.map { "; \($0)" } ?? "")")
        if let count, received < count { throw ExitCode(1) }
    }
}

extension ReactorOptions.Backend: ExpressibleByArgument {}
