import AMQPCodec

// Outgoing dispositions, coalesced: consecutive delivery-ids settled the same way go out
// as one DISPOSITION naming the range first...last, so settling N contiguous deliveries
// in one step costs one frame.

/// A disposition waiting to be written.
struct PendingDisposition {
    /// Our role on the links of these deliveries.
    var role: Role
    var first: DeliveryNumber
    var last: DeliveryNumber
    var settled: Bool
    var state: DeliveryState?

    /// Extends the range with `first...last` when it follows directly and is disposed
    /// the same way.
    @inline(__always)
    mutating func absorb(role: Role, first: DeliveryNumber, last: DeliveryNumber, settled: Bool, state: DeliveryState?) -> Bool {
        guard first == self.last &+ 1, settled == self.settled, role == self.role, state == self.state else { return false }
        self.last = last
        return true
    }

    var performative: Disposition {
        Disposition(role: role, first: first, last: last == first ? nil : last, settled: settled, state: state)
    }
}

extension SessionEndpoint {
    /// Queues a disposition of one delivery, merging it into the open range when it can.
    mutating func dispose(role: Role, id: DeliveryNumber, settled: Bool, state: DeliveryState?) {
        dispose(role: role, first: id, last: id, settled: settled, state: state)
    }

    /// Queues a disposition of the consecutive deliveries `first...last`, merging it
    /// into the open range when it can.
    mutating func dispose(role: Role, first: DeliveryNumber, last: DeliveryNumber, settled: Bool, state: DeliveryState?) {
        if pendingDisposition != nil,
            pendingDisposition!.absorb(role: role, first: first, last: last, settled: settled, state: state)
        {
            return
        }
        if let open = pendingDisposition { control.append(.disposition(open)) }
        pendingDisposition = PendingDisposition(role: role, first: first, last: last, settled: settled, state: state)
    }

    /// Queues a control frame behind any open disposition range, so frames keep the order
    /// in which they were asked for.
    mutating func enqueue(_ frame: SessionFrame) {
        if let open = pendingDisposition {
            control.append(.disposition(open))
            pendingDisposition = nil
        }
        control.append(frame)
    }
}

// Incoming DISPOSITION: the range names delivery-ids of the session, whatever their links.

extension SessionEndpoint {
    mutating func receiveDisposition(_ d: Disposition, events: inout RingQueue<ConnectionEvent>) -> SessionVerdict {
        guard state == .mapped else { return .ok }
        let last = d.last ?? d.first
        if d.role == .receiver {
            // About deliveries we sent. Every delivery in the range ends the same way, so
            // consecutive handles of one link are reported as one event.
            let settles = d.settled || (d.state?.isOutcome ?? false)
            var run: (handle: UInt32, first: UInt64, last: UInt64) = (0, 0, 0)
            var inRun = false
            var settledCount = 0
            var i = outgoing.lowerBound(d.first)
            // The entries are updated in place; queueing dispositions and events does not
            // touch them.
            let w = outgoing.walk()
            var e = w[i]
            while i < w.count {
                defer {
                    i &+= 1
                    e = w.after(e)
                }
                guard UnsettledMap.contains(e.pointee.id, first: d.first, last: last) else { break }
                let handle = e.pointee.handle
                // The link of the run being gathered is known to be there.
                if e.pointee.live && ((inRun && handle == run.handle) || (Int(handle) < links.count && links[Int(handle)].isLive)) {
                    let token = e.pointee.token
                    if !d.settled && settles {
                        // The receiver waits for us (rcv-settle-mode second, or it chose
                        // not to settle first): settle, which ends the exchange.
                        dispose(role: .sender, id: e.pointee.id, settled: true, state: nil)
                    }
                    if settles {
                        e.pointee.live = false
                        settledCount &+= 1
                    }
                    if inRun && handle == run.handle && token == run.last &+ 1 {
                        run.last = token
                    } else {
                        if inRun { reportOutcomes(run, state: d.state, settled: settles, events: &events) }
                        run = (handle, token, token)
                        inRun = true
                    }
                }
            }
            outgoing.didSettle(settledCount)
            if inRun { reportOutcomes(run, state: d.state, settled: settles, events: &events) }
            outgoing.trim()
        } else {
            // About deliveries we receive: the sender settled them.
            guard d.settled else { return .ok }
            var i = incoming.lowerBound(d.first)
            while i < incoming.count {
                let e = incoming[i]
                guard UnsettledMap.contains(e.id, first: d.first, last: last) else { break }
                if e.live, let link = linkID(e.handle) {
                    incoming.settle(at: i)
                    events.append(.link(.remoteSettled(link, e.id, state: d.state)))
                }
                i &+= 1
            }
            incoming.trim()
        }
        return .ok
    }
}

extension SessionEndpoint {
    /// Reports the outcome of the run of deliveries `r`: handles `first...last` of the
    /// link in slot `handle`.
    @inline(__always)
    func reportOutcomes(
        _ r: (handle: UInt32, first: UInt64, last: UInt64), state: DeliveryState?, settled: Bool,
        events: inout RingQueue<ConnectionEvent>
    ) {
        let handles = DeliveryHandle(rawValue: r.first)...DeliveryHandle(rawValue: r.last)
        events.append(.link(.outcomes(links[Int(r.handle)].id, handles, state: state, settled: settled)))
    }
}
