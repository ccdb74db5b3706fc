import AMQPEngine
import CAMQPLinux
import Glibc

/// One thread driving many connections: sockets, byte rings, timers and wake-ups around
/// sans-I/O protocol machines (`ConnectionEngine` for AMQP).
///
/// ```swift
/// let reactor = try Reactor<ConnectionEngine>()
/// var engine = ConnectionEngine(configuration: config)
/// engine.open()
/// let id = try reactor.connect(to: address, connection: engine) { reactor, id, event in
///     if case .connection(.remoteOpen) = event { reactor.withConnection(id) { $0.close() } }
/// }
/// try reactor.run()          // until stop(); or runOnce(timeout:) / tick(only:) by hand
/// ```
///
/// Each connection has an inbound and an outbound `ByteRing`. A tick reads each ready
/// socket until EAGAIN or until its inbound ring is full, hands the unread bytes to the
/// machine's `receive` in place, runs the connection's due deadlines, lets the machine
/// `produce` into the outbound ring and writes that with one `send`. Only after every
/// connection of the tick has done its I/O are the events delivered to the handlers, and
/// only after a connection's events are delivered are the inbound bytes they may borrow
/// released.
///
/// Bounded by construction: a connection holds at most its two rings, reads at most one
/// inbound ring's worth per tick, stops reading while its ring is full and its machine
/// consumes nothing, and stops producing while its outbound ring is full. An idle reactor
/// sleeps in the kernel until the next deadline or I/O.
///
/// Threads: everything here must be called on the thread that drives the reactor
/// (including from handlers and jobs, which run on it). Other threads use `handle`.
public final class Reactor<Connection: SansIOConnection> {
    /// Receives a connection's events on the reactor's thread. It may call the reactor
    /// (`withConnection`, `connect`, `abort`, ...), but not `run`, `runOnce` or `tick`.
    public typealias Handler = (_ reactor: Reactor, _ id: ConnectionID, _ event: ReactorEvent<Connection.Event>) -> Void
    /// Work handed over from another thread, run on the reactor's thread.
    public typealias Job = @Sendable (_ reactor: Reactor) -> Void
    /// Makes the protocol machine for an accepted socket, given the peer's address; `nil`
    /// refuses the connection (the socket is closed).
    public typealias Acceptor = (_ peer: SocketAddress?) -> Connection?
    /// Takes a socket a listener accepted (non-blocking, close-on-exec) and the peer's
    /// address; the socket is its to drive or close.
    typealias Handoff = (_ reactor: Reactor, _ socket: Int32, _ peer: SocketAddress?) -> Void

    /// The options the reactor was built with.
    public let options: ReactorOptions
    /// The backend in use: `.epoll` or `.uring`, never `.automatic`.
    public let backend: ReactorOptions.Backend

    let io: IO
    /// The system calls on sockets, epoll and io_uring (`options.syscalls`), kept here so
    /// the hot paths load them from the reactor itself.
    let sys: SyscallTable
    let inbox: JobInbox<Connection>
    /// Rings of closed connections, kept for new ones (`ReactorOptions.ringPoolCount`).
    package let ringPool: RingPool
    /// `options.ringIdleRelease` in nanoseconds.
    let ringIdleRelease: UInt64?
    /// When to look for connections whose rings have been quiet long enough to give
    /// their pages back; nil while every connection's pages are given back or in use.
    var nextRingSweep: UInt64? = nil
    /// epoll: the eventfd is registered (a failed registration leaves nothing to remove).
    var watchingWakeUps = false

    var records: [Record?] = []
    /// Per slot, survives the record: the generation of the slot's current or next owner.
    var generations: [UInt32] = []
    var freeSlots: [Int] = []
    /// Slots whose records were freed during this tick; reused only from the next one, so
    /// that a slot named in this tick's lists cannot change owner under them.
    var retiredSlots: [Int] = []
    var listeners: [ListenerRecord?] = []
    var listenerGenerations: [UInt32] = []
    var deadlines = DeadlineHeap()
    /// Connections with something to do: readiness, due deadlines, events to deliver,
    /// application requests. Each appears once (`Record.queued`).
    var ready: [Int] = []
    /// The list being served, swapped with `ready` (both keep their capacity).
    var batch: [Int] = []
    /// The eventfd fired: jobs or a stop request are waiting.
    var wakePending = false
    /// Set while handlers or jobs run, to refuse re-entrant ticks.
    var inCallback = false
    /// Live connections.
    public private(set) var connectionCount = 0
    /// Set by a `ReactorGroup` job whose connection the group has already counted in
    /// `inbox.liveConnections`; the next registration takes the charge over.
    var chargedByGroup = false

    /// Creates a reactor and its kernel resources (an epoll instance or an io_uring, and
    /// an eventfd).
    ///
    /// - Throws: `ReactorError` when the kernel refuses them, for instance when `.uring`
    ///   is asked for explicitly (through `options` or `AMQP_REACTOR_BACKEND`) and
    ///   io_uring_setup is refused here.
    public convenience init(options: ReactorOptions = ReactorOptions()) throws(ReactorError) {
        try self.init(options: options, inbox: try JobInbox())
    }

    /// A reactor whose inbox already exists, so work can be queued for it before it is
    /// made (a `ReactorGroup` queues connects before its threads have started).
    init(options: ReactorOptions, inbox: JobInbox<Connection>) throws(ReactorError) {
        self.options = options
        sys = options.syscalls
        ringPool = RingPool(maximumCount: options.ringPoolCount, maximumBytes: options.ringPoolBytes, trimDelay: options.ringIdleRelease)
        ringIdleRelease = options.ringIdleRelease?.wholeNanoseconds
        (io, backend) = try Self.makeIO(options)
        self.inbox = inbox
        try watchWakeUps()
    }

    deinit {
        // io_uring first: no request may still point into a ring when it is unmapped.
        cancelAllRequests()
        for case let record? in records where record.phase != .closed {
            closeSocket(record)
        }
        for case let listener? in listeners {
            unwatch(listener)
        }
        if case .epoll(let epoll) = io, watchingWakeUps { epoll.remove(inbox.eventFD) }
    }

    /// A handle other threads may use to hand work to this reactor or stop it.
    public var handle: ReactorHandle<Connection> { ReactorHandle(inbox: inbox) }

    /// Runs `job` on the reactor's thread at the start of the next tick. From other
    /// threads, use `handle.execute`.
    public func execute(_ job: @escaping Job) { inbox.submit(job) }

    /// Asks `run()` to return after the current tick.
    public func stop() { handle.stop() }

    // MARK: Connections

    /// Connects to `address` without blocking and starts driving `connection` once the
    /// socket is up (its output is produced and held in the outbound ring until then).
    ///
    /// Failures of the connect itself (refused, unreachable, `options.timeout` passed)
    /// arrive as `.closed(error)` through `handler`, like every later failure.
    ///
    /// With epoll the connect starts here; with io_uring the request goes to the kernel
    /// with the next tick's batch (so a thousand connects cost one system call).
    ///
    /// - Throws: `ReactorError` when no socket can be made at all (out of descriptors).
    @discardableResult
    public func connect(
        to address: SocketAddress, connection: Connection, options: ConnectOptions = ConnectOptions(),
        handler: @escaping Handler
    ) throws(ReactorError) -> ConnectionID {
        try connect(to: [address], connection: connection, options: options, handler: handler)
    }

    /// Connects to the first of `addresses` that answers, in order (the addresses a name
    /// resolved to: "localhost" may give ::1, then 127.0.0.1). An address that refuses,
    /// is unreachable or does not answer within `options.timeout` is given up for the
    /// next; the machine sees none of it, only the connection that succeeds, or the last
    /// failure. `addresses` must not be empty.
    @discardableResult
    public func connect(
        to addresses: [SocketAddress], connection: Connection, options: ConnectOptions = ConnectOptions(),
        handler: @escaping Handler
    ) throws(ReactorError) -> ConnectionID {
        guard let address = addresses.first else {
            throw ReactorError(.invalidArgument, operation: "connect", detail: "no address to connect to")
        }
        let fd = try Socket.open(family: address.family, via: sys)
        let record: Record
        do throws(ReactorError) {
            record = try register(fd: fd, connection: connection, socketOptions: options.socket, handler: handler)
        } catch {
            Syscall.close(fd, via: sys)
            throw error
        }
        record.remote = address
        record.fallbackAddresses = addresses.dropFirst()
        record.connectTimeout = options.timeout
        do throws(ReactorError) {
            if try startConnect(record, to: address) {
                try established(record, peer: address)
            } else {
                record.phase = .connecting
                record.connectDeadline = monotonicNow() &+ options.timeout.wholeNanoseconds
                updateDeadline(record)
            }
        } catch {
            record.phase = .connecting
            failConnect(record, error: error)
        }
        enqueue(record)
        return record.id
    }

    /// Resolves `host` (blocking: see `SocketAddress.resolve`) and connects to the
    /// addresses it yields, in order, until one answers.
    @discardableResult
    public func connect(
        host: String, port: UInt16, connection: Connection, options: ConnectOptions = ConnectOptions(),
        handler: @escaping Handler
    ) throws(ReactorError) -> ConnectionID {
        let addresses = try SocketAddress.resolve(host: host, port: port)
        return try connect(to: addresses, connection: connection, options: options, handler: handler)
    }

    /// Takes over a connected stream socket (made non-blocking and close-on-exec here) and
    /// drives `connection` over it; the reactor closes it when the connection ends. If
    /// this throws, the socket is still the caller's.
    ///
    /// `socketOptions` are applied when given; pass `nil` for sockets that are not TCP
    /// (a Unix socket pair).
    @discardableResult
    public func adopt(
        socket fd: Int32, connection: Connection, socketOptions: SocketOptions? = nil, handler: @escaping Handler
    ) throws(ReactorError) -> ConnectionID {
        try Syscall.check("fcntl(O_NONBLOCK, FD_CLOEXEC)") { camqp_fd_set_nonblock_cloexec(fd) }
        let id = try adoptAccepted(socket: fd, peer: try? Socket.peerAddress(fd), connection: connection, socketOptions: socketOptions, handler: handler)
        // The caller may hold duplicates of the descriptor, which would keep the epoll
        // registration alive past our close.
        record(id)?.unregisterOnClose = true
        return id
    }

    /// Drives `connection` over a socket accepted non-blocking and close-on-exec (by this
    /// reactor or another one of its group); if this throws, the socket is still the
    /// caller's.
    @discardableResult
    func adoptAccepted(
        socket fd: Int32, peer: SocketAddress?, connection: Connection, socketOptions: SocketOptions?,
        handler: @escaping Handler
    ) throws(ReactorError) -> ConnectionID {
        if let socketOptions { try Socket.apply(socketOptions, to: fd, via: sys) }
        let record = try register(fd: fd, connection: connection, socketOptions: nil, handler: handler)
        do throws(ReactorError) {
            try established(record, peer: peer)
        } catch {
            close(record, error: error)
        }
        enqueue(record)
        return record.id
    }

    /// Calls `body` with the connection's protocol machine (to open, close, send...), then
    /// serves the connection's output. Returns `nil` if the connection is closed.
    ///
    /// `body` must not call back into the reactor for the same connection.
    @discardableResult
    public func withConnection<R, E: Error>(
        _ id: ConnectionID, _ body: (inout Connection) throws(E) -> R
    ) throws(E) -> R? {
        guard let record = record(id), record.phase != .closed else { return nil }
        let result = try body(&record.machine)
        record.dirty = true
        enqueue(record)
        return result
    }

    /// Reads the connection's protocol machine; `nil` once the connection's `.closed`
    /// event is delivered. A closed connection's machine stays readable until then, so a
    /// handler of the events queued before `.closed` (the final state change among them)
    /// can still ask the machine why it ended.
    public func inspect<R>(_ id: ConnectionID, _ body: (borrowing Connection) -> R) -> R? {
        guard let record = record(id) else { return nil }
        return body(record.machine)
    }

    /// Closes the socket at once, without a protocol goodbye; `.closed` (code `.aborted`)
    /// follows through the handler.
    public func abort(_ id: ConnectionID) {
        guard let record = record(id), record.phase != .closed else { return }
        close(record, error: ReactorError(.aborted, operation: "abort", detail: "\(id)"))
    }

    /// True while `id` names a connection whose `.closed` event has not been delivered.
    public func contains(_ id: ConnectionID) -> Bool { record(id) != nil }

    /// Bytes waiting in the connection's rings: unread inbound, unsent outbound (with the
    /// payload bytes it holds by reference).
    public func bufferedBytes(_ id: ConnectionID) -> (inbound: Int, outbound: Int)? {
        guard let record = record(id), record.phase != .closed else { return nil }
        return (record.inbound.count, record.outbound.count + record.segments.referencedBytes)
    }

    /// Payload chunks the connection holds by reference and has not written yet, and
    /// their bytes (gathered sends), for tests and measurements.
    package func gatheredPayloads(_ id: ConnectionID) -> (chunks: Int, bytes: Int)? {
        guard let record = record(id), record.phase != .closed else { return nil }
        return (record.segments.count, record.segments.referencedBytes)
    }

    /// The connection's ring sizes and storage.
    public func ringInfo(_ id: ConnectionID) -> (inbound: Int, outbound: Int, storage: ByteRing.Storage)? {
        guard let record = record(id), record.phase != .closed else { return nil }
        return (record.inbound.capacity, record.outbound.capacity, record.inbound.storage)
    }

    /// Pages of the connection's rings resident now (mincore): what its rings really
    /// hold in memory, for tests and measurements.
    package func ringResidentPages(_ id: ConnectionID) -> (inbound: Int, outbound: Int)? {
        guard let record = record(id), record.phase != .closed else { return nil }
        return (record.inbound.residentPages ?? -1, record.outbound.residentPages ?? -1)
    }

    // MARK: Listeners

    /// Listens on `address` (port 0: the kernel picks one; see `address(of:)`). Each
    /// accepted socket gets the machine `accept` makes and `handler` for its events,
    /// starting with `.connected(peer:)`.
    @discardableResult
    public func listen(
        on address: SocketAddress, options: ListenOptions = ListenOptions(), accept: @escaping Acceptor,
        handler: @escaping Handler
    ) throws(ReactorError) -> ListenerID {
        let fd = try Socket.listen(
            on: address, backlog: options.backlog, reuseAddress: options.reuseAddress, socketOptions: options.socket, via: sys)
        return try install(listening: fd, options: options, accept: accept, handler: handler, handoff: nil)
    }

    /// Watches a listening socket (which becomes the reactor's, also when this throws).
    /// With `handoff`, accepted sockets go to it instead of `accept` and `handler`.
    func install(
        listening fd: Int32, options: ListenOptions, accept: @escaping Acceptor, handler: @escaping Handler,
        handoff: Handoff?
    ) throws(ReactorError) -> ListenerID {
        let slot: Int
        if let free = listeners.firstIndex(where: { $0 == nil }) {
            slot = free
        } else {
            slot = listeners.count
            listeners.append(nil)
            listenerGenerations.append(0)
        }
        let id = ListenerID(slot: UInt32(slot), generation: listenerGenerations[slot])
        do throws(ReactorError) {
            let bound = try Socket.localAddress(fd)
            let listener = ListenerRecord(id: id, fd: fd, address: bound, options: options, accept: accept, handler: handler)
            listener.handoff = handoff
            try watch(listener)
            listeners[slot] = listener
        } catch {
            Syscall.close(fd, via: sys)
            throw error
        }
        // Connections may already be waiting (the kernel reports the current state when
        // the socket is first watched), but try at once anyway.
        listeners[slot]!.pending = true
        return id
    }

    /// The address a listener is bound to (with the port the kernel picked).
    public func address(of id: ListenerID) -> SocketAddress? { listener(id)?.address }

    /// Closes a listening socket; connections it accepted are not affected.
    public func stopListening(_ id: ListenerID) {
        guard let listener = listener(id) else { return }
        unwatch(listener)
        listeners[Int(id.slot)] = nil
        listenerGenerations[Int(id.slot)] &+= 1
    }

    // MARK: Records

    /// The record `id` names, unless its `.closed` event has been delivered.
    ///
    /// Specialized for `ConnectionEngine`: `withConnection` (generic over its result as
    /// well) runs unspecialized in its callers' modules, and the generic lookup found the
    /// records array's element type in the runtime's metadata cache on every call.
    @_specialize(where Connection == ConnectionEngine)
    func record(_ id: ConnectionID) -> Record? {
        let slot = Int(id.slot)
        guard slot < records.count, let record = records[slot], record.id == id, !record.retiring else { return nil }
        return record
    }

    func listener(_ id: ListenerID) -> ListenerRecord? {
        let slot = Int(id.slot)
        guard slot < listeners.count, let listener = listeners[slot], listener.id == id else { return nil }
        return listener
    }

    /// Most payload chunks a connection holds by reference: with the default 16 KiB
    /// threshold and 1 MiB budget no more can be pending, and a gathered send's iovec
    /// array (two entries per chunk and one more) stays far below IOV_MAX.
    static var gatherEntries: Int { 64 }

    func makeRecord(
        fd: Int32, connection: Connection, socketOptions: SocketOptions?, handler: @escaping Handler
    ) throws(ReactorError) -> Record {
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
        } else {
            slot = records.count
            guard slot <= Token.maxSlot else {
                throw ReactorError(.tooManyOpenFiles, operation: "Reactor", detail: "more than \(Token.maxSlot) connections")
            }
            records.append(nil)
            generations.append(0)
        }
        let id = ConnectionID(slot: UInt32(slot), generation: generations[slot])
        do throws(ReactorError) {
            let inbound = try ringPool.take(
                minimumCapacity: max(options.inboundCapacity, connection.minimumInboundCapacity), storage: options.ringStorage)
            let outbound = try ringPool.take(minimumCapacity: options.outboundCapacity, storage: options.ringStorage)
            return Record(
                id: id, fd: fd, machine: connection, inbound: inbound, outbound: outbound,
                segments: OutboundSegments(
                    capacity: Self.gatherEntries, threshold: options.gatherThreshold, byteLimit: options.maximumOutboundCapacity),
                handler: handler, socketOptions: socketOptions)
        } catch {
            freeSlots.append(slot)
            throw error
        }
    }

    /// Makes a record for `fd`, registers the socket and installs the record; on failure
    /// nothing is left behind but `fd`, which stays the caller's.
    func register(
        fd: Int32, connection: Connection, socketOptions: SocketOptions?, handler: @escaping Handler
    ) throws(ReactorError) -> Record {
        let record = try makeRecord(fd: fd, connection: connection, socketOptions: socketOptions, handler: handler)
        do throws(ReactorError) {
            try watch(record)
        } catch {
            freeSlots.append(Int(record.id.slot))
            throw error
        }
        records[Int(record.id.slot)] = record
        connectionCount += 1
        // A group counts a connection from the moment it places it, so that placements
        // made at the same time on other threads see each other; registering takes that
        // charge over instead of counting the connection twice (a reader between two
        // separate updates would see it counted twice or not at all).
        if chargedByGroup {
            chargedByGroup = false
        } else {
            inbox.liveConnections.add(1, ordering: .relaxed)
        }
        return record
    }

    /// Retires a closed record once its `.closed` event has been delivered: its id is no
    /// longer valid, and its slot is freed as soon as no io_uring request of it is left
    /// in flight (until then, the kernel may still point into its rings).
    func retire(_ record: Record) {
        guard !record.retiring else { return }
        record.retiring = true
        connectionCount -= 1
        inbox.liveConnections.subtract(1, ordering: .relaxed)
        if !record.hasRequestsInFlight { freeSlot(of: record) }
    }

    func freeSlot(of record: Record) {
        let slot = Int(record.id.slot)
        guard records[slot] === record else { return }
        // No request of the record is in flight any more, so nothing can touch its rings:
        // they go to the pool for the next connection.
        let now = monotonicNow()
        ringPool.give(&record.inbound, now: now)
        ringPool.give(&record.outbound, now: now)
        record.segments.removeAll()
        records[slot] = nil
        generations[slot] &+= 1
        retiredSlots.append(slot)
    }

    /// Puts a connection on the ready list (once).
    func enqueue(_ record: Record) {
        guard !record.queued else { return }
        record.queued = true
        ready.append(Int(record.id.slot))
    }

    func updateDeadline(_ record: Record) {
        var next = record.connectDeadline
        if record.phase == .established, let d = record.read(\.nextDeadline)?.nanoseconds {
            next = next.map { min($0, d) } ?? d
        }
        if record.phase == .closed { next = nil }
        deadlines.set(Int(record.id.slot), to: next)
    }
}

/// CLOCK_MONOTONIC in nanoseconds: the `now` every machine sees.
func monotonicNow() -> UInt64 { camqp_monotonic_ns() }

extension Duration {
    /// Whole nanoseconds; 0 for negative durations, saturating at `UInt64.max`.
    var wholeNanoseconds: UInt64 {
        let (s, atto) = components
        guard s >= 0 else { return 0 }
        let (ns, overflow) = UInt64(s).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : ns &+ UInt64(atto / 1_000_000_000)
    }
}

extension Reactor {
    /// One connection's socket, rings, machine and bookkeeping.
    final class Record {
        enum Phase {
            /// A non-blocking connect is in flight.
            case connecting
            /// The socket is up; the machine is being driven.
            case established
            /// The socket is closed; `.closed` is queued or delivered.
            case closed
        }

        let id: ConnectionID
        /// The socket; replaced when a connect moves on to the next address (-1 while
        /// none is open).
        var fd: Int32
        var machine: Connection
        var inbound: ByteRing
        var outbound: ByteRing
        /// Payload chunks the machine sends by reference, between the outbound ring's
        /// bytes (gathered sends; AMQP only, see `SansIOConnection.produce(into:gather:now:)`).
        let segments: OutboundSegments
        /// The iovec array of a gathered send (ring spans and payload ranges in stream
        /// order), made on the first one. With io_uring it and `message` are read by the
        /// kernel until the send completes, so they live here, not on the stack.
        var iovecs: UnsafeMutablePointer<iovec>? = nil
        /// io_uring: the msghdr of the gathered send in flight (made with `iovecs`; its
        /// own allocation, since the address of a class's stored property is only
        /// promised inside an access).
        var message: UnsafeMutablePointer<msghdr>? = nil
        /// Replaced by a no-op when the reactor is shut down for good (`shutDownAll`).
        var handler: Handler
        let socketOptions: SocketOptions?
        var phase: Phase = .established
        var remote: SocketAddress? = nil
        /// Addresses still to try, in order, if connecting to `remote` fails.
        var fallbackAddresses: ArraySlice<SocketAddress> = []
        /// io_uring: the connect to `remote` timed out and was cancelled; the next address
        /// is tried once its completion is in (so its late result is never taken for the
        /// next attempt's). The failure, in case no address is left by then.
        var fallbackAfter: ReactorError? = nil
        var connectDeadline: UInt64? = nil
        var connectTimeout: Duration = .zero

        /// The socket may have bytes to read (an edge arrived, EAGAIN not seen since).
        var readReady = false
        /// The socket may accept bytes (an edge arrived, EAGAIN or a short write not seen).
        var writeReady = false
        /// EPOLLERR or EPOLLHUP: the next call will say what happened.
        var hangUp = false
        /// EPOLLRDHUP: the peer shut its side; read until recv says 0, since no further
        /// edge will come for the end of the stream.
        var peerShutDown = false
        /// The peer closed its side (recv returned 0).
        var peerClosed = false
        /// The application changed the machine: produce, and offer unparsed bytes again.
        var dirty = false
        /// On the ready list.
        var queued = false
        /// The machine had output but wrote nothing into the room it was given.
        var outputStalled = false
        /// io_uring: bytes a recv completion committed that the machine has not seen.
        var arrived = false
        /// io_uring: a failure a completion reported, acted upon when the record is served.
        var ioError: ReactorError? = nil
        /// io_uring: the connect request's result, once it completed.
        var connectResult: Int32? = nil
        /// io_uring: the connect request's address, which must stay put until submitted.
        var connectAddress = sockaddr_storage()
        var recvInFlight = false
        /// io_uring: bytes the recv in flight may write.
        var recvLength = 0
        /// io_uring: the last recv returned fewer bytes than it could take, so the socket
        /// was empty: the next recv waits for data before trying (POLL_FIRST).
        var recvDrained = false
        var sendInFlight = false
        var connectInFlight = false
        var cancelsInFlight = 0
        /// The `.closed` event has been delivered; the id no longer names anything.
        var retiring = false
        /// epoll: remove the registration before closing. Only for sockets handed in
        /// (`adopt`), which may have duplicates; for the reactor's own sockets the close
        /// removes it, one system call fewer per connection.
        var unregisterOnClose = false
        /// Bytes entered or left a ring since the connection was last looked at after
        /// delivery (`afterDelivery`): it is not quiet.
        var moved = false
        /// io_uring: the recv was cancelled so the rings can give their pages back once
        /// its completion is in.
        var releaseAfterCancel = false
        /// When bytes last moved (monotonic ns); the rings give their pages back once
        /// they have been empty for `ringIdleRelease` since then.
        var quietSince: UInt64 = 0
        /// The rings' pages went back to the kernel, and no byte has moved since.
        var ringsGivenBack = false
        /// While the rings' pages are given back: a small buffer of the connection's own
        /// for keep-alive units (heartbeats) read and written outside the rings
        /// (`Reactor+KeepAlive.swift`); made on first use.
        var keepAliveBuffer: UnsafeMutableRawPointer?
        /// io_uring: the recv in flight reads into `keepAliveBuffer`, not the ring.
        var recvIntoKeepAlive = false
        /// io_uring: bytes a recv into `keepAliveBuffer` brought, not yet offered.
        var keepAliveArrived = 0
        /// io_uring: the send in flight writes this many bytes from `keepAliveBuffer`.
        var keepAliveSendLength = 0
        /// Inbound bytes the machine has consumed but whose events are not yet delivered:
        /// released (consumed from the ring) only after delivery, since events may borrow
        /// them.
        var parsed = 0
        var events: [ReactorEvent<Connection.Event>] = []
        var delivering: [ReactorEvent<Connection.Event>] = []

        init(
            id: ConnectionID, fd: Int32, machine: Connection, inbound: consuming ByteRing, outbound: consuming ByteRing,
            segments: OutboundSegments, handler: @escaping Handler, socketOptions: SocketOptions?
        ) {
            self.id = id
            self.fd = fd
            self.machine = machine
            self.inbound = inbound
            self.outbound = outbound
            self.handler = handler
            self.socketOptions = socketOptions
            self.segments = segments
        }

        deinit {
            // Only freed once no request is in flight (io_uring keeps the record until its
            // completions are in), so the kernel no longer reads the array.
            iovecs?.deallocate()
            message?.deallocate()
            keepAliveBuffer?.deallocate()
        }

        /// Outbound bytes not yet written: in the ring, or payloads held by reference.
        @inline(__always)
        var hasUnsentOutput: Bool { !outbound.isEmpty || !segments.isEmpty }

        /// Reads a property of the machine in place. `machine.x` on this class copies the
        /// whole machine first (the getter is opaque, so the optimizer cannot prove that
        /// nothing writes the property meanwhile), and a `ConnectionEngine` copy retains
        /// and releases everything it holds: profiled, those copies were several percent
        /// of a tick. An inout access is exclusive, so the getter borrows it instead.
        @inline(__always)
        func read<R>(_ property: (Connection) -> R) -> R {
            Self.borrow(&machine, property)
        }

        @inline(__always)
        private static func borrow<R>(_ machine: inout Connection, _ property: (Connection) -> R) -> R {
            property(machine)
        }

        /// The token for this connection's readiness (epoll) or one of its requests.
        func token(_ operation: URingBackend.Operation? = nil) -> Token {
            Token(kind: .connection, operation: operation?.rawValue ?? 0, slot: Int(id.slot), generation: id.generation)
        }

        /// io_uring requests that may still touch the socket or the rings.
        var hasRequestsInFlight: Bool { recvInFlight || sendInFlight || connectInFlight || cancelsInFlight > 0 }
    }

    /// One listening socket.
    final class ListenerRecord {
        let id: ListenerID
        let fd: Int32
        let address: SocketAddress
        let options: ListenOptions
        let accept: Acceptor
        let handler: Handler
        /// Connections may be waiting (an edge arrived, EAGAIN not seen since).
        var pending = false
        /// Accept failed for want of descriptors or memory: try again at this instant.
        var retryAt: UInt64? = nil
        /// Takes each accepted socket instead of `accept` (a `ReactorGroup` listener that
        /// spreads connections over its reactors).
        var handoff: Handoff? = nil

        init(id: ListenerID, fd: Int32, address: SocketAddress, options: ListenOptions, accept: @escaping Acceptor, handler: @escaping Handler) {
            self.id = id
            self.fd = fd
            self.address = address
            self.options = options
            self.accept = accept
            self.handler = handler
        }
    }
}
