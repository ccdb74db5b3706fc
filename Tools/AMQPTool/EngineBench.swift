/// The engine measurement behind `amqp bench --mode engine`: `EngineWorkload` run for a
/// number of messages per round, median of the rounds.
public enum EngineBench {
    /// Figures for one payload size.
    public struct Result: Sendable {
        /// Data-section bytes.
        public var payloadSize: Int
        /// Encoded message bytes (header, properties, data section).
        public var messageSize: Int
        /// The receiver's prefetch credit.
        public var credit: UInt32
        /// Messages per round.
        public var count: Int
        /// Median nanoseconds per message, both engines together.
        public var nanosecondsPerMessage: Double
        /// Client-to-listener bytes per message (frame headers, TRANSFER, message).
        public var wireBytesPerMessage: Double
        /// Produce/receive round trips per round.
        public var rounds: Int
    }

    /// Builds the workload, warms it up with one round (so every queue has grown), then
    /// times `rounds` rounds of `count` messages.
    public static func measure(payloadSize: Int, credit: UInt32, count: Int?, rounds: Int) -> Result {
        var workload = EngineWorkload(payloadSize: payloadSize, credit: credit)
        // Under a second per round for small messages; fewer for large ones.
        let n = count ?? min(1_000_000, max(10_000, 200_000_000 / max(workload.message.count, 1)))
        _ = workload.run(messages: min(n, 100_000))
        var times: [Double] = []
        var totals = EngineWorkload.Totals()
        let clock = ContinuousClock()
        for _ in 0..<rounds {
            let elapsed = clock.measure { totals = workload.run(messages: n) }
            precondition(totals.messages == n, "a round lost messages: \(totals)")
            times.append(CodecBench.nanoseconds(elapsed) / Double(n))
        }
        return Result(
            payloadSize: payloadSize, messageSize: workload.message.count, credit: credit, count: n,
            nanosecondsPerMessage: CodecBench.median(times),
            wireBytesPerMessage: Double(totals.clientBytes) / Double(totals.messages), rounds: totals.rounds)
    }

    /// A fixed-width table, one row per size.
    public static func table(_ results: [Result]) -> String {
        func pad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
        var lines = [
            "  " + pad("body B", 8) + pad("message B", 11) + pad("wire B/msg", 12) + pad("messages", 10) + pad("ns/msg", 9)
                + pad("msg/s", 11) + pad("MB/s", 8)
        ]
        for r in results {
            let rate = 1e9 / r.nanosecondsPerMessage
            let megabytes = r.wireBytesPerMessage * rate / 1e6
            lines.append(
                "  " + pad("\(r.payloadSize)", 8) + pad("\(r.messageSize)", 11) + pad("\(Int(r.wireBytesPerMessage.rounded()))", 12)
                    + pad("\(r.count)", 10) + pad("\(Int(r.nanosecondsPerMessage.rounded()))", 9)
                    + pad("\(Int(rate.rounded()))", 11) + pad("\(Int(megabytes.rounded()))", 8))
        }
        return lines.joined(separator: "\n")
    }

    /// `{"measured":"engine",…,"results":[…]}`.
    public static func json(_ results: [Result]) -> String {
        let rows = results.map { r in
            "{\"body_bytes\":\(r.payloadSize),\"message_bytes\":\(r.messageSize),\"credit\":\(r.credit),\"count\":\(r.count),"
                + "\"ns_per_message\":\(r.nanosecondsPerMessage),\"messages_per_second\":\(1e9 / r.nanosecondsPerMessage),"
                + "\"wire_bytes_per_message\":\(r.wireBytesPerMessage),\"exchanges\":\(r.rounds)}"
        }
        return "{\"measured\":\"engine\",\"description\":\"client and listener ConnectionEngines in memory, at-least-once, receiver settling accepted in ranges; no sockets, no reactor\",\"results\":[\(rows.joined(separator: ","))]}"
    }
}
