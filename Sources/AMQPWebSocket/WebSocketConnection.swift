public import AMQPEngine
public import AMQPReactor

/// A sans-I/O WebSocket layer (RFC 6455, subprotocol `amqp`) around another sans-I/O
/// machine, for the reactor to drive like any other, alone or under TLS:
/// `TLSConnection<WebSocketConnection<ConnectionEngine>>` is TCP → TLS → WebSocket → AMQP.
///
/// ```swift
/// var engine = ConnectionEngine(configuration: config)
/// engine.open()
/// let ws = try WebSocketSession(configuration: .client(host: "broker.example.com"))
/// let machine = TLSConnection(plaintext: WebSocketConnection(engine, session: ws))
/// ```
///
/// Made with `passThrough:` it forwards every call after one `nil` check, so one reactor
/// type carries WebSocket and plain connections side by side.
///
/// Inbound, a client's `inner` parses a server's (unmasked) payload in place, where it
/// arrived; only units split across WebSocket frames are joined in a ring of this
/// layer's own. A server unmasks a client's payload while copying it into that ring, and
/// `inner` parses it in place there. Ring bytes stay put until the reactor says the
/// events that may borrow them were delivered (`eventsDelivered`). Outbound, `inner`
/// writes straight into the reactor's buffer behind room left for the frame header; a
/// client masks the payload there, in place.
///
/// Failures (a refused upgrade, a wrong accept key or subprotocol, a frame the protocol
/// forbids, the peer closing) end the layer with a typed `WebSocketError`
/// (`session.failure`), send the close status when the WebSocket was open, and tell
/// `inner` through `transportClosed` with its text.
public struct WebSocketConnection<Inner: SansIOConnection>: SansIOConnection {
    /// Events are the inner machine's: WebSocket reports through `session`.
    public typealias Event = Inner.Event

    /// The protocol above WebSocket.
    public var inner: Inner
    /// The WebSocket state; `nil` when the layer passes bytes straight through.
    public let session: WebSocketSession?

    /// `inner` over WebSocket.
    public init(_ inner: Inner, session: WebSocketSession) {
        self.inner = inner
        self.session = session
        session.dataCapacity = max(session.dataCapacity, inner.minimumInboundCapacity)
    }

    /// `inner` without WebSocket: every call passes straight through.
    public init(passThrough inner: Inner) {
        self.inner = inner
        self.session = nil
    }

    // MARK: SansIOConnection

    /// Takes the handshake, then frames: their payload goes into the layer's ring, where
    /// `inner` parses it.
    public mutating func receive(_ bytes: UnsafeRawBufferPointer, now: EngineInstant) -> Int {
        guard let s = session else { return inner.receive(bytes, now: now) }
        s.armDeadline(now)
        var used = 0
        if s.phase == .handshaking {
            used = s.receiveHandshake(bytes)
            if s.phase == .failed {
                failInner(s)
                return bytes.count
            }
            if s.phase == .handshaking { return used }
        }
        guard s.phase == .open else { return bytes.count }  // failed: what comes is dropped
        let rest = UnsafeRawBufferPointer(rebasing: bytes[used...])
        if s.isClient && s.unparsedPayload == 0 {
            used += receiveInPlace(s, rest, now: now)
        } else {
            used += s.readFrames(rest)
            // What arrived before a violation or a close is still the peer's data.
            s.offer { inner.receive($0, now: now) }
        }
        if s.phase == .failed {
            failInner(s)
            return bytes.count
        }
        if s.receivedClose && !s.closeReported {
            s.closeReported = true
            if !inner.isFinished {
                s.failure = WebSocketError(.peerClosed, detail: s.peerCloseDescription, closeStatus: s.peerCloseStatus)
                inner.transportClosed(s.peerCloseDescription)
            }
        }
        return used
    }

    /// The inner machine's next event.
    public mutating func nextEvent() -> Inner.Event? { inner.nextEvent() }

    /// Writes the handshake and control frames, then what `inner` produces, one binary
    /// frame per call into the room (more when a frame reaches 64 KiB); a close frame
    /// once `inner` has finished.
    public mutating func produce(into buffer: UnsafeMutableRawBufferPointer, now: EngineInstant) -> Int {
        guard let s = session else { return inner.produce(into: buffer, now: now) }
        s.armDeadline(now)
        var n = s.writeOutgoing(into: buffer)
        guard s.phase == .open, !s.hasOutgoing else { return n }
        while !s.sentClose && n < buffer.count && inner.hasPendingOutput {
            let k = produceFrame(s, into: UnsafeMutableRawBufferPointer(rebasing: buffer[n...]), now: now)
            if k == 0 { break }
            n += k
        }
        if !s.sentClose && inner.isFinished && !inner.hasPendingOutput {
            s.queueClose(.normal)
            n += s.writeOutgoing(into: UnsafeMutableRawBufferPointer(rebasing: buffer[n...]))
        }
        return n
    }

    /// Passing through: `inner`'s gathered produce (large payloads by reference). Over
    /// WebSocket the bytes are framed (and a client's masked), so everything is copied
    /// and `gather` is left alone.
    public mutating func produce(into buffer: UnsafeMutableRawBufferPointer, gather: OutboundSegments, now: EngineInstant) -> Int {
        guard session == nil else { return produce(into: buffer, now: now) }
        return inner.produce(into: buffer, gather: gather, now: now)
    }

    /// True when handshake or control bytes wait, or (once open) the inner machine's
    /// output or the closing frame.
    public var hasPendingOutput: Bool {
        guard let s = session else { return inner.hasPendingOutput }
        if s.hasOutgoing { return true }
        guard s.phase == .open, !s.sentClose else { return false }
        return inner.hasPendingOutput || inner.isFinished
    }

    /// The inner machine's, in plaintext; never over WebSocket (its frames wrap every byte).
    public var hasOnlyKeepAliveOutput: Bool { session == nil && inner.hasOnlyKeepAliveOutput }

    /// The inner machine's, in plaintext; never over WebSocket.
    public func isKeepAlive(_ bytes: UnsafeRawBufferPointer) -> Bool { session == nil && inner.isKeepAlive(bytes) }

    /// The inner machine's deadline, or the handshake's if earlier.
    public var nextDeadline: EngineInstant? {
        guard let s = session, s.phase == .handshaking, let h = s.handshakeDeadline else { return inner.nextDeadline }
        return inner.nextDeadline.map { min($0, h) } ?? h
    }

    /// Fails a handshake past its deadline; runs the inner machine's due deadlines.
    public mutating func poll(now: EngineInstant) {
        if let s = session, s.phase == .handshaking, let h = s.handshakeDeadline, now >= h {
            s.fail(WebSocketError(
                .handshakeTimedOut, detail: "the WebSocket upgrade did not complete within \(s.configuration.handshakeTimeout)"))
            failInner(s)
            return
        }
        if let due = inner.nextDeadline, due <= now { inner.poll(now: now) }
    }

    /// True when the inner machine finished and the close handshake went out (or the
    /// peer's came in), or the layer failed and its last bytes went out.
    public var isFinished: Bool {
        guard let s = session else { return inner.isFinished }
        if s.hasOutgoing { return false }
        switch s.phase {
        case .failed: return true
        case .open: return inner.isFinished && (s.sentClose || s.receivedClose)
        case .handshaking: return inner.isFinished
        }
    }

    /// The socket ended: during the handshake that is a failure of its own
    /// (`.closedDuringHandshake`); afterwards the inner machine hears it as usual.
    public mutating func transportClosed(_ description: String) {
        guard let s = session else { return inner.transportClosed(description) }
        switch s.phase {
        case .failed:
            return
        case .handshaking:
            s.fail(WebSocketError(
                .closedDuringHandshake,
                detail: "the connection ended during the WebSocket upgrade (\(description)); the peer may not speak WebSocket here"))
            failInner(s)
        case .open:
            inner.transportClosed(s.receivedClose ? "after \(s.peerCloseDescription): \(description)" : description)
        }
    }

    /// With WebSocket: room for the peer's whole handshake head; for a client also for
    /// a whole unit of the inner machine behind a frame header, since it parses a
    /// server's payload in place. (A server's unmasked payload goes to the ring, where
    /// the inner machine's minimum applies.)
    public var minimumInboundCapacity: Int {
        guard let s = session else { return inner.minimumInboundCapacity }
        if s.isClient { return max(s.configuration.maxHandshakeBytes, inner.minimumInboundCapacity + 14) }
        return s.configuration.maxHandshakeBytes
    }

    /// The inner machine's minimum plus the largest header a frame needs.
    public var minimumOutboundCapacity: Int {
        guard session != nil else { return inner.minimumOutboundCapacity }
        return inner.minimumOutboundCapacity + 14
    }

    /// True while payload bytes wait for the inner machine.
    public var hasUnparsedInput: Bool {
        guard let s = session else { return inner.hasUnparsedInput }
        return s.unparsedPayload > 0 || inner.hasUnparsedInput
    }

    /// True when frames wait for room that only the delivery of the events (releasing
    /// the payload ring) can make.
    public var isWaitingForDelivery: Bool {
        guard let s = session else { return inner.isWaitingForDelivery }
        return s.inputStalled || inner.isWaitingForDelivery
    }

    /// Releases the payload bytes the delivered events could borrow; true when input
    /// waited for that room.
    public mutating func eventsDelivered() -> Bool {
        let innerWants = inner.eventsDelivered()
        guard let s = session else { return innerWants }
        return s.released() || innerWants
    }

    // MARK: Frames in, in place

    /// Client, nothing carried over in the ring: offers each frame's payload to `inner`
    /// where it lies in `input` (no copy). Where `inner` leaves a partial unit at the end
    /// of a frame (its frame split across WebSocket frames), the rest of the input goes
    /// through the ring, until `inner` has taken all of it. Returns the bytes consumed.
    mutating func receiveInPlace(_ s: WebSocketSession, _ input: UnsafeRawBufferPointer, now: EngineInstant) -> Int {
        var used = 0
        while s.phase == .open && !s.receivedClose && used < input.count {
            if s.reader.isBetweenFrames {
                let r = s.reader.read(UnsafeRawBufferPointer(rebasing: input[used...]), into: UnsafeMutableRawBufferPointer(start: nil, count: 0))
                used += r.consumed
                if let error = r.error {
                    s.fail(error)
                    return input.count
                }
                if let control = r.control {
                    s.handleControl(control.opcode, control.payload)
                    continue
                }
                if r.consumed == 0 { break }  // a partial header: more input needed
                continue
            }
            let frameRest = s.reader.remainingPayload
            let available = min(frameRest, input.count - used)
            let k = inner.receive(UnsafeRawBufferPointer(rebasing: input[used..<(used + available)]), now: now)
            precondition(k >= 0 && k <= available, "receive consumed \(k) of \(available) bytes")
            s.reader.skipPayload(k)
            s.payloadBytesInPlace &+= k
            used += k
            if k == available { continue }
            // A partial unit: wait for the rest of this frame, or (the frame ends here)
            // join it with the next frames' payload in the ring.
            if available < frameRest { break }
            used += s.readFrames(UnsafeRawBufferPointer(rebasing: input[used...]))
            s.offer { inner.receive($0, now: now) }
            break
        }
        if s.phase == .failed || s.receivedClose { return input.count }
        return used
    }

    // MARK: Frames out

    /// One binary frame: `inner` writes its bytes behind room for the header, which is
    /// then written in front of them (the payload moves only when it is 125 bytes or
    /// less and so needs a shorter header than reserved). Frames stay at or under 64 KiB
    /// (a 4-byte header) unless `inner` has a larger unit it cannot split.
    mutating func produceFrame(_ s: WebSocketSession, into out: UnsafeMutableRawBufferPointer, now: EngineInstant) -> Int {
        let client = s.isClient
        let maskBytes = client ? 4 : 0
        var reserved = 4 + maskBytes
        guard out.count > reserved else { return 0 }
        var k = inner.produce(into: UnsafeMutableRawBufferPointer(rebasing: out[reserved..<(reserved + min(out.count - reserved, 0xFFFF))]), now: now)
        if k == 0 {
            // Nothing fitted in 64 KiB: a larger unit (a frame over 64 KiB that `inner`
            // does not split) may need the 8-byte length.
            let big = 10 + maskBytes
            guard inner.hasPendingOutput, out.count - big > 0xFFFF else { return 0 }
            reserved = big
            k = inner.produce(into: UnsafeMutableRawBufferPointer(rebasing: out[reserved...]), now: now)
            if k == 0 { return 0 }
        }
        let header = WebSocketFrame.headerLength(payload: k, masked: client)
        if header < reserved, let base = out.baseAddress {
            (base + header).copyMemory(from: base + reserved, byteCount: k)
        }
        let mask: UInt32? = client ? s.nextMask() : nil
        _ = WebSocketFrame.writeHeader(.binary, payload: k, mask: mask, into: out)
        if let mask {
            WebSocketFrame.applyMask(mask, to: UnsafeMutableRawBufferPointer(rebasing: out[header..<(header + k)]))
        }
        return header + k
    }

    /// Tells `inner` that its transport failed, with the WebSocket error's text.
    mutating func failInner(_ s: WebSocketSession) {
        guard let failure = s.failure else { return }
        inner.transportClosed("\(failure)")
    }
}

extension WebSocketConnection: LayeredConnection where Inner: LayeredConnection {
    // Inlinable: reached per message from other modules, where an opaque `_modify`
    // would cost a coroutine frame per call.
    /// The protocol at the top of the stack (`inner`'s innermost).
    @inlinable
    public var innermost: Inner.Innermost {
        get { inner.innermost }
        _modify { yield &inner.innermost }
        set { inner.innermost = newValue }
    }
}
