import CAMQPLinux
import Glibc
import Synchronization

/// Several reactors, each driven by its own thread, sharing out connections: for when one
/// core is not enough for the connection count or the traffic.
///
/// ```swift
/// let group = try ReactorGroup<ConnectionEngine>()          // one reactor per core
/// let listener = try group.listen(on: .loopbackIPv4(port: 5672), accept: { _ in
///     var engine = ConnectionEngine(configuration: server)
///     engine.open()
///     return engine
/// }, handler: { reactor, id, event in /* on that connection's reactor thread */ })
/// group.connect(to: address, connection: { ConnectionEngine(configuration: client) }) { reactor, id, event in … }
/// try group.start()          // or run(), which blocks until stop()
/// …
/// group.stop()
/// try group.wait()
/// ```
///
/// Every connection lives on one reactor for its whole life: it is placed when it is
/// made (a `connect`, or an accept) and never moves, so its machine, rings and handler
/// only ever see one thread. Placement is `leastLoaded` (fewest live connections, ties
/// taken in turn) or `roundRobin`. A group listener accepts on one reactor and hands each
/// socket to the reactor placement picks.
///
/// Threads: every method may be called from any thread, handlers and jobs included.
/// Handlers and jobs run on the thread of the reactor that owns the connection, with that
/// reactor as their argument; they may call it as they would a lone reactor's
/// (`withConnection`, `abort`, ...). Each reactor is made, driven and released by its
/// own thread, so the group always sets `ReactorOptions.uringSingleIssuer`: with io_uring,
/// SINGLE_ISSUER and DEFER_TASKRUN where the kernel accepts them (2–6% less CPU per
/// message in a 1,000-connection fan-in, BENCHMARKS.md "Issue 7: reactor").
public final class ReactorGroup<Connection: SansIOConnection & SendableMetatype>: Sendable {
    /// Receives a connection's events on the thread of the reactor that owns it.
    public typealias Handler = @Sendable (
        _ reactor: Reactor<Connection>, _ id: ConnectionID, _ event: ReactorEvent<Connection.Event>
    ) -> Void
    /// Makes the machine for an accepted socket, on the thread of the reactor it was
    /// placed on; `nil` refuses the connection.
    public typealias Acceptor = @Sendable (_ peer: SocketAddress?) -> Connection?

    /// How connections are spread over the reactors.
    public enum Placement: Hashable, Sendable {
        /// The reactor with the fewest live connections (counting those still being set
        /// up); ties are taken in turn.
        case leastLoaded
        /// Each reactor in turn.
        case roundRobin
    }

    /// The options every reactor is made with (`uringSingleIssuer` always on).
    public let options: ReactorOptions
    /// How connections are placed.
    public let placement: Placement

    let members: [Member]
    private let cursor = Atomic<Int>(0)
    private let lifecycle = Mutex<Lifecycle>(.idle)
    /// The first error a reactor's `run` threw.
    private let failure = Mutex<ReactorError?>(nil)

    enum Lifecycle {
        case idle
        case running([pthread_t])
        case ended
    }

    /// One reactor of the group, as other threads see it.
    final class Member: Sendable {
        let index: Int
        /// Exists before the reactor does, so work can be queued at any time.
        let inbox: JobInbox<Connection>
        /// The thread driving the reactor, once started.
        let thread = Mutex<pthread_t?>(nil)

        init(index: Int) throws(ReactorError) {
            self.index = index
            inbox = try JobInbox()
        }

        /// Live connections (the reactor counts them until their `.closed` is
        /// delivered) and those on their way: one counter, charged when a connection is
        /// placed here, so no reader ever sees a connection counted twice or not at all.
        var load: Int { inbox.liveConnections.load(ordering: .relaxed) }

        /// Runs a placed connection's job: its registration takes over the charge that
        /// `place()` made; if it never registers (refused, failed), the charge is dropped.
        func runCharged(on reactor: Reactor<Connection>, _ body: () -> Void) {
            reactor.chargedByGroup = true
            defer {
                if reactor.chargedByGroup {
                    reactor.chargedByGroup = false
                    inbox.liveConnections.subtract(1, ordering: .relaxed)
                }
            }
            body()
        }
    }

    /// The processors this process may run on (`sysconf(_SC_NPROCESSORS_ONLN)`), at
    /// least 1.
    public static var processorCount: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// Makes a group of `count` reactors (one per processor by default). Nothing runs
    /// until `start()` or `run()`; connects and listeners asked for before then wait.
    ///
    /// - Throws: `ReactorError` when the wake-up descriptors cannot be made.
    public init(
        reactors count: Int = ReactorGroup.processorCount, options: ReactorOptions = ReactorOptions(),
        placement: Placement = .leastLoaded
    ) throws(ReactorError) {
        precondition(count >= 1, "a reactor group needs at least one reactor")
        var options = options
        // The promise holds by construction: each reactor lives on one thread.
        options.uringSingleIssuer = true
        self.options = options
        self.placement = placement
        var members: [Member] = []
        for index in 0..<count { members.append(try Member(index: index)) }
        self.members = members
    }

    deinit {
        // Threads hold the group while they run, so they have all ended (or are ending,
        // having just let go of it); join what is left, except the calling thread itself.
        let threads = lifecycle.withLock { state -> [pthread_t] in
            guard case .running(let threads) = state else { return [] }
            state = .ended
            return threads
        }
        for thread in threads {
            if pthread_equal(thread, pthread_self()) != 0 {
                pthread_detach(thread)
            } else {
                pthread_join(thread, nil)
            }
        }
    }

    /// The number of reactors.
    public var count: Int { members.count }

    /// Live connections per reactor (including connects and accepts on their way, and
    /// connections a handler made on its own reactor).
    public var connectionCounts: [Int] { members.map(\.load) }

    /// A handle to reactor `index`, to hand it work or stop it alone.
    public func handle(_ index: Int) -> ReactorHandle<Connection> { ReactorHandle(inbox: members[index].inbox) }

    // MARK: Running

    /// Starts one thread per reactor; each makes its reactor and runs it until `stop()`.
    /// Returns once every reactor exists.
    ///
    /// - Throws: the first `ReactorError` a reactor could not be made with (e.g. `.uring`
    ///   forced where io_uring is refused); the reactors already made are stopped and
    ///   their threads joined first. A group starts once.
    public func start() throws(ReactorError) {
        let alreadyStarted = lifecycle.withLock { state -> Bool in
            guard case .idle = state else { return true }
            state = .running([])
            return false
        }
        precondition(!alreadyStarted, "a ReactorGroup starts once")
        let startup = StartupLatch(count: members.count)
        var threads: [pthread_t] = []
        var spawnError: ReactorError? = nil
        for member in members {
            do {
                threads.append(try spawnThread { [self] in drive(member, startup) })
            } catch {
                spawnError = error
                startup.abandon(members.count - threads.count)
                break
            }
        }
        lifecycle.withLock { $0 = .running(threads) }
        if let error = spawnError ?? startup.wait() {
            stop()
            try? wait()
            throw error
        }
    }

    /// `start()`, then blocks until every reactor has stopped (after `stop()`).
    ///
    /// - Throws: what `start()` throws, or the first error a reactor's `run` threw (that
    ///   stops the whole group).
    public func run() throws(ReactorError) {
        try start()
        try wait()
    }

    /// Asks every reactor to stop after its current tick; returns at once. Connections
    /// still open are closed without a protocol goodbye when their reactor is released,
    /// and get no further events.
    public func stop() {
        for member in members { ReactorHandle(inbox: member.inbox).stop() }
    }

    /// Blocks until every reactor thread has ended (after `stop()`, or a failure). Must
    /// not be called from one of the group's threads.
    ///
    /// - Throws: the first error a reactor's `run` threw.
    public func wait() throws(ReactorError) {
        precondition(!isGroupThread, "ReactorGroup.wait() called on one of its own reactor threads")
        let threads = lifecycle.withLock { state -> [pthread_t] in
            guard case .running(let threads) = state else { return [] }
            state = .ended
            return threads
        }
        for thread in threads { pthread_join(thread, nil) }
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// True on a thread that drives one of the group's reactors.
    var isGroupThread: Bool {
        let me = pthread_self()
        return members.contains { member in member.thread.withLock { $0.map { pthread_equal($0, me) != 0 } ?? false } }
    }

    /// A reactor thread's whole life: make the reactor, run it, release it, all here.
    private func drive(_ member: Member, _ startup: StartupLatch) {
        member.thread.withLock { $0 = pthread_self() }
        nameThread("amqp-reactor-\(member.index)")
        let reactor: Reactor<Connection>
        do {
            reactor = try Reactor(options: options, inbox: member.inbox)
        } catch {
            startup.arrive(error)
            return
        }
        startup.arrive(nil)
        do {
            try reactor.run()
        } catch {
            failure.withLock { $0 = $0 ?? error }
            stop()
        }
        // Jobs queued while the group stopped may hold accepted sockets: run them, so the
        // sockets are adopted and closed with the reactor rather than lost.
        reactor.runJobs()
    }

    // MARK: Connections

    /// Connects to `address` from the reactor placement picks, which makes the machine
    /// (`connection`) and drives it there for the connection's whole life. Returns the
    /// reactor's index at once; the connect itself starts on the reactor's next tick.
    ///
    /// Every outcome arrives through `handler`, on that reactor's thread: `.connected`,
    /// the machine's events, and `.closed` last. If not even a socket could be made (out
    /// of descriptors), `.closed(error)` comes with `ConnectionID.unassigned`.
    @discardableResult
    public func connect(
        to address: SocketAddress, options: ConnectOptions = ConnectOptions(),
        connection: @escaping @Sendable () -> Connection, handler: @escaping Handler
    ) -> Int {
        let member = place()
        member.inbox.submit { reactor in
            var failure: ReactorError?
            member.runCharged(on: reactor) {
                do throws(ReactorError) {
                    try reactor.connect(to: address, connection: connection(), options: options, handler: handler)
                } catch {
                    failure = error
                }
            }
            // Reported once the charge is dropped, so the handler sees the count settled.
            if let failure { handler(reactor, .unassigned, .closed(failure)) }
        }
        return member.index
    }

    /// Listens on `address` (port 0: the kernel picks one; see `GroupListener.address`).
    /// One reactor accepts; each accepted socket goes to the reactor placement picks,
    /// where `accept` makes its machine and `handler` gets its events, starting with
    /// `.connected(peer:)`.
    ///
    /// - Throws: `ReactorError` when the socket cannot be bound or listen (the address is
    ///   in use); these are found here, on the calling thread.
    public func listen(
        on address: SocketAddress, options: ListenOptions = ListenOptions(), accept: @escaping Acceptor,
        handler: @escaping Handler
    ) throws(ReactorError) -> GroupListener {
        let sys = self.options.syscalls
        let fd = try Socket.listen(
            on: address, backlog: options.backlog, reuseAddress: options.reuseAddress, socketOptions: options.socket, via: sys)
        let bound: SocketAddress
        do {
            bound = try Socket.localAddress(fd)
        } catch {
            Syscall.close(fd, via: sys)
            throw error
        }
        // Listeners take turns too, so several of them do not all accept on reactor 0.
        let home = members[nextTurn() % members.count]
        let listener = GroupListener(address: bound, reactor: home.index)
        home.inbox.submit { [self] reactor in
            do throws(ReactorError) {
                let id = try reactor.install(
                    listening: fd, options: options, accept: { _ in nil }, handler: { _, _, _ in },
                    handoff: { reactor, socket, peer in
                        self.place(accepted: socket, peer: peer, acceptedOn: reactor, options: options, accept: accept, handler: handler)
                    })
                listener.state.withLock { $0.id = id }
            } catch {
                listener.state.withLock { $0.error = error }
            }
        }
        return listener
    }

    /// Closes a group listener (on its reactor's next tick); connections it accepted are
    /// not affected.
    public func stopListening(_ listener: GroupListener) {
        members[listener.reactor].inbox.submit { reactor in
            if let id = listener.state.withLock({ $0.id }) { reactor.stopListening(id) }
        }
    }

    /// Runs `job` on reactor `index`'s thread at the start of its next tick.
    public func execute(on index: Int, _ job: @escaping Reactor<Connection>.Job) {
        members[index].inbox.submit(job)
    }

    /// Hands an accepted socket to the reactor placement picks (the accepting one itself
    /// when it is picked: no hop).
    private func place(
        accepted fd: Int32, peer: SocketAddress?, acceptedOn reactor: Reactor<Connection>, options: ListenOptions,
        accept: @escaping Acceptor, handler: @escaping Handler
    ) {
        let target = place()
        let adopt: @Sendable (Reactor<Connection>) -> Void = { reactor in
            target.runCharged(on: reactor) {
                guard let machine = accept(peer) else {
                    Syscall.close(fd, via: reactor.sys)
                    return
                }
                do throws(ReactorError) {
                    // The socket options came with the socket: it inherited the listener's.
                    try reactor.adoptAccepted(socket: fd, peer: peer, connection: machine, socketOptions: nil, handler: handler)
                } catch {
                    // A socket that could not be set up is dropped; the peer sees it close.
                    Syscall.close(fd, via: reactor.sys)
                }
            }
        }
        if target.inbox === reactor.inbox {
            adopt(reactor)
        } else {
            target.inbox.submit(adopt)
        }
    }

    /// Picks a reactor for a new connection and counts the connection there.
    private func place() -> Member {
        let n = members.count
        let turn = nextTurn()
        var best = turn % n
        if placement == .leastLoaded && n > 1 {
            var least = members[best].load
            for k in 1..<n {
                let i = (turn &+ k) % n
                let load = members[i].load
                if load < least {
                    best = i
                    least = load
                }
            }
        }
        members[best].inbox.liveConnections.add(1, ordering: .relaxed)
        return members[best]
    }

    private func nextTurn() -> Int { cursor.add(1, ordering: .relaxed).oldValue & Int.max }
}

/// A listening socket of a `ReactorGroup`.
public final class GroupListener: Sendable {
    /// The address it is bound to (with the port the kernel picked).
    public let address: SocketAddress
    /// The index of the reactor that accepts.
    public let reactor: Int

    struct State {
        var id: ListenerID? = nil
        var error: ReactorError? = nil
    }
    let state = Mutex(State())

    init(address: SocketAddress, reactor: Int) {
        self.address = address
        self.reactor = reactor
    }

    /// Why its reactor could not watch it (e.g. out of memory), once it has tried; then
    /// the socket is closed and nothing is accepted.
    public var error: ReactorError? { state.withLock { $0.error } }
}

// MARK: Threads

/// Counts reactors made (or not) at start-up; `wait` returns the first failure.
final class StartupLatch: @unchecked Sendable {
    // A pthread mutex and condition: the standard library offers no condition variable,
    // and start-up needs to sleep until the reactor threads report, not spin.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var remaining: Int
    private var error: ReactorError? = nil

    init(count: Int) {
        remaining = count
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// One reactor is made (`nil`) or failed.
    func arrive(_ failure: ReactorError?) { abandon(1, failure) }

    /// `count` reactors will never report (their threads could not be started).
    func abandon(_ count: Int, _ failure: ReactorError? = nil) {
        pthread_mutex_lock(mutex)
        remaining -= count
        if error == nil { error = failure }
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Waits for every reactor; returns the first failure.
    func wait() -> ReactorError? {
        pthread_mutex_lock(mutex)
        while remaining > 0 { pthread_cond_wait(condition, mutex) }
        let failure = error
        pthread_mutex_unlock(mutex)
        return failure
    }
}

/// What a new thread runs (a class, so one pointer carries it through pthread_create).
private final class ThreadBody {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// Starts a joinable thread running `body`.
func spawnThread(_ body: @escaping @Sendable () -> Void) throws(ReactorError) -> pthread_t {
    let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { argument in
        let body = Unmanaged<ThreadBody>.fromOpaque(argument!).takeRetainedValue()
        body.run()
        return nil
    }, box)
    guard rc == 0 else {
        Unmanaged<ThreadBody>.fromOpaque(box).release()
        throw ReactorError.system("pthread_create", errno: rc)
    }
    return thread
}

/// Names the calling thread (at most 15 bytes), so `top -H` and debuggers tell reactor
/// threads apart. Through /proc: pthread_setname_np is a GNU extension Swift's Glibc
/// module does not export. Best effort.
func nameThread(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    Syscall.close(fd)
}
