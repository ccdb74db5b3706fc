import AMQPCodec
import AMQPEngine
import AMQPPeer
import AMQPReactor
import Glibc

/// `amqp bench --mode idle`: what many idle connections with heartbeats cost, in CPU and
/// resident memory (issue 7: "10,000 idle connections with heartbeats on one reactor:
/// ≤ 16 KiB RSS each; CPU < 1% of a core").
///
/// The embedded peer runs in this process on a thread of its own (`IdlePeerThread`); the
/// calling thread opens `connections` client connections to it on one reactor (OPEN,
/// BEGIN, ATTACH of a sender, credit granted), waits `settleSeconds` for set-up work to
/// drain and idle rings to be given back, then runs its reactor for `quietSeconds` with
/// nothing to send but heartbeats, and measures CPU over that interval: the process
/// (`getrusage`), the client thread (`RUSAGE_THREAD`) and the peer thread (its CPU
/// clock, `pthread_getcpuclockid`), separately; and resident memory before and after.
///
/// Both ends use `idleTimeout` as their local idle limit, so each announces half of it in
/// OPEN and each sends an empty frame after a quarter of it without output (the
/// engine's `emptyFrameSendRatio`, ½ of the announced value). A connection whose peer
/// sent no heartbeat for `idleTimeout` closes with a time-out: with `quietSeconds`
/// longer than `idleTimeout`, every connection still open at the end proves that
/// heartbeats flowed both ways, and the run checks that all are.
public enum IdleBench {
    /// Runs one measurement: opens the connections, measures the quiet interval, closes
    /// everything (bounded waits) and stops the peer.
    ///
    /// - Throws: `SocketBenchError` when set-up fails or times out, when descriptors do
    ///   not suffice, or when a connection is lost during the quiet interval.
    public static func run(_ configuration: IdleBenchConfiguration) throws(SocketBenchError) -> IdleBenchResult {
        let c = configuration
        guard c.connections >= 1 else { throw SocketBenchError(description: "at least one connection") }
        guard c.idleTimeout >= 2 else { throw SocketBenchError(description: "the idle time-out must be at least 2 ms") }
        guard c.quietSeconds > 0, c.settleSeconds >= 0 else { throw SocketBenchError(description: "the quiet interval must be positive") }
        // Each end's descriptor table holds one socket per connection: the peer's thread
        // has a table of its own (`IdlePeerThread`), so the limit counts per table.
        let needed = c.connections + 256
        raiseDescriptorLimit(to: needed)
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        guard limit.rlim_cur >= rlim_t(needed) else {
            throw SocketBenchError(description: "RLIMIT_NOFILE is \(limit.rlim_cur) (hard \(limit.rlim_max)): \(c.connections) connections need \(needed) descriptors in each end's table")
        }

        var options = ReactorOptions()
        options.backend = c.backend
        options.acceptsPerTick = 256
        options.ringIdleRelease = c.ringIdleRelease
        let peer = IdlePeerThread(configuration: peerConfiguration(c, options))
        defer { peer.stop() }
        let address: SocketAddress
        do throws(ReactorError) {
            address = try peer.waitUntilListening()
        } catch {
            throw SocketBenchError(description: "embedded peer: \(error)")
        }

        let reactor: Reactor<ConnectionEngine>
        do throws(ReactorError) {
            reactor = try Reactor<ConnectionEngine>(options: options)
        } catch {
            throw SocketBenchError(description: "client reactor: \(error)")
        }
        let rssBefore = residentBytes()
        let clients = IdleClients(connections: c.connections)
        func tick(_ timeout: Duration) throws(SocketBenchError) {
            do { try reactor.runOnce(timeout: timeout) } catch { throw SocketBenchError(description: "client reactor: \(error)") }
        }
        defer { close(clients, reactor) }

        // Set-up, paced: at most `pending` connections between connect and the peer's
        // OPEN, so the peer's accept queue (listen backlog 128) never overflows (the
        // kernel would drop the handshake and retry it a second later).
        let pending = 100
        let setupStart = monotonicNanoseconds()
        let setupDeadline = setupStart + UInt64(c.setupTimeout * 1e9)
        var made = 0
        while clients.ready < c.connections {
            if let failure = clients.failure ?? peer.failure { throw SocketBenchError(description: failure) }
            guard monotonicNanoseconds() < setupDeadline else {
                throw SocketBenchError(description: "set-up: after \(c.setupTimeout) s, \(made) connects, \(clients.opened) open, \(clients.ready) of \(c.connections) attached with credit")
            }
            while made < c.connections && made - clients.opened < pending {
                do throws(ReactorError) {
                    let i = made
                    _ = try reactor.connect(to: address, connection: clientEngine(i, c)) { clients.handle(i, $0, $1, $2) }
                } catch {
                    throw SocketBenchError(description: "connect to \(address): \(error)")
                }
                made += 1
            }
            try tick(.milliseconds(20))
        }
        let setupSeconds = Double(monotonicNanoseconds() - setupStart) / 1e9

        // Let the last set-up frames drain and the rings' idle release run (1 s) before
        // the interval: only heartbeats are measured.
        let settleEnd = monotonicNanoseconds() + UInt64(c.settleSeconds * 1e9)
        while monotonicNanoseconds() < settleEnd {
            try tick(.nanoseconds(Int64(settleEnd - min(settleEnd, monotonicNanoseconds()))))
        }
        let rssOpen = residentBytes()
        clients.phase = .quiet
        let process0 = cpuSeconds(thread: false)
        let client0 = cpuSeconds(thread: true)
        let peer0 = peer.cpuSeconds()
        let start = monotonicNanoseconds()
        let end = start + UInt64(c.quietSeconds * 1e9)
        var now = start
        while now < end {
            // No timeout of its own beyond the interval's end: the reactor sleeps until
            // the next heartbeat deadline or I/O, as an idle application's would.
            try tick(.nanoseconds(Int64(end - now)))
            now = monotonicNanoseconds()
        }
        let wall = Double(now - start) / 1e9
        let process = cpuSeconds(thread: false) - process0
        let client = cpuSeconds(thread: true) - client0
        let peerCPU = peer.cpuSeconds() - peer0
        let rssQuiet = residentBytes()
        clients.phase = .closing
        if let failure = clients.failure ?? peer.failure { throw SocketBenchError(description: failure) }
        let clientOpen = reactor.connectionCount
        let peerOpen = peer.openConnections
        guard clientOpen == c.connections, peerOpen == c.connections else {
            throw SocketBenchError(description: "after the quiet interval \(clientOpen) client and \(peerOpen) peer connections of \(c.connections) are open")
        }
        return IdleBenchResult(
            backend: reactor.backend, connections: c.connections, idleTimeout: c.idleTimeout,
            setupSeconds: setupSeconds, quietSeconds: wall, processCPUSeconds: process, clientCPUSeconds: client,
            peerCPUSeconds: peerCPU, residentBytesBefore: rssBefore, residentBytesOpen: rssOpen, residentBytesQuiet: rssQuiet,
            ringIdleReleaseMilliseconds: c.ringIdleRelease.map { Int($0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000) },
            clientOpen: clientOpen, peerOpen: peerOpen)
    }

    /// A client connection: SASL ANONYMOUS, the configured idle time-out.
    static func clientEngine(_ i: Int, _ c: IdleBenchConfiguration) -> ConnectionEngine {
        var config = ConnectionConfiguration(role: .client, containerID: "amqp-bench-idle-\(getpid())-\(i)", hostname: "localhost")
        config.sasl = .client(.anonymous())
        config.idleTimeout = c.idleTimeout
        var engine = ConnectionEngine(configuration: config)
        engine.open()
        return engine
    }

    /// The peer's configuration: room for every connection, the same idle time-out.
    static func peerConfiguration(_ c: IdleBenchConfiguration, _ options: ReactorOptions) -> PeerConfiguration {
        var p = PeerConfiguration()
        p.containerID = "amqp-bench-idle-peer"
        p.reactor = options
        p.idleTimeout = c.idleTimeout
        p.limits.maxConnections = max(p.limits.maxConnections, c.connections + 16)
        return p
    }

    /// Closes every client connection and runs the reactor until they are gone (at most
    /// 30 s; the peer then aborts what is left when it stops).
    static func close(_ clients: IdleClients, _ reactor: Reactor<ConnectionEngine>) {
        clients.phase = .closing
        for id in clients.ids { reactor.withConnection(id) { $0.close() } }
        let deadline = monotonicNanoseconds() + 30_000_000_000
        while reactor.connectionCount > 0 && monotonicNanoseconds() < deadline {
            try? reactor.runOnce(timeout: .milliseconds(50))
        }
    }

    /// Resident set size of this process (/proc/self/statm: pages, second field), in bytes.
    static func residentBytes() -> Int {
        guard let f = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 256)
        guard fgets(&line, Int32(line.count), f) != nil else { return 0 }
        let fields = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: " ")
        guard fields.count >= 2, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// The client connections' shared state; every handler runs on the calling thread.
final class IdleClients {
    enum Phase {
        case settingUp
        case quiet
        case closing
    }

    var phase = Phase.settingUp
    var ids: [ConnectionID] = []
    /// Connections whose OPEN the peer answered.
    var opened = 0
    /// Connections with a sender attached and credit granted.
    var ready = 0
    var credited: [Bool]
    var failure: String? = nil

    init(connections: Int) {
        credited = [Bool](repeating: false, count: connections)
        ids.reserveCapacity(connections)
    }

    func fail(_ what: String) {
        if failure == nil { failure = what }
    }

    func handle(_ i: Int, _ reactor: Reactor<ConnectionEngine>, _ id: ConnectionID, _ event: ReactorEvent<ConnectionEvent>) {
        switch event {
        case .connected:
            ids.append(id)
        case .connection(.remoteOpen):
            opened += 1
            reactor.withConnection(id) { engine in
                do {
                    let session = try engine.beginSession()
                    _ = try engine.attachLink(session: session, .sender(name: "amqp-bench-idle-\(i)", to: "amqp-bench-idle"))
                } catch {
                    fail("connection \(i): attach: \(error)")
                }
            }
        case .connection(.link(.credit(_, let credit, _))) where credit > 0:
            if !credited[i] {
                credited[i] = true
                ready += 1
            }
        case .closed(let error):
            if phase != .closing { fail("connection \(i) lost during \(phase == .quiet ? "the quiet interval" : "set-up")\(error.map { ": \($0)" } ?? "")") }
        case .connection(.remoteClose(let error)):
            if phase != .closing { fail("connection \(i): the peer closed it\(error.map { ": \($0)" } ?? "")") }
        case .connection(.closed(let error?)):
            if phase != .closing { fail("connection \(i): \(error)") }
        default:
            break
        }
    }
}
