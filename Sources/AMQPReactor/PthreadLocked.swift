#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A value behind a pthread mutex, for what other threads hand the reactor (and, in the
/// `AMQP` target, for state shared between the API's threads and the reactor's).
///
/// Not Synchronization's `Mutex`: on Linux that one sleeps with raw futex calls, which
/// ThreadSanitizer does not see, so every access made under it is reported as a race
/// (the job inbox was the only source of reports in the multi-threaded connection tests,
/// all false). pthread mutexes are intercepted by TSan; uncontended, they cost about the
/// same. The mutex lives in allocated memory because it must never move.
package final class PthreadLocked<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    package init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the value, the mutex held. `body` must not take this lock again.
    package func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
