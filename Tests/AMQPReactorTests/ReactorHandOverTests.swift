import AMQPEngine
import AMQPReactor
import Glibc
import Synchronization
import Testing

extension ReactorTests {
    /// A reactor made on one thread and driven on another, as `ConnectionReactor` does
    /// with its own thread. With io_uring, a request belongs to the thread that submitted
    /// it: when that thread exits the kernel cancels it. The wake-up poll must therefore
    /// be submitted by the driving thread, or it dies with the creator and jobs from
    /// other threads wait for an unrelated deadline (seen against RabbitMQ: 30 s).
    @Suite("reactors handed to another thread")
    struct HandOver {
        final class Holder: @unchecked Sendable {
            // @unchecked: written by the creating thread before it is joined, read after.
            var reactor: Reactor<ConnectionEngine>? = nil
            var error: (any Error)? = nil
        }

        /// Waits for a thread to end.
        static func join(_ thread: pthread_t) {
            _ = pthread_join(thread, nil)
        }

        @Test("jobs wake a reactor whose creating thread has exited", arguments: testBackends.filter { !$0.singleIssuer })
        func jobsWakeAfterTheCreatorExits(backend: TestBackend) throws {
            let holder = Holder()
            let creator = try #require(startTestThread {
                do { holder.reactor = try Reactor<ConnectionEngine>(options: backend.options()) } catch { holder.error = error }
            })
            Self.join(creator)
            if let error = holder.error { throw error }
            let reactor = try #require(holder.reactor)
            // The first tick here submits what the creator prepared, and reaps anything
            // the kernel said about the creator's requests.
            try reactor.runOnce(timeout: .zero)
            let ran = Atomic<Int>(0)
            let handle = reactor.handle
            for round in 1...3 {
                let submitter = try #require(startTestThread {
                    handle.execute { _ in ran.add(1, ordering: .relaxed) }
                })
                Self.join(submitter)
                // Nothing else can end this wait early: no connection, no deadline. A lost
                // wake-up shows as a job that has not run when the time-out returns.
                var waits = 0
                while ran.load(ordering: .relaxed) < round && waits < 3 {
                    try reactor.runOnce(timeout: .seconds(5))
                    waits += 1
                }
                #expect(ran.load(ordering: .relaxed) == round, "round \(round): the job ran")
                #expect(waits == 1, "round \(round): one wait, ended by the wake-up, not by its time-out")
            }
        }
    }
}
