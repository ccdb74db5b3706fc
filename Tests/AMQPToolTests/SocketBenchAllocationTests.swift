import AMQPReactor
import AMQPTesting
import AMQPTool
import Glibc
import Testing

// The bench's clients allocate nothing per message in steady state: the allocations of
// a 6,000-message phase and a 1,000-message phase are counted on the client's thread (the
// embedded peer's thread is not counted; it copies each message it stores). Peer to peer
// (`--peer direct`), the direct listener runs on the client's reactor for this test, so
// the one thread counted carries both ends. A release
// build allocates nothing per message there at all (heaptrack, Docs/amqp-bench.md); this
// debug build's unspecialized reactor still allocates a few times per tick (iterators,
// option sets), and a tick carries tens of messages, so anything allocated per message
// shows as at least one per message, far above the bound below.

@Suite struct SocketBenchAllocationTests {
    @Test(.enabled(if: AllocationHarness.canMeasure)) func clientsAllocateNothingPerMessage() throws {
        switch AllocationHarness.run(probeTestName: "socketBenchAllocationProbe") {
        case .unavailable(let why):
            Issue.record("allocation counting unavailable: \(why)")
        case .counts(let counts):
            for mode in ["at-least-once", "pre-settled", "direct-at-least-once", "direct-pre-settled"] {
                let short = try #require(counts["\(mode)-1000"], "\(counts)")
                let long = try #require(counts["\(mode)-6000"], "\(counts)")
                // Not zero per phase (the histogram and the result are made per phase).
                #expect(short > 0)
                #expect(Double(long - short) / 5_000 < 0.5, "\(mode): \(short) allocations for 1,000 messages, \(long) for 6,000")
            }
        }
    }

    /// Runs only in the child process that `clientsAllocateNothingPerMessage` starts.
    @Test(.enabled(if: AllocationHarness.isProbe)) func socketBenchAllocationProbe() throws {
        guard AllocationHarness.install() else { return AllocationHarness.finish(unavailable: "no __malloc_hook") }
        defer { AllocationHarness.finish() }
        for (direct, presettled) in [(false, false), (false, true), (true, false), (true, true)] {
            var c = SocketBenchConfiguration()
            c.backend = .epoll
            c.presettled = presettled
            if direct {
                c.peer = .direct
                c.directOnClientThread = true
            }
            c.credit = 200
            let bench = try SocketBench(c)
            defer { bench.finish() }
            try bench.start()
            // Grow every queue, ring and table to its working size.
            _ = try bench.measure(.count(4_000))
            let mode = (direct ? "direct-" : "") + (presettled ? "pre-settled" : "at-least-once")
            for n in [1_000, 6_000] {
                AllocationHarness.measure("\(mode)-\(n)", iterations: 1) {
                    let r = try? bench.measure(.count(n))
                    precondition(r?.received == n, "the probe's phase failed")
                }
            }
        }
    }
}
