import AMQP
import AMQPCodec
import AMQPPeer
public import AMQPReactor
import Glibc
import Synchronization

// The soak: many connections through the public API against the embedded peer in this
// process, each sending messages to a queue of its own and receiving them back, closing
// after a while and opening again (churn), until the total is reached; the process's
// resident memory is sampled as it goes. Under LeakSanitizer (`make soak`) the process
// also checks at exit that nothing was leaked.

/// What a soak does.
public struct SoakConfiguration: Sendable {
    /// Connections at once (one thread each).
    public var connections = 100
    /// Messages in all, sent and received back.
    public var messages = 1_000_000
    /// Messages a connection moves before it closes and a new one opens in its place.
    public var messagesPerConnection = 2_000
    /// Messages sent before they are received back (per connection).
    public var batch = 50
    /// Body size in bytes.
    public var bodySize = 64
    /// Seconds between resident-memory samples.
    public var sampleInterval = 1.0
    /// Seconds any one send or receive may take before the soak fails.
    public var operationTimeout = 30.0

    /// The defaults: 100 connections, 1M messages, a new connection every 2,000.
    public init() {}
}

/// One resident-memory sample.
public struct SoakSample: Sendable {
    /// Seconds since the start.
    public var seconds: Double
    /// Messages received back so far.
    public var messages: Int
    /// Resident set size in KiB.
    public var residentKiB: Int
}

/// What a soak did.
public struct SoakReport: Sendable, CustomStringConvertible {
    /// Messages sent and received back.
    public var messages: Int
    /// Connections opened (and closed) in all.
    public var connectionsOpened: Int
    /// Seconds it took.
    public var seconds: Double
    /// Resident memory over the run.
    public var samples: [SoakSample]
    /// The first failure, if any.
    public var failure: String?

    /// The sample nearest to `fraction` of the messages.
    public func sample(at fraction: Double) -> SoakSample? {
        let target = Int(Double(messages) * fraction)
        return samples.min { abs($0.messages - target) < abs($1.messages - target) }
    }

    /// Resident memory at mid-run (half the messages) and near the end of the run (90%:
    /// every connection slot still busy, before the last ones finish and close), in KiB.
    public var midAndEndKiB: (mid: Int, end: Int)? {
        guard let mid = sample(at: 0.5), let end = sample(at: 0.9) else { return nil }
        return (mid.residentKiB, end.residentKiB)
    }

    /// True when the end is within `tolerance` (a fraction) of mid-run, or 8 MiB.
    public func isFlat(tolerance: Double = 0.1) -> Bool {
        guard let (mid, end) = midAndEndKiB else { return false }
        return end - mid <= max(Int(Double(mid) * tolerance), 8 << 10)
    }

    /// The report as lines of text.
    public var description: String {
        var lines = ["soak: \(messages) messages over \(connectionsOpened) connections in \(String(format: "%.1f", seconds)) s"]
        for s in samples.enumerated().filter({ $0.offset % max(1, samples.count / 20) == 0 || $0.offset == samples.count - 1 }).map(\.element) {
            lines.append(String(format: "  %7.1f s  %9d messages  RSS %8d KiB", s.seconds, s.messages, s.residentKiB))
        }
        if let (mid, end) = midAndEndKiB {
            lines.append("RSS mid-run \(mid) KiB, at 90% \(end) KiB (\(end - mid >= 0 ? "+" : "")\(end - mid) KiB): \(isFlat() ? "flat" : "GROWING")")
            if let after = samples.last { lines.append("RSS after every connection closed: \(after.residentKiB) KiB") }
        }
        if let failure { lines.append("FAILED: \(failure)") }
        return lines.joined(separator: "\n")
    }
}

/// Runs soaks.
public enum Soak {
    private final class Shared: Sendable {
        let claimed = Atomic<Int>(0)
        let received = Atomic<Int>(0)
        let opened = Atomic<Int>(0)
        let failure = Mutex<String?>(nil)
        let total: Int

        init(total: Int) { self.total = total }

        /// Claims up to `n` messages to move; 0 when all are claimed.
        func claim(_ n: Int) -> Int {
            let before = claimed.add(n, ordering: .relaxed).oldValue
            return max(0, min(n, total - before))
        }

        func fail(_ what: String) {
            failure.withLock { if $0 == nil { $0 = what } }
        }

        var failed: Bool { failure.withLock { $0 != nil } }
    }

    /// Runs a soak against the embedded peer started in this process.
    ///
    /// - Parameter progress: called with each sample.
    public static func run(_ c: SoakConfiguration, progress: ((SoakSample) -> Void)? = nil) throws(ReactorError) -> SoakReport {
        var peerConfiguration = PeerConfiguration()
        peerConfiguration.containerID = "amqp-soak-peer"
        peerConfiguration.limits.maxConnections = max(peerConfiguration.limits.maxConnections, 2 * c.connections + 16)
        let peer = try PeerRunner.start(peerConfiguration)
        defer { peer.stop() }
        let shared = Shared(total: c.messages)
        let start = monotonicSeconds()
        let port = peer.address.port
        let threads = (0..<c.connections).map { i in
            NativeThread(name: "soak-\(i)") { worker(i, port: port, c, shared) }
        }
        var samples: [SoakSample] = []
        var running = true
        while running {
            running = shared.received.load(ordering: .relaxed) < c.messages && !shared.failed
            let s = SoakSample(seconds: monotonicSeconds() - start, messages: shared.received.load(ordering: .relaxed), residentKiB: residentKiB())
            samples.append(s)
            progress?(s)
            if running { usleep(UInt32(c.sampleInterval * 1e6)) }
        }
        for t in threads { t.join() }
        let end = SoakSample(seconds: monotonicSeconds() - start, messages: shared.received.load(ordering: .relaxed), residentKiB: residentKiB())
        samples.append(end)
        return SoakReport(
            messages: end.messages, connectionsOpened: shared.opened.load(ordering: .relaxed), seconds: end.seconds, samples: samples,
            failure: shared.failure.withLock { $0 })
    }

    /// One connection slot: opens a connection, moves its share in batches, closes, and
    /// opens again until every message is claimed.
    private static func worker(_ i: Int, port: UInt16, _ c: SoakConfiguration, _ shared: Shared) {
        let body = [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: c.bodySize)
        let timeout = Duration.milliseconds(Int(c.operationTimeout * 1000))
        var generation = 0
        let expected = Message(body: body)
        while !shared.failed {
            var quota = shared.claim(c.messagesPerConnection)
            guard quota > 0 else { return }
            generation += 1
            do {
                let settings: ConnectionSettings
                do {
                    settings = try ConnectionSettings(hostname: "127.0.0.1:\(port)", containerID: "soak-\(i)-\(generation)")
                } catch {
                    shared.fail("settings: \(error)")
                    return
                }
                let connection = Connection(settings: settings)
                defer { connection.destroy() }
                shared.opened.add(1, ordering: .relaxed)
                let session = try Session(connection: connection)
                let queue = "soak-\(i)"
                let sender = try MessageSender(session: session, target: queue)
                let receiver = try MessageReceiver(session: session, source: queue, prefetch: UInt32(c.batch), autoAccept: true)
                while quota > 0, !shared.failed {
                    let n = min(quota, c.batch)
                    let outcomes = Mutex<(done: Int, failure: String?)>((0, nil))
                    for _ in 0..<n {
                        sender.send(Message(body: body)) { result in
                            outcomes.withLock { o in
                                o.done += 1
                                if case .failure(let e) = result, o.failure == nil { o.failure = "\(e)" }
                                if case .success(let outcome) = result, outcome != .accepted, o.failure == nil { o.failure = "outcome \(outcome)" }
                            }
                        }
                    }
                    var got = 0
                    while got < n {
                        let messages = try receiver.receive(maxCount: n - got, timeout: timeout)
                        guard !messages.isEmpty else { throw SoakFailure("no message within \(c.operationTimeout) s") }
                        for m in messages where m.message.body != expected.body { throw SoakFailure("a foreign message: \(m.message)") }
                        got += messages.count
                    }
                    // Every send's outcome is in before the next batch (bounded wait).
                    let deadline = monotonicSeconds() + c.operationTimeout
                    while outcomes.withLock({ $0.done }) < n {
                        guard monotonicSeconds() < deadline else { throw SoakFailure("outcomes missing after \(c.operationTimeout) s") }
                        usleep(200)
                    }
                    if let failure = outcomes.withLock({ $0.failure }) { throw SoakFailure("send: \(failure)") }
                    shared.received.add(n, ordering: .relaxed)
                    quota -= n
                }
                receiver.close()
                sender.close()
                session.close()
            } catch {
                shared.fail("connection \(i), generation \(generation): \(error)")
                return
            }
        }
    }

    /// The process's resident set size in KiB (/proc/self/statm).
    public static func residentKiB() -> Int {
        guard let f = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 128)
        guard fgets(&line, Int32(line.count), f) != nil else { return 0 }
        let fields = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
    }

    private static func monotonicSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
}

/// A soak's own failure (a missing message or outcome).
struct SoakFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
