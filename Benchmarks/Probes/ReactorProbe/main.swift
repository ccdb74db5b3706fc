// ReactorProbe: the reactor's benchmarks, epoll and io_uring side by side in one run
// (BENCHMARKS.md, "Reactor (issue 4)"), and the copy-against-gather measurement behind
// Docs/reactor.md. Release build:
//
//   cd Benchmarks && swift build -c release --product ReactorProbe
//   .build/release/ReactorProbe [all|throughput|fanin|idle|setup|gather] [ROUNDS]
//
// Each measurement runs ROUNDS times (default 5), epoll and io_uring alternating within a
// round so both see the same background load; the tables give medians and the ratio
// io_uring ÷ epoll.
import AMQPReactor
import Glibc

let args = CommandLine.arguments
let mode = args.count > 1 ? args[1] : "all"
let rounds = args.count > 2 && args[1] != "flow" ? max(1, Int(args[2]) ?? 5) : 5
let backends: [ReactorOptions.Backend] = [.epoll, .uring]

func name(_ b: ReactorOptions.Backend) -> String { b == .epoll ? "epoll" : "io_uring" }

/// Runs `body` for each backend, `rounds` times, alternating; returns the medians.
func sideBySide(_ body: (ReactorOptions.Backend) throws -> Double) rethrows -> [Double] {
    var samples: [[Double]] = backends.map { _ in [] }
    for _ in 0..<rounds {
        for (i, b) in backends.enumerated() { samples[i].append(try body(b)) }
    }
    return samples.map(median)
}

func row(_ label: String, _ values: [Double], digits: Int = 0, ratio: Bool = true) {
    var line = "  " + rpad(label, 40)
    for v in values { line += lpad(fixed(v, digits), 14) }
    if ratio && values.count == 2 { line += lpad(fixed(values[1] / values[0], 2), 12) }
    print(line)
}

func header(_ title: String, _ unit: String) {
    print("")
    print(title)
    print("  " + rpad(unit, 40) + lpad("epoll", 14) + lpad("io_uring", 14) + lpad("uring/epoll", 12))
}

func runThroughput() throws {
    for reactors in [1, 2] {
        header(
            "one connection, at-least-once, credit 1000, \(reactors == 1 ? "client and listener on one reactor thread" : "client and listener on two reactor threads")",
            "body bytes: msg/s | MB/s | CPU µs/msg")
        for (payload, messages) in [(100, 1_000_000), (1024, 500_000), (65_536, 20_000)] {
            var cpu: [[Double]] = backends.map { _ in [] }
            var cores: [[Double]] = backends.map { _ in [] }
            let rates = try sideBySide { b in
                let r = try measureFlow(backend: b, reactors: reactors, connections: 1, messagesEach: messages, payload: payload, window: 1000, credit: 1000)
                cpu[backends.firstIndex(of: b)!].append(r.cpuMicrosecondsPerMessage)
                cores[backends.firstIndex(of: b)!].append(r.coresUsed)
                return r.messagesPerSecond
            }
            row("\(payload) B: messages/s", rates)
            row("\(payload) B: MB/s (body bytes)", rates.map { $0 * Double(payload) / 1e6 }, digits: 1)
            row("\(payload) B: process CPU µs per message", cpu.map(median), digits: 2)
            row("\(payload) B: cores used (CPU s per s)", cores.map(median), digits: 2)
        }
    }
}

func runFanIn() throws {
    // Saturated: every sender keeps 100 messages in flight, so each read and write moves
    // many. Sparse: one message in flight per sender (sent, accepted, then the next), as
    // with many lightly loaded clients: a system call or a request per message and
    // connection, the case io_uring's one submission per tick is for.
    for (reactors, window, messages) in [(1, 100, 1000), (2, 100, 1000), (1, 1, 200), (2, 1, 200)] {
        let kind = window == 1 ? "sparse (1 in flight per connection)" : "saturated (100 in flight per connection)"
        header(
            "fan-in, \(kind): 1,000 connections x \(messages) messages of 100 B into one listener, \(reactors) reactor thread\(reactors == 1 ? "" : "s")",
            "")
        var cpu: [[Double]] = backends.map { _ in [] }
        var cores: [[Double]] = backends.map { _ in [] }
        let rates = try sideBySide { b in
            let r = try measureFlow(
                backend: b, reactors: reactors, connections: 1000, messagesEach: messages, payload: 100, window: window, credit: 100)
            cpu[backends.firstIndex(of: b)!].append(r.cpuMicrosecondsPerMessage)
            cores[backends.firstIndex(of: b)!].append(r.coresUsed)
            return r.messagesPerSecond
        }
        row("messages/s (all connections)", rates)
        row("process CPU µs per message", cpu.map(median), digits: 2)
        row("cores used (CPU s per s)", cores.map(median), digits: 2)
    }
}

func runIdle() throws {
    header("resident memory per idle connection end (OPEN, BEGIN, ATTACH done; 2,000 connections = 4,000 ends)", "")
    for rings in [ByteRing.StoragePreference.automatic, .compacting] {
        var quiet: [[Double]] = backends.map { _ in [] }
        let bytes = try sideBySide { b in
            let r = try measureIdleResidentBytes(backend: b, connections: 2000, rings: rings, quiet: 2.5)
            quiet[backends.firstIndex(of: b)!].append(r.quiet)
            return r.opened
        }
        let kind = rings == .automatic ? "mirrored" : "compacting"
        row("KiB per end, \(kind) 64 KiB rings, opened", bytes.map { $0 / 1024 }, digits: 1)
        row("KiB per end, \(kind) 64 KiB rings, after 2.5 s quiet", quiet.map(median).map { $0 / 1024 }, digits: 1)
    }
}

func runSetup() throws {
    header("connection set-up rate: TCP connect, OPEN, BEGIN, ATTACH, credit, CLOSE, both sockets closed (one reactor unless said)", "")
    for (rings, concurrency, sasl, peerThread) in [
        (ByteRing.StoragePreference.automatic, 1, false, false), (.automatic, 100, false, false), (.compacting, 1, false, false),
        (.compacting, 100, false, false), (.automatic, 100, true, false), (.automatic, 100, false, true),
        (.automatic, 100, true, true),
    ] {
        var cpu: [[Double]] = backends.map { _ in [] }
        var clientUser: [[Double]] = backends.map { _ in [] }
        var clientSystem: [[Double]] = backends.map { _ in [] }
        let rates = try sideBySide { b in
            let r = try measureSetupRate(
                backend: b, connections: concurrency == 1 ? 1000 : 4000, concurrency: concurrency, rings: rings, sasl: sasl,
                peerThread: peerThread)
            cpu[backends.firstIndex(of: b)!].append(r.cpuMicroseconds)
            clientUser[backends.firstIndex(of: b)!].append(r.clientUserMicroseconds)
            clientSystem[backends.firstIndex(of: b)!].append(r.clientSystemMicroseconds)
            return r.perSecond
        }
        let label = "\(concurrency) at a time, \(rings == .automatic ? "mirrored" : "compacting")\(sasl ? ", SASL" : "")"
            + (peerThread ? ", listener on its own thread" : "")
        row("connections/s, \(label)", rates)
        row("CPU µs per connection, \(label)", cpu.map(median), digits: 1)
        // Only the client ends on the client's thread: what one reactor thread could set
        // up per second with the peer elsewhere is 10⁶ over this.
        if peerThread {
            row("client thread user CPU µs per connection, \(label)", clientUser.map(median), digits: 1)
            row("client thread system CPU µs per connection, \(label)", clientSystem.map(median), digits: 1)
        }
    }
}

var loadAverage = [Double](repeating: 0, count: 3)
getloadavg(&loadAverage, 3)
print("ReactorProbe \(mode), \(rounds) rounds, load average \(fixed(loadAverage[0], 2)) at start")
do {
    switch mode {
    case "gather": runGather(rounds: rounds)
    case "flow":
        // One run for profilers: flow BACKEND SIZE MESSAGES [REACTORS [CONNECTIONS]].
        let backend: ReactorOptions.Backend = args.count > 2 && args[2] == "uring" ? .uring : .epoll
        let size = args.count > 3 ? Int(args[3]) ?? 100 : 100
        let messages = args.count > 4 ? Int(args[4]) ?? 1_000_000 : 1_000_000
        let reactors = args.count > 5 ? Int(args[5]) ?? 1 : 1
        let connections = args.count > 6 ? Int(args[6]) ?? 1 : 1
        let r = try measureFlow(
            backend: backend, reactors: reactors, connections: connections, messagesEach: messages / connections,
            payload: size, window: connections == 1 ? 1000 : 100, credit: connections == 1 ? 1000 : 100)
        print("\(name(backend)) \(size) B x \(messages), \(reactors) reactor(s), \(connections) connection(s): \(Int(r.messagesPerSecond)) msg/s, \(fixed(r.cpuMicrosecondsPerMessage, 2)) CPU µs/msg")
    case "throughput": try runThroughput()
    case "fanin": try runFanIn()
    case "idle": try runIdle()
    case "setup": try runSetup()
    case "all":
        try runThroughput()
        try runFanIn()
        try runIdle()
        try runSetup()
    default:
        print("usage: ReactorProbe [all|throughput|fanin|idle|setup|gather] [ROUNDS]")
        exit(2)
    }
} catch {
    print("failed: \(error)")
    exit(1)
}
getloadavg(&loadAverage, 3)
print("load average \(fixed(loadAverage[0], 2)) at the end")
