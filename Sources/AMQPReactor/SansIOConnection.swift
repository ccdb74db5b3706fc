public import AMQPEngine

/// What a reactor drives: a connection's protocol as a sans-I/O state machine. Bytes and
/// `now` go in; bytes to write, events and a deadline come out; it never performs I/O,
/// reads a clock or calls user code.
///
/// `ConnectionEngine` (AMQP 1.0) is the implementation that matters; the protocol exists
/// so the reactor states exactly what it relies on, and so tests can drive it with
/// synthetic protocols (a peer that floods, one that never consumes).
public protocol SansIOConnection {
    /// What the machine reports to the application.
    associatedtype Event

    /// Parses what it can of `bytes` and returns how many bytes it consumed; the rest is
    /// offered again, with more appended, next time. Events may borrow `bytes`: the
    /// reactor keeps them in place until the events are delivered.
    mutating func receive(_ bytes: UnsafeRawBufferPointer, now: EngineInstant) -> Int
    /// The next event, or `nil` when all have been drained.
    mutating func nextEvent() -> Event?
    /// Writes pending output into `buffer` and returns the number of bytes written.
    mutating func produce(into buffer: UnsafeMutableRawBufferPointer, now: EngineInstant) -> Int
    /// `produce(into:now:)` for a driver that writes the bytes as they are: the machine
    /// may leave large payload chunks out of `buffer` and append them to `gather` by
    /// reference, to go out between the buffer's bytes in the order appended (the reactor
    /// sends both with one gathered write). The default copies everything, which a layer
    /// that transforms its bytes (TLS, WebSocket) must do.
    mutating func produce(into buffer: UnsafeMutableRawBufferPointer, gather: OutboundSegments, now: EngineInstant) -> Int
    /// True when `produce` would write something now, given room.
    var hasPendingOutput: Bool { get }
    /// When `poll(now:)` must next be called, or `nil`.
    var nextDeadline: EngineInstant? { get }
    /// Runs the deadlines due at `now`.
    mutating func poll(now: EngineInstant)
    /// True when everything has been produced and the transport may be closed.
    var isFinished: Bool { get }
    /// The socket failed or ended under a machine that had not finished; it must end
    /// too and say what was lost (`description` says why).
    mutating func transportClosed(_ description: String)
    /// The smallest inbound ring that holds any unit the machine must see whole (for AMQP,
    /// a frame of the largest size it accepts); the reactor never makes a smaller one.
    var minimumInboundCapacity: Int { get }
    /// The smallest outbound ring in which `produce` always makes progress when it has
    /// output (for AMQP, the peer's max-frame-size once its OPEN has arrived: a frame of
    /// that size must fit whole). The reactor grows a smaller ring to it, up to
    /// `ReactorOptions.maximumOutboundCapacity`, as soon as the value rises; it may
    /// change at any time (it is read on every serve).
    var minimumOutboundCapacity: Int { get }
    /// True when the machine holds input of its own that it has not finished with (a TLS
    /// layer's decrypted bytes): the reactor then offers `receive` an empty buffer when
    /// the application changed the machine, even though it holds no unparsed bytes.
    var hasUnparsedInput: Bool { get }
    /// True when input the machine holds waits only for `eventsDelivered` to make room
    /// (a TLS layer's decrypted ring filled up): the reactor then delivers in the next
    /// tick without waiting for new readiness. It must turn false once `eventsDelivered`
    /// has run, unless the input made progress and filled the room again.
    var isWaitingForDelivery: Bool { get }
    /// The events taken with `nextEvent` so far have been delivered: bytes they borrowed
    /// from buffers of the machine's own may be reused. (The reactor's own inbound bytes
    /// are released at the same moment.) Returns true when that made room for input the
    /// machine had to leave waiting; the reactor then offers `receive` again.
    mutating func eventsDelivered() -> Bool
    /// True when all that `produce` would write now is keep-alive output (AMQP: one empty
    /// frame, 8 bytes). The reactor then lets the machine write into a small buffer of the
    /// connection's own and sends from there, so an idle connection whose ring pages went
    /// back to the kernel does not take a page back for every heartbeat.
    var hasOnlyKeepAliveOutput: Bool { get }
    /// True when `bytes` are whole keep-alive units only (AMQP: empty frames), which
    /// `receive` consumes entirely without an event that borrows them. The reactor reads
    /// into a small buffer while a connection's rings have given their pages back, and
    /// offers the bytes from there when this holds; anything else goes into the ring.
    func isKeepAlive(_ bytes: UnsafeRawBufferPointer) -> Bool
}

extension SansIOConnection {
    /// Everything is copied into `buffer`; nothing is sent by reference.
    public mutating func produce(into buffer: UnsafeMutableRawBufferPointer, gather: OutboundSegments, now: EngineInstant) -> Int {
        produce(into: buffer, now: now)
    }

    /// Machines with nothing to report about a dead transport need not say so.
    public mutating func transportClosed(_ description: String) {}

    /// No minimum: the reactor's configured ring size.
    public var minimumInboundCapacity: Int { 0 }

    /// No minimum: the reactor's configured ring size.
    public var minimumOutboundCapacity: Int { 0 }

    /// Machines that parse in place from the reactor's ring buffer nothing of their own.
    public var hasUnparsedInput: Bool { false }

    /// Nothing of the machine's own is borrowed by its events.
    public mutating func eventsDelivered() -> Bool { false }

    /// Machines without buffers of their own never wait for a delivery.
    public var isWaitingForDelivery: Bool { false }

    /// No keep-alive unit: every byte goes through the rings.
    public var hasOnlyKeepAliveOutput: Bool { false }

    /// No keep-alive unit: every byte goes through the rings.
    public func isKeepAlive(_ bytes: UnsafeRawBufferPointer) -> Bool { false }
}

extension ConnectionEngine: SansIOConnection {
    /// The largest frame this engine accepts (its `max-frame-size`), which must fit whole.
    public var minimumInboundCapacity: Int { Int(configuration.maxFrameSize) }

    /// The largest frame the peer accepts (its `max-frame-size`; 512 until its OPEN has
    /// arrived), which the engine needs room for: it waits for a buffer that large
    /// before writing a connection frame that does not fit, and it splits transfers at
    /// the room it is given, so a smaller ring only costs more frames per message.
    public var minimumOutboundCapacity: Int { Int(remoteMaxFrameSize) }

    /// Only a heartbeat (one empty frame) is due.
    public var hasOnlyKeepAliveOutput: Bool { onlyEmptyFrameDue }

    /// Whole empty frames only, while AMQP frames flow.
    public func isKeepAlive(_ bytes: UnsafeRawBufferPointer) -> Bool { areEmptyFrames(bytes) }
}

/// A machine that carries the protocol that matters inside layers of transport (TLS,
/// WebSocket), so code that drives the protocol reaches it through any stack of them.
/// The protocol itself (`ConnectionEngine`) is its own innermost machine.
public protocol LayeredConnection: SansIOConnection {
    /// The machine at the top of the stack.
    associatedtype Innermost
    /// The machine at the top of the stack, in place (mutating it mutates this one).
    var innermost: Innermost { get set }
}

extension ConnectionEngine: LayeredConnection {
    // Inlinable: reached per message from other modules, where an opaque `_modify`
    // would cost a coroutine frame per call.
    /// The engine itself.
    @inlinable
    public var innermost: ConnectionEngine {
        get { self }
        _modify { yield &self }
        set { self = newValue }
    }
}

extension Reactor where Connection: LayeredConnection {
    /// `withConnection` for the protocol inside the connection's transport layers (the
    /// `ConnectionEngine` inside TLS and WebSocket): calls `body` with it, then serves its
    /// output. Returns `nil` if the connection is closed.
    @inlinable
    @discardableResult
    public func withInner<R, E: Error>(
        _ id: ConnectionID, _ body: (inout Connection.Innermost) throws(E) -> R
    ) throws(E) -> R? {
        try withConnection(id) { (m) throws(E) -> R in try body(&m.innermost) }
    }

    /// `inspect` for the protocol inside the connection's transport layers.
    @inlinable
    public func inspectInner<R>(_ id: ConnectionID, _ body: (borrowing Connection.Innermost) -> R) -> R? {
        inspect(id) { m in body(m.innermost) }
    }
}
