public import ArgumentParser
import AMQPCodec

/// `amqp bench`: measures swift-amqp.
///
/// Today it measures the codec alone — encoding and decoding of one TRANSFER frame that
/// carries a realistic message — and says so in its report. With the engine and reactor
/// it will move messages between a client and a peer.
public struct BenchCommand: ParsableCommand {
    /// Describes the subcommand.
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark swift-amqp (today: the codec, encoding and decoding transfer frames).")

    /// Data-section sizes to measure, in bytes.
    @Option(name: .customLong("size"), help: "Message body size in bytes (repeatable).")
    public var sizes: [Int] = [100, 65_536]

    /// Operations per round.
    @Option(help: "Frames encoded and decoded per round (default: about 1 second's worth).")
    public var count: Int?

    /// Rounds per size; the report gives the median.
    @Option(help: "Rounds per size; the median is reported.")
    public var rounds: Int = 5

    /// Which measurement to run; all three by default.
    @Option(help: "Run only one measurement: encode, transfer or decode (for profilers and instruction counts).")
    public var only: CodecBench.Operation?

    /// Machine-readable output.
    @Flag(help: "Print one JSON object instead of a table.")
    public var json = false

    /// Creates the command (ArgumentParser fills in the options).
    public init() {}

    /// Validates option values.
    public func validate() throws {
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 >= 0 && $0 <= 16 << 20 }) else {
            throw ValidationError("--size must be between 0 and 16 MiB")
        }
        guard rounds >= 1 && rounds <= 101 else { throw ValidationError("--rounds must be between 1 and 101") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    }

    /// Runs the benchmark and prints the report.
    public mutating func run() throws {
        try run(output: StandardStreams())
    }

    /// Runs with output going to `output` (tests capture it).
    public func run(output: any CommandOutput) throws {
        defer { output.flush() }
        let results = try sizes.map { size in
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
                    if runs(.decode) { for _ in 0..<n { sink &+= try CodecWorkload.decodeFrame(raw, decoder: decoder).bodyBytes } }
                }
            }
            let transferElapsed = try workload.frame.withUnsafeBytes { raw in
                try clock.measure {
                    if runs(.transfer) { for _ in 0..<n { sink &-= try CodecWorkload.decodeTransfer(raw, decoder: decoder).bodyBytes } }
                }
            }
            // Keep the work observable: the sum below checks every loop's result.
            if !runs(.encode) { sink &+= n * frameSize }
            if !runs(.decode) { sink &+= n * payloadSize }
            if runs(.transfer) { sink &+= n * (frameSize - 8 - workload.transferSize) }
            transferTimes.append(nanoseconds(transferElapsed) / Double(n))
            encodeTimes.append(nanoseconds(encodeElapsed) / Double(n))
            decodeTimes.append(nanoseconds(decodeElapsed) / Double(n))
        }
        // Both loops did real work: every frame decoded back to its payload size.
        precondition(sink == rounds * n * (frameSize + payloadSize), "benchmark loop lost work")
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
