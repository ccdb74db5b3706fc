#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// A pthread mutex with a condition variable whose deadlines are on CLOCK_MONOTONIC.
///
/// Synchronization's `Mutex` cannot put a thread to sleep until another thread says
/// something changed; the synchronous half of the API (`lock(timeout:)`,
/// `receive(maxCount:timeout:)`, `destroy()`) needs exactly that, with a deadline that a
/// wall-clock step cannot stretch. The pthread objects live in allocated memory because
/// they must never move.
final class ThreadCondition: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        precondition(pthread_cond_init(condition, &attributes) == 0, "pthread_cond_init failed")
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    /// Takes the mutex if it is free; false (without waiting) if another thread has it.
    func tryLock() -> Bool { pthread_mutex_trylock(mutex) == 0 }
    func unlock() { pthread_mutex_unlock(mutex) }

    func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Sleeps, with the mutex held on entry and again on return, until `broadcast` or
    /// `deadline` (monotonic nanoseconds; `nil` for none). False when the deadline passed.
    /// Spurious wake-ups return true: callers re-check their condition in a loop.
    func wait(until deadline: UInt64?) -> Bool {
        guard let deadline else {
            pthread_cond_wait(condition, mutex)
            return true
        }
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        return pthread_cond_timedwait(condition, mutex, &ts) != ETIMEDOUT
    }

    func broadcast() { pthread_cond_broadcast(condition) }
}

/// CLOCK_MONOTONIC in nanoseconds: the clock every deadline of the synchronous API uses.
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// The monotonic deadline `seconds` from now; `nil` (no deadline) for negative values.
func deadline(afterSeconds seconds: Double) -> UInt64? {
    guard seconds >= 0 else { return nil }
    return monotonicNanoseconds() &+ UInt64(min(seconds, 1e9) * 1e9)
}

/// The monotonic deadline `duration` from now; `nil` for `nil`.
func deadline(after duration: Duration?) -> UInt64? {
    guard let duration else { return nil }
    let (s, atto) = duration.components
    guard s >= 0 else { return monotonicNanoseconds() }
    let ns = UInt64(min(s, 1_000_000_000)) &* 1_000_000_000 &+ UInt64(atto / 1_000_000_000)
    return monotonicNanoseconds() &+ ns
}

/// The calling thread, as a number that is never 0 (pthread_t is an address on Linux).
func currentThreadID() -> UInt { UInt(pthread_self()) }

/// Wakes threads waiting for a connection's state to change (a message, a state, the end).
///
/// Signalling costs one atomic load when nobody waits, so the reactor thread may signal
/// after every event it handles.
final class ChangeSignal: Sendable {
    private let condition = ThreadCondition()
    private let waiters = Atomic<Int>(0)

    /// Blocks until `done()` holds or `deadline` passes; returns `done()`'s last answer.
    func wait(until deadline: UInt64?, _ done: () -> Bool) -> Bool {
        waiters.add(1, ordering: .sequentiallyConsistent)
        defer { waiters.subtract(1, ordering: .sequentiallyConsistent) }
        condition.lock()
        defer { condition.unlock() }
        while !done() {
            if let deadline, monotonicNanoseconds() >= deadline { return done() }
            _ = condition.wait(until: deadline)
        }
        return true
    }

    /// Wakes every waiter so it re-checks its condition.
    func signal() {
        guard waiters.load(ordering: .sequentiallyConsistent) > 0 else { return }
        condition.withLock { condition.broadcast() }
    }
}
