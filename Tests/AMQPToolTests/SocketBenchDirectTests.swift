import AMQPReactor
@testable import AMQPTool
import Foundation
import Testing

/// `amqp bench --peer direct`: senders only, into a listener in process that accepts or
/// counts every delivery (peer to peer, no queue). Counts are exact; nothing is timed.
@Suite("amqp bench --peer direct")
struct SocketBenchDirectTests {
    @Test(arguments: [false, true], SocketBenchTests.backends)
    func movesEveryMessage(presettled: Bool, backend: ReactorOptions.Backend) throws {
        var arguments = ["--peer", "direct", "--count", "3000", "--backend", backend.rawValue, "--credit", "100"]
        if presettled { arguments.append("--settle") }
        let r = try SocketBenchTests.runJSON(arguments)
        for key in SocketBenchTests.jsonKeys + ["peer"] { #expect(r[key] != nil, "missing \(key)") }
        #expect(r["peer"] as? String == "direct")
        #expect((r["broker"] as? String)?.hasPrefix("direct listener") == true)
        #expect(r["backend"] as? String == backend.rawValue)
        #expect(r["settle_mode"] as? String == (presettled ? "pre-settled" : "at-least-once"))
        #expect(r["sent"] as? Int == 3000)
        #expect(r["received"] as? Int == 3000)
        // At-least-once, every outcome came back from the listener: accepted.
        #expect(r["accepted"] as? Int == (presettled ? 0 : 3000))
        #expect(r["foreign"] as? Int == 0)
        let seconds = try #require(r["seconds"] as? Double)
        let rate = try #require(r["messages_per_second"] as? Double)
        #expect(seconds > 0 && abs(rate * seconds - 3000) < 1)
        let p50 = try #require(r["latency_p50_us"] as? Double)
        let max = try #require(r["latency_max_us"] as? Double)
        #expect(0 <= p50 && p50 <= max && max <= seconds * 1e6 + 1)
        let cpu = try #require(r["cpu_us_per_message"] as? Double)
        let client = try #require(r["client_cpu_us_per_message"] as? Double)
        #expect(cpu > 0 && client <= cpu)
    }

    /// Several sender connections into the one listener: each pair's share is counted
    /// under its own stamp; repeated phases on one bench count only their own messages.
    @Test func severalSendersAndRepeatedPhases() throws {
        var c = SocketBenchConfiguration()
        c.peer = .direct
        c.backend = .epoll
        c.connections = 3
        c.credit = 50
        let bench = try SocketBench(c)
        defer { bench.finish() }
        try bench.start()
        let first = try bench.measure(.count(1_000))
        #expect(first.received == 1_000 && first.accepted == 1_000 && first.sent == 1_000)
        let second = try bench.measure(.count(301))
        #expect(second.received == 301 && second.accepted == 301 && second.foreign == 0)
        #expect(bench.clients.tally?.state.withLock { $0.receivedByPair } == [435, 433, 433])
        #expect(bench.clients.receivers.allSatisfy { $0.id == nil })
    }

    /// Messages of several frames are streamed into the listener, stamps read from their
    /// first frame.
    @Test func largeMessagesArriveWhole() throws {
        let r = try SocketBenchTests.runJSON(["--peer", "direct", "--count", "30", "--size", "100000", "--backend", "epoll"])
        #expect(r["received"] as? Int == 30 && r["accepted"] as? Int == 30 && r["foreign"] as? Int == 0)
    }

    /// The text report says what was measured.
    @Test func textReportSaysPeerToPeer() throws {
        let command = try BenchCommand.parse(["--peer", "direct", "--count", "200", "--settle"])
        let output = CapturedOutput()
        try command.run(output: output)
        let text = output.lines.joined(separator: "\n")
        #expect(text.contains("1 sender connection"), "\(text)")
        #expect(text.contains("peer to peer, pre-settled"), "\(text)")
        #expect(text.contains("200 received of 200 sent"), "\(text)")
    }

    @Test(arguments: [
        ["--peer", "direct", "amqp://127.0.0.1:5672/q"], ["--mode", "engine", "--peer", "direct"],
        ["--mode", "codec", "--peer", "direct"], ["--peer", "sideways"],
    ])
    func badCombinationsAreUsageErrors(arguments: [String]) {
        #expect(throws: (any Error).self) { try BenchCommand.parse(arguments) }
        do {
            _ = try BenchCommand.parse(arguments)
        } catch {
            // A usage error (exit code 64), not a failure of a run.
            #expect(BenchCommand.exitCode(for: error).rawValue == 64, "\(error)")
        }
    }

    /// The library refuses the combination too, with its typed error.
    @Test func directWithABrokerIsRefusedByTheLibrary() throws {
        var c = SocketBenchConfiguration()
        c.peer = .direct
        c.broker = try NodeURL("amqp://127.0.0.1:5672/q")
        #expect(throws: SocketBenchError.self) { try SocketBench(c) }
    }
}
