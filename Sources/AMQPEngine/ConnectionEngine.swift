public import AMQPCodec

/// One AMQP 1.0 connection as a sans-I/O state machine, for either role.
///
/// The driver (a reactor, or a test stepping by hand) moves bytes and time in and out:
///
/// 1. `receive(_:now:)` with bytes read from the transport. The engine parses every
///    complete frame in place and returns how many bytes it consumed; keep the rest and
///    pass it again, with more, next time.
/// 2. Drain `nextEvent()` until `nil`. Delivery payloads in events borrow the bytes given
///    to `receive`, so handle or copy them before reusing that memory.
/// 3. `produce(into:now:)` with free space; write what it returns to the transport.
/// 4. Sleep until I/O or `nextDeadline`, then call `poll(now:)` (idle checks, heartbeats).
///
/// When `isFinished` is true, everything is written and the transport can be closed.
/// The engine never performs I/O, never reads a clock and never calls back into user
/// code: bytes and `now` go in; bytes, events and a deadline come out.
public struct ConnectionEngine {
    /// The settings this connection was created with.
    public let configuration: ConnectionConfiguration
    /// The current state.
    public internal(set) var state: ConnectionState = .start
    /// The peer's OPEN, once it has arrived.
    public internal(set) var remoteOpen: Open? = nil
    /// `remoteOpen != nil`, kept apart because that test copies the whole OPEN, and it
    /// is made for every frame.
    var remoteOpenReceived = false
    /// The error the connection ended with, if any.
    public internal(set) var failure: EngineError? = nil

    /// Where we are in the byte stream.
    enum Phase: Equatable {
        /// Waiting for the peer's SASL protocol header.
        case saslHeader
        /// Exchanging SASL frames.
        case saslFrames
        /// Waiting for the peer's AMQP protocol header.
        case amqpHeader
        /// Exchanging AMQP frames.
        case amqpFrames
        /// The stream is over (END or ERROR, or framing was lost): ignore input.
        case finished
    }
    var phase: Phase
    var saslClient: SASLClient? = nil
    var saslServer: SASLServer? = nil
    /// Set once SASL (if any) has succeeded, so the AMQP layer may start.
    var saslDone: Bool
    /// The application asked to open (client) or to answer opens (server).
    var openRequested = false
    var closeRequested: AMQPError?? = nil
    var saslHeaderQueued = false
    var amqpHeaderSent = false
    var amqpHeaderReceived = false
    var openSent = false
    var closeSent = false
    /// The application asked to close: CLOSE waits until the sessions' queued frames
    /// are written (see `close(error:)`).
    var flushSessionsBeforeClose = false

    var frameDecoder: FrameDecoder
    var control = RingQueue<OutboundFrame>()
    @usableFromInline var events = RingQueue<ConnectionEvent>()

    var lastReceived: EngineInstant = .zero
    var lastSent: EngineInstant = .zero
    /// When our OPEN went out: the local idle time-out counts from here or from the last
    /// frame received, whichever is later.
    var idleSince: EngineInstant? = nil
    /// Give up waiting for the peer's CLOSE at this instant.
    var closeDeadline: EngineInstant? = nil
    /// When to stop waiting for the last frames (our error CLOSE, a SASL outcome) to be
    /// written once the engine only waits for that (`endAfterFlush`): a peer that stopped
    /// reading would otherwise hold the connection, and every waiter on it, for ever.
    /// Set by the first `poll` after `endAfterFlush` (at once by the idle time-out).
    var flushDeadline: EngineInstant? = nil
    /// End as soon as the control queue is written (framing lost, idle time-out).
    var endAfterFlush = false

    /// The largest frame we may send: the peer's max-frame-size once known, else 512.
    public internal(set) var remoteMaxFrameSize: UInt32 = FrameHeader.minimumMaxFrameSize
    /// The highest channel both sides allow: the lower of the two channel-max values.
    public internal(set) var negotiatedChannelMax: UInt16
    /// The peer's idle time-out in milliseconds, 0 when it has none.
    public internal(set) var remoteIdleTimeout: UInt32 = 0

    /// Sessions, indexed by local channel.
    var sessions = SessionTable()

    /// Creates an engine; it does nothing until `open()` (client) or until bytes arrive
    /// (server).
    ///
    /// - Precondition: `configuration.validate()` returns `nil`.
    public init(configuration: ConnectionConfiguration) {
        precondition(configuration.validate() == nil, configuration.validate() ?? "")
        self.configuration = configuration
        negotiatedChannelMax = configuration.channelMax
        sessions.shared.maxBufferedDeliveryBytes = configuration.limits.maxBufferedDeliveryBytes
        sessions.shared.autoAccept = configuration.autoAccept
        frameDecoder = FrameDecoder(maxFrameSize: configuration.limits.maxSASLFrameSize, limits: configuration.limits.decode)
        switch configuration.sasl {
        case .client?, .clientPreferring?:
            saslClient = SASLClient(preferences: configuration.sasl?.clientPreferences ?? [], hostname: configuration.hostname)
            phase = .saslHeader
            saslDone = false
        case .server(let mechanisms, let authenticator)?:
            saslServer = SASLServer(mechanisms: mechanisms, authenticator: authenticator, maxRounds: configuration.limits.maxSASLRounds)
            phase = .saslHeader
            saslDone = false
        case nil:
            phase = .amqpHeader
            saslDone = true
            frameDecoder.maxFrameSize = configuration.maxFrameSize
        }
    }

    // MARK: Application requests

    /// Starts the connection: sends the protocol header (SASL first when configured) and,
    /// once any SASL exchange succeeds, OPEN. Work queued before the peer's header
    /// arrives is pipelined (OPEN_PIPE). On a server, answers the client's OPEN.
    public mutating func open() {
        guard !openRequested, !state.isFinal else { return }
        openRequested = true
        advance()
    }

    /// Closes the connection: sends CLOSE (with `error`, then discards everything but the
    /// peer's CLOSE), waits for the peer's CLOSE up to `closeTimeout`, and ends.
    ///
    /// What the sessions had already queued (dispositions, flows, DETACH and END) is
    /// written first, as Proton does, so settlements made just before closing reach the
    /// peer; transfers not yet started are not begun and are reported as not sent.
    public mutating func close(error: AMQPError? = nil) {
        guard closeRequested == nil, !state.isFinal else { return }
        closeRequested = .some(error)
        flushSessionsBeforeClose = true
        if !openRequested { openRequested = true }
        advance()
    }

    /// Server: the identity the transport below established for the client (a TLS
    /// layer's verified client certificate subject), which SASL EXTERNAL authenticates
    /// as. Set it before the client's sasl-init arrives (a TLS layer does when its
    /// handshake completes, before any AMQP byte can pass). With one, EXTERNAL is decided
    /// by `SASLAuthenticator.authenticateExternal`; without, by `authenticate`.
    public mutating func setExternalIdentity(_ identity: String?) {
        saslServer?.externalIdentity = identity
    }

    /// The next event, or `nil` when all have been drained.
    ///
    /// Inlinable (see `RingQueue`): an event's destruction then costs the caller a switch
    /// on its case, not calls through value witnesses.
    @inlinable
    public mutating func nextEvent() -> ConnectionEvent? { events.popFirst() }

    /// True when every byte has been produced and the connection has ended: the driver
    /// may close the transport.
    public var isFinished: Bool { (phase == .finished || state.isFinal) && control.isEmpty }

    /// True when `produce` would write something now.
    public var hasPendingOutput: Bool { !control.isEmpty || sessionsHaveOutput }

    // MARK: Bytes in

    /// Parses as many complete protocol headers and frames from `bytes` as there are, and
    /// returns how many bytes were consumed (the rest is an incomplete frame: pass it
    /// again with more bytes appended).
    public mutating func receive(_ bytes: UnsafeRawBufferPointer, now: EngineInstant) -> Int {
        if !bytes.isEmpty { lastReceived = now }
        var consumed = 0
        while consumed < bytes.count {
            if state.isFinal { return bytes.count }
            switch phase {
            case .finished:
                return bytes.count
            case .saslHeader, .amqpHeader:
                switch receiveHeader(UnsafeRawBufferPointer(rebasing: bytes[consumed...]), offset: consumed) {
                case .needMore: return consumed
                case .consumed(let n): consumed += n
                }
            case .saslFrames, .amqpFrames:
                // A TRANSFER in its usual form, once the connection is open: cut and read
                // in one pass. Anything else, and any malformed frame, takes the general
                // path below (which is also where traces are made).
                if phase == .amqpFrames && sessionFramesFlow && !configuration.trace {
                    // Transfers in the form senders write, one after another, without
                    // the checks above between them: each one's handling says whether
                    // the connection still takes frames this way.
                    if !receiveCommonTransfers(bytes, consumed: &consumed) || consumed == bytes.count { continue }
                    if let t = frameDecoder.decodeTransferFrame(UnsafeRawBufferPointer(rebasing: bytes[consumed...]), baseOffset: consumed) {
                        consumed &+= t.length
                        receiveTransfer(t.transfer, channel: t.channel, payload: t.payload)
                        continue
                    }
                }
                let rest = UnsafeRawBufferPointer(rebasing: bytes[consumed...])
                let result: FrameDecoder.Result
                do {
                    result = try frameDecoder.decode(rest, baseOffset: consumed)
                } catch {
                    framingFailed(error)
                    return bytes.count
                }
                switch result {
                case .needMore: return consumed
                case .frame(let frame):
                    consumed += frame.length
                    receiveFrame(frame, now: now)
                }
            }
        }
        return consumed
    }

    /// Takes TRANSFER frames in the form senders write from `bytes[consumed...]`, one
    /// after another, while each is taken as it is; returns false when one ended a
    /// session or the connection (the receive loop's checks must run again).
    ///
    /// A function of its own, kept small, so that the inlinable frame cut is inlined here
    /// (the optimizer inlines nothing more into a function as large as `receive`).
    @inline(never)
    mutating func receiveCommonTransfers(_ bytes: UnsafeRawBufferPointer, consumed: inout Int) -> Bool {
        let decoder = frameDecoder
        while let t = decoder.decodeCommonTransferFrame(UnsafeRawBufferPointer(rebasing: bytes[consumed...])) {
            consumed &+= t.length
            guard receiveTransfer(t.transfer, channel: t.channel, payload: t.payload) else { return false }
        }
        return true
    }

    // MARK: Bytes out

    /// Writes pending frames into `buffer` (as many as fit whole) and returns the number of
    /// bytes written. Give it at least the peer's max-frame-size of room, or large frames
    /// wait until there is.
    public mutating func produce(into buffer: UnsafeMutableRawBufferPointer, now: EngineInstant) -> Int {
        produce(into: buffer, gathering: nil, now: now)
    }

    /// `produce(into:now:)` that sends large payloads by reference: a TRANSFER chunk of at
    /// least `gather.threshold` bytes is not copied into `buffer`; its frame header and
    /// performative are, and the payload range is appended to `gather`, to go out after
    /// the buffer bytes written before it (Docs/reactor.md, "Gathered sends"). Past
    /// `gather`'s limits the engine copies as `produce(into:now:)` does. Only for a
    /// driver that writes the bytes as they are: a layer that transforms them (TLS,
    /// WebSocket) must use `produce(into:now:)`.
    public mutating func produce(into buffer: UnsafeMutableRawBufferPointer, gather: OutboundSegments, now: EngineInstant) -> Int {
        produce(into: buffer, gathering: gather, now: now)
    }

    @inline(__always)
    mutating func produce(into buffer: UnsafeMutableRawBufferPointer, gathering gather: OutboundSegments?, now: EngineInstant) -> Int {
        var e = AMQPEncoder(buffer)
        produceControl(into: &e, room: buffer.count, now: now)
        if control.isEmpty && (phase == .amqpFrames) && state != .end {
            produceSessionFrames(into: &e, gather: gather, now: now)
            // A CLOSE held back for the sessions' frames can follow them now.
            if flushSessionsBeforeClose && !closeSent && closeRequested != nil && !sessionsHaveOutput {
                advance()
                produceControl(into: &e, room: buffer.count, now: now)
            }
        }
        if e.count > 0 { lastSent = now }
        return e.count
    }

    /// Writes the connection's own frames (headers, SASL, OPEN, CLOSE, empty frames) in
    /// order, as far as `room` allows.
    mutating func produceControl(into e: inout AMQPEncoder, room: Int, now: EngineInstant) {
        while let frame = control.first {
            let start = e.count
            // The frame's size; one more than the buffer when it did not fit at all.
            var size: Int
            do {
                try encode(frame, into: &e)
                size = e.count - start
            } catch {
                guard error.code == .bufferTooSmall else {
                    control.popFirst()
                    fail(EngineError(.internalError, "cannot encode \(frame.name): \(error)", origin: .local), sendClose: false)
                    continue
                }
                // A driver's buffer may be nearly full: wait for room, unless the whole
                // buffer could hold the largest frame the peer accepts and this one
                // still does not fit.
                guard case .amqp = frame, start == 0, UInt64(room) >= UInt64(remoteMaxFrameSize) else { break }
                size = room + 1
            }
            if case .amqp(let channel, let p) = frame, UInt64(size) > UInt64(remoteMaxFrameSize) {
                e.rewind(to: start)
                if let smaller = Self.shrunk(p) {
                    // Our CLOSE must reach the peer even when its description does not fit.
                    control.replaceFirst(with: .amqp(channel: channel, smaller))
                    continue
                }
                // The peer would reject it; nothing a peer sends can make us emit this,
                // so it is our own error (e.g. huge properties on OPEN or ATTACH).
                let what = size > room ? "over \(room)" : "\(size)"
                let error = EngineError(.frameSizeTooSmall, "\(p.name) frame of \(what) bytes exceeds the peer's max-frame-size \(remoteMaxFrameSize)", origin: .local)
                if case .open(let open) = p, let minimal = Self.minimal(open) {
                    // OPEN must still precede the CLOSE: send it without the optional
                    // lists and properties, which are what make it large.
                    control.replaceFirst(with: .amqp(channel: channel, .open(minimal)))
                } else {
                    control.popFirst()
                }
                fail(error, sendClose: true)
                continue
            }
            control.popFirst()
            if configuration.trace { events.append(.trace(frame.traceLine)) }
            wrote(frame, now: now)
        }
    }

    /// A smaller CLOSE for one too large for the peer: the condition without its
    /// description and info, then no error at all.
    static func shrunk(_ p: Performative) -> Performative? {
        guard case .close(let close) = p, let error = close.error else { return nil }
        if error.errorDescription != nil || error.info != nil { return .close(Close(error: AMQPError(condition: error.condition))) }
        return .close(Close())
    }

    /// `open` without its optional lists and properties, or `nil` if it has none (so
    /// shrinking always ends).
    static func minimal(_ open: Open) -> Open? {
        let minimal = Open(
            containerID: open.containerID, hostname: open.hostname, maxFrameSize: open.maxFrameSize,
            channelMax: open.channelMax, idleTimeOut: open.idleTimeOut)
        return minimal == open ? nil : minimal
    }

    func encode(_ frame: OutboundFrame, into e: inout AMQPEncoder) throws(EncodeError) {
        switch frame {
        case .header(let h): try h.encode(into: &e)
        case .sasl(let p): try FrameEncoder.encode(p, into: &e)
        case .amqp(let channel, let p): try FrameEncoder.encode(p, channel: channel, into: &e)
        case .empty: try FrameEncoder.encodeEmptyFrame(into: &e)
        }
    }

    // MARK: State bookkeeping

    /// Moves to `new` and reports it (repeats included, as the reference does).
    mutating func transition(to new: ConnectionState) {
        let old = state
        state = new
        events.append(.stateChanged(from: old, to: new))
        if new.isFinal {
            events.append(.closed(failure))
        }
    }
}

/// A frame waiting in the control queue.
enum OutboundFrame {
    case header(ProtocolHeader)
    case sasl(SASLPerformative)
    case amqp(channel: UInt16, Performative)
    case empty

    var name: String {
        switch self {
        case .header: "protocol header"
        case .sasl(let p): p.name
        case .amqp(_, let p): p.name
        case .empty: "empty frame"
        }
    }

    /// The reference's trace style: `-> [OPEN]* {…}`, `-> Header (AMQP 0.1.0.0)`.
    var traceLine: String {
        switch self {
        case .header(let h): FrameTraceFormatter.header(h, .outgoing)
        case .sasl(let p): FrameTraceFormatter.sasl(p, .outgoing)
        case .amqp(_, let p): FrameTraceFormatter.performative(p, .outgoing)
        case .empty: FrameTraceFormatter.emptyFrame(.outgoing)
        }
    }
}
