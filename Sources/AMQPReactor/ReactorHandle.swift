import CAMQPLinux
import Synchronization

/// The part of a reactor that other threads may use: hand it work, or ask it to stop.
///
/// A `Reactor` belongs to the one thread that drives it; this handle is how every other
/// thread talks to it. Work is queued under a lock and the reactor is woken through an
/// eventfd; it runs the work on its own thread at the start of its next tick.
public struct ReactorHandle<Connection: SansIOConnection>: Sendable {
    let inbox: JobInbox<Connection>

    /// Runs `job` on the reactor's thread, at the start of its next tick (after the wait,
    /// before any connection is served). Jobs run in the order they were submitted.
    public func execute(_ job: @escaping Reactor<Connection>.Job) {
        inbox.submit(job)
    }

    /// Asks `run()` to return after the tick in progress (or the next one).
    public func stop() {
        inbox.stopRequested.store(true, ordering: .releasing)
        inbox.wake()
    }
}

/// Work handed to a reactor from other threads, and the eventfd that wakes it.
///
/// Owned jointly by the reactor and every handle, so the eventfd stays open (and is never
/// a recycled descriptor) for as long as any handle can signal it.
final class JobInbox<Connection: SansIOConnection>: Sendable {
    let eventFD: Int32
    private let jobs = PthreadLocked<[Reactor<Connection>.Job]>([])
    let stopRequested = Atomic<Bool>(false)
    /// The reactor's `connectionCount`, readable from any thread (a `ReactorGroup`
    /// places connections by it).
    let liveConnections = Atomic<Int>(0)

    init() throws(ReactorError) {
        eventFD = try Syscall.check("eventfd", bugs: [.fault, .invalid]) { camqp_eventfd_open(0) }
    }

    deinit {
        Syscall.close(eventFD)
    }

    func submit(_ job: @escaping Reactor<Connection>.Job) {
        let wasEmpty = jobs.withLock { list in
            let wasEmpty = list.isEmpty
            list.append(job)
            return wasEmpty
        }
        // Only the first job since the reactor last took the list needs a wake-up: the
        // reactor drains the eventfd before it takes the list, so a job appended after
        // the take finds the list empty and signals again.
        if wasEmpty { wake() }
    }

    func wake() {
        // Cannot fail for an eventfd we own: a saturated counter is reported as success.
        let rc = camqp_eventfd_signal(eventFD)
        precondition(rc == 0, "eventfd write failed with \(ErrnoName.of(-rc))")
    }

    /// True when no job is queued.
    var isEmpty: Bool { jobs.withLock { $0.isEmpty } }

    /// Clears the wake-up, then takes every queued job (in that order: see `submit`).
    func take() -> [Reactor<Connection>.Job] {
        var value: UInt64 = 0
        _ = camqp_eventfd_drain(eventFD, &value)
        return jobs.withLock { list in
            guard !list.isEmpty else { return [] }
            var taken: [Reactor<Connection>.Job] = []
            swap(&taken, &list)
            return taken
        }
    }
}
