import AMQPCodec

// Writing what sessions have queued: control frames in the order they were asked for,
// then the open disposition range, then transfers while credit and windows allow. A
// session whose BEGIN is unanswered sends nothing after it.

extension ConnectionEngine {
    enum OutputResult {
        /// Everything that could go went.
        case done
        /// The buffer is full: continue next time from here.
        case full
        /// The connection failed while writing; the session table may be gone.
        case failed
    }

    /// Writes session and link frames after the connection's own (the core's hook).
    mutating func produceSessionFrames(into e: inout AMQPEncoder, gather: OutboundSegments?, now: EngineInstant) {
        guard openSent, !closeSent, !endAfterFlush else { return }
        let n = sessions.slots.count
        guard n > 0 else { return }
        let start = sessions.cursor % n
        for k in 0..<n {
            let s = (start &+ k) % n
            guard s < sessions.slots.count, sessions.slots[s].isLive else { continue }
            switch produce(session: s, into: &e, gather: gather) {
            case .done: continue
            case .full:
                sessions.cursor = s
                return
            case .failed:
                return
            }
        }
        sessions.cursor = start &+ 1
    }

    mutating func produce(session s: Int, into e: inout AMQPEncoder, gather: OutboundSegments?) -> OutputResult {
        let maxFrame = Int(Swift.min(remoteMaxFrameSize, UInt32(Int32.max)))
        while true {
            while let frame = sessions.slots[s].control.first {
                if sessions.slots[s].state == .beginSent && sessions.slots[s].beginWritten { return .done }
                let performative: Performative?
                switch frame {
                case .begin(let b): performative = .begin(b)
                case .attach(let a): performative = .attach(a)
                case .detach(let d): performative = .detach(d)
                case .end(let x): performative = .end(x)
                case .disposition(let d): performative = .disposition(d.performative)
                case .flow(let link): performative = sessions.slots[s].flowToWrite(link).map { .flow($0) }
                }
                if let performative {
                    let r = writeControl(performative, channel: sessions.slots[s].id.channel, into: &e, maxFrame: maxFrame)
                    guard case .done = r else { return r }
                }
                sessions.slots[s].control.popFirst()
                switch frame {
                case .begin: sessions.slots[s].beginWritten = true
                case .flow(let link): sessions.slots[s].flowWritten(link)
                case .end:
                    if sessions.slots[s].state == .ending {
                        sessions.remove(at: s)
                        return .done
                    }
                default: break
                }
            }
            if sessions.slots[s].state == .beginSent { return .done }
            if let open = sessions.slots[s].pendingDisposition {
                let r = writeControl(.disposition(open.performative), channel: sessions.slots[s].id.channel, into: &e, maxFrame: maxFrame)
                guard case .done = r else { return r }
                sessions.slots[s].pendingDisposition = nil
            }
            // A connection the application is closing starts no new transfer.
            guard closeRequested == nil else { return .done }
            let r = writeTransfers(session: s, into: &e, gather: gather, maxFrame: maxFrame)
            guard case .done = r else { return r }
            // Transfers may have queued FLOWs (a finished drain, a refreshed window).
            if sessions.slots[s].control.isEmpty && sessions.slots[s].pendingDisposition == nil { return .done }
        }
    }

    /// Writes one control frame, or fails the connection if it cannot ever be written.
    mutating func writeControl(_ p: Performative, channel: UInt16, into e: inout AMQPEncoder, maxFrame: Int) -> OutputResult {
        let start = e.count
        do {
            try FrameEncoder.encode(p, channel: channel, into: &e)
        } catch {
            if error.code == .bufferTooSmall && start > 0 { return .full }
            fail(EngineError(.internalError, "cannot encode \(p.name): \(error)", origin: .local), sendClose: false)
            return .failed
        }
        let size = e.count - start
        if size > maxFrame {
            // Our own error (e.g. huge properties on ATTACH): the peer would reject it.
            e.rewind(to: start)
            fail(EngineError(.frameSizeTooSmall, "\(p.name) frame of \(size) bytes exceeds the peer's max-frame-size \(maxFrame)", origin: .local), sendClose: true)
            return .failed
        }
        if configuration.trace { events.append(.trace(OutboundFrame.amqp(channel: channel, p).traceLine)) }
        return .done
    }
}

extension SessionEndpoint {
    /// The FLOW a queued `.flow` entry stands for now, or `nil` when it has become moot.
    func flowToWrite(_ id: LinkID?) -> Flow? {
        guard let id else { return sessionFlowQueued ? flow(for: nil) : nil }
        guard let h = linkIndex(id), links[h].state == .attached || links[h].state == .attachSent else { return nil }
        return flow(for: links[h])
    }

    /// A FLOW is written: every FLOW carries the session's state, so a pending
    /// session-only one is no longer needed.
    mutating func flowWritten(_ id: LinkID?) {
        sessionFlowQueued = false
        incomingLimit = nextIncomingID &+ incomingWindow
        guard let id, let h = linkIndex(id) else { return }
        links[h].flowQueued = false
        // The prefetch top-up this FLOW carried is the sender's to use from now on.
        if links[h].receiver.refillPending, case .prefetch(let n) = links[h].receiver.policy,
            links[h].state == .attached || links[h].state == .attachSent
        {
            links[h].credit = n
            links[h].receiver.overrun = 0
        }
        links[h].receiver.refillPending = false
    }
}
