import AMQP
import Foundation
import Testing

extension ConnectionTests {
    /// `lock(timeout:)`, `release()`, `sleep(seconds:)` and `work()` across threads. The
    /// connection never starts: the lock does not need it.
    @Suite struct Lock {
        func makeConnection() throws -> Connection {
            try Connection(hostname: "127.0.0.1:1", reactor: try ConnectionReactor.manual())
        }

        @Test func ownerChecked() throws {
            let connection = try makeConnection()
            try connection.lock()

            // Another thread times out with a typed time-out error.
            let other = TestThread { () -> AMQPClientError.Kind? in
                do throws(AMQPClientError) {
                    try connection.lock(timeout: 0.2)
                    connection.release()
                    return nil
                } catch {
                    return error.kind
                }
            }
            #expect(other.join() == .timeout)

            // Another thread's release() is a no-op that never throws: the lock stays ours.
            #expect(TestThread { connection.release() }.join() != nil)
            let stillHeld = TestThread { () -> Bool in
                do throws(AMQPClientError) {
                    try connection.lock(timeout: 0.1)
                    connection.release()
                    return false
                } catch {
                    return error.kind == .timeout
                }
            }
            #expect(stillHeld.join() == true)

            // Not reentrant: the holder gets a client error at once, not a deadlock.
            let start = secondsNow()
            #expect {
                try connection.lock(timeout: 5)
            } throws: { ($0 as? AMQPClientError)?.kind == .clientError }
            #expect(secondsNow() - start < 1)

            // Released by its owner, it is free for others; release() when not held is fine.
            connection.release()
            connection.release()
            let free = TestThread { () -> Bool in
                do throws(AMQPClientError) {
                    try connection.lock(timeout: 1)
                    connection.release()
                    return true
                } catch {
                    return false
                }
            }
            #expect(free.join() == true)
        }

        @Test func negativeTimeoutWaitsForever() throws {
            let connection = try makeConnection()
            try connection.lock()
            let waiter = TestThread { () -> Bool in
                do throws(AMQPClientError) {
                    try connection.lock(timeout: -1)
                    connection.release()
                    return true
                } catch {
                    return false
                }
            }
            Thread.sleep(forTimeInterval: 0.3)
            connection.release()
            #expect(waiter.join(within: 5) == true)
        }

        @Test func sleepHoldsTheLock() throws {
            let connection = try makeConnection()
            let sleeper = TestThread { connection.sleep(seconds: 0.6) }
            // Wait until the sleeper has the lock: others time out meanwhile.
            #expect(eventually {
                do throws(AMQPClientError) {
                    try connection.lock(timeout: 0)
                    connection.release()
                    return false
                } catch {
                    return error.kind == .timeout
                }
            })
            let start = secondsNow()
            try connection.lock(timeout: 3)
            connection.release()
            #expect(secondsNow() - start > 0.1)
            #expect(sleeper.join() != nil)
        }

        @Test func workSwallowsALockTimeout() throws {
            let connection = try makeConnection()
            try connection.lock()
            defer { connection.release() }
            // work() on another thread waits 3 s for the lock, then returns quietly
            // instead of throwing (the reference's behaviour) and does not free our lock.
            let start = secondsNow()
            let worker = TestThread { () -> Bool in
                do throws(AMQPClientError) {
                    try connection.work()
                    return true
                } catch {
                    return false
                }
            }
            #expect(worker.join(within: 6) == true)
            #expect(secondsNow() - start >= 2.9)
            // The holder may call work() itself without releasing first.
            try connection.work()
            let held = TestThread { () -> Bool in
                (try? connection.lock(timeout: 0)) == nil
            }
            #expect(held.join() == true)
        }
    }
}
