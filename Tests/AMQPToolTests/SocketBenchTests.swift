import AMQPCodec
import AMQPEngine
import AMQPPeer
import AMQPReactor
import AMQPTesting
@testable import AMQPTool
import Foundation
import Glibc
import Testing

/// `amqp bench` in socket mode: small runs over loopback against the embedded peer in
/// process, through the command as users run it. Counts are exact; nothing is timed.
@Suite("amqp bench (socket)")
struct SocketBenchTests {
    static let jsonKeys = [
        "measured", "path", "broker", "backend", "connections", "body_bytes", "message_bytes", "credit", "settle_mode",
        "messages", "sent", "received", "accepted", "foreign", "seconds", "messages_per_second", "megabytes_per_second",
        "latency_p50_us", "latency_p90_us", "latency_p99_us", "latency_p999_us", "latency_max_us", "cpu_seconds",
        "cpu_us_per_message", "client_cpu_us_per_message", "client_ticks", "rate",
    ]

    /// Runs `amqp bench ARGUMENTS --json` in process and returns the object it printed.
    static func runJSON(_ arguments: [String]) throws -> [String: Any] {
        let command = try BenchCommand.parse(arguments + ["--json"])
        let output = CapturedOutput()
        try command.run(output: output)
        #expect(output.errors.isEmpty, "\(output.errors)")
        try #require(output.lines.count == 1, "\(output.lines)")
        let object = try JSONSerialization.jsonObject(with: Data(output.lines[0].utf8))
        return try #require(object as? [String: Any])
    }

    /// epoll always; io_uring where this kernel lets a ring be set up (a sandbox may
    /// refuse it), as in the reactor's own tests.
    static let backends: [ReactorOptions.Backend] = {
        var uring = ReactorOptions()
        uring.backend = .uring
        return [.epoll] + ((try? Reactor<ConnectionEngine>(options: uring)) != nil ? [.uring] : [])
    }()

    @Test(arguments: [false, true], backends)
    func twoThousandMessagesOverTwoConnections(presettled: Bool, backend: ReactorOptions.Backend) throws {
        var arguments = ["--count", "2000", "--connections", "2", "--backend", backend.rawValue, "--credit", "100"]
        if presettled { arguments.append("--settle") }
        let r = try Self.runJSON(arguments)
        for key in Self.jsonKeys { #expect(r[key] != nil, "missing \(key)") }
        #expect(r["measured"] as? String == "socket")
        #expect(r["backend"] as? String == backend.rawValue)
        #expect(r["settle_mode"] as? String == (presettled ? "pre-settled" : "at-least-once"))
        #expect(r["connections"] as? Int == 2)
        #expect(r["messages"] as? Int == 2000)
        #expect(r["sent"] as? Int == 2000)
        #expect(r["received"] as? Int == 2000)
        #expect(r["accepted"] as? Int == (presettled ? 0 : 2000))
        #expect(r["foreign"] as? Int == 0)
        let p50 = try #require(r["latency_p50_us"] as? Double)
        let p90 = try #require(r["latency_p90_us"] as? Double)
        let p99 = try #require(r["latency_p99_us"] as? Double)
        let p999 = try #require(r["latency_p999_us"] as? Double)
        let max = try #require(r["latency_max_us"] as? Double)
        #expect(0 <= p50 && p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= max)
        let seconds = try #require(r["seconds"] as? Double)
        let rate = try #require(r["messages_per_second"] as? Double)
        #expect(seconds > 0 && rate > 0)
        // Every message was sent and received within the measured time.
        #expect(max <= seconds * 1e6 + 1)
        // Derived figures agree with the counts they come from.
        #expect(abs(rate * seconds - 2000) < 1)
        let bytes = try #require(r["message_bytes"] as? Int)
        let megabytes = try #require(r["megabytes_per_second"] as? Double)
        #expect(abs(megabytes - rate * Double(bytes) / 1e6) <= 1e-6 * Swift.max(1, megabytes))
        let cpu = try #require(r["cpu_us_per_message"] as? Double)
        let client = try #require(r["client_cpu_us_per_message"] as? Double)
        #expect(cpu > 0 && client <= cpu)
    }

    /// Eleven pairs: every pair's messages carry its own stamp, and stay within the run.
    @Test func elevenPairsStampTheirOwnMessages() throws {
        let r = try Self.runJSON(["--count", "1100", "--connections", "11", "--backend", "epoll", "--credit", "50"])
        #expect(r["received"] as? Int == 1100 && r["accepted"] as? Int == 1100 && r["foreign"] as? Int == 0)
        let seconds = try #require(r["seconds"] as? Double)
        let max = try #require(r["latency_max_us"] as? Double)
        #expect(max <= seconds * 1e6 + 1)
    }

    /// Messages of several frames (the peer's frames are at most 63,488 bytes) are
    /// streamed to the receivers, stamps read from their first frame.
    @Test func largeMessagesArriveWhole() throws {
        let r = try Self.runJSON(["--count", "40", "--size", "100000", "--backend", "epoll"])
        #expect(r["received"] as? Int == 40)
        #expect(r["accepted"] as? Int == 40)
        #expect((r["latency_p50_us"] as? Double ?? -1) >= 0)
    }

    /// A run bounded by time: everything sent is received, whatever the count.
    /// With `--gather-threshold`, the client's 64 KiB payloads leave by reference; every
    /// message still arrives whole (the receivers read each one's stamp), on both backends.
    @Test(arguments: backends)
    func gatheredLargeMessagesArriveWhole(backend: ReactorOptions.Backend) throws {
        let c = try BenchCommand.parse(["--gather-threshold", "16384"]).socketConfiguration()
        #expect(c.gatherThreshold == 16_384)
        #expect(try BenchCommand.parse([]).socketConfiguration().gatherThreshold == nil)
        let r = try Self.runJSON(["--count", "60", "--size", "65536", "--gather-threshold", "16384", "--backend", backend.rawValue])
        #expect(r["received"] as? Int == 60 && r["accepted"] as? Int == 60 && r["foreign"] as? Int == 0)
    }

    @Test func durationRunReceivesEverythingSent() throws {
        let r = try Self.runJSON(["--duration", "0.3", "--settle"])
        let sent = try #require(r["sent"] as? Int)
        #expect(sent > 0)
        #expect(r["received"] as? Int == sent)
    }

    /// A paced run keeps to its schedule: message k leaves no earlier than k / rate
    /// seconds after the start, so 300 messages at 1,000/s cannot all have arrived in
    /// less than 0.299 s (an unpaced run of 300 takes a few milliseconds). All arrive.
    @Test(arguments: backends)
    func pacedRunKeepsToItsSchedule(backend: ReactorOptions.Backend) throws {
        let r = try Self.runJSON(["--count", "300", "--rate", "1000", "--backend", backend.rawValue])
        #expect(r["received"] as? Int == 300 && r["accepted"] as? Int == 300)
        #expect(r["rate"] as? Double == 1000)
        let seconds = try #require(r["seconds"] as? Double)
        #expect(seconds >= 0.299)
        // Unpaced, the JSON says so.
        let unpaced = try Self.runJSON(["--count", "10"])
        #expect(unpaced["rate"] is NSNull)
    }

    /// A paced sender behind its schedule that cannot send (out of credit, held by the
    /// window, or its quota done) makes the client wait for I/O, not poll: the FLOW or
    /// the receipt that frees it wakes the client. Polling spun a core against the Proton
    /// C broker (five credits at a time) and delayed the broker's threads by a scheduler
    /// tick (p99 3.9 ms instead of 0.25 ms, BENCHMARKS.md). A sender that can send makes
    /// the client not wait at all.
    @Test func pacedSenderThatCannotSendWaitsForIO() throws {
        var c = SocketBenchConfiguration()
        c.credit = 10
        c.rate = 1_000
        let bench = try SocketBench(c)
        defer { bench.finish() }
        try bench.start()
        let clients = bench.clients
        let s = try #require(clients.senders.first)
        let (id, link) = (try #require(s.id), try #require(s.link))
        let reactor = try #require(bench.reactor)
        // A second behind: a thousand messages are due.
        let now = monotonicNanoseconds()
        clients.pace = (start: now - 1_000_000_000, perSender: 1_000)
        s.quota = .max
        #expect(bench.pacedWait(now: now, sent: 0) == .zero)
        s.blocked = true
        #expect(bench.pacedWait(now: now, sent: 0) == .milliseconds(100))
        s.blocked = false
        s.quota = s.sent
        #expect(bench.pacedWait(now: now, sent: 0) == .milliseconds(100))
        s.quota = .max
        // The peer's ten credits used up (the engine counts them down as it queues; no
        // tick runs, so no FLOW can bring more).
        try reactor.withConnection(id) { engine in
            for _ in 0..<10 { _ = try engine.send(on: link, payload: s.pool[0], settled: false) }
            #expect(engine.sendable(on: link) == 0)
        }
        #expect(bench.pacedWait(now: now, sent: 0) == .milliseconds(100))
        // Ahead of the schedule, it sleeps until the next message is due.
        clients.pace = (start: now + 5_000_000, perSender: 1_000)
        #expect(bench.pacedWait(now: now, sent: 0) == .milliseconds(5))
    }

    /// With a URL: the same run against a broker reached by address, user and password
    /// (the embedded peer on a thread of the test's, PLAIN only).
    @Test func urlRunUsesTheBrokersAddressAndCredentials() throws {
        var p = PeerConfiguration()
        p.users = ["bench": "s3cret"]
        p.allowAnonymous = false
        p.reactor.backend = .epoll
        let peer = try PeerRunner.start(p)
        defer { peer.stop() }
        let url = "amqp://bench:s3cret@127.0.0.1:\(peer.address.port)/orders"
        let r = try Self.runJSON([url, "--count", "500", "--connections", "3"])
        #expect(r["received"] as? Int == 500)
        #expect(r["broker"] as? String == "amqp://127.0.0.1:\(peer.address.port)/orders")

        // A wrong password is one line on standard error and a failure exit.
        let command = try BenchCommand.parse(["amqp://bench:wrong@127.0.0.1:\(peer.address.port)/orders", "--count", "10"])
        let output = CapturedOutput()
        #expect(throws: (any Error).self) { try command.run(output: output) }
        #expect(output.errors.count == 1 && output.errors[0].hasPrefix("amqp bench: "), "\(output.errors)")
        #expect(output.lines.isEmpty)
    }

    @Test(arguments: [
        ["--size", "8"], ["--size", "100", "--size", "200"], ["--count", "10", "--duration", "1"], ["--duration", "0"],
        ["--connections", "0"], ["amqp://127.0.0.1:5672"], ["amqps://127.0.0.1/q"], ["http://x/q"], ["--rounds", "3"],
        ["--mode", "engine", "--settle"], ["--mode", "codec", "amqp://h/q"], ["--mode", "engine", "--connections", "2"],
        ["--rate", "0"], ["--rate", "-5"], ["--mode", "engine", "--rate", "1000"],
        ["--gather-threshold", "0"], ["--mode", "engine", "--gather-threshold", "16384"],
    ])
    func badOptionsAreRefused(arguments: [String]) {
        #expect(throws: (any Error).self) { try BenchCommand.parse(arguments) }
    }

    /// Message pools that could not fit in memory are refused before anything starts.
    @Test func hugePoolsAreRefused() throws {
        var c = SocketBenchConfiguration()
        c.connections = 10_000
        c.bodySize = 16 << 20
        #expect(throws: SocketBenchError.self) { try SocketBench(c) }
    }

    @Test func defaultsAreSocketModeForFiveSeconds() throws {
        let c = try BenchCommand.parse([]).socketConfiguration()
        #expect(try BenchCommand.parse([]).mode == .socket)
        #expect(c.limit == .duration(seconds: 5))
        #expect(c.bodySize == 100 && c.credit == 1_000 && !c.presettled && c.connections == 1 && c.broker == nil)
    }

    /// The URL is `amqp send`'s and `amqp receive`'s (`NodeURL`): address, port, PLAIN.
    @Test func urlsAreTheClientCommandsURLs() throws {
        let c = try BenchCommand.parse(["amqp://al%40ice:p%3Ass@[::1]:5673/queue/a"]).socketConfiguration()
        let broker = try #require(c.broker)
        #expect(broker.address == "queue/a")
        #expect(broker.settings.endpoint.host == "::1" && broker.settings.endpoint.port == 5673)
        #expect(broker.settings.sasl == .plain(username: "al@ice", password: "p:ss"))
        #expect(try BenchCommand.parse(["amqp://broker/q"]).socketConfiguration().broker?.settings.sasl == .anonymous())
    }
}

@Suite("amqp bench stamps and latency histogram")
struct BenchMeasurementTests {
    @Test func stampsRoundTripInPlaceAndAfterSectionsAddedInFront() throws {
        let m = BenchMessage(bodySize: 64, address: "q", pair: 7, nonce: 0xDEAD_BEEF)
        var bytes = m.bytes
        bytes.withUnsafeMutableBytes { m.stamp($0, time: 123_456_789) }
        let direct = bytes.withUnsafeBytes { m.readStamp($0, nonce: 0xDEAD_BEEF) }
        #expect(direct == BenchMessage.Stamp(time: 123_456_789, pair: 7))
        #expect(bytes.withUnsafeBytes { m.readStamp($0, nonce: 1) } == nil)

        // A broker that adds message annotations moves the body: the stamp is searched.
        var decoded = try Message(decoding: bytes)
        decoded.messageAnnotations = ["x-opt-sequence-number": .long(42)]
        let moved = try decoded.encoded()
        #expect(moved.count > bytes.count)
        #expect(moved.withUnsafeBytes { m.readStamp($0, nonce: 0xDEAD_BEEF) } == BenchMessage.Stamp(time: 123_456_789, pair: 7))

        // A body of 300 bytes is a vbin32 data section; a short first frame carries no stamp.
        let big = BenchMessage(bodySize: 300, address: "q", pair: 1, nonce: 5)
        #expect(big.bytes.withUnsafeBytes { big.readStamp($0, nonce: 5) }?.pair == 1)
        #expect(big.bytes.withUnsafeBytes { big.readStamp(UnsafeRawBufferPointer(rebasing: $0[0..<20]), nonce: 5) } == nil)
    }

    @Test func histogramPercentilesAreWithinItsPrecision() {
        var h = LatencyHistogram()
        #expect(h.percentile(0.5) == nil)
        // 1 ... 100,000 ns, each once: the exact p-quantile is p * 100,000.
        for v in 1...100_000 as ClosedRange<UInt64> { h.record(v) }
        #expect(h.count == 100_000 && h.minimum == 1 && h.maximum == 100_000)
        for p in [0.5, 0.9, 0.99, 0.999] {
            let exact = p * 100_000
            let got = Double(h.percentile(p)!)
            #expect(abs(got - exact) <= exact / 32 + 1, "p\(p): \(got) for \(exact)")
        }
        #expect(h.percentile(1) == 100_000)
        #expect(h.percentile(0) == 1)
        // Buckets tile the values: each bucket starts one past the previous one's end.
        for i in 1..<LatencyHistogram.bucketCount {
            #expect(LatencyHistogram.bounds(i).lowerBound == LatencyHistogram.bounds(i - 1).upperBound &+ 1)
        }
        #expect(LatencyHistogram.bucket(.max) == LatencyHistogram.bucketCount - 1)
        #expect(LatencyHistogram.bounds(LatencyHistogram.bucketCount - 1).upperBound == .max)
    }

    @Test func histogramOfOneValueReportsIt() {
        var h = LatencyHistogram()
        h.record(123_456)
        for p in [0.5, 0.9, 0.99, 0.999] { #expect(h.percentile(p) == 123_456) }
    }
}
