import Foundation

/// How `amqp bench` (socket mode) prints a `SocketBenchResult`: a short report that says
/// what was measured, or one JSON object.
public enum SocketBenchReport {
    /// The quantile keys used in JSON, in `SocketBenchResult.quantiles` order.
    static let quantileNames = ["p50", "p90", "p99", "p99.9"]

    /// The report for people.
    public static func text(_ r: SocketBenchResult) -> String {
        let direct = r.peer == .direct
        let accepter = direct ? "the listener accepts" : "receivers accept"
        let mode = r.presettled ? "pre-settled (at most once)" : "at-least-once (\(accepter), senders wait for outcomes)"
        let pairs =
            direct
            ? (r.connections == 1 ? "1 sender connection" : "\(r.connections) sender connections")
            : r.connections == 1 ? "1 sender and 1 receiver connection" : "\(r.connections) sender and \(r.connections) receiver connections"
        let topology = direct ? "peer to peer, " : ""
        let paced = r.rate.map { ", paced at \(grouped(Int($0.rounded()))) msg/s" } ?? ""
        var lines = [
            "amqp bench: measured AMQP 1.0 over TCP sockets — \(pairs) of our client",
            "  (ConnectionEngines on one AMQPReactor thread, \(r.backend.rawValue); not the public Connection API)",
            "  against the \(r.broker); \(topology)\(mode), credit \(r.credit)\(paced),",
            "  \(r.bodyBytes)-byte bodies (\(r.messageBytes)-byte messages). Latency is send to \(direct ? "arrival at the listener" : "receive"), per message.",
            "  messages    \(grouped(r.received)) received of \(grouped(r.sent)) sent"
                + (r.presettled ? "" : ", \(grouped(r.accepted)) accepted") + (r.foreign > 0 ? ", \(grouped(r.foreign)) left over from elsewhere" : ""),
            "  time        \(fixed(r.seconds, 3)) s",
            "  throughput  \(grouped(Int(r.messagesPerSecond.rounded()))) msg/s, \(fixed(r.megabytesPerSecond, 1)) MB/s",
        ]
        if r.latency.isEmpty || r.received == 0 {
            lines.append("  latency     none (nothing received)")
        } else {
            let parts = zip(quantileNames, SocketBenchResult.quantiles).map { name, q in
                "\(name) \(microseconds(r.latency[q] ?? 0))"
            }
            lines.append("  latency µs  " + parts.joined(separator: "  ") + "  max \(microseconds(r.latencyMax))")
        }
        let peer = r.cpuSeconds - r.clientCPUSeconds
        lines.append(
            "  CPU         \(fixed(r.cpuMicrosecondsPerMessage, 2)) µs/msg (process; client thread \(fixed(r.clientCPUMicrosecondsPerMessage, 2)),"
                + " \(direct ? "listener" : r.broker.hasPrefix("embedded") ? "peer" : "other threads") \(fixed(r.received > 0 ? peer / Double(r.received) * 1e6 : 0, 2)))")
        return lines.joined(separator: "\n")
    }

    /// One JSON object with every figure.
    public static func json(_ r: SocketBenchResult) -> String {
        var fields: [(String, String)] = [
            ("measured", string("socket")),
            ("path", string(r.path)),
            ("broker", string(r.broker)),
            ("peer", string(r.peer.rawValue)),
            ("backend", string(r.backend.rawValue)),
            ("connections", "\(r.connections)"),
            ("body_bytes", "\(r.bodyBytes)"),
            ("message_bytes", "\(r.messageBytes)"),
            ("credit", "\(r.credit)"),
            ("settle_mode", string(r.presettled ? "pre-settled" : "at-least-once")),
            ("messages", "\(r.received)"),
            ("sent", "\(r.sent)"),
            ("received", "\(r.received)"),
            ("accepted", "\(r.accepted)"),
            ("foreign", "\(r.foreign)"),
            ("seconds", number(r.seconds)),
            ("messages_per_second", number(r.messagesPerSecond)),
            ("megabytes_per_second", number(r.megabytesPerSecond)),
            ("rate", r.rate.map(number) ?? "null"),
        ]
        for (name, q) in zip(quantileNames, SocketBenchResult.quantiles) {
            fields.append(("latency_\(name.replacingOccurrences(of: ".", with: ""))_us", r.latency[q].map { number(Double($0) / 1e3) } ?? "null"))
        }
        fields.append(("latency_max_us", r.received > 0 ? number(Double(r.latencyMax) / 1e3) : "null"))
        fields.append(("cpu_seconds", number(r.cpuSeconds)))
        fields.append(("cpu_us_per_message", number(r.cpuMicrosecondsPerMessage)))
        fields.append(("client_cpu_us_per_message", number(r.clientCPUMicrosecondsPerMessage)))
        fields.append(("client_ticks", "\(r.clientTicks)"))
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    static func string(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }

    /// A JSON number: finite, with enough digits; never `nan` or `inf`.
    static func number(_ x: Double) -> String { x.isFinite ? String(format: "%.9g", x) : "0" }

    static func fixed(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }

    static func microseconds(_ ns: UInt64) -> String { fixed(Double(ns) / 1e3, Double(ns) < 10_000 ? 1 : 0) }

    /// 1234567 → `1,234,567`.
    static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return (n < 0 ? "-" : "") + out
    }
}
