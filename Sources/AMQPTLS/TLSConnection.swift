public import AMQPEngine
public import AMQPReactor

/// A sans-I/O TLS layer around another sans-I/O machine, for the reactor to drive like
/// any other: ciphertext in → OpenSSL (memory BIOs) → decrypted bytes, which `inner`
/// parses in place; `inner`'s output → OpenSSL → ciphertext out.
///
/// ```swift
/// let context = try TLSContext(.client(serverName: "broker.example.com"))
/// var engine = ConnectionEngine(configuration: config)
/// engine.open()
/// let machine = try TLSConnection(engine, session: TLSSession(context: context))
/// let reactor = try Reactor<TLSConnection<ConnectionEngine>>()
/// try reactor.connect(to: address, connection: machine) { reactor, id, event in … }
/// ```
///
/// Made with `plaintext:` it passes bytes straight through, so one reactor type carries
/// TLS and plaintext connections side by side (a broker listening on 5671 and 5672).
///
/// Zero-copy above TLS: OpenSSL decrypts into a ring of this layer's own, and `inner`
/// parses its frames in place there; the bytes stay put until the reactor says the
/// events that may borrow them were delivered (`eventsDelivered`).
///
/// Failures (an expired, untrusted or wrong-host certificate, a plaintext peer, a broken
/// handshake) end TLS with a typed `TLSError` (`session.failure`); `inner` learns
/// through `transportClosed` with its text, so its own error says what failed, and the
/// machine finishes once any alert is written, so the reactor closes the socket.
public struct TLSConnection<Inner: SansIOConnection>: SansIOConnection {
    /// Events are the inner machine's: TLS reports through `session`.
    public typealias Event = Inner.Event

    /// The protocol above TLS.
    public var inner: Inner
    /// The TLS state; `nil` for a plaintext connection.
    public let session: TLSSession?
    /// Called once, when the handshake completes, with what it established (a server
    /// gives the client certificate's subject to SASL EXTERNAL here), before any byte
    /// above TLS reaches `inner`.
    public var onEstablished: ((inout Inner, TLSPeerInfo) -> Void)?

    /// `inner` over TLS.
    public init(_ inner: Inner, session: TLSSession, onEstablished: ((inout Inner, TLSPeerInfo) -> Void)? = nil) {
        self.inner = inner
        self.session = session
        self.onEstablished = onEstablished
        session.plainCapacity = max(session.plainCapacity, inner.minimumInboundCapacity)
    }

    /// `inner` without TLS: every call passes straight through.
    public init(plaintext inner: Inner) {
        self.inner = inner
        self.session = nil
        self.onEstablished = nil
    }

    // MARK: SansIOConnection

    /// Takes ciphertext (at most what keeps OpenSSL's input buffer bounded), decrypts what
    /// it can into the layer's ring, and lets `inner` parse it there.
    public mutating func receive(_ bytes: UnsafeRawBufferPointer, now: EngineInstant) -> Int {
        guard let s = session else { return inner.receive(bytes, now: now) }
        s.armDeadline(now)
        var used = 0
        if s.phase == .detecting || s.phase == .awaitingHeader {
            used = s.receiveHeader(bytes)
            if s.phase == .failed { failInner(s); return bytes.count }
        }
        if s.phase == .handshaking || s.phase == .established {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[used...])
            if s.phase == .handshaking && !rest.isEmpty && s.rejectsPlaintextAnswer(rest) {
                if s.phase == .failed { failInner(s); return bytes.count }
                return used  // the first bytes may be the start of an AMQP header: wait
            }
            used += s.feed(rest)
            drive(s, now: now)
        } else if s.phase == .failed {
            // After a failure nothing more is read: whatever the peer sends is dropped.
            return bytes.count
        }
        return used
    }

    /// The inner machine's next event.
    public mutating func nextEvent() -> Inner.Event? { inner.nextEvent() }

    /// Writes the TLS header, then ciphertext OpenSSL has queued (handshake messages,
    /// alerts), then encrypts what `inner` produces; ciphertext that does not fit stays
    /// in OpenSSL's write buffer for the next call.
    public mutating func produce(into buffer: UnsafeMutableRawBufferPointer, now: EngineInstant) -> Int {
        guard let s = session else { return inner.produce(into: buffer, now: now) }
        s.armDeadline(now)
        var n = s.writeHeader(into: buffer)
        if s.needsStep {
            s.needsStep = false
            drive(s, now: now)
        }
        n += s.drain(into: UnsafeMutableRawBufferPointer(rebasing: buffer[n...]))
        guard s.phase == .established else { return n }
        while n < buffer.count && s.pendingCiphertext == 0 && inner.hasPendingOutput {
            let room = s.stagingRoom(for: max(buffer.count - n, inner.minimumOutboundCapacity))
            let k = inner.produce(into: room, now: now)
            if k == 0 { break }
            guard s.encrypt(UnsafeRawBufferPointer(rebasing: room[..<k])) else {
                failInner(s)
                break
            }
            n += s.drain(into: UnsafeMutableRawBufferPointer(rebasing: buffer[n...]))
        }
        if s.phase == .established && inner.isFinished && !inner.hasPendingOutput && !s.sentCloseNotify {
            s.closeNotify()
            n += s.drain(into: UnsafeMutableRawBufferPointer(rebasing: buffer[n...]))
        }
        return n
    }

    /// Plaintext: `inner`'s gathered produce (large payloads by reference). Over TLS the
    /// bytes are encrypted, so everything is copied and `gather` is left alone.
    public mutating func produce(into buffer: UnsafeMutableRawBufferPointer, gather: OutboundSegments, now: EngineInstant) -> Int {
        guard session == nil else { return produce(into: buffer, now: now) }
        return inner.produce(into: buffer, gather: gather, now: now)
    }

    /// True when there are header bytes, ciphertext, a handshake step or the inner
    /// machine's output (once established) to write.
    public var hasPendingOutput: Bool {
        guard let s = session else { return inner.hasPendingOutput }
        if s.headerToSend > 0 || s.needsStep || s.pendingCiphertext > 0 { return true }
        guard s.phase == .established else { return false }
        return inner.hasPendingOutput || (inner.isFinished && !s.sentCloseNotify)
    }

    /// The inner machine's, in plaintext; never over TLS (its records wrap every byte).
    public var hasOnlyKeepAliveOutput: Bool { session == nil && inner.hasOnlyKeepAliveOutput }

    /// The inner machine's, in plaintext; never over TLS.
    public func isKeepAlive(_ bytes: UnsafeRawBufferPointer) -> Bool { session == nil && inner.isKeepAlive(bytes) }

    /// The inner machine's deadline, or the handshake's if earlier.
    public var nextDeadline: EngineInstant? {
        guard let s = session, s.phase != .established, s.phase != .failed, let h = s.handshakeDeadline else {
            return inner.nextDeadline
        }
        return inner.nextDeadline.map { min($0, h) } ?? h
    }

    /// Fails a handshake past its deadline; runs the inner machine's due deadlines.
    public mutating func poll(now: EngineInstant) {
        if let s = session, s.phase != .established, s.phase != .failed, let h = s.handshakeDeadline, now >= h {
            s.fail(TLSError(
                .handshakeTimedOut,
                detail: "the TLS handshake did not complete within \(s.configuration.handshakeTimeout)"))
            failInner(s)
            return
        }
        if let due = inner.nextDeadline, due <= now { inner.poll(now: now) }
    }

    /// True when the inner machine finished and close_notify went out, or TLS failed and
    /// its alert went out.
    public var isFinished: Bool {
        guard let s = session else { return inner.isFinished }
        if s.pendingCiphertext > 0 || s.headerToSend > 0 { return false }
        switch s.phase {
        case .failed: return true
        case .established: return inner.isFinished && (s.sentCloseNotify || s.receivedCloseNotify)
        default: return inner.isFinished
        }
    }

    /// The socket ended: during the handshake that is a TLS failure of its own
    /// (`.closedDuringHandshake`); afterwards the inner machine hears it as usual.
    public mutating func transportClosed(_ description: String) {
        guard let s = session else { return inner.transportClosed(description) }
        switch s.phase {
        case .failed:
            return
        case .detecting, .awaitingHeader, .handshaking:
            s.fail(TLSError(
                .closedDuringHandshake,
                detail: "the connection ended during the TLS handshake (\(description)); the peer may have refused our certificate or not speak TLS here"))
            failInner(s)
        case .established:
            inner.transportClosed(s.receivedCloseNotify ? "after the peer's TLS close_notify: \(description)" : description)
        }
    }

    /// With TLS no minimum: ciphertext is taken as it comes, and the inner machine's
    /// minimum applies to the decrypted ring.
    public var minimumInboundCapacity: Int { session == nil ? inner.minimumInboundCapacity : 0 }

    /// The inner machine's minimum.
    public var minimumOutboundCapacity: Int {
        // A whole frame of `inner` per TLS write keeps records full; ciphertext that does
        // not fit waits in OpenSSL's buffer, so any size makes progress.
        inner.minimumOutboundCapacity
    }

    /// True while decrypted bytes wait for the inner machine.
    public var hasUnparsedInput: Bool {
        guard let s = session else { return inner.hasUnparsedInput }
        return s.unparsedPlaintext > 0 || inner.hasUnparsedInput
    }

    /// True when decrypted bytes or ciphertext wait for room that only the delivery of
    /// the events (releasing the decrypted ring) can make.
    public var isWaitingForDelivery: Bool {
        guard let s = session else { return inner.isWaitingForDelivery }
        return s.inputStalled || inner.isWaitingForDelivery
    }

    /// Releases the decrypted bytes the delivered events could borrow; true when input
    /// waited for that room.
    public mutating func eventsDelivered() -> Bool {
        let innerWants = inner.eventsDelivered()
        guard let s = session else { return innerWants }
        return s.released() || innerWants
    }

    // MARK: Driving

    /// Steps the handshake, decrypts what fits, and offers the decrypted bytes to `inner`.
    mutating func drive(_ s: TLSSession, now: EngineInstant) {
        if s.phase == .handshaking {
            switch s.handshake() {
            case .done(let info):
                onEstablished?(&inner, info)
            case .waiting:
                return
            case .failed:
                failInner(s)
                return
            }
        }
        guard s.phase == .established else { return }
        if !s.decrypt() {
            failInner(s)
            return
        }
        s.offer { bytes in inner.receive(bytes, now: now) }
    }

    /// Tells `inner` that its transport failed, with the TLS error's text.
    mutating func failInner(_ s: TLSSession) {
        guard let failure = s.failure else { return }
        inner.transportClosed("\(failure)")
    }
}

extension TLSConnection: LayeredConnection where Inner: LayeredConnection {
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
