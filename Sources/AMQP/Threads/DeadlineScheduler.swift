/// Runs short jobs at deadlines, on one thread of its own: CBS token refreshes and
/// response time-outs, and the clients' reconnect back-offs.
///
/// A plain thread sleeping on a condition variable (CLOCK_MONOTONIC) until the earliest
/// deadline, rather than tasks sleeping on the cooperative pool: the blocking half of the
/// API waits on pool threads when called from tests or async code, and a timer that needs
/// a pool thread to fire could then wait for the very thread it should wake. Timers are
/// few (one per CBS session or reconnecting client), so the earliest is found by a scan.
///
/// Jobs run on the scheduler's thread, one at a time: they must be short and not block.
final class DeadlineScheduler: @unchecked Sendable {
    static let shared = DeadlineScheduler()

    private struct Entry {
        var deadline: UInt64
        var job: @Sendable () -> Void
    }

    // Guarded by `condition`'s mutex.
    private let condition = ThreadCondition()
    private var entries: [UInt64: Entry] = [:]
    private var nextID: UInt64 = 0
    private var thread: NativeThread? = nil

    /// Runs `job` once `delay` has passed (at once for zero or less); returns an id for
    /// `cancel`.
    @discardableResult
    func schedule(after delay: Duration, _ job: @escaping @Sendable () -> Void) -> UInt64 {
        let at = deadline(after: max(delay, .zero)) ?? monotonicNanoseconds()
        return condition.withLock {
            nextID &+= 1
            entries[nextID] = Entry(deadline: at, job: job)
            if thread == nil { thread = NativeThread { [self] in loop() } }
            condition.broadcast()
            return nextID
        }
    }

    /// Forgets a job that has not run yet; false when it ran (or is running) already.
    @discardableResult
    func cancel(_ id: UInt64) -> Bool {
        condition.withLock { entries.removeValue(forKey: id) != nil }
    }

    private func loop() {
        condition.lock()
        while true {
            let now = monotonicNanoseconds()
            let due = entries.filter { $0.value.deadline <= now }.sorted { $0.value.deadline < $1.value.deadline }
            if !due.isEmpty {
                for (id, _) in due { entries.removeValue(forKey: id) }
                condition.unlock()
                for (_, entry) in due { entry.job() }
                condition.lock()
                continue
            }
            // Sleeps until the earliest deadline, or until `schedule` wakes it.
            _ = condition.wait(until: entries.values.map(\.deadline).min())
        }
    }
}
