public import AMQPCodec

// Sessions (part 2, section 2.5): the application's requests, the peer's BEGIN and END,
// the routing of every other session frame, and the end of everything when the
// connection closes.

extension ConnectionEngine {
    // MARK: Application requests

    /// Begins a session on the lowest free channel not above the channel-max (ours until
    /// the peer's OPEN arrives, then the lower of both). May be called before the
    /// connection is open: the BEGIN waits behind our OPEN. `SessionEvent.begun` follows
    /// once the peer answers; links may be attached at once (their ATTACHes wait for it).
    ///
    /// - Throws: `amqp:illegal-state` when the connection is closing or closed,
    ///   `amqp:invalid-field` for an unusable configuration, `amqp:resource-limit-exceeded`
    ///   when every channel is taken.
    public mutating func beginSession(_ configuration: SessionConfiguration = .init()) throws(EngineError) -> SessionID {
        try checkSessionLayerOpen()
        if let why = configuration.validate() { throw EngineError(.invalidField, why, origin: .local) }
        guard let channel = sessions.freeChannel(max: negotiatedChannelMax) else {
            throw EngineError(.resourceLimitExceeded, "every channel up to channel-max \(negotiatedChannelMax) is in use", origin: .local)
        }
        let id = SessionID(channel: channel, generation: sessions.shared.generation())
        var session = SessionEndpoint(id: id, state: .beginSent, configuration: configuration)
        session.control.append(.begin(session.localBegin))
        sessions.install(session)
        return id
    }

    /// Accepts a session the peer began (`SessionEvent.remoteBegin`): sends our BEGIN and
    /// reports `begun`.
    ///
    /// - Throws: `amqp:illegal-state` when the session is not waiting to be accepted.
    public mutating func acceptSession(_ id: SessionID, configuration: SessionConfiguration = .init()) throws(EngineError) {
        try checkSessionLayerOpen()
        if let why = configuration.validate() { throw EngineError(.invalidField, why, origin: .local) }
        guard let s = sessions.index(id), sessions.slots[s].state == .awaitingAccept else {
            throw EngineError(.illegalState, "\(id) is not waiting to be accepted", origin: .local)
        }
        accept(session: s, configuration: configuration)
    }

    /// Ends a session: sends END (with `error`, if any) and detaches its links at once,
    /// reporting their unsettled deliveries `lost`. `SessionEvent.ended` follows when the
    /// peer answers. Refuses a session the peer began (BEGIN then END, as the
    /// specification asks). Does nothing for a session already ending.
    public mutating func endSession(_ id: SessionID, error: AMQPError? = nil) {
        guard let s = sessions.index(id) else { return }
        endSessionLocally(s, error: error.map { EngineError($0, origin: .local) })
    }

    /// The peer's BEGIN for a session, once it has arrived.
    public func remoteBegin(of id: SessionID) -> Begin? {
        sessions.index(id).flatMap { sessions.slots[$0].remoteBegin }
    }

    /// True while the session exists and has not started ending.
    public func isActive(_ id: SessionID) -> Bool {
        guard let s = sessions.index(id) else { return false }
        let state = sessions.slots[s].state
        return state != .endSent && state != .ending
    }

    /// Called by every request, `send` included: the plain flags first, and no copy of
    /// the requested CLOSE's error (`closeRequested == nil` made one).
    @inline(__always)
    func checkSessionLayerOpen() throws(EngineError) {
        if isClosing { throw Self.closingError() }
    }

    /// True once the connection is closing or closed, from either side: sessions, links
    /// and transfers are refused from then on (with `amqp:illegal-state`).
    @inline(__always)
    public var isClosing: Bool {
        closeSent || endAfterFlush || phase == .finished || state.isFinal || closeRequested != nil
    }

    @inline(never)
    static func closingError() -> EngineError {
        EngineError(.illegalState, "the connection is closing or closed", origin: .local)
    }

    mutating func accept(session s: Int, configuration: SessionConfiguration) {
        sessions.slots[s].configuration = configuration
        sessions.slots[s].incomingWindow = configuration.incomingWindow
        sessions.slots[s].incomingLimit = sessions.slots[s].nextIncomingID &+ configuration.incomingWindow
        sessions.slots[s].outgoingWindow = configuration.outgoingWindow
        sessions.slots[s].state = .mapped
        let begin = sessions.slots[s].localBegin
        // Our BEGIN goes before anything queued while the session waited (answers to
        // links the peer attached right after its own BEGIN).
        var waiting = RingQueue<SessionFrame>()
        while let f = sessions.slots[s].control.popFirst() { waiting.append(f) }
        sessions.slots[s].control.append(.begin(begin))
        while let f = waiting.popFirst() { sessions.slots[s].control.append(f) }
        sessions.slots[s].beginWritten = false
        events.append(.session(.begun(sessions.slots[s].id, sessions.slots[s].remoteBegin!)))
    }

    /// Sends END and drops the session's links; it stays until the peer's END.
    mutating func endSessionLocally(_ s: Int, error: EngineError?) {
        let state = sessions.slots[s].state
        guard state != .endSent, state != .ending else { return }
        sessions.slots[s].finishAllLinks(error: error, shared: &sessions.shared, events: &events)
        // Settlements the application already made still reach the peer before END:
        // dropping them would have the peer redeliver messages we accepted.
        sessions.slots[s].purgeControl(keepingSettlements: true)
        if state == .awaitingAccept {
            let begin = sessions.slots[s].localBegin
            sessions.slots[s].control.append(.begin(begin))
        }
        sessions.slots[s].control.append(.end(End(error: error?.error)))
        sessions.slots[s].state = .endSent
        sessions.slots[s].endError = error
    }

    // MARK: Frames from the peer

    /// Every frame on an AMQP channel except OPEN and CLOSE, once the connection is open.
    mutating func receiveSessionFrame(channel: UInt16, _ p: Performative, payload: BytesView, now: EngineInstant) {
        switch p {
        case .begin(let b):
            receiveBegin(b, channel: channel)
            return
        case .end(let e):
            receiveEnd(e, channel: channel)
            return
        default:
            break
        }
        let verdict: SessionVerdict
        switch p {
        case .transfer:
            // `receiveFrame` reads every TRANSFER in place (as a `TransferView`) in the
            // states that lead here, so this one is never reached.
            return
        case .disposition(let d):
            receiveDisposition(d, channel: channel)
            return
        case .flow(let f):
            receiveFlow(f, channel: channel)
            return
        default:
            break
        }
        guard let s = sessions.local(forRemote: channel) else {
            unknownChannel(p.name, channel)
            return
        }
        switch p {
        case .attach(let a):
            verdict = receiveAttach(a, session: s)
        case .detach(let d):
            verdict = sessions.slots[s].receiveDetach(d, shared: &sessions.shared, events: &events)
        default:
            verdict = .ok
        }
        apply(verdict, session: s)
    }

    // The per-message performatives, called straight from `receiveFrame`.

    /// Returns true when the transfer was taken as it is (no session ended, the
    /// connection goes on): the next frame may follow without the receive loop's checks.
    @discardableResult
    @inline(__always)
    mutating func receiveTransfer(_ t: TransferView, channel: UInt16, payload: UnsafeRawBufferPointer) -> Bool {
        guard let s = sessions.local(forRemote: channel) else {
            unknownChannel("transfer", channel)
            return false
        }
        let verdict = sessions.slots[s].receiveTransfer(t, payload: payload, shared: &sessions.shared, events: &events)
        if case .ok = verdict { return true }
        apply(verdict, session: s)
        return false
    }

    mutating func receiveDisposition(_ d: borrowing Disposition, channel: UInt16) {
        guard let s = sessions.local(forRemote: channel) else { return unknownChannel("disposition", channel) }
        let verdict = sessions.slots[s].receiveDisposition(d, events: &events)
        if case .ok = verdict { return }
        apply(verdict, session: s)
    }

    mutating func receiveFlow(_ f: borrowing Flow, channel: UInt16) {
        guard let s = sessions.local(forRemote: channel) else { return unknownChannel("flow", channel) }
        let verdict = sessions.slots[s].receiveFlow(f, events: &events)
        if case .ok = verdict { return }
        apply(verdict, session: s)
    }

    mutating func unknownChannel(_ name: String, _ channel: UInt16) {
        protocolFailed(EngineError(.notAllowed, "\(name) on channel \(channel), where no session has begun", origin: .local))
    }

    mutating func apply(_ verdict: SessionVerdict, session s: Int) {
        switch verdict {
        case .ok:
            break
        case .endSession(let error):
            endSessionLocally(s, error: EngineError(error, origin: .local))
        case .closeConnection(let error):
            protocolFailed(EngineError(error, origin: .local))
        }
    }

    mutating func receiveBegin(_ b: Begin, channel: UInt16) {
        guard channel <= negotiatedChannelMax else {
            protocolFailed(EngineError(.framingError, "BEGIN on channel \(channel), above channel-max \(negotiatedChannelMax)", origin: .local))
            return
        }
        guard sessions.local(forRemote: channel) == nil else {
            protocolFailed(EngineError(.notAllowed, "BEGIN on channel \(channel), which is in use", origin: .local))
            return
        }
        if let ours = b.remoteChannel {
            // The answer to our BEGIN.
            let s = Int(ours)
            guard s < sessions.slots.count, sessions.slots[s].isLive else {
                protocolFailed(EngineError(.invalidField, "BEGIN answers channel \(ours), where we began no session", origin: .local))
                return
            }
            let session = sessions.slots[s]
            guard session.remoteChannel == nil,
                session.state == .beginSent || session.state == .endSent
            else {
                protocolFailed(EngineError(.invalidField, "BEGIN answers channel \(ours), where we began no session", origin: .local))
                return
            }
            sessions.map(remote: channel, local: ours)
            sessions.slots[s].mapped(by: b, channel: channel)
            if session.state == .beginSent {
                sessions.slots[s].state = .mapped
                events.append(.session(.begun(session.id, b)))
            }
            return
        }
        guard let local = sessions.freeChannel(max: negotiatedChannelMax) else {
            protocolFailed(EngineError(.resourceLimitExceeded, "the peer began more sessions than we have channels", origin: .local))
            return
        }
        let policy = sessions.shared.autoAccept
        let id = SessionID(channel: local, generation: sessions.shared.generation())
        var session = SessionEndpoint(id: id, state: .awaitingAccept, configuration: policy?.session ?? .init())
        session.mapped(by: b, channel: channel)
        sessions.install(session)
        sessions.map(remote: channel, local: local)
        if let policy {
            accept(session: Int(local), configuration: policy.session)
        } else {
            events.append(.session(.remoteBegin(id, b)))
        }
    }

    mutating func receiveEnd(_ e: End, channel: UInt16) {
        guard let s = sessions.local(forRemote: channel) else {
            protocolFailed(EngineError(.notAllowed, "END on channel \(channel), where no session has begun", origin: .local))
            return
        }
        sessions.unmap(remote: channel)
        let peerError = e.error.map { EngineError($0, origin: .remote) }
        let session = sessions.slots[s]
        switch session.state {
        case .endSent:
            // The answer to ours: the session is over.
            sessions.remove(at: s)
            events.append(.session(.ended(session.id, session.endError ?? peerError)))
        case .ending:
            break
        case .beginSent, .awaitingAccept, .mapped:
            sessions.slots[s].finishAllLinks(error: peerError, shared: &sessions.shared, events: &events)
            sessions.slots[s].purgeControl()
            if session.state == .awaitingAccept {
                let begin = sessions.slots[s].localBegin
                sessions.slots[s].control.append(.begin(begin))
            }
            sessions.slots[s].control.append(.end(End()))
            sessions.slots[s].state = .ending
            sessions.slots[s].endError = peerError
            events.append(.session(.ended(session.id, peerError)))
        }
    }

    // MARK: The connection ends

    /// Every session and link ends with the connection; unsettled outgoing deliveries are
    /// reported `lost`.
    mutating func sessionsConnectionClosed(error: AMQPError?) {
        let cause = failure ?? error.map { EngineError($0, origin: .local) }
        for s in sessions.slots.indices {
            guard sessions.slots[s].isLive else { continue }
            let session = sessions.slots[s]
            sessions.slots[s].finishAllLinks(error: cause, shared: &sessions.shared, events: &events)
            if session.state != .ending {
                events.append(.session(.ended(session.id, session.endError ?? cause)))
            }
            sessions.slots[s] = .vacant
        }
        sessions.slots.removeAll()
        sessions.taken.removeAll()
        sessions.remoteChannels.removeAll()
        sessions.shared.bufferedDeliveryBytes = 0
        // Forgetting every link above empties it already; cleared outright all the same,
        // so that nothing of a closed connection's names can outlive it.
        sessions.shared.heldLinkNames.removeAll()
    }

    /// True when `produce` would write session or link frames now. Once the
    /// application has asked to close, transfers no longer count: only what is already
    /// queued (settlements, flows, detaches, ends) goes out before CLOSE.
    var sessionsHaveOutput: Bool {
        guard openSent, !closeSent, phase == .amqpFrames else { return false }
        let transfers = closeRequested == nil
        for s in sessions.slots.indices where sessions.slots[s].isLive && sessions.slots[s].hasOutput(transfers: transfers) {
            return true
        }
        return false
    }
}

extension SessionEndpoint {
    /// Drops queued frames when the session ends: only an unwritten BEGIN must still go,
    /// and, when we end it ourselves, the dispositions already queued (in their order,
    /// the open range last) so that settlements are not lost.
    mutating func purgeControl(keepingSettlements: Bool = false) {
        let n = control.count
        for _ in 0..<n {
            let f = control.popFirst()!
            switch f {
            case .begin: control.append(f)
            case .disposition where keepingSettlements: control.append(f)
            default: break
            }
        }
        if keepingSettlements, let open = pendingDisposition { control.append(.disposition(open)) }
        pendingDisposition = nil
        sessionFlowQueued = false
    }

    /// Ends every link with the session.
    mutating func finishAllLinks(error: EngineError?, shared: inout SessionShared, events: inout RingQueue<ConnectionEvent>) {
        // finishLink trims trailing empty slots, so read the count afresh each time.
        var h = 0
        while h < links.count {
            if links[h].isLive { finishLink(h, closed: false, error: error, shared: &shared, events: &events) }
            h += 1
        }
        outgoing.removeAll()
        incoming.removeAll()
    }
}
