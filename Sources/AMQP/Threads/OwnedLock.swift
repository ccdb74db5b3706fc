/// The connection lock behind `Connection.lock(timeout:)`, `release()`, `sleep(seconds:)`
/// and `work()`: not reentrant, with a time-out, and owner-checked.
///
/// The reference used a plain `threading.Lock` and released it in `finally` even when
/// the acquire had timed out, so a thread could free a lock another thread held. Here
/// the owner is remembered and only the owner's `release()` does anything.
final class OwnedLock: @unchecked Sendable {
    /// How an acquire ended.
    enum Acquired {
        /// Now held by the caller, who must release it.
        case acquired
        /// The caller already held it; nothing changed (do not release on its behalf).
        case alreadyHeld
        /// Another thread held it for the whole time-out.
        case timedOut
    }

    private let condition = ThreadCondition()
    /// The holder's thread id, 0 when free; guarded by `condition`.
    private var owner: UInt = 0

    /// Takes the lock, waiting at most `seconds` (negative: without limit).
    func acquire(timeout seconds: Double) -> Acquired {
        let me = currentThreadID()
        let end = deadline(afterSeconds: seconds)
        condition.lock()
        defer { condition.unlock() }
        if owner == me { return .alreadyHeld }
        while owner != 0 {
            if let end, monotonicNanoseconds() >= end { return .timedOut }
            _ = condition.wait(until: end)
        }
        owner = me
        return .acquired
    }

    /// Releases the lock if the calling thread holds it; returns whether it did.
    @discardableResult
    func release() -> Bool {
        let me = currentThreadID()
        return condition.withLock {
            guard owner == me else { return false }
            owner = 0
            condition.broadcast()
            return true
        }
    }

    /// True when the calling thread holds the lock.
    var isHeldByCurrentThread: Bool {
        let me = currentThreadID()
        return condition.withLock { owner == me }
    }

    /// True when some thread holds the lock.
    var isHeld: Bool { condition.withLock { owner != 0 } }
}
