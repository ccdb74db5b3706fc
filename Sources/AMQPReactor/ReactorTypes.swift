/// Names one connection on one reactor.
///
/// Ids are never reused while a connection lives and are rejected once it has closed:
/// the slot is recycled, the generation is not, so a stale id finds nothing instead of
/// someone else's connection.
public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    let slot: UInt32
    let generation: UInt32

    /// `#slot.generation`.
    public var description: String { "connection #\(slot).\(generation)" }

    /// Names no connection: what a `ReactorGroup` handler sees with the `.closed` event of
    /// a connect that could not even make a socket.
    public static let unassigned = ConnectionID(slot: .max, generation: .max)
}

/// Names one listening socket on one reactor.
public struct ListenerID: Hashable, Sendable, CustomStringConvertible {
    let slot: UInt32
    let generation: UInt32

    /// `listener #slot.generation`.
    public var description: String { "listener #\(slot).\(generation)" }
}

/// What a reactor tells the application about one connection, in order, after each
/// connection's I/O for the tick is done (never while the reactor walks readiness or
/// completions).
public enum ReactorEvent<Event> {
    /// The transport is up: an outgoing connect finished, or a listener accepted the
    /// socket. `peer` is the remote address when the system reports one.
    case connected(peer: SocketAddress?)
    /// Something the connection's protocol reported. Views inside it borrow the inbound
    /// ring and are valid only during the handler call.
    case connection(Event)
    /// The socket is closed and the id retired; this is the last event. `nil` when the
    /// protocol machine finished (`isFinished`) and its output was written: whether the
    /// protocol itself ended well is in the machine's own events (for AMQP,
    /// `ConnectionEvent.closed`). Otherwise why the transport failed: connect refused or
    /// timed out, reset, end of stream, abort.
    case closed(ReactorError?)
}

/// How an outgoing connection is made.
public struct ConnectOptions: Hashable, Sendable {
    /// Give up on a connect that has not completed after this long.
    public var timeout: Duration = .seconds(30)
    /// TCP options for the socket.
    public var socket = SocketOptions()

    /// Creates the default options: a 30 s connect time-out, TCP_NODELAY.
    public init() {}
}

/// How a listener accepts.
public struct ListenOptions: Hashable, Sendable {
    /// listen(2)'s backlog.
    public var backlog: Int32 = 128
    /// SO_REUSEADDR, so a restarted server can bind while old connections linger in
    /// TIME_WAIT.
    public var reuseAddress = true
    /// TCP options for each accepted socket.
    public var socket = SocketOptions()

    /// Creates the default options.
    public init() {}
}

/// How a reactor is built.
public struct ReactorOptions: Sendable {
    /// Which kernel interface waits for I/O.
    public enum Backend: String, Hashable, Sendable {
        /// `AMQP_REACTOR_BACKEND` (`epoll` or `uring`) if set; else io_uring when the
        /// kernel allows it, else epoll.
        case automatic
        /// epoll, edge-triggered.
        case epoll
        /// io_uring: recv into and send from the rings, completions instead of readiness.
        case uring
    }

    /// The backend; an explicit choice here wins over the environment.
    public var backend: Backend = .automatic
    /// Bytes of each connection's inbound ring (raised to the protocol's
    /// `minimumInboundCapacity`, rounded up to whole pages). It bounds what one connection
    /// reads per tick and holds at any time.
    public var inboundCapacity = 64 << 10
    /// Bytes of each connection's outbound ring when it is made (whole pages). It grows
    /// to the protocol's `minimumOutboundCapacity` (for AMQP, the peer's max-frame-size,
    /// known once its OPEN has arrived), up to `maximumOutboundCapacity`.
    public var outboundCapacity = 64 << 10
    /// The most an outbound ring grows to, whatever the peer allows: a peer that sets no
    /// max-frame-size allows 4 GiB frames. Bounds the memory of one connection's output;
    /// AMQP transfers are split at the room there is, so only a single control frame
    /// larger than this (an OPEN, ATTACH or CLOSE with huge properties or description)
    /// could still not be written.
    public var maximumOutboundCapacity = 1 << 20
    /// Payload chunks of at least this many bytes are sent by reference (one gathered
    /// `sendmsg` of ring bytes and payloads) instead of being copied into the outbound
    /// ring, by machines that support it (`ConnectionEngine` on a plain socket; TLS and
    /// WebSocket layers transform their bytes and always copy). Bytes held by reference
    /// count against `maximumOutboundCapacity` on top of the ring: at most that many per
    /// connection, so a peer that stops reading cannot make it pin unbounded application
    /// memory.
    ///
    /// Off (`Int.max`) by default: measured end to end (BENCHMARKS.md, "Issue 4: gathered
    /// sends"), it pays only where this reactor sends large payloads and receives little:
    /// 64 KiB messages to a receiver on another thread went 1.17-1.26x faster gathered on
    /// a quiet machine, with 15-21% less client CPU, but a client that also receives its
    /// messages back through a broker went 0.67-0.79x as fast, and with sender and
    /// receiver on one reactor gathering cost 50-100% more CPU (the kernel's TCP work grew:
    /// the peer's window went to zero thousands of times a run). 16 KiB is where a
    /// synthetic sender with a fast reader started to gain (Docs/reactor.md): the value to
    /// try for a send-mostly reactor.
    public var gatherThreshold = Int.max
    /// Mirrored rings when possible, or a choice.
    public var ringStorage: ByteRing.StoragePreference = .automatic
    /// Rings kept for reuse when connections close, so a new connection takes ready rings
    /// instead of mapping new ones (a mirrored ring costs about 45 µs to make); 0 turns the
    /// pool off. Pooled mirrored rings count against `ByteRing.mirroredRingLimit`.
    public var ringPoolCount = 1024
    /// Most bytes of ring capacity the pool keeps (address space; memory only while the
    /// rings are warm, see `ringIdleRelease`).
    public var ringPoolBytes = 64 << 20
    /// Pooled rings, and the rings of a connection that have been empty this long, give
    /// their pages back to the kernel (they stay mapped; the next byte costs a fresh
    /// page). `nil` keeps the pages.
    public var ringIdleRelease: Duration? = .seconds(1)
    /// Readiness events or completions taken from the kernel per wait.
    public var eventBatch = 256
    /// Most connections one listener accepts per tick, so a burst of connects cannot
    /// starve established connections.
    public var acceptsPerTick = 64
    /// io_uring: the thread that creates the reactor is the only thread that will ever
    /// drive it (`run`, `runOnce`, `tick`, every call made from handlers and jobs, and the
    /// release of the last reference).
    /// Then the ring is set up with SINGLE_ISSUER and DEFER_TASKRUN where the kernel
    /// accepts them: completions are posted only when that thread waits, instead of
    /// interrupting it. Break the promise and submissions fail with EEXIST. Off by default
    /// for a lone reactor; a `ReactorGroup` turns it on for its reactors.
    public var uringSingleIssuer = false
    /// io_uring: submission queue entries (a power of two). Requests beyond it are
    /// submitted in several batches within a tick.
    public var uringEntries: UInt32 = 256
    /// io_uring: completion queue entries: at least the requests that can be in flight at
    /// once (two per connection, plus listeners), or completions overflow into the
    /// kernel's slower backlog.
    public var uringCompletionEntries: UInt32 = 8192
    /// The system calls on sockets, epoll and io_uring: the kernel's, or a test's that
    /// injects faults (see `SyscallTable`).
    package var syscalls = SyscallTable.system

    /// Creates the default options.
    public init() {}
}
