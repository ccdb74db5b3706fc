import Foundation
public import AMQPReactor

/// What `amqp bench --mode idle` runs (`IdleBench`).
public struct IdleBenchConfiguration: Sendable {
    /// Client connections, all on one reactor; the embedded peer holds the other ends.
    public var connections = 10_000
    /// Each end's local idle limit in milliseconds (`ConnectionConfiguration.idleTimeout`):
    /// OPEN announces half of it, and each end sends an empty frame after a quarter of it
    /// without output.
    public var idleTimeout: UInt32 = 10_000
    /// The measured interval, in seconds; longer than `idleTimeout`, so that connections
    /// still open at its end prove that heartbeats flowed.
    public var quietSeconds = 30.0
    /// Seconds between the end of set-up and the interval (set-up output drains; empty
    /// rings give their pages back after `ReactorOptions.ringIdleRelease`, 1 s).
    public var settleSeconds = 2.0
    /// The reactors' backend (client and peer).
    public var backend: ReactorOptions.Backend = .automatic
    /// Longest set-up allowed, in seconds.
    public var setupTimeout = 120.0
    /// After how long empty rings give their pages back (`ReactorOptions.ringIdleRelease`,
    /// both reactors); `nil` keeps them. The default is the reactor's (1 s): with
    /// heartbeats further apart, each one brings a page back to a ring and the next
    /// release takes it again.
    public var ringIdleRelease: Duration? = ReactorOptions().ringIdleRelease

    /// Creates the default configuration: 10,000 connections, 10 s idle limit (OPEN
    /// announces 5 s; a heartbeat every 2.5 s each way), 30 s quiet.
    public init() {}
}

/// What an idle run measured.
public struct IdleBenchResult: Sendable {
    /// The reactors' backend.
    public var backend: ReactorOptions.Backend
    /// Client connections (the peer holds as many).
    public var connections: Int
    /// Each end's local idle limit, ms.
    public var idleTimeout: UInt32
    /// Seconds to open, begin and attach every connection.
    public var setupSeconds: Double
    /// The measured interval's length, seconds.
    public var quietSeconds: Double
    /// CPU (user + system) of the whole process over the interval, seconds.
    public var processCPUSeconds: Double
    /// CPU of the client reactor's thread over the interval, seconds.
    public var clientCPUSeconds: Double
    /// CPU of the embedded peer's thread over the interval, seconds.
    public var peerCPUSeconds: Double
    /// Resident bytes before any connection (peer listening, client reactor made).
    public var residentBytesBefore: Int
    /// Resident bytes once all were open and settled, at the interval's start.
    public var residentBytesOpen: Int
    /// Resident bytes at the interval's end.
    public var residentBytesQuiet: Int
    /// `ReactorOptions.ringIdleRelease` of both reactors, ms; `nil`: pages kept.
    public var ringIdleReleaseMilliseconds: Int?
    /// Client connections open at the end (all of them, or the run fails).
    public var clientOpen: Int
    /// Peer connections open at the end.
    public var peerOpen: Int

    /// OPEN's `idle-time-out` each end announces, ms (half the local limit).
    public var announcedIdleTimeout: UInt32 { max(1, idleTimeout / 2) }
    /// How often each end sends an empty frame when it has nothing else to send, ms
    /// (half the peer's announced value).
    public var heartbeatInterval: Double { Double(announcedIdleTimeout) / 2 }
    /// Empty frames each end sends per second, all connections together.
    public var heartbeatsPerSecond: Double { Double(connections) / (heartbeatInterval / 1e3) }
    /// The client thread's share of one core over the interval, in percent.
    public var clientCPUPercent: Double { clientCPUSeconds / quietSeconds * 100 }
    /// The peer thread's share of one core, in percent.
    public var peerCPUPercent: Double { peerCPUSeconds / quietSeconds * 100 }
    /// The whole process's, in percent of one core.
    public var processCPUPercent: Double { processCPUSeconds / quietSeconds * 100 }
    /// Client CPU per heartbeat it sent and received, µs.
    public var clientMicrosecondsPerHeartbeat: Double { clientCPUSeconds * 1e6 / max(1, 2 * heartbeatsPerSecond * quietSeconds) }
    /// Resident bytes per connection at the interval's end, both ends (client and peer,
    /// both in this process) counted.
    public var residentBytesPerConnection: Double { Double(residentBytesQuiet - residentBytesBefore) / Double(max(1, connections)) }
}

/// How `amqp bench --mode idle` prints an `IdleBenchResult`.
public enum IdleBenchReport {
    /// The report for people.
    public static func text(_ r: IdleBenchResult) -> String {
        typealias R = SocketBenchReport
        let kib = { (b: Double) in R.fixed(b / 1024, 1) }
        return [
            "amqp bench: measured \(R.grouped(r.connections)) idle connections with heartbeats on one AMQPReactor",
            "  (\(r.backend.rawValue)), to the embedded peer (in process, own reactor thread with \(R.grouped(r.peerOpen)) connections).",
            "  Each opened, began a session and attached a sender; then nothing but heartbeats: both ends",
            "  announce idle-time-out \(r.announcedIdleTimeout) ms and send an empty frame every \(R.fixed(r.heartbeatInterval / 1e3, 2)) s (\(R.grouped(Int(r.heartbeatsPerSecond.rounded()))) a second each way).",
            "  set-up      \(R.fixed(r.setupSeconds, 1)) s",
            "  quiet       \(R.fixed(r.quietSeconds, 1)) s, all \(R.grouped(r.clientOpen)) still open at the end",
            "  CPU         client reactor thread \(R.fixed(r.clientCPUPercent, 2))% of a core (\(R.fixed(r.clientMicrosecondsPerHeartbeat, 2)) µs per heartbeat sent or received),"
                + " peer thread \(R.fixed(r.peerCPUPercent, 2))%, process \(R.fixed(r.processCPUPercent, 2))%",
            "  rings       empty rings give their pages back after \(r.ringIdleReleaseMilliseconds.map { "\($0) ms" } ?? "never (kept)")",
            "  resident    \(kib(Double(r.residentBytesBefore))) KiB before, \(kib(Double(r.residentBytesOpen))) KiB open, \(kib(Double(r.residentBytesQuiet))) KiB at the end:"
                + " \(kib(r.residentBytesPerConnection)) KiB per connection (both ends)",
        ].joined(separator: "\n")
    }

    /// One JSON object with every figure.
    public static func json(_ r: IdleBenchResult) -> String {
        typealias R = SocketBenchReport
        let fields: [(String, String)] = [
            ("measured", R.string("idle")),
            ("backend", R.string(r.backend.rawValue)),
            ("connections", "\(r.connections)"),
            ("idle_timeout_ms", "\(r.idleTimeout)"),
            ("announced_idle_timeout_ms", "\(r.announcedIdleTimeout)"),
            ("heartbeat_interval_ms", R.number(r.heartbeatInterval)),
            ("heartbeats_per_second", R.number(r.heartbeatsPerSecond)),
            ("setup_seconds", R.number(r.setupSeconds)),
            ("quiet_seconds", R.number(r.quietSeconds)),
            ("process_cpu_seconds", R.number(r.processCPUSeconds)),
            ("client_cpu_seconds", R.number(r.clientCPUSeconds)),
            ("peer_cpu_seconds", R.number(r.peerCPUSeconds)),
            ("client_cpu_percent", R.number(r.clientCPUPercent)),
            ("peer_cpu_percent", R.number(r.peerCPUPercent)),
            ("process_cpu_percent", R.number(r.processCPUPercent)),
            ("client_us_per_heartbeat", R.number(r.clientMicrosecondsPerHeartbeat)),
            ("rss_before_bytes", "\(r.residentBytesBefore)"),
            ("rss_open_bytes", "\(r.residentBytesOpen)"),
            ("rss_quiet_bytes", "\(r.residentBytesQuiet)"),
            ("rss_per_connection_bytes", R.number(r.residentBytesPerConnection)),
            ("ring_idle_release_ms", r.ringIdleReleaseMilliseconds.map { "\($0)" } ?? "null"),
            ("client_open", "\(r.clientOpen)"),
            ("peer_open", "\(r.peerOpen)"),
        ]
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }
}
