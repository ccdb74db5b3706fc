public import AMQPReactor
public import ArgumentParser
import AMQPCodec
import Glibc

/// `amqp bench`: measures swift-amqp.
///
/// Three modes, each saying in its report what it measured. `socket` (the default, what
/// `make run` runs) moves messages over TCP between sender and receiver connections of
/// our client and a broker: the embedded peer started in this process when no URL is
/// given, in the manner of Qpid's Quiver; or, with `--peer direct`, from senders straight
/// into a listener in this process (peer to peer, as Qpid Proton's `direct`). `engine` moves at-least-once messages between a
/// client and a listener `ConnectionEngine` joined in memory — no sockets, no reactor.
/// `codec` encodes and decodes one TRANSFER frame that carries a realistic message.
public struct BenchCommand: ParsableCommand {
    /// Describes the subcommand.
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark swift-amqp: over sockets against the embedded peer or a broker, or in memory.",
        discussion: """
            With no URL, the embedded peer runs in this process on 127.0.0.1 (its own reactor \
            thread) and the sender and receiver connections reach it over loopback TCP: store \
            and forward, through a queue. With --peer direct, peer to peer instead: only \
            senders connect, to a listener in this process (its own reactor thread) that \
            grants credit and accepts or counts every delivery, with no queue (as Qpid \
            Proton's `direct` example). With amqp://[USER:PASSWORD@]HOST[:PORT]/ADDRESS, \
            they use that broker's ADDRESS. The \
            report gives messages, seconds, msg/s, MB/s, latency percentiles (send to \
            receive) and CPU per message; --json prints one object.
            """)

    /// What `amqp bench` measures.
    public enum Mode: String, ExpressibleByArgument, Sendable, CaseIterable {
        /// Our client over TCP against the embedded peer or a broker.
        case socket
        /// Client and listener engines in memory (no sockets).
        case engine
        /// Encoding and decoding of one TRANSFER frame.
        case codec
        /// Idle connections with heartbeats: CPU and resident memory over a quiet interval.
        case idle
    }

    /// The broker (socket mode); none: the embedded peer in this process.
    @Argument(help: "Socket mode: amqp://[USER:PASSWORD@]HOST[:PORT]/ADDRESS of a broker (default: the embedded peer, in process).")
    public var url: String?

    /// Which measurement.
    @Option(help: "socket: our client over TCP against the embedded peer or a broker; engine: client and listener engines moving messages in memory (no sockets); codec: one TRANSFER frame encoded and decoded; idle: --connections idle connections with heartbeats on one reactor to the embedded peer, CPU and resident memory over --duration quiet seconds.")
    public var mode: Mode = .socket

    /// Data-section sizes to measure, in bytes.
    @Option(name: .customLong("size"), help: "Message body size in bytes (socket: one size, at least 16, default 100; engine: repeatable, default 100; codec: repeatable, default 100 and 65536).")
    public var sizes: [Int] = []

    /// Operations per round, or messages in all (socket mode).
    @Option(help: "Socket: messages in all (instead of --duration). Engine and codec: messages or frames per round (default: under a second's worth).")
    public var count: Int?

    /// How long the senders send (socket mode), or the quiet interval (idle mode).
    @Option(help: "Socket: seconds the senders send (default 5 unless --count is given); everything sent is then received before the end. Idle: seconds of the measured quiet interval (default 30; longer than --idle-timeout).")
    public var duration: Double?

    /// Each end's local idle limit (idle mode).
    @Option(name: .customLong("idle-timeout"), help: "Idle: each end's idle limit in milliseconds (OPEN announces half; an empty frame goes every quarter of it; default 10000).")
    public var idleTimeout: UInt32?

    /// When empty rings give their pages back (idle mode).
    @Option(name: .customLong("ring-idle-release"), help: "Idle: milliseconds after which empty rings give their pages back (ReactorOptions.ringIdleRelease, both reactors); 0 keeps them (default: the reactor's, 1000).")
    public var ringIdleRelease: Int?

    /// The receivers' credit.
    @Option(help: "The receivers' prefetch credit (socket: also the credit the embedded peer gives senders).")
    public var credit: UInt32 = 1_000

    /// What receives without a broker URL.
    @Option(help: "Socket, without a URL: queue (store and forward: senders → the embedded peer's queue → receivers) or direct (peer to peer: senders → a listener that accepts or counts every delivery, no queue, no receivers).")
    public var peer: SocketBenchConfiguration.Peer = .queue

    /// Pre-settled messages.
    @Flag(help: "Socket: send pre-settled (at most once) instead of at-least-once.")
    public var settle = false

    /// Connection pairs (socket), or idle connections (idle).
    @Option(help: "Socket: sender/receiver connection pairs (default 1). Idle: client connections on one reactor (default 10000).")
    public var connections: Int?

    /// A fixed sending rate (socket mode).
    @Option(help: "Socket: send this many messages per second in all, on a fixed schedule (for latency at a given load; default: as fast as credit allows).")
    public var rate: Double?

    /// The client reactor's gather threshold in bytes.
    @Option(name: .customLong("gather-threshold"), help: "Socket: payload chunks of this many bytes or more leave the client by reference (one gathered sendmsg) instead of copied into the outbound ring (ReactorOptions.gatherThreshold; default: copy).")
    public var gatherThreshold: Int?

    /// I/O backend.
    @Option(help: "Socket: reactor backend, automatic, epoll or uring (the client's and the embedded peer's).")
    public var backend: ReactorOptions.Backend = .automatic

    /// Rounds per size; the report gives the median.
    @Option(help: "Engine and codec: rounds per size; the median is reported (default 5).")
    public var rounds: Int?

    /// Which measurement to run; all three by default.
    @Option(help: "Codec: run only one measurement: encode, transfer or decode (for profilers and instruction counts).")
    public var only: CodecBench.Operation?

    /// Machine-readable output.
    @Flag(help: "Print one JSON object instead of a table.")
    public var json = false

    /// Creates the command (ArgumentParser fills in the options).
    public init() {}

    /// Validates option values.
    public func validate() throws {
        guard sizes.allSatisfy({ $0 >= 0 && $0 <= 16 << 20 }) else {
            throw ValidationError("--size must be between 0 and 16 MiB")
        }
        if mode != .codec && only != nil { throw ValidationError("--only applies to --mode codec") }
        guard credit >= 1 else { throw ValidationError("--credit must be at least 1") }
        if let rounds, rounds < 1 || rounds > 101 { throw ValidationError("--rounds must be between 1 and 101") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if mode == .socket {
            _ = try socketConfiguration()
        } else if mode == .idle {
            _ = try idleConfiguration()
        } else {
            guard url == nil else { throw ValidationError("a URL applies to --mode socket") }
            guard duration == nil, !settle, connections == nil, backend == .automatic, rate == nil, peer == .queue else {
                throw ValidationError("--duration, --settle, --connections, --rate, --backend and --peer apply to --mode socket")
            }
        }
        if mode != .socket && gatherThreshold != nil { throw ValidationError("--gather-threshold applies to --mode socket") }
        if mode != .idle && (idleTimeout != nil || ringIdleRelease != nil) {
            throw ValidationError("--idle-timeout and --ring-idle-release apply to --mode idle")
        }
    }

    /// The idle bench's configuration from the options.
    public func idleConfiguration() throws -> IdleBenchConfiguration {
        var c = IdleBenchConfiguration()
        guard url == nil, sizes.isEmpty, count == nil, !settle, rate == nil, peer == .queue, rounds == nil, only == nil else {
            throw ValidationError("--mode idle takes --connections, --duration, --idle-timeout, --backend and --json only (it runs the embedded peer itself)")
        }
        if let connections {
            guard connections >= 1 && connections <= 100_000 else { throw ValidationError("--connections must be between 1 and 100000") }
            c.connections = connections
        }
        if let idleTimeout {
            guard idleTimeout >= 2 else { throw ValidationError("--idle-timeout must be at least 2 ms") }
            c.idleTimeout = idleTimeout
        }
        if let duration {
            guard duration > 0 && duration <= 86_400 else { throw ValidationError("--duration must be between 0 and 86400 seconds") }
            c.quietSeconds = duration
        }
        // Connections still open after the interval prove heartbeats flowed only if it is
        // longer than the idle limit.
        guard c.quietSeconds * 1000 > Double(c.idleTimeout) else {
            throw ValidationError("--duration (\(c.quietSeconds) s) must be longer than --idle-timeout (\(c.idleTimeout) ms): connections open at the end then prove that heartbeats flowed")
        }
        if let ringIdleRelease {
            guard ringIdleRelease >= 0 && ringIdleRelease <= 86_400_000 else { throw ValidationError("--ring-idle-release must be between 0 and 86400000 ms") }
            c.ringIdleRelease = ringIdleRelease == 0 ? nil : .milliseconds(ringIdleRelease)
        }
        c.backend = backend
        return c
    }

    /// The socket bench's configuration from the options.
    public func socketConfiguration() throws -> SocketBenchConfiguration {
        var c = SocketBenchConfiguration()
        guard sizes.count <= 1 else { throw ValidationError("--mode socket measures one --size at a time") }
        c.bodySize = sizes.first ?? 100
        guard c.bodySize >= BenchMessage.stampSize else {
            throw ValidationError("--size must be at least \(BenchMessage.stampSize) in socket mode: the body carries the send time")
        }
        switch (count, duration) {
        case (let n?, nil): c.limit = .count(n)
        case (nil, let s?):
            guard s > 0 && s <= 86_400 else { throw ValidationError("--duration must be between 0 and 86400 seconds") }
            c.limit = .duration(seconds: s)
        case (nil, nil): c.limit = .duration(seconds: 5)
        case (_?, _?): throw ValidationError("--count and --duration exclude each other")
        }
        guard rounds == nil else { throw ValidationError("--rounds applies to --mode engine and codec") }
        let connections = self.connections ?? 1
        guard connections >= 1 && connections <= 10_000 else { throw ValidationError("--connections must be between 1 and 10000") }
        c.connections = connections
        c.credit = credit
        c.presettled = settle
        if let rate {
            guard rate > 0 && rate <= 100_000_000 else { throw ValidationError("--rate must be between 0 and 100,000,000 messages per second") }
            c.rate = rate
        }
        c.backend = backend
        if let gatherThreshold {
            guard gatherThreshold >= 1 else { throw ValidationError("--gather-threshold must be at least 1 byte") }
            c.gatherThreshold = gatherThreshold
        }
        // The URL as `amqp send` and `amqp receive` take it (`NodeURL`).
        if let url {
            let node = try NodeURL(url)
            // The bench drives engines on a reactor of its own, over plain TCP only.
            guard node.settings.endpoint.scheme == .amqp else {
                throw ValidationError("\(node.settings.endpoint.scheme)://: amqp bench connects to brokers over plain amqp:// only")
            }
            c.broker = node
        }
        guard peer == .queue || url == nil else {
            throw ValidationError("--peer direct starts its own listener: it takes no broker URL")
        }
        c.peer = peer
        return c
    }

    /// Runs the benchmark and prints the report.
    public mutating func run() throws {
        try run(output: StandardStreams())
    }

    /// Runs with output going to `output` (tests capture it).
    public func run(output: any CommandOutput) throws {
        defer { output.flush() }
        switch mode {
        case .socket: try runSocket(output: output)
        case .engine: runEngine(output: output)
        case .codec: try runCodec(output: output)
        case .idle: try runIdle(output: output)
        }
    }

    func runIdle(output: any CommandOutput) throws {
        let configuration = try idleConfiguration()
        let result: IdleBenchResult
        do {
            result = try IdleBench.run(configuration)
        } catch {
            output.printError("amqp bench: \(error)")
            throw ExitCode(1)
        }
        output.printLine(json ? IdleBenchReport.json(result) : IdleBenchReport.text(result))
    }

    func runSocket(output: any CommandOutput) throws {
        let configuration = try socketConfiguration()
        // A live progress line only for a person watching a terminal.
        let live = output is StandardStreams && isatty(STDERR_FILENO) != 0
        let progress: ((String) -> Void)? = live ? { line in Self.writeProgress("\r" + line + "\u{1B}[K") } : nil
        let result: SocketBenchResult
        do {
            result = try SocketBench.run(configuration, progress: progress)
        } catch {
            if live { Self.writeProgress("\r\u{1B}[K") }
            output.printError("amqp bench: \(error)")
            throw ExitCode(1)
        }
        if live { Self.writeProgress("\r\u{1B}[K") }
        output.printLine(json ? SocketBenchReport.json(result) : SocketBenchReport.text(result))
    }

    /// Writes to standard error at once, without a newline (the progress line rewrites
    /// itself).
    static func writeProgress(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    func runEngine(output: any CommandOutput) {
        let rounds = self.rounds ?? 5
        let results = (sizes.isEmpty ? [100] : sizes).map { size in
            EngineBench.measure(payloadSize: size, credit: credit, count: count, rounds: rounds)
        }
        if json {
            output.printLine(EngineBench.json(results))
        } else {
            output.printLine("amqp bench: measured the engines only — a client and a listener ConnectionEngine")
            output.printLine("  joined in memory (no sockets, no reactor, no system calls), one core. The client's")
            output.printLine("  sender sends at-least-once messages (header, properties, one data section);")
            output.printLine("  the listener's receiver (credit \(credit)) settles them accepted in ranges; a")
            output.printLine("  message counts once its outcome is back at the sender. ns/msg is both engines")
            output.printLine("  together; MB/s counts client-to-listener wire bytes. Median of \(rounds) rounds.")
            output.printLine(EngineBench.table(results))
        }
    }

    func runCodec(output: any CommandOutput) throws {
        let rounds = self.rounds ?? 5
        let results = try (sizes.isEmpty ? [100, 65_536] : sizes).map { size in
            try CodecBench.measure(payloadSize: size, count: count, rounds: rounds, only: only)
        }
        if json {
            output.printLine(CodecBench.json(results))
        } else {
            output.printLine("amqp bench: measured the codec only — encode and decode of one TRANSFER frame")
            output.printLine("  carrying a message (header, properties, one data section) in memory;")
            output.printLine("  no sockets, no engine, no peer. Median of \(rounds) rounds. 'transfer' cuts the")
            output.printLine("  frame and decodes the TRANSFER (the engine's per-frame work); 'decode' also")
            output.printLine("  reads the message's header, properties and data sections as views.")
            output.printLine(CodecBench.table(results))
        }
    }
}

/// The codec measurement behind `amqp bench`.
public enum CodecBench {
    /// One of the three measurements.
    public enum Operation: String, ExpressibleByArgument, Sendable, CaseIterable {
        /// Encode a whole frame.
        case encode
        /// Cut a frame and decode its TRANSFER.
        case transfer
        /// Cut a frame, decode its TRANSFER and read its message's sections.
        case decode
    }

    /// Figures for one payload size.
    public struct Result: Sendable {
        /// Data-section bytes.
        public var payloadSize: Int
        /// Encoded frame bytes.
        public var frameSize: Int
        /// Frames per round.
        public var count: Int
        /// Median nanoseconds to encode one frame.
        public var encodeNanoseconds: Double
        /// Median nanoseconds to cut one frame and decode its TRANSFER (payload a view).
        public var transferNanoseconds: Double
        /// Median nanoseconds to decode one frame and its message's sections.
        public var decodeNanoseconds: Double
    }

    /// Encodes and decodes `count` frames per round, `rounds` times, and keeps the medians.
    public static func measure(payloadSize: Int, count: Int?, rounds: Int, only: Operation? = nil) throws -> Result {
        let workload = CodecWorkload(payloadSize: payloadSize)
        let frameSize = workload.frame.count
        // About a second per size and direction on a 2020s core, at least 1,000 frames.
        let n = count ?? max(1_000, min(2_000_000, 200_000_000 / max(frameSize, 100)))
        var buffer = [UInt8](repeating: 0, count: frameSize + 64)
        let decoder = FrameDecoder(maxFrameSize: UInt32.max)
        var encodeTimes: [Double] = []
        var decodeTimes: [Double] = []
        var transferTimes: [Double] = []
        var sink = 0
        // What each decode loop adds per frame, from one decode outside the timing.
        let (decodeSum, transferSum) = try workload.frame.withUnsafeBytes { raw in
            (try CodecWorkload.decodeFrame(raw, decoder: decoder).checksum, try CodecWorkload.decodeTransfer(raw, decoder: decoder).checksum)
        }
        let clock = ContinuousClock()
        for _ in 0..<rounds {
            func runs(_ op: Operation) -> Bool { only == nil || only == op }
            let encodeElapsed = try buffer.withUnsafeMutableBytes { raw in
                try clock.measure {
                    if runs(.encode) { for _ in 0..<n { sink &+= try workload.encodeFrame(into: raw) } }
                }
            }
            let decodeElapsed = try workload.frame.withUnsafeBytes { raw in
                try clock.measure {
                    if runs(.decode) { for _ in 0..<n { sink &+= try CodecWorkload.decodeFrame(raw, decoder: decoder).checksum } }
                }
            }
            let transferElapsed = try workload.frame.withUnsafeBytes { raw in
                try clock.measure {
                    if runs(.transfer) { for _ in 0..<n { sink &-= try CodecWorkload.decodeTransfer(raw, decoder: decoder).checksum } }
                }
            }
            // Keep the work observable: the sum below checks every loop's result.
            if !runs(.encode) { sink &+= n * frameSize }
            if !runs(.decode) { sink &+= n &* decodeSum }
            if runs(.transfer) { sink &+= n &* transferSum }
            transferTimes.append(nanoseconds(transferElapsed) / Double(n))
            encodeTimes.append(nanoseconds(encodeElapsed) / Double(n))
            decodeTimes.append(nanoseconds(decodeElapsed) / Double(n))
        }
        // Every loop did real work: each frame decoded back to the same fields.
        precondition(sink == rounds &* n &* (frameSize &+ decodeSum), "benchmark loop lost work")
        return Result(
            payloadSize: payloadSize, frameSize: frameSize, count: n,
            encodeNanoseconds: median(encodeTimes), transferNanoseconds: median(transferTimes),
            decodeNanoseconds: median(decodeTimes))
    }

    static func nanoseconds(_ d: Duration) -> Double {
        let (s, atto) = d.components
        return Double(s) * 1e9 + Double(atto) / 1e9
    }

    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// A fixed-width table, one row per size.
    public static func table(_ results: [Result]) -> String {
        func pad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
        func fixed(_ x: Double, _ digits: Int) -> String {
            let scale = pow10(digits)
            let r = (x * scale).rounded() / scale
            var text = "\(r)"
            if let dot = text.firstIndex(of: ".") {
                let decimals = text.distance(from: dot, to: text.endIndex) - 1
                if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
            }
            return text
        }
        var lines = [
            "  " + pad("body B", 8) + pad("frame B", 9) + pad("encode ns", 11) + pad("transfer ns", 13) + pad("decode ns", 11)
                + pad("encode MB/s", 13) + pad("decode frames/s", 17)
        ]
        for r in results {
            let encodeMBs = Double(r.frameSize) / r.encodeNanoseconds * 1e3
            let decodeRate = 1e9 / r.decodeNanoseconds
            lines.append(
                "  " + pad("\(r.payloadSize)", 8) + pad("\(r.frameSize)", 9) + pad(fixed(r.encodeNanoseconds, 1), 11)
                    + pad(fixed(r.transferNanoseconds, 1), 13) + pad(fixed(r.decodeNanoseconds, 1), 11) + pad("\(Int(encodeMBs.rounded()))", 13)
                    + pad("\(Int(decodeRate.rounded()))", 17))
        }
        return lines.joined(separator: "\n")
    }

    static func pow10(_ n: Int) -> Double { (0..<n).reduce(1.0) { acc, _ in acc * 10 } }

    /// `{"measured":"codec",…,"results":[…]}`.
    public static func json(_ results: [Result]) -> String {
        let rows = results.map { r in
            "{\"body_bytes\":\(r.payloadSize),\"frame_bytes\":\(r.frameSize),\"count\":\(r.count),"
                + "\"encode_ns\":\(r.encodeNanoseconds),\"transfer_decode_ns\":\(r.transferNanoseconds),\"decode_ns\":\(r.decodeNanoseconds)}"
        }
        return "{\"measured\":\"codec\",\"description\":\"encode and decode of one TRANSFER frame with header, properties and a data section; no sockets, no engine, no peer\",\"results\":[\(rows.joined(separator: ","))]}"
    }
}

extension SocketBenchConfiguration.Peer: ExpressibleByArgument {}
