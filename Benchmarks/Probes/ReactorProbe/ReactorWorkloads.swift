import AMQPCodec
import AMQPEngine
import AMQPReactor
import AMQPTool
import CAMQPLinux
import Glibc
import Synchronization

// The reactor's workloads: AMQP engines (client and listener) over loopback TCP, driven by
// a ReactorGroup of one reactor (both ends on one thread) or two (each end on its own
// thread). Every handler runs on its reactor's thread; the probe's main thread only starts
// work and polls counters.
//
// The message is CodecWorkload's (header, properties, one data section), encoded once and
// sent by reference; deliveries are at-least-once; the listener auto-accepts sessions and
// links with a prefetch credit and accepts each delivery (the engine gathers consecutive
// settlements into one DISPOSITION).

/// Counters shared by every handler of a run.
final class RunCounters: Sendable {
    let credited = Atomic<Int>(0)
    let done = Atomic<Int>(0)
    let closed = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
    let delivered = Atomic<Int>(0)
    /// When `done` reached its target (monotonic ns), set by the handler that got there.
    let finishedAt = Atomic<UInt64>(0)
    let firstFailure = Mutex<String?>(nil)

    func fail(_ what: String) {
        failures.add(1, ordering: .relaxed)
        firstFailure.withLock { $0 = $0 ?? what }
    }
}

/// One client connection's sender, touched only on its reactor's thread.
final class Sender: @unchecked Sendable {
    /// The reactor it was placed on (set by the probe right after `connect`).
    var reactorIndex = -1
    let message: [UInt8]
    /// Messages to send; 0: none (the connection only opens and attaches).
    let total: Int
    /// Most messages outstanding (sent, outcome not yet back).
    let window: Int
    let counters: RunCounters
    let target: Int
    /// Close once every outcome is in (otherwise the probe closes it).
    let closeWhenDone: Bool
    /// Start sending as soon as credit arrives (otherwise wait for `go`).
    let eager: Bool
    var id: ConnectionID? = nil
    var link: LinkID? = nil
    var sent = 0
    var accepted = 0
    var credited = false

    init(message: [UInt8], total: Int, window: Int, counters: RunCounters, target: Int, closeWhenDone: Bool, eager: Bool) {
        self.message = message
        self.total = total
        self.window = window
        self.counters = counters
        self.target = target
        self.closeWhenDone = closeWhenDone
        self.eager = eager
    }

    func topUp(_ engine: inout ConnectionEngine) {
        guard let link else { return }
        while sent < total && sent - accepted < window && engine.sendable(on: link) > 0 {
            _ = try? engine.send(on: link, payload: message)
            sent += 1
        }
    }

    func go(_ reactor: Reactor<ConnectionEngine>) {
        guard let id else { return }
        reactor.withConnection(id) { topUp(&$0) }
    }

    func handle(_ reactor: Reactor<ConnectionEngine>, _ id: ConnectionID, _ event: ReactorEvent<ConnectionEvent>) {
        switch event {
        case .connected:
            self.id = id
        case .connection(.remoteOpen):
            reactor.withConnection(id) { engine in
                do {
                    let session = try engine.beginSession()
                    link = try engine.attachLink(session: session, .sender(name: "bench", to: "queue://bench"))
                } catch {
                    counters.fail("attach: \(error)")
                }
            }
        case .connection(.link(.credit(_, let credit, _))) where credit > 0:
            if !credited {
                credited = true
                counters.credited.add(1, ordering: .relaxed)
                if total == 0 {
                    finish(reactor, id)
                    return
                }
            }
            if eager || sent > 0 { reactor.withConnection(id) { topUp(&$0) } }
        case .connection(.link(.outcomes(_, let handles, let state, _))):
            accepted += handles.count
            if case .accepted? = state {} else { counters.fail("outcome \(String(describing: state))") }
            if accepted == total {
                finish(reactor, id)
            } else if sent - accepted <= window / 2 {
                reactor.withConnection(id) { topUp(&$0) }
            }
        case .closed(let error):
            counters.closed.add(1, ordering: .relaxed)
            if let error { counters.fail("client: \(error)") }
        default:
            break
        }
    }

    private func finish(_ reactor: Reactor<ConnectionEngine>, _ id: ConnectionID) {
        if counters.done.add(1, ordering: .relaxed).newValue == target {
            counters.finishedAt.store(camqp_monotonic_ns(), ordering: .relaxed)
        }
        if closeWhenDone { reactor.withConnection(id) { $0.close() } }
    }
}

/// Options for the reactors of a run.
func reactorOptions(_ backend: ReactorOptions.Backend, rings: ByteRing.StoragePreference = .automatic) -> ReactorOptions {
    var o = ReactorOptions()
    o.backend = backend
    o.ringStorage = rings
    o.acceptsPerTick = 256
    // Measurement knobs, so one binary measures both paths in the same session:
    // AMQP_GATHER_THRESHOLD=16384 sends chunks of 16 KiB or more by reference (gathering
    // is off by default; "max" is the default, everything copied as before issue 4).
    if let t = getenv("AMQP_GATHER_THRESHOLD").map({ String(cString: $0) }) {
        o.gatherThreshold = t == "max" ? .max : Int(t) ?? o.gatherThreshold
    }
    // AMQP_MAX_OUTBOUND: `maximumOutboundCapacity` (and so the bytes a connection may hold
    // by reference); AMQP_INBOUND: `inboundCapacity`.
    if let m = getenv("AMQP_MAX_OUTBOUND").flatMap({ Int(String(cString: $0)) }) { o.maximumOutboundCapacity = m }
    if let m = getenv("AMQP_INBOUND").flatMap({ Int(String(cString: $0)) }) { o.inboundCapacity = m }
    // (A group turns uringSingleIssuer on by itself: each reactor lives on one thread.)
    return o
}

/// Lets every ANONYMOUS client in (the set-up measurement with SASL).
struct AnonymousAuthenticator: SASLAuthenticator {
    func authenticate(mechanism: Symbol, initialResponse: [UInt8]?, hostname: String?) -> SASLDecision {
        mechanism == "ANONYMOUS" ? .accept(identity: "anonymous") : .reject(.auth)
    }
}

/// A listener that auto-accepts, granting `credit`, and accepts every delivery; with
/// `sasl`, clients authenticate first (SASL ANONYMOUS).
func listen(_ group: ReactorGroup<ConnectionEngine>, credit: UInt32, counters: RunCounters, sasl: Bool = false) throws -> GroupListener {
    var listenOptions = ListenOptions()
    listenOptions.backlog = 4096
    return try group.listen(on: .loopbackIPv4(), options: listenOptions, accept: { _ in
        var policy = AutoAcceptPolicy()
        policy.credit = .prefetch(credit)
        var c = ConnectionConfiguration(role: .server, containerID: "bench-listener")
        c.autoAccept = policy
        if sasl { c.sasl = .server(mechanisms: ["ANONYMOUS"], authenticator: AnonymousAuthenticator()) }
        var engine = ConnectionEngine(configuration: c)
        engine.open()
        return engine
    }, handler: { reactor, id, event in
        switch event {
        case .connection(.link(.delivery(let link, let d))):
            counters.delivered.add(1, ordering: .relaxed)
            reactor.withConnection(id) { try? $0.settle(link, delivery: d.id, state: .accepted) }
        case .closed(let error):
            counters.closed.add(1, ordering: .relaxed)
            if let error { counters.fail("listener: \(error)") }
        default:
            break
        }
    })
}

let clientEngine: @Sendable () -> ConnectionEngine = { makeClientEngine(sasl: false) }

func makeClientEngine(sasl: Bool) -> ConnectionEngine {
    var c = ConnectionConfiguration(role: .client, containerID: "bench-client", hostname: "localhost")
    if sasl { c.sasl = .client(.anonymous()) }
    var engine = ConnectionEngine(configuration: c)
    engine.open()
    return engine
}

/// Polls `condition` every millisecond for at most `seconds`; false on time-out. (Times
/// are taken by the handlers, so the polling only has to be cheap: every 100 µs cost a
/// tenth of a core on this 2-core machine.)
func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    let end = secondsNow() + seconds
    while !condition() {
        if secondsNow() > end { return false }
        usleep(1000)
    }
    return true
}

struct ProbeFailure: Error, CustomStringConvertible {
    let description: String
}

/// Process CPU time (user + system), seconds.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return s(usage.ru_utime) + s(usage.ru_stime)
}

/// Resident set size, bytes.
func residentBytes() -> Int {
    guard let f = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 128)
    guard fgets(&line, Int32(line.count), f) != nil else { return 0 }
    let fields = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: " ")
    return (fields.count > 1 ? Int(fields[1]) ?? 0 : 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}

// MARK: Measurements

/// Messages per second and process CPU per message for `connections` senders of
/// `messages` each, all started together once every link has credit.
struct FlowResult {
    var messagesPerSecond: Double
    var cpuMicrosecondsPerMessage: Double
    /// Process CPU seconds per wall-clock second: how many cores the run actually had.
    var coresUsed: Double
}

func measureFlow(
    backend: ReactorOptions.Backend, reactors: Int, connections: Int, messagesEach: Int, payload: Int, window: Int, credit: UInt32
) throws -> FlowResult {
    let group = try ReactorGroup<ConnectionEngine>(reactors: reactors, options: reactorOptions(backend), placement: .roundRobin)
    let counters = RunCounters()
    let message = try CodecWorkload(payloadSize: payload).message.encoded()
    let listener = try listen(group, credit: credit, counters: counters)
    var senders: [Sender] = []
    for _ in 0..<connections {
        let sender = Sender(
            message: message, total: messagesEach, window: window, counters: counters, target: connections,
            closeWhenDone: true, eager: false)
        sender.reactorIndex = group.connect(to: listener.address, connection: clientEngine, handler: sender.handle)
        senders.append(sender)
    }
    try group.start()
    defer {
        group.stop()
        try? group.wait()
    }
    guard waitFor(30, { counters.credited.load(ordering: .relaxed) == connections || counters.failures.load(ordering: .relaxed) > 0 }),
        counters.failures.load(ordering: .relaxed) == 0
    else {
        throw ProbeFailure(description: "set-up: \(counters.credited.load(ordering: .relaxed)) credited, \(counters.firstFailure.withLock { $0 } ?? "")")
    }
    let all = senders
    let cpuStart = processCPUSeconds()
    let start = camqp_monotonic_ns()
    for r in 0..<reactors {
        group.execute(on: r) { reactor in
            for s in all where s.reactorIndex == r { s.go(reactor) }
        }
    }
    // finishedAt is stored just after `done` reaches its target: wait for the time itself.
    guard waitFor(120, { counters.finishedAt.load(ordering: .relaxed) != 0 || counters.failures.load(ordering: .relaxed) > 0 }),
        counters.failures.load(ordering: .relaxed) == 0
    else {
        throw ProbeFailure(description: "run: \(counters.done.load(ordering: .relaxed)) done, \(counters.firstFailure.withLock { $0 } ?? "")")
    }
    let seconds = Double(counters.finishedAt.load(ordering: .relaxed) - start) / 1e9
    let cpu = processCPUSeconds() - cpuStart
    let total = Double(connections * messagesEach)
    _ = waitFor(10) { counters.closed.load(ordering: .relaxed) == 2 * connections }
    return FlowResult(messagesPerSecond: total / seconds, cpuMicrosecondsPerMessage: cpu / total * 1e6, coresUsed: cpu / seconds)
}

/// Resident bytes per connection end (client and listener ends both counted) of
/// `connections` idle AMQP connections, each opened with a session and a link: right
/// after they opened, and after `quiet` seconds of silence (when the reactor has given
/// the pages of their empty rings back, `ReactorOptions.ringIdleRelease`).
func measureIdleResidentBytes(
    backend: ReactorOptions.Backend, connections: Int, rings: ByteRing.StoragePreference, quiet: Double
) throws -> (opened: Double, quiet: Double) {
    let group = try ReactorGroup<ConnectionEngine>(reactors: 1, options: reactorOptions(backend, rings: rings))
    let counters = RunCounters()
    let listener = try listen(group, credit: 100, counters: counters)
    try group.start()
    defer {
        group.stop()
        try? group.wait()
    }
    // Warm up: one connection's worth of lazily made structures and code pages.
    try openIdle(group, listener, 50, counters, target: 50)
    let before = residentBytes()
    try openIdle(group, listener, connections, counters, target: 50 + connections)
    let after = residentBytes()
    usleep(UInt32(quiet * 1e6))
    let afterQuiet = residentBytes()
    return (Double(after - before) / Double(2 * connections), Double(afterQuiet - before) / Double(2 * connections))
}

private func openIdle(_ group: ReactorGroup<ConnectionEngine>, _ listener: GroupListener, _ n: Int, _ counters: RunCounters, target: Int) throws {
    let first = target - n
    var issued = 0
    while issued < n {
        // In batches the listener's accept queue (backlog 4096) always has room for.
        let batch = min(1000, n - issued)
        for _ in 0..<batch {
            let sender = Sender(message: [], total: 0, window: 0, counters: counters, target: target, closeWhenDone: false, eager: false)
            sender.reactorIndex = group.connect(to: listener.address, connection: clientEngine, handler: sender.handle)
        }
        issued += batch
        guard waitFor(60, { counters.credited.load(ordering: .relaxed) == first + issued || counters.failures.load(ordering: .relaxed) > 0 }),
            counters.failures.load(ordering: .relaxed) == 0
        else {
            throw ProbeFailure(description: "idle: \(counters.credited.load(ordering: .relaxed)) of \(target) attached, \(counters.firstFailure.withLock { $0 } ?? "")")
        }
    }
}

/// Connections per second through the whole life of one: TCP connect, OPEN, BEGIN,
/// ATTACH (and credit), CLOSE, socket closed on both sides; `concurrency` at a time. Also
/// the process CPU time per connection (both ends), the steadier figure on a shared
/// machine.
///
/// `peerThread`: the listening end on a reactor (and thread) of its own, as the embedded
/// peer or a broker is, so the client reactor's thread holds only the client ends (whose
/// user and system CPU per connection are returned too); otherwise both ends share one
/// reactor thread.
func measureSetupRate(
    backend: ReactorOptions.Backend, connections: Int, concurrency: Int, rings: ByteRing.StoragePreference, sasl: Bool = false,
    peerThread: Bool = false
) throws -> (perSecond: Double, cpuMicroseconds: Double, clientUserMicroseconds: Double, clientSystemMicroseconds: Double) {
    let group = try ReactorGroup<ConnectionEngine>(reactors: 1, options: reactorOptions(backend, rings: rings))
    let peerGroup = peerThread ? try ReactorGroup<ConnectionEngine>(reactors: 1, options: reactorOptions(backend, rings: rings)) : group
    let counters = RunCounters()
    let listener = try listen(peerGroup, credit: 10, counters: counters, sasl: sasl)
    try group.start()
    if peerThread { try peerGroup.start() }
    defer {
        group.stop()
        try? group.wait()
        if peerThread {
            peerGroup.stop()
            try? peerGroup.wait()
        }
    }
    let issued = Atomic<Int>(0)
    typealias ThreadCPU = (user: UInt64, system: UInt64)
    let clientCPU = Mutex<(first: ThreadCPU?, last: ThreadCPU)>((nil, (0, 0)))
    let address = listener.address
    // Each connection closes as soon as its link has credit; when it is gone, the next
    // one starts (from the handler, on the reactor thread).
    @Sendable func startOne() {
        guard issued.add(1, ordering: .relaxed).newValue <= connections else { return }
        let sender = Sender(message: [], total: 0, window: 0, counters: counters, target: connections, closeWhenDone: true, eager: false)
        sender.reactorIndex = group.connect(to: address, connection: { makeClientEngine(sasl: sasl) }) { reactor, id, event in
            // The client reactor's thread CPU (user, system), from its first event to its
            // last close.
            let now = threadUserSystemMicroseconds()
            let closed: Bool
            if case .closed = event { closed = true } else { closed = false }
            clientCPU.withLock { c in
                if c.first == nil { c.first = now }
                if closed { c.last = now }
            }
            sender.handle(reactor, id, event)
            if closed { startOne() }
        }
    }
    let cpuStart = processCPUSeconds()
    let start = camqp_monotonic_ns()
    for _ in 0..<concurrency { startOne() }
    guard waitFor(120, { counters.closed.load(ordering: .relaxed) >= 2 * connections || counters.failures.load(ordering: .relaxed) > 0 }),
        counters.failures.load(ordering: .relaxed) == 0
    else {
        throw ProbeFailure(description: "setup: \(counters.closed.load(ordering: .relaxed)) closed, \(counters.firstFailure.withLock { $0 } ?? "")")
    }
    let seconds = Double(camqp_monotonic_ns() - start) / 1e9
    let cpu = processCPUSeconds() - cpuStart
    let (first, last) = clientCPU.withLock { ($0.first ?? $0.last, $0.last) }
    let n = Double(connections)
    return (Double(connections) / seconds, cpu / n * 1e6, Double(last.user &- first.user) / n, Double(last.system &- first.system) / n)
}

/// The calling thread's user and system CPU so far, microseconds (RUSAGE_THREAD).
func threadUserSystemMicroseconds() -> (user: UInt64, system: UInt64) {
    var u = rusage()
    // RUSAGE_THREAD (1) is a GNU extension the Glibc module does not import.
    getrusage(1, &u)
    func us(_ t: timeval) -> UInt64 { UInt64(t.tv_sec) * 1_000_000 + UInt64(t.tv_usec) }
    return (us(u.ru_utime), us(u.ru_stime))
}
