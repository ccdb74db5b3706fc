public import AMQPCodec

// Links (part 2, section 2.6): what the application asks of them. Every request only
// changes state and queues frames; `produce` writes them.

extension ConnectionEngine {
    // MARK: Attach and detach

    /// Attaches a link on the lowest free handle (not above the peer's handle-max once its
    /// BEGIN is known). `LinkEvent.attached` follows when the peer answers. A prefetching
    /// receiver grants its credit right after the ATTACH.
    ///
    /// - Throws: `amqp:illegal-state` for a session that is gone or ending,
    ///   `amqp:resource-limit-exceeded` when every handle is taken.
    public mutating func attachLink(session: SessionID, _ configuration: LinkConfiguration) throws(EngineError) -> LinkID {
        try checkSessionLayerOpen()
        guard let s = sessions.index(session), isActive(session) else {
            throw EngineError(.illegalState, "\(session) does not exist or is ending", origin: .local)
        }
        let max = sessions.slots[s].remoteHandleMax
        guard let handle = sessions.slots[s].freeHandle(max: max) else {
            throw EngineError(.resourceLimitExceeded, "every handle up to \(max) is in use on \(session)", origin: .local)
        }
        let id = LinkID(session: session, handle: handle, generation: sessions.shared.generation())
        let link = LinkEndpoint(id: id, configuration: configuration, state: .attachSent)
        sessions.slots[s].install(link)
        sessions.slots[s].nameAwaitingAnswer(Int(handle))
        sessions.slots[s].enqueue(.attach(link.attach(configuration)))
        if configuration.role == .receiver { sessions.slots[s].grantInitialCredit(Int(handle)) }
        return id
    }

    /// Accepts a link the peer attached (`LinkEvent.remoteAttach`): sends our ATTACH and
    /// reports `attached`. Without a configuration the link mirrors the peer's (see
    /// `LinkConfiguration.accepting`); the name and role always follow the peer's.
    ///
    /// - Throws: `amqp:illegal-state` when the link is not waiting to be accepted.
    public mutating func acceptLink(_ link: LinkID, configuration: LinkConfiguration? = nil) throws(EngineError) {
        try checkSessionLayerOpen()
        guard let (s, h) = sessions.index(link), sessions.slots[s].links[h].state == .awaitingAccept else {
            throw EngineError(.illegalState, "\(link) is not waiting to be accepted", origin: .local)
        }
        let l = sessions.slots[s].links[h]
        var c = configuration ?? .accepting(l.remoteAttach!)
        c.name = l.name
        c.role = l.role
        sessions.slots[s].accept(h, configuration: c, events: &events)
    }

    /// Detaches a link (closes it when `closed`, the usual case), with `error` if any.
    /// Deliveries not yet written are dropped. `LinkEvent.detached` follows when the peer
    /// answers, after `lost` for every delivery still unsettled. Refuses a link the peer
    /// attached (ATTACH with a null terminus, then DETACH). Does nothing for a link
    /// already detaching.
    public mutating func detachLink(_ link: LinkID, closed: Bool = true, error: AMQPError? = nil) {
        guard let (s, h) = sessions.index(link) else { return }
        sessions.slots[s].detachLocally(h, closed: closed, error: error.map { EngineError($0, origin: .local) }, shared: &sessions.shared)
    }

    /// The peer's ATTACH for a link, once it has arrived.
    public func remoteAttach(of link: LinkID) -> Attach? {
        sessions.index(link).flatMap { sessions.slots[$0.session].links[$0.link].remoteAttach }
    }

    /// True while both ends are attached.
    public func isAttached(_ link: LinkID) -> Bool {
        sessions.index(link).map { sessions.slots[$0.session].links[$0.link].state == .attached } ?? false
    }

    // MARK: Sending

    /// Queues a delivery on a sending link. `payload` is the encoded message (e.g. the
    /// output of `Message.encode`); the engine writes it as is, without copying it, when
    /// credit and the session window allow, split at the peer's max-frame-size. The
    /// delivery-id is assigned when its first frame goes out. The returned handle comes
    /// back in `outcomes` (or `lost`). Pre-settled (`settled`, or a sender settle mode of
    /// `settled`) deliveries get no outcome.
    ///
    /// - Parameters:
    ///   - tag: the delivery tag; by default an 8-byte counter per link.
    ///   - batchable: sets TRANSFER's `batchable` (part 2, section 2.7.5): a hint that
    ///     the peer need not tell us the delivery's state at once, so it may gather
    ///     dispositions into fewer frames. Off by default, and then not written.
    /// - Throws: `amqp:illegal-state` for a link that is not ours to send on or is
    ///   detaching, `amqp:link:message-size-exceeded` above the peer's max-message-size,
    ///   `amqp:precondition-failed` for a settled delivery on a link whose sender settle
    ///   mode is `unsettled`.
    public mutating func send(
        on link: LinkID, payload: [UInt8], tag: DeliveryTag? = nil, settled: Bool = false, messageFormat: UInt32 = 0,
        batchable: Bool = false
    ) throws(EngineError) -> DeliveryHandle {
        try checkSessionLayerOpen()
        guard let (s, h) = sessions.index(link) else { throw EngineError(.illegalState, "\(link) does not exist", origin: .local) }
        let handle = DeliveryHandle(rawValue: sessions.shared.nextDeliveryHandle)
        // One mutating call on the link: every separate `slots[s].links[h]` write checks
        // both arrays for uniqueness again.
        try sessions.slots[s].links[h].enqueue(
            payload, tag: tag, settled: settled, messageFormat: messageFormat, batchable: batchable, handle: handle)
        sessions.shared.nextDeliveryHandle &+= 1
        return handle
    }

    /// Takes back a delivery queued on a sender before any of it was written: it will
    /// never be sent, no delivery-id is used for it, and no `outcomes` or `lost` event
    /// will name it. Returns false when the delivery is not queued on the link any more,
    /// or its first frame is written already (its fate is then the peer's to tell).
    public mutating func withdraw(_ delivery: DeliveryHandle, on link: LinkID) -> Bool {
        guard let (s, h) = sessions.index(link), sessions.slots[s].links[h].sender.withdraw(delivery) else { return false }
        // A drain that waited for this delivery is answered now, as if it had been written.
        let l = sessions.slots[s].links[h]
        if l.state == .attached && l.drain && l.credit > 0 && l.sender.queue.isEmpty && l.sender.mayCompleteDrain {
            sessions.slots[s].drainSender(h, events: &events)
        }
        return true
    }

    /// A sender's current link credit (`nil` for an unknown link).
    public func credit(on link: LinkID) -> UInt32? {
        sessions.index(link).map { sessions.slots[$0.session].links[$0.link].credit }
    }

    /// How many more deliveries a sender could start now without queueing behind the
    /// credit: its credit minus what is already queued and not started (0 or more). For
    /// backpressure: send while this is positive.
    public func sendable(on link: LinkID) -> Int {
        guard let (s, h) = sessions.index(link) else { return 0 }
        return sessions.slots[s].links[h].sendable
    }

    /// Answers the receiver's drain request on a sender with `manualDrain`: once what is
    /// queued now has been written, the credit left is given back (`LinkEvent.drained`).
    /// Call it after queueing whatever the drain request could use. Does nothing when no
    /// drain is pending.
    ///
    /// - Throws: `amqp:illegal-state` for a link that is not a sender.
    public mutating func completeDrain(on link: LinkID) throws(EngineError) {
        guard let (s, h) = sessions.index(link) else { throw EngineError(.illegalState, "\(link) does not exist", origin: .local) }
        guard sessions.slots[s].links[h].role == .sender else { throw EngineError(.illegalState, "\(link) is a receiver", origin: .local) }
        let l = sessions.slots[s].links[h]
        guard l.drain, l.state == .attached else { return }
        sessions.slots[s].links[h].sender.drainAnswered = true
        if l.credit > 0 && l.sender.queue.isEmpty { sessions.slots[s].drainSender(h, events: &events) }
    }

    /// Deliveries queued on a sender and not completely written.
    public func queuedDeliveries(on link: LinkID) -> Int {
        sessions.index(link).map { sessions.slots[$0.session].links[$0.link].sender.queue.count } ?? 0
    }

    // MARK: Receiving

    /// A receiver's last word from its sender on how many deliveries it could send now
    /// (FLOW's `available`; `LinkEvent.available` reports changes). `nil` until the
    /// sender gives one, for a sender, or for an unknown link.
    public func available(on link: LinkID) -> UInt32? {
        sessions.index(link).flatMap { sessions.slots[$0.session].links[$0.link].receiver.available }
    }

    /// Sets a receiver's credit to `credit` messages (replacing what is left) and tells the
    /// sender. With `drain`, asks the sender to use the credit at once or give it back;
    /// `LinkEvent.drained` follows when credit reaches 0.
    ///
    /// - Throws: `amqp:illegal-state` for a link that is not a receiver or is detaching.
    public mutating func flow(on link: LinkID, credit: UInt32, drain: Bool = false) throws(EngineError) {
        try checkSessionLayerOpen()
        guard let (s, h) = sessions.index(link) else { throw EngineError(.illegalState, "\(link) does not exist", origin: .local) }
        let l = sessions.slots[s].links[h]
        guard l.role == .receiver else { throw EngineError(.illegalState, "\(link) is a sender", origin: .local) }
        guard l.state == .attachSent || l.state == .attached else {
            throw EngineError(.illegalState, "\(link) is not attached", origin: .local)
        }
        sessions.slots[s].links[h].credit = credit
        sessions.slots[s].links[h].receiver.refillPending = false
        sessions.slots[s].links[h].receiver.overrun = 0
        sessions.slots[s].links[h].drain = drain
        sessions.slots[s].links[h].receiver.drainRequested = drain && credit > 0
        sessions.slots[s].queueLinkFlow(h)
    }

    /// Settles (or, with `settled: false`, just updates the state of) the receiver's
    /// deliveries `first...last` (delivery-ids, in serial order, so a range may wrap).
    /// Deliveries of other links, already settled, or unknown in the range are skipped.
    /// Consecutive deliveries disposed the same way in one step go out as one
    /// DISPOSITION. In rcv-settle-mode `second`, settling sends the state unsettled; the
    /// delivery is settled when the sender settles it (`remoteSettled`).
    ///
    /// - Throws: `amqp:illegal-state` for a link that is not a receiver.
    public mutating func settle(
        _ link: LinkID, first: DeliveryNumber, last: DeliveryNumber, state: DeliveryState?, settled: Bool = true
    ) throws(EngineError) {
        guard let (s, h) = sessions.index(link) else { throw EngineError(.illegalState, "\(link) does not exist", origin: .local) }
        guard sessions.slots[s].links[h].role == .receiver else {
            throw EngineError(.illegalState, "\(link) is a sender: the engine settles outgoing deliveries", origin: .local)
        }
        guard sessions.slots[s].state == .mapped else { return }
        sessions.slots[s].settleIncoming(handle: UInt32(h), first: first, last: last, state: state, settled: settled)
    }

    /// Settles one delivery; see `settle(_:first:last:state:settled:)`.
    public mutating func settle(_ link: LinkID, delivery: DeliveryNumber, state: DeliveryState?, settled: Bool = true) throws(EngineError) {
        try settle(link, first: delivery, last: delivery, state: state, settled: settled)
    }

    /// Settles a range of deliveries; see `settle(_:first:last:state:settled:)`.
    public mutating func settle(
        _ link: LinkID, deliveries: ClosedRange<DeliveryNumber>, state: DeliveryState?, settled: Bool = true
    ) throws(EngineError) {
        try settle(link, first: deliveries.lowerBound, last: deliveries.upperBound, state: state, settled: settled)
    }
}

extension SessionEndpoint {
    mutating func settleIncoming(handle: UInt32, first: DeliveryNumber, last: DeliveryNumber, state: DeliveryState?, settled: Bool) {
        // Consecutive deliveries disposed alike are gathered into one run and queued
        // once, so settling a range costs one state comparison, not one per delivery.
        var runFirst: DeliveryNumber = 0
        var runLast: DeliveryNumber = 0
        var runSettled = false
        var inRun = false
        var settledCount = 0
        var i = incoming.lowerBound(first)
        // The entries are updated in place; queueing dispositions does not touch them.
        let w = incoming.walk()
        var e = w[i]
        while i < w.count {
            defer {
                i &+= 1
                e = w.after(e)
            }
            guard UnsettledMap.contains(e.pointee.id, first: first, last: last) else { break }
            if e.pointee.live && e.pointee.handle == handle && !e.pointee.awaitingPeer {
                let id = e.pointee.id
                let second = e.pointee.secondMode
                let settles = settled && !second
                if settled && second {
                    e.pointee.awaitingPeer = true
                } else if settled {
                    e.pointee.live = false
                    settledCount &+= 1
                }
                if inRun && id == runLast &+ 1 && settles == runSettled {
                    runLast = id
                } else {
                    if inRun { dispose(role: .receiver, first: runFirst, last: runLast, settled: runSettled, state: state) }
                    (runFirst, runLast, runSettled, inRun) = (id, id, settles, true)
                }
            }
        }
        incoming.didSettle(settledCount)
        if inRun { dispose(role: .receiver, first: runFirst, last: runLast, settled: runSettled, state: state) }
        incoming.trim()
    }
}
