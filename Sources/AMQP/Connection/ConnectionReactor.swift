public import AMQPEngine
public import AMQPReactor
public import AMQPTLS
public import AMQPWebSocket
import Synchronization

/// The reactor that carries connections, and who drives it.
///
/// - `.ownThread` (`ConnectionReactor.shared` is one): a thread of its own runs the
///   reactor, started when the first connection needs it. Heartbeats, idle checks,
///   reads and writes happen on that thread whether or not anyone calls
///   `Connection.work()`, and an idle reactor sleeps in the kernel until the next
///   deadline or byte.
/// - `.manual`: nothing runs unless a caller steps it, with `Connection.work()` (one tick
///   of that connection), `runOnce(timeout:)` (one tick of everything) or the blocking
///   calls that wait for something (`receive(maxCount:timeout:)`, `destroy()`), which
///   step it while they wait. For tests and for applications that own their loop.
///
/// Any thread may use either kind; a manual reactor is driven by one thread at a time
/// (calls queue on a lock). Callbacks (send completions, state observers, borrowed
/// deliveries) run on the thread driving the reactor at that moment: keep them short and
/// never block in them.
public final class ConnectionReactor: @unchecked Sendable {
    /// What the reactor drives for each connection: the engine, inside WebSocket when the
    /// connection uses it (`WebSocketConnection(passThrough:)` otherwise), behind TLS when
    /// it uses that (`TLSConnection(plaintext:)` otherwise), so one reactor carries
    /// `amqp://`, `amqps://`, `amqpws://` and `amqpwss://` connections alike.
    /// `Reactor.withInner` reaches the engine through both layers.
    public typealias Machine = TLSConnection<WebSocketConnection<ConnectionEngine>>

    /// Who drives the reactor.
    public enum Driving: Hashable, Sendable {
        /// A thread of the reactor's own, started lazily.
        case ownThread
        /// Whoever calls `Connection.work()` or `runOnce(timeout:)`.
        case manual
    }

    /// The reactor every connection uses unless given another: one thread of its own,
    /// started when the first connection opens, running for the life of the process.
    public static let shared = ConnectionReactor(sharedWith: ReactorOptions())

    /// Who drives this reactor.
    public let driving: Driving

    // Every field below is either immutable, atomic, or guarded by `driveLock`; the
    // `Reactor` itself is touched only by the thread driving it (see `isDriving`).
    let reactor: Reactor<ConnectionReactor.Machine>?
    let setupError: ReactorError?
    private let handle: ReactorHandle<ConnectionReactor.Machine>?
    private let isShared: Bool
    /// The thread driving the reactor right now, 0 when none.
    private let driver = Atomic<UInt>(0)
    /// Manual: serializes driving. Own thread: guards `ticks`, `thread` and `stopping`.
    private let driveLock = ThreadCondition()
    private var ticks: UInt64 = 0
    private var thread: NativeThread? = nil
    private var stopping = false
    private let tickWaiters = Atomic<Int>(0)
    /// Manual: a job that only wakes the driver is queued.
    private let wakeQueued = Atomic<Bool>(false)

    /// Creates a reactor (an epoll instance or an io_uring, chosen as `options` says).
    ///
    /// With `.ownThread`, `options.uringSingleIssuer` is ignored: the reactor is made on
    /// the calling thread and driven on its own, which single-issuer rings refuse.
    public init(driving: Driving = .ownThread, options: ReactorOptions = ReactorOptions()) throws(ReactorError) {
        var o = options
        if driving == .ownThread { o.uringSingleIssuer = false }
        let reactor = try Reactor<ConnectionReactor.Machine>(options: o)
        self.driving = driving
        self.reactor = reactor
        self.handle = reactor.handle
        self.setupError = nil
        self.isShared = false
    }

    /// The shared reactor cannot throw from a `static let`; a failure (no descriptors
    /// left) is kept and reported by every connection that tries to open on it.
    private init(sharedWith options: ReactorOptions) {
        var o = options
        o.uringSingleIssuer = false
        driving = .ownThread
        isShared = true
        do throws(ReactorError) {
            let reactor = try Reactor<ConnectionReactor.Machine>(options: o)
            self.reactor = reactor
            handle = reactor.handle
            setupError = nil
        } catch {
            reactor = nil
            handle = nil
            setupError = error
        }
    }

    /// A reactor stepped by hand (`.manual`).
    public static func manual(options: ReactorOptions = ReactorOptions()) throws(ReactorError) -> ConnectionReactor {
        try ConnectionReactor(driving: .manual, options: options)
    }

    /// The backend in use, `nil` if the shared reactor could not be created.
    public var backend: ReactorOptions.Backend? { reactor?.backend }

    /// True on the thread driving the reactor now: inside a callback, or (own thread) on
    /// the reactor's thread.
    var isDriving: Bool { driver.load(ordering: .acquiring) == currentThreadID() }

    // MARK: Stepping (manual)

    /// One tick of every connection on a manual reactor: waits for I/O or the next
    /// deadline at most `timeout` (`.zero`: not at all; `nil`: until something happens),
    /// then serves everything ready. Must not be called from a callback.
    public func runOnce(timeout: Duration? = .zero) throws(ReactorError) {
        precondition(driving == .manual, "runOnce is for manual reactors; an own-thread reactor runs by itself")
        precondition(!isDriving, "runOnce called from a callback of the same reactor")
        if let setupError { throw setupError }
        try drive { (r) throws(ReactorError) in try r.runOnce(timeout: timeout) }
    }

    /// Runs `body` with the reactor on the thread allowed to touch it and returns its
    /// result: at once on a manual reactor (under its driving lock) or when already on
    /// the driving thread; otherwise on the reactor's own thread, waiting for it. Use it
    /// to listen, or to connect engines of your own, on the same reactor (tests do).
    public func withReactor<R: Sendable, E: Error>(
        _ body: @escaping @Sendable (Reactor<ConnectionReactor.Machine>) throws(E) -> R
    ) throws(E) -> R {
        guard let reactor else { preconditionFailure("the reactor could not be created: \(setupError!)") }
        if isDriving { return try body(reactor) }
        if driving == .manual { return try drive(body) }
        let done = ThreadCondition()
        let result = Locked<Result<R, E>?>(nil)
        perform { r in
            let outcome = Result { () throws(E) -> R in try body(r) }
            result.withLock { $0 = outcome }
            done.withLock { done.broadcast() }
        }
        done.withLock {
            while result.withLock({ $0 == nil }) { _ = done.wait(until: nil) }
        }
        return try result.withLock { $0! }.get()
    }

    /// Stops an own-thread reactor's thread and waits for it; connections still on it
    /// are then closed without a goodbye (each reports its transport lost, code
    /// `.aborted`), and the reactor lets go of them. Does nothing for the
    /// shared reactor (others may use it) or a manual one.
    public func shutdown() {
        guard driving == .ownThread, !isShared else { return }
        let t: NativeThread? = driveLock.withLock {
            stopping = true
            let t = thread
            thread = nil
            return t
        }
        guard let t else { return }
        handle?.stop()
        t.join()
        // Nothing drives the reactor any more. Connections still on it would keep their
        // cores (and so this object and the reactor) alive through the reactor's
        // handlers and queued jobs: end them here, on this thread, so that their users
        // hear the transport is gone and the reactor lets go of them.
        guard let reactor else { return }
        driver.store(currentThreadID(), ordering: .releasing)
        defer { driver.store(0, ordering: .releasing) }
        reactor.shutDownAll(error: ReactorError(.aborted, operation: "shutdown", detail: "the connection's reactor was shut down"))
    }

    // MARK: Internal

    /// Runs `job` with the reactor on the driving thread: inline on a manual reactor (or
    /// reentrantly, from a callback), queued to the reactor's thread otherwise. Jobs from
    /// one thread run in the order given. False (and `job` dropped) when the reactor could
    /// not be created or has been shut down.
    @discardableResult
    func perform(_ job: @escaping Reactor<ConnectionReactor.Machine>.Job) -> Bool {
        guard let reactor, let handle else { return false }
        switch driving {
        case .manual:
            if isDriving { job(reactor) } else { drive { job($0) } }
        case .ownThread:
            // Queued even from the reactor's thread, so jobs keep the order they were
            // given in (an inline one would overtake those already queued). Refused once
            // `shutdown()` has begun: nothing would drain the inbox, and the job would keep
            // what it captures (and through that this reactor) alive for good.
            guard startIfNeeded() else { return false }
            handle.execute(job)
        }
        return true
    }

    /// Manual: runs `body` as the driving thread (waiting for another driver to finish).
    func drive<R, E: Error>(_ body: (Reactor<ConnectionReactor.Machine>) throws(E) -> R) throws(E) -> R {
        let reactor = self.reactor!
        if isDriving { return try body(reactor) }
        if !driveLock.tryLock() {
            // Another thread is driving, perhaps asleep in the kernel inside runOnce for
            // up to its time-out: wake it so it lets go soon. One wake-up job at a time,
            // so callers that only use tick(only:), which runs no jobs, cannot pile up.
            if !wakeQueued.exchange(true, ordering: .acquiringAndReleasing) {
                handle?.execute { [self] _ in wakeQueued.store(false, ordering: .releasing) }
            }
            driveLock.lock()
        }
        driver.store(currentThreadID(), ordering: .releasing)
        defer {
            driver.store(0, ordering: .releasing)
            driveLock.unlock()
        }
        return try body(reactor)
    }

    /// Own thread: runs `job` on the reactor's thread and waits, at most until `deadline`,
    /// for the end of the tick it ran in (so what it asked for has been written). Returns
    /// at once when called on the reactor's thread, after running nothing.
    func flush(until deadline: UInt64?, _ job: @escaping Reactor<ConnectionReactor.Machine>.Job) {
        guard driving == .ownThread, !isDriving else { return }
        let ranIn = Atomic<UInt64>(0)
        let queued = perform { [self] r in
            job(r)
            // This tick is number `ticks + 1`: `ticks` counts finished ticks.
            let current = driveLock.withLock { ticks } &+ 1
            ranIn.store(current, ordering: .releasing)
        }
        guard queued else { return }
        tickWaiters.add(1, ordering: .sequentiallyConsistent)
        defer { tickWaiters.subtract(1, ordering: .sequentiallyConsistent) }
        driveLock.withLock {
            while true {
                let tick = ranIn.load(ordering: .acquiring)
                if tick != 0 && ticks >= tick { return }
                if let deadline, monotonicNanoseconds() >= deadline { return }
                _ = driveLock.wait(until: deadline)
            }
        }
    }

    /// Starts the reactor thread if it is not running; false once `shutdown()` has begun.
    private func startIfNeeded() -> Bool {
        driveLock.withLock {
            guard !stopping else { return false }
            if thread == nil { thread = NativeThread { [self] in loop() } }
            return true
        }
    }

    /// The reactor thread: ticks until `shutdown()`, sleeping in the kernel in between.
    private func loop() {
        let reactor = self.reactor!
        driver.store(currentThreadID(), ordering: .releasing)
        defer { driver.store(0, ordering: .releasing) }
        while true {
            if driveLock.withLock({ stopping }) { return }
            do throws(ReactorError) {
                try reactor.runOnce(timeout: nil)
            } catch {
                // Only a broken kernel object gets here (epoll_wait or io_uring_enter
                // failing for a reason other than EINTR); do not spin on it.
                usleepMilliseconds(10)
            }
            // Cheap unless someone waits in `flush`: one atomic load per tick.
            if tickWaiters.load(ordering: .sequentiallyConsistent) > 0 {
                driveLock.withLock {
                    ticks &+= 1
                    driveLock.broadcast()
                }
            } else {
                driveLock.withLock { ticks &+= 1 }
            }
        }
    }
}
