import AMQPCodec
import AMQPEngine
import AMQPPeer
import AMQPReactor
import Glibc

/// `amqp bench` over real sockets, in the manner of Qpid's Quiver: sender and receiver
/// connections of our client over TCP, against the embedded peer started in this process
/// on 127.0.0.1 (its own reactor thread) or against a broker.
///
/// The clients are `ConnectionEngine`s on one `Reactor` driven by the calling thread,
/// not the public `Connection` API: this measures the engine, the reactor and the
/// kernel's TCP, with the embedded peer as the broker. Each sender stamps its messages
/// (`BenchMessage`) as it hands them to the engine; receivers settle (`accepted`, when
/// at-least-once), count and record the latency of each in a fixed histogram. Nothing in
/// the clients' steady state allocates per message.
///
/// Use `run` for a whole measurement, or `start`, `measure` (any number of times) and
/// `finish` to step it (the allocation tests do).
public final class SocketBench {
    /// What runs.
    public let configuration: SocketBenchConfiguration
    let clients: BenchClients
    var reactor: Reactor<ConnectionEngine>? = nil
    var peer: PeerRunner? = nil
    /// `--peer direct`: the listener on its own thread, or (`directOnClientThread`) on
    /// the client's reactor.
    var direct: DirectListenerThread? = nil
    var sink: DirectSink? = nil
    var brokerDescription = ""

    /// Prepares a run (nothing is started).
    ///
    /// - Throws: `SocketBenchError` for a configuration that cannot run.
    public init(_ configuration: SocketBenchConfiguration) throws(SocketBenchError) {
        guard configuration.bodySize >= BenchMessage.stampSize else {
            throw SocketBenchError(description: "the body must hold at least \(BenchMessage.stampSize) bytes (send time, pair, run)")
        }
        guard configuration.connections >= 1, configuration.credit >= 1 else {
            throw SocketBenchError(description: "at least one connection pair and a credit of 1")
        }
        if case .count(let n) = configuration.limit, n < 1 { throw SocketBenchError(description: "the count must be at least 1") }
        if case .duration(let s) = configuration.limit, !(s > 0) { throw SocketBenchError(description: "the duration must be positive") }
        if configuration.peer == .direct && configuration.broker != nil {
            throw SocketBenchError(description: "the direct listener runs in this process: it takes no broker URL")
        }
        // Each sender keeps at least three encoded messages of its own (`BenchSender.pool`).
        let smallestPools = configuration.connections.multipliedReportingOverflow(by: 3 * (configuration.bodySize + 256))
        guard !smallestPools.overflow, smallestPools.partialValue <= 1 << 30 else {
            throw SocketBenchError(description: "\(configuration.connections) pairs of \(configuration.bodySize)-byte messages need more than 1 GiB of message pools: use fewer connections or smaller messages")
        }
        self.configuration = configuration
        let addresses: [String]
        if let broker = configuration.broker {
            // Every pair uses the broker's one address; stamps say whose a message is.
            addresses = [broker.address]
        } else {
            // A queue per pair (the embedded peer makes them on first use), the names of
            // one length so that every pair's message has the same size.
            addresses = (0..<configuration.connections).map { p in
                let digits = String(p)
                return "amqp-bench-" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits
            }
        }
        clients = BenchClients(configuration: configuration, addresses: addresses, nonce: UInt32.random(in: 1...UInt32.max))
        if configuration.peer == .direct { clients.tally = DirectTally(pairs: configuration.connections) }
    }

    deinit { finish() }

    /// Starts the embedded peer or the direct listener (unless a broker is given),
    /// connects every pair (direct: every sender) and waits until every sender has credit
    /// and every receiver is attached.
    public func start() throws(SocketBenchError) {
        let c = configuration
        // Both ends of every connection may be in this process, plus the rings' memfds.
        raiseDescriptorLimit(to: 8 * c.connections + 256)
        var options = ReactorOptions()
        options.backend = c.backend
        options.acceptsPerTick = 256
        let target: SocketAddress
        let hostname: String
        var credentials = SASLCredentials.anonymous()
        do throws(ReactorError) {
            if let broker = c.broker {
                let endpoint = broker.settings.endpoint
                target = try SocketAddress.resolve(host: endpoint.host, port: endpoint.port)[0]
                hostname = broker.settings.hostname
                // No user: ANONYMOUS; a user: PLAIN (the settings' own default).
                credentials = broker.settings.sasl
                brokerDescription = broker.description
            } else if c.peer == .direct {
                target = try startDirect(options)
                hostname = "localhost"
                brokerDescription = "direct listener (in process, \(c.directOnClientThread ? "on the client's reactor thread" : "own reactor thread"); no queue)"
            } else {
                let runner = try PeerRunner.start(peerConfiguration(options))
                peer = runner
                target = runner.address
                hostname = "localhost"
                brokerDescription = "embedded peer (in process, own reactor thread)"
            }
            // Gathering is the senders' choice: only the client's reactor takes it.
            var clientOptions = options
            if let gather = c.gatherThreshold { clientOptions.gatherThreshold = gather }
            if reactor == nil { reactor = try Reactor<ConnectionEngine>(options: clientOptions) }
        } catch {
            throw SocketBenchError(description: "\(error)")
        }
        let reactor = reactor!
        let clients = clients
        func engine(_ role: String, _ i: Int) -> ConnectionEngine {
            var config = ConnectionConfiguration(role: .client, containerID: "amqp-bench-\(getpid())-\(role)\(i)", hostname: hostname)
            config.sasl = .client(credentials)
            var engine = ConnectionEngine(configuration: config)
            engine.open()
            return engine
        }
        do throws(ReactorError) {
            for i in 0..<c.connections {
                let s = clients.senders[i]
                let r = clients.receivers[i]
                s.id = try reactor.connect(to: target, connection: engine("s", i)) { clients.sender(s, $0, $1, $2) }
                // Peer to peer, the listener receives: no receiver connections.
                if c.peer == .direct { continue }
                r.id = try reactor.connect(to: target, connection: engine("r", i)) { clients.receiver(r, $0, $1, $2) }
            }
        } catch {
            throw SocketBenchError(description: "connect to \(target): \(error)")
        }
        let deadline = monotonicNanoseconds() + UInt64(c.setupTimeout * 1e9)
        let receivers = c.peer == .direct ? 0 : c.connections
        while clients.sendersReady < c.connections || clients.receiversReady < receivers {
            if let failure = clients.failure ?? clients.tally?.state.withLock({ $0.failure }) { throw SocketBenchError(description: failure) }
            guard monotonicNanoseconds() < deadline else {
                throw SocketBenchError(description: "set-up: after \(c.setupTimeout) s, \(clients.sendersReady) of \(c.connections) senders have credit and \(clients.receiversReady) receivers are attached")
            }
            try tick(timeout: .milliseconds(50))
        }
        clients.phase = .idle
    }

    /// Starts the direct listener (on the client's reactor, made here, when
    /// `directOnClientThread`) and returns its address.
    func startDirect(_ options: ReactorOptions) throws(ReactorError) -> SocketAddress {
        guard let tally = clients.tally else {
            throw ReactorError(.invalidArgument, operation: "direct listener", detail: "no tally")
        }
        let (message, nonce, credit) = (clients.message, clients.nonce, configuration.credit)
        if configuration.directOnClientThread {
            let reactor = try Reactor<ConnectionEngine>(options: options)
            self.reactor = reactor
            let sink = DirectSink(tally: tally, message: message, nonce: nonce, credit: credit)
            self.sink = sink
            return try sink.listen(on: reactor)
        }
        let runner = try DirectListenerThread.start(options: options) {
            DirectSink(tally: tally, message: message, nonce: nonce, credit: credit)
        }
        direct = runner
        return runner.address
    }

    /// The embedded peer's configuration: room for every connection and for what the
    /// window lets the senders put in the queues.
    func peerConfiguration(_ options: ReactorOptions) -> PeerConfiguration {
        var p = PeerConfiguration()
        p.containerID = "amqp-bench-peer"
        p.credit = configuration.credit
        p.reactor = options
        p.limits.maxConnections = max(p.limits.maxConnections, 2 * configuration.connections + 16)
        p.limits.maxQueues = max(p.limits.maxQueues, configuration.connections + 16)
        let inFlight = clients.window * clients.message.bytes.count
        p.limits.maxQueueMessages = max(p.limits.maxQueueMessages, 2 * clients.window)
        p.limits.maxQueueBytes = max(p.limits.maxQueueBytes, 2 * inFlight)
        p.limits.maxTotalBytes = max(p.limits.maxTotalBytes, 2 * inFlight * configuration.connections)
        return p
    }

    func tick(timeout: Duration) throws(SocketBenchError) {
        do {
            try reactor?.runOnce(timeout: timeout)
        } catch {
            throw SocketBenchError(description: "client reactor: \(error)")
        }
    }

    /// Runs one measurement: the senders send until `limit` (the configuration's by
    /// default), and everything sent is received (and, at-least-once, accepted).
    ///
    /// - Parameter progress: called about once a second with a line saying how far it is.
    public func measure(
        _ limit: SocketBenchConfiguration.Limit? = nil, progress: ((String) -> Void)? = nil
    ) throws(SocketBenchError) -> SocketBenchResult {
        guard let reactor, clients.phase == .idle else { throw SocketBenchError(description: "measure() needs a started bench") }
        let c = clients
        let pairs = configuration.connections
        var deadline: UInt64? = nil
        var quota = 0
        switch limit ?? configuration.limit {
        case .count(let n):
            for (i, s) in c.senders.enumerated() { s.quota = s.sent + n / pairs + (i < n % pairs ? 1 : 0) }
            quota = c.sent + n
        case .duration(let seconds):
            for s in c.senders { s.quota = .max }
            deadline = monotonicNanoseconds() + UInt64(seconds * 1e9)
        }
        // Peer to peer, the direct listener counts what arrives (on its own thread).
        let tally = c.tally
        func received() -> Int { tally?.state.withLock { $0.received } ?? c.received }
        func failure() -> String? { c.failure ?? tally?.state.withLock { $0.failure } }
        let (sent0, received0, accepted0) = (c.sent, received(), c.accepted)
        let foreign0 = tally?.state.withLock { $0.foreign } ?? c.foreign
        c.histogram = LatencyHistogram()
        tally?.state.withLock { $0.histogram = LatencyHistogram() }
        c.stopSending = false
        let cpu0 = cpuSeconds(thread: false)
        let thread0 = cpuSeconds(thread: true)
        let start = monotonicNanoseconds()
        c.lastReceivedAt = start
        tally?.state.withLock { $0.lastReceivedAt = start }
        for s in c.senders { s.sentAtStart = s.sent }
        c.pace = configuration.rate.map { (start: start, perSender: $0 / Double(pairs)) }
        c.phase = .running
        for s in c.senders {
            if let id = s.id { reactor.withConnection(id) { c.topUp(s, &$0) } }
        }
        var nextReport = start + 1_000_000_000
        var reported = received()
        var lastProgress = start
        var lastReceived = received()
        var lastAccepted = c.accepted
        let stall = UInt64(configuration.stallTimeout * 1e9)
        var ticks = 0
        while true {
            if let failure = failure() {
                c.phase = .idle
                throw SocketBenchError(description: failure)
            }
            let now = monotonicNanoseconds()
            if let deadline, !c.stopSending, now >= deadline { c.stopSending = true }
            let doneSending = deadline == nil ? c.sent == quota : c.stopSending
            let sentNow = c.sent - sent0
            let receivedNow = received()
            if doneSending && receivedNow - received0 == sentNow && (configuration.presettled || c.accepted - accepted0 == sentNow) {
                break
            }
            if receivedNow != lastReceived || c.accepted != lastAccepted {
                lastReceived = receivedNow
                lastAccepted = c.accepted
                lastProgress = now
            } else if now - lastProgress > stall {
                c.phase = .idle
                throw SocketBenchError(
                    description: "stalled: nothing received for \(configuration.stallTimeout) s (\(sentNow) sent, \(receivedNow - received0) received, "
                        + "\(c.accepted - accepted0) accepted); \(stallReport())")
            }
            if let progress, now >= nextReport {
                let elapsed = Double(now - start) / 1e9
                progress("amqp bench: \(Int(elapsed.rounded())) s, \(receivedNow - received0) messages, \(receivedNow - reported) msg/s")
                reported = receivedNow
                nextReport += 1_000_000_000
            }
            // Nothing wakes the client when the direct listener (another thread) receives:
            // the tail of a pre-settled run and senders held by the window are polled.
            let idle: Duration = tally != nil && (doneSending || c.anyBlocked) ? .milliseconds(1) : .milliseconds(100)
            try tick(timeout: (doneSending ? nil : pacedWait(now: now, sent: c.sent - sent0)) ?? idle)
            ticks += 1
            if tally != nil && c.anyBlocked && !doneSending {
                for s in c.senders where s.blocked {
                    if let id = s.id { reactor.withConnection(id) { c.topUp(s, &$0) } }
                }
            }
            if c.pace != nil && !doneSending {
                // Nothing else wakes a paced sender when its next message falls due. Only a
                // sender with a message due, and the credit and window to send it, is
                // touched: `withConnection` queues its connection for the next tick, which
                // then does not wait at all, so touching every sender after every tick kept
                // the client polling instead of sleeping until the next message (47% of a
                // core at 10,000 msg/s).
                let now = monotonicNanoseconds()
                for s in c.senders where canSendDue(s, now: now) {
                    if let id = s.id { reactor.withConnection(id) { c.topUp(s, &$0) } }
                }
            }
        }
        c.pace = nil
        c.phase = .idle
        let cpu = cpuSeconds(thread: false) - cpu0
        let thread = cpuSeconds(thread: true) - thread0
        var latency: [Double: UInt64] = [:]
        var latencyMax = c.histogram.maximum
        var lastReceivedAt = c.lastReceivedAt
        var foreign = c.foreign
        if let tally {
            tally.state.withLock { s in
                for q in SocketBenchResult.quantiles { latency[q] = s.histogram.percentile(q) }
                latencyMax = s.histogram.maximum
                lastReceivedAt = s.lastReceivedAt
                foreign = s.foreign
            }
        } else {
            for q in SocketBenchResult.quantiles { latency[q] = c.histogram.percentile(q) }
        }
        return SocketBenchResult(
            path: "our client: ConnectionEngines on one AMQPReactor (not the public Connection API), over loopback or network TCP"
                + (configuration.peer == .direct && configuration.broker == nil ? ", peer to peer: senders only, into a direct listener" : ""),
            broker: brokerDescription, peer: configuration.broker == nil ? configuration.peer : .queue,
            backend: reactor.backend, connections: pairs, bodyBytes: configuration.bodySize,
            messageBytes: c.message.bytes.count, credit: configuration.credit, rate: configuration.rate, presettled: configuration.presettled,
            sent: c.sent - sent0, received: received() - received0, accepted: c.accepted - accepted0,
            foreign: foreign - foreign0, seconds: Double(lastReceivedAt - start) / 1e9, latency: latency,
            latencyMax: latencyMax, cpuSeconds: cpu, clientCPUSeconds: thread, clientTicks: ticks)
    }

    /// In a paced run, how long the client may wait for sockets before the next message
    /// of the schedule falls due (all senders together; at most 100 ms); `nil` when not
    /// paced or done sending. The epoll backend waits in whole milliseconds, so at rates
    /// above 1,000/s messages leave in small groups, each stamped when it is sent.
    func pacedWait(now: UInt64, sent: Int) -> Duration? {
        guard let pace = clients.pace, !clients.stopSending, let rate = configuration.rate else { return nil }
        let next = pace.start &+ UInt64(Double(sent) / rate * 1e9)
        if next > now { return .nanoseconds(Int64(min(next - now, 100_000_000))) }
        // Behind the schedule. A sender held by the peer's credit or by the window is
        // topped up by the FLOW or the receipt that frees it, so the client waits for
        // I/O: polling instead spun a core (the Proton C broker grants 5 credits at a
        // time), and on two cores the spinning client delayed the broker's threads by a
        // scheduler tick (p99 3.9 ms instead of 0.2 ms).
        return clients.senders.contains { canSendDue($0, now: now) } ? .zero : .milliseconds(100)
    }

    /// Whether `s` has a message due and the credit and window to send it now. A sender
    /// without them is left alone: touching it queues its connection for the next tick,
    /// which then does not wait, and the client would spin until the credit came.
    func canSendDue(_ s: BenchSender, now: UInt64) -> Bool {
        guard let reactor, !s.blocked, s.sent < s.quota, clients.hasDue(s, now: now), let id = s.id, let link = s.link else { return false }
        return reactor.inspect(id) { $0.sendable(on: link) > 0 } ?? false
    }

    /// Where each pair stands, for the stall error: what the links' credit and the rings
    /// held when the flow stopped.
    func stallReport() -> String {
        guard let reactor else { return "" }
        let pairs = clients.senders.prefix(4).map { s in
            let r = clients.receivers[s.pair]
            let sender = s.id.flatMap { id in
                reactor.inspect(id) { e in s.link.map { "credit \(e.credit(on: $0) ?? 0), queued \(e.queuedDeliveries(on: $0))" } ?? "no link" }
            } ?? "closed"
            let receiver = r.id.flatMap { id in
                reactor.inspect(id) { e in r.link.map { "credit \(e.credit(on: $0) ?? 0)" } ?? "no link" }
            } ?? "closed"
            let rings = [s.id, r.id].map { id in id.flatMap { reactor.bufferedBytes($0) }.map { "\($0.inbound)/\($0.outbound)" } ?? "-" }
            return "pair \(s.pair): sent \(s.sent), received \(clients.received(pair: s.pair)), blocked \(s.blocked), "
                + "sender \(sender), receiver \(receiver) (in streamed message: \(r.inMessage)), rings in/out \(rings.joined(separator: " and "))"
        }
        return pairs.joined(separator: "; ") + "; \(clients.foreign) foreign"
    }

    /// Closes every connection (bounded wait), releases the client reactor and stops the
    /// embedded peer. Called by `deinit` too; doing it twice does nothing.
    public func finish() {
        if let reactor {
            clients.phase = .closing
            for id in (clients.senders.map(\.id) + clients.receivers.map(\.id)).compactMap({ $0 }) {
                reactor.withConnection(id) { $0.close() }
            }
            let deadline = monotonicNanoseconds() + 5_000_000_000
            while reactor.connectionCount > 0 && monotonicNanoseconds() < deadline {
                try? reactor.runOnce(timeout: .milliseconds(50))
            }
            self.reactor = nil
        }
        peer?.stop()
        peer = nil
        direct?.stop()
        direct = nil
        sink = nil
    }

    /// Starts, measures once, finishes.
    public static func run(_ configuration: SocketBenchConfiguration, progress: ((String) -> Void)? = nil) throws(SocketBenchError) -> SocketBenchResult {
        let bench = try SocketBench(configuration)
        defer { bench.finish() }
        try bench.start()
        return try bench.measure(progress: progress)
    }
}
