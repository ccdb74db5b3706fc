import AMQPReactor
import AMQPTool
import Testing

// `amqp bench --rate` against the Qpid Proton C broker, which grants a sender five
// credits at a time and a few more after each delivery: a paced sender is often behind
// its schedule and out of credit, and must then wait for the broker's FLOW. It used to
// poll: in a release build, 47 reactor ticks per message on epoll, and the spinning
// client, sharing two cores with the broker's four threads, delayed the broker by a
// scheduler tick (latency p99 3.9 ms instead of 0.25 ms, BENCHMARKS.md). A debug build's
// client is busy enough at this rate not to spin, so the decision itself is checked in
// `SocketBenchTests.pacedSenderThatCannotSendWaitsForIO`; this run checks that a paced
// run through the broker delivers and settles everything, and bounds its ticks. Counts
// only, nothing timed: waiting, a message costs a tick or a few (its send, the FLOW, its
// delivery, its disposition, sub-millisecond waits on io_uring).
@Suite("Interop: paced bench against the Proton C broker", .serialized, .timeLimit(.minutes(2)))
struct PacedBenchInteropTests {
    @Test func pacedSenderWaitsForTheBrokersCredit() throws {
        let p = try peer(.protonC)
        var c = SocketBenchConfiguration()
        c.broker = try NodeURL("amqp://\(p.hostPort)/paced-bench-\(UInt64.random(in: 0 ... .max))")
        c.limit = .count(2_000)
        c.rate = 10_000
        c.stallTimeout = 20
        let r = try SocketBench.run(c)
        #expect(r.received == 2_000 && r.accepted == 2_000)
        #expect(r.clientTicks < 10 * 2_000, "\(r.clientTicks) client ticks for 2,000 messages on \(r.backend)")
    }
}
