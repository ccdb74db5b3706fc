import AMQPReactor
@testable import AMQPTool
import Foundation
import Testing

/// `amqp bench --mode idle`: a few idle connections with a short idle limit, through the
/// command as users run it. The interval is longer than the idle limit, so the run only
/// succeeds if heartbeats kept every connection open both ways; nothing is asserted about
/// how much CPU it took.
@Suite("amqp bench (idle)")
struct IdleBenchTests {
    static let jsonKeys = [
        "measured", "backend", "connections", "idle_timeout_ms", "announced_idle_timeout_ms", "heartbeat_interval_ms",
        "heartbeats_per_second", "setup_seconds", "quiet_seconds", "process_cpu_seconds", "client_cpu_seconds",
        "peer_cpu_seconds", "client_cpu_percent", "peer_cpu_percent", "process_cpu_percent", "client_us_per_heartbeat",
        "rss_before_bytes", "rss_open_bytes", "rss_quiet_bytes", "rss_per_connection_bytes", "ring_idle_release_ms", "client_open", "peer_open",
    ]

    /// 20 connections, each end's idle limit 2 s (OPEN announces 1 s, an empty frame
    /// every 0.5 s), 2.5 s quiet: without heartbeats in both directions every connection
    /// would have closed with a time-out before the end, and the command would fail.
    @Test(arguments: SocketBenchTests.backends)
    func connectionsStayOpenOnHeartbeatsAlone(backend: ReactorOptions.Backend) throws {
        let command = try BenchCommand.parse([
            "--mode", "idle", "--connections", "20", "--idle-timeout", "2000", "--duration", "2.5",
            "--backend", backend.rawValue, "--json",
        ])
        let output = CapturedOutput()
        try command.run(output: output)
        #expect(output.errors.isEmpty, "\(output.errors)")
        try #require(output.lines.count == 1, "\(output.lines)")
        let r = try #require(try JSONSerialization.jsonObject(with: Data(output.lines[0].utf8)) as? [String: Any])
        for key in Self.jsonKeys { #expect(r[key] != nil, "missing \(key)") }
        #expect(r["measured"] as? String == "idle")
        #expect(r["backend"] as? String == backend.rawValue)
        #expect(r["connections"] as? Int == 20)
        #expect(r["client_open"] as? Int == 20)
        #expect(r["peer_open"] as? Int == 20)
        #expect(r["announced_idle_timeout_ms"] as? Int == 1000)
        #expect(r["heartbeat_interval_ms"] as? Double == 500)
        #expect(r["heartbeats_per_second"] as? Double == 40)
        #expect(r["ring_idle_release_ms"] as? Int == 1000)
        let quiet = try #require(r["quiet_seconds"] as? Double)
        #expect(quiet >= 2.5)
        // Each thread's CPU is part of the process's.
        let process = try #require(r["process_cpu_seconds"] as? Double)
        let client = try #require(r["client_cpu_seconds"] as? Double)
        let peer = try #require(r["peer_cpu_seconds"] as? Double)
        #expect(client > 0 && peer > 0, "both reactors worked on heartbeats")
        #expect(client + peer <= process + 0.01)
    }

    /// The interval must be longer than the idle limit (or open connections prove
    /// nothing), and socket-mode options are refused.
    @Test(arguments: [
        ["--mode", "idle", "--idle-timeout", "5000", "--duration", "4"],
        ["--mode", "idle", "--idle-timeout", "1"],
        ["--mode", "idle", "--connections", "0"],
        ["--mode", "idle", "amqp://127.0.0.1/q"],
        ["--mode", "idle", "--rate", "100"],
        ["--mode", "idle", "--settle"],
        ["--mode", "idle", "--size", "100"],
        ["--mode", "idle", "--ring-idle-release", "-1"],
        ["--idle-timeout", "1000"],
        ["--ring-idle-release", "1000"],
    ])
    func badOptionsAreRefused(arguments: [String]) {
        #expect(throws: (any Error).self) { try BenchCommand.parse(arguments) }
    }

    @Test func defaultsAreTenThousandConnectionsThirtySeconds() throws {
        let c = try BenchCommand.parse(["--mode", "idle"]).idleConfiguration()
        #expect(c.connections == 10_000 && c.idleTimeout == 10_000 && c.quietSeconds == 30)
        #expect(c.ringIdleRelease == .seconds(1))
        #expect(try BenchCommand.parse(["--mode", "idle", "--ring-idle-release", "0"]).idleConfiguration().ringIdleRelease == nil)
    }
}
