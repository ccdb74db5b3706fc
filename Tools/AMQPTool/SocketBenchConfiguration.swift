public import AMQPReactor

/// What `amqp bench` (socket mode) runs: sender and receiver connections of our client
/// over TCP, against the embedded peer in this process or against a broker.
public struct SocketBenchConfiguration: Sendable {
    /// When the senders stop.
    public enum Limit: Hashable, Sendable {
        /// This many messages in all, shared among the senders.
        case count(Int)
        /// Send for this many seconds; then everything sent is received before the end.
        case duration(seconds: Double)
    }

    /// What receives the senders' messages when no broker is given.
    public enum Peer: String, Hashable, Sendable, CaseIterable {
        /// Store and forward: the embedded peer keeps each message in a queue, and a
        /// receiver connection of ours takes it from there (two hops, two connections
        /// per pair), as with a broker.
        case queue
        /// Peer to peer: a listener in this process (its own reactor thread) accepts
        /// the senders' links, grants credit and accepts or counts every delivery, with
        /// no queue and no receiver connections: Qpid Proton's `direct` example.
        case direct
    }

    /// When the senders stop.
    public var limit: Limit = .duration(seconds: 5)
    /// Bytes in each message's data section (at least `BenchMessage.stampSize`).
    public var bodySize = 100
    /// The receivers' prefetch credit, and the credit the embedded peer gives senders.
    public var credit: UInt32 = 1_000
    /// Pre-settled (at most once) instead of at-least-once.
    public var presettled = false
    /// Sender/receiver connection pairs.
    public var connections = 1
    /// Messages per second, all senders together, each sending its share on a fixed
    /// schedule (for latency at a given load); `nil`: as fast as credit and the window
    /// allow.
    public var rate: Double? = nil
    /// The reactors' backend (the client's and the embedded peer's).
    public var backend: ReactorOptions.Backend = .automatic
    /// The client reactor's `ReactorOptions.gatherThreshold`: TRANSFER payload chunks of
    /// this many bytes or more go out by reference instead of copied into the outbound
    /// ring; `nil` keeps the reactor's default (copy).
    public var gatherThreshold: Int? = nil
    /// The broker and its address (parsed as `amqp send` and `amqp receive` parse theirs);
    /// `nil` starts the embedded peer in this process on 127.0.0.1.
    public var broker: NodeURL? = nil
    /// What receives the messages when `broker` is `nil`: the embedded peer's queues or
    /// the direct listener. With a broker, only `.queue` applies.
    public var peer: Peer = .queue
    /// With `.direct`, run the listener on the client's reactor (one thread for both
    /// ends) instead of a thread of its own: for the allocation tests, which count one
    /// thread's allocations. Measurements keep the default.
    public var directOnClientThread = false
    /// Most bytes of messages sent and not yet received, all pairs together: each
    /// sender stays at most its share of this ahead of the receivers, which keeps the
    /// broker's queues (and the senders' message pools) bounded.
    public var inFlightBytes = 32 << 20
    /// Give up when the connections are not all attached after this long.
    public var setupTimeout: Double = 30
    /// Give up when no message has arrived for this long.
    public var stallTimeout: Double = 30

    /// The default: 100-byte bodies, at-least-once, credit 1,000, one pair, 5 seconds.
    public init() {}
}

/// What a socket bench measured.
public struct SocketBenchResult: Sendable {
    /// What was measured, in a sentence (which client path, which broker).
    public var path: String
    /// `embedded peer (in process)`, the direct listener, or the broker's URL (no
    /// credentials).
    public var broker: String
    /// What received: the embedded peer's queues (or a broker's) and our receivers, or
    /// the direct listener (peer to peer, no receiver connections).
    public var peer: SocketBenchConfiguration.Peer = .queue
    /// The client reactor's backend.
    public var backend: ReactorOptions.Backend
    /// Sender/receiver pairs (peer to peer: sender connections).
    public var connections: Int
    /// Bytes in each message's body.
    public var bodyBytes: Int
    /// Bytes of each encoded message (properties and data section).
    public var messageBytes: Int
    /// Receiver credit.
    public var credit: UInt32
    /// The fixed sending rate, messages per second, or `nil` (as fast as possible).
    public var rate: Double? = nil
    /// Pre-settled rather than at-least-once.
    public var presettled: Bool
    /// Messages the senders sent.
    public var sent: Int
    /// Messages of this run the receivers (or the direct listener) got.
    public var received: Int
    /// Outcomes `accepted` back at the senders (at-least-once; 0 when pre-settled).
    public var accepted: Int
    /// Messages received that this run did not send (left in a broker's queue).
    public var foreign: Int
    /// From the first send to the last receive.
    public var seconds: Double
    /// Latency quantiles (`quantiles`), send to receive, nanoseconds; empty when nothing
    /// was received.
    public var latency: [Double: UInt64]
    /// The largest latency, nanoseconds.
    public var latencyMax: UInt64
    /// Process CPU (user + system) during the run, seconds: client and in-process peer or
    /// direct listener.
    public var cpuSeconds: Double
    /// CPU of the client's thread alone, seconds.
    public var clientCPUSeconds: Double
    /// Ticks of the client's reactor during the run: a client that polls instead of
    /// sleeping until its next message or its next I/O shows here as ticks far above the
    /// message count.
    public var clientTicks: Int

    /// The quantiles reported.
    public static let quantiles: [Double] = [0.5, 0.9, 0.99, 0.999]

    /// Received messages per second.
    public var messagesPerSecond: Double { seconds > 0 ? Double(received) / seconds : 0 }
    /// Encoded message megabytes (10⁶) per second.
    public var megabytesPerSecond: Double { messagesPerSecond * Double(messageBytes) / 1e6 }
    /// Process CPU per received message, microseconds.
    public var cpuMicrosecondsPerMessage: Double { received > 0 ? cpuSeconds / Double(received) * 1e6 : 0 }
    /// Client-thread CPU per received message, microseconds.
    public var clientCPUMicrosecondsPerMessage: Double { received > 0 ? clientCPUSeconds / Double(received) * 1e6 : 0 }
}

/// Why a socket bench could not finish.
public struct SocketBenchError: Error, Sendable, CustomStringConvertible {
    /// One line.
    public var description: String
}
