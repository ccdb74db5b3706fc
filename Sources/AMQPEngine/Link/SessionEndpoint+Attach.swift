import AMQPCodec

// ATTACH and DETACH (part 2, sections 2.6.3 to 2.6.6): pairing the peer's attach with
// ours by name, accepting or refusing the peer's links, and tearing links down.

/// Where the peer's ATTACH leads, once the session has looked at it.
enum AttachStep {
    /// Handled (an answer to ours, or refused with this verdict).
    case done(SessionVerdict)
    /// The peer starts a link of this name: any attachment of the name held elsewhere is
    /// stolen first (HeldLinkNames.swift), then `startPeerLink` takes it.
    case peerStarts(LinkName)
}

extension SessionEndpoint {
    /// The first half of the peer's ATTACH: checks it and pairs it with ours of the same
    /// name, if there is one. The connection steals what it must before the second half
    /// (`startPeerLink`), since the attachment stolen may be in another session.
    mutating func pairAttach(_ a: Attach, shared: inout SessionShared, events: inout RingQueue<ConnectionEvent>) -> AttachStep {
        // A peer may attach right after its BEGIN, before the application accepts the
        // session: the link waits with it (nothing goes out before our BEGIN).
        guard state == .mapped || state == .awaitingAccept else { return .done(.ok) }
        guard a.handle <= configuration.handleMax else {
            // Part 2, section 2.7.2: a handle outside the range is a framing error.
            return .done(.closeConnection(AMQPError(
                condition: .framingError, description: "ATTACH with handle \(a.handle), above handle-max \(configuration.handleMax)")))
        }
        guard remoteHandles[a.handle] == nil else {
            return .done(.endSession(AMQPError(condition: .handleInUse, description: "ATTACH on handle \(a.handle), which is in use")))
        }
        let ours: Role = a.role == .sender ? .receiver : .sender
        let key = LinkName(name: a.name, role: ours)
        // The handle is the new link's: the old one's end is forgotten (ErrantLinks.swift).
        erroredRemoteHandles.remove(a.handle)
        if let h = awaitingAnswer(key) {
            let l = links[h]
            remoteHandles[a.handle] = UInt32(h)
            links[h].attached(by: a)
            if l.state == .attachSent { links[h].state = .attached }
            nameAnswered(h, wasAwaiting: true, shared: &shared)
            if l.state == .attachSent { events.append(.link(.attached(l.id, a))) }
            return .done(.ok)
        }
        // Part 2, section 2.6.1: a name and a direction identify one link between two
        // containers, so this ATTACH is that link attaching again. The newer attachment
        // wins: the one we hold, in this session or another, is detached with
        // `amqp:link:stolen`, and the peer's proceeds as a link it starts.
        return .peerStarts(key)
    }

    /// The second half of the peer's ATTACH, for a link the peer starts (no attachment
    /// of its name is held any more).
    mutating func startPeerLink(_ a: Attach, shared: inout SessionShared, events: inout RingQueue<ConnectionEvent>) -> SessionVerdict {
        // The peer starts a link.
        guard let handle = freeHandle(max: remoteHandleMax) else {
            return .endSession(AMQPError(
                condition: .resourceLimitExceeded, description: "no free handle up to the peer's handle-max \(remoteHandleMax)"))
        }
        let id = LinkID(session: self.id, handle: handle, generation: shared.generation())
        var link = LinkEndpoint(id: id, configuration: .accepting(a), state: .awaitingAccept)
        link.attached(by: a)
        install(link)
        nameAnswered(Int(handle), wasAwaiting: false, shared: &shared)
        remoteHandles[a.handle] = handle
        if let policy = shared.autoAccept, policy.links {
            var c = LinkConfiguration.accepting(a)
            c.credit = policy.credit
            c.streaming = policy.streaming
            c.maxMessageSize = policy.maxMessageSize
            accept(Int(handle), configuration: c, events: &events)
        } else {
            events.append(.link(.remoteAttach(id, a)))
        }
        return .ok
    }

    /// Answers the peer's attach with ours and reports the link attached.
    mutating func accept(_ h: Int, configuration c: LinkConfiguration, events: inout RingQueue<ConnectionEvent>) {
        links[h].apply(c)
        links[h].state = .attached
        enqueue(.attach(links[h].attach(c)))
        if links[h].role == .receiver { grantInitialCredit(h) }
        let l = links[h]
        events.append(.link(.attached(l.id, l.remoteAttach!)))
        if l.role == .sender && l.credit > 0 {
            events.append(.link(.credit(l.id, credit: l.credit, drain: l.drain)))
            if l.drain && l.sender.queue.isEmpty && l.sender.mayCompleteDrain { drainSender(h, events: &events) }
        }
        if l.role == .receiver, let available = l.receiver.available, available > 0 {
            events.append(.link(.available(l.id, available: available)))
        }
    }

    /// A prefetching receiver's first FLOW.
    mutating func grantInitialCredit(_ h: Int) {
        if case .prefetch(let n) = links[h].receiver.policy, n > 0 {
            links[h].credit = n
            queueLinkFlow(h)
        }
    }

    mutating func receiveDetach(_ d: Detach, shared: inout SessionShared, events: inout RingQueue<ConnectionEvent>) -> SessionVerdict {
        guard state == .mapped || state == .awaitingAccept else { return .ok }
        guard let h = localHandle(remote: d.handle) else {
            return .endSession(unattached("DETACH", handle: d.handle))
        }
        remoteHandles[d.handle] = nil
        let peerError = d.error.map { EngineError($0, origin: .remote) }
        // Both DETACHes are exchanged now: input on the peer's handle from here on was
        // sent after the link ended (ErrantLinks.swift).
        if peerError != nil || links[h].detachError != nil { erroredRemoteHandles.insert(d.handle) }
        if links[h].state == .detachSent {
            finishLink(h, closed: d.closed, error: links[h].detachError ?? peerError, shared: &shared, events: &events)
        } else {
            if links[h].state == .awaitingAccept { enqueue(.attach(refusal(h))) }
            enqueue(.detach(Detach(handle: UInt32(h), closed: d.closed)))
            finishLink(h, closed: d.closed, error: peerError, shared: &shared, events: &events)
        }
        return .ok
    }

    /// Sends DETACH; the link stays, ignoring the peer's frames, until the peer's DETACH.
    mutating func detachLocally(_ h: Int, closed: Bool, error: EngineError?, shared: inout SessionShared) {
        switch links[h].state {
        case .detachSent: return
        case .awaitingAccept: enqueue(.attach(refusal(h)))
        case .attachSent, .attached: break
        }
        nameReleased(h, shared: &shared)
        links[h].state = .detachSent
        links[h].detachError = error
        links[h].credit = 0
        if let partial = links[h].receiver.current {
            shared.bufferedDeliveryBytes -= partial.buffer.count
            links[h].receiver.current!.buffer = []
            links[h].receiver.current!.discarding = true
        }
        enqueue(.detach(Detach(handle: UInt32(h), closed: closed, error: error?.error)))
    }

    /// The ATTACH that refuses a peer's link: our terminus is null (part 2, section 2.6.3).
    func refusal(_ h: Int) -> Attach {
        let l = links[h]
        let theirs = l.remoteAttach
        var c = LinkConfiguration(name: l.name, role: l.role)
        if l.role == .receiver { c.source = theirs?.source } else { c.target = theirs?.target }
        return l.attach(c)
    }

    /// The link is over: its unsettled deliveries are reported lost, then `detached`, and
    /// its handle is free.
    mutating func finishLink(_ h: Int, closed: Bool, error: EngineError?, shared: inout SessionShared, events: inout RingQueue<ConnectionEvent>) {
        let link = links[h]
        let handle = link.id.handle
        if link.role == .sender {
            for i in 0..<outgoing.count where outgoing[i].live && outgoing[i].handle == handle {
                events.append(.link(.lost(link.id, DeliveryHandle(rawValue: outgoing[i].token), sent: true)))
                outgoing.settle(at: i)
            }
            outgoing.trim()
            var queue = link.sender.queue
            links[h].sender.queue = RingQueue()
            var started = link.sender.headID != nil
            while let d = queue.popFirst() {
                // A half-written unsettled delivery was reported with the unsettled ones.
                if !(started && !d.settled) { events.append(.link(.lost(link.id, d.handle, sent: started))) }
                started = false
            }
        } else {
            for i in 0..<incoming.count where incoming[i].live && incoming[i].handle == handle {
                incoming.settle(at: i)
            }
            incoming.trim()
            if let partial = link.receiver.current { shared.bufferedDeliveryBytes -= partial.buffer.count }
        }
        if let remote = link.remoteHandle, remoteHandles[remote] == handle { remoteHandles[remote] = nil }
        forgetName(h, shared: &shared)
        links[h] = .vacant
        takenHandles.remove(h)
        while let last = links.last, !last.isLive { links.removeLast() }
        events.append(.link(.detached(link.id, closed: closed, error: error)))
    }
}
