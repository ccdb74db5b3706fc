import AMQPCodec

// Incoming FLOW (part 2, sections 2.5.6 and 2.6.7): the peer's session windows, a
// sender's credit, a receiver's view of the sender's delivery-count, drain and echo.

extension SessionEndpoint {
    /// Our first transfer-id: what the peer's next-incoming-id means before it has one.
    static let initialOutgoingID: UInt32 = 0

    mutating func receiveFlow(_ f: Flow, events: inout RingQueue<ConnectionEvent>) -> SessionVerdict {
        guard state == .mapped || state == .awaitingAccept else { return .ok }
        // remote-incoming-window = next-incoming-id + incoming-window - next-outgoing-id,
        // in serial arithmetic; a window the peer shrank below what is in flight is 0.
        let base = f.nextIncomingID ?? Self.initialOutgoingID
        let window = Int64(f.incomingWindow) + Int64(Int32(bitPattern: base &- nextOutgoingID))
        remoteIncomingWindow = UInt32(clamping: Swift.max(0, window))
        remoteOutgoingWindow = f.outgoingWindow
        guard let remote = f.handle else {
            if f.echo { queueSessionFlow() }
            return .ok
        }
        guard let h = localHandle(remote: remote) else {
            return .endSession(unattached("FLOW", handle: remote))
        }
        let linkState = links[h].state
        guard linkState == .attached || linkState == .awaitingAccept else { return .ok }
        if links[h].role == .sender {
            // link-credit = delivery-count(rcv) + link-credit(rcv) - delivery-count(snd);
            // before the receiver has our ATTACH it counts from our initial count.
            let theirs = f.deliveryCount ?? links[h].initialDeliveryCount
            let credit = Int64(f.linkCredit ?? 0) + Int64(Int32(bitPattern: theirs &- links[h].deliveryCount))
            links[h].credit = UInt32(clamping: Swift.max(0, credit))
            links[h].drain = f.drain
            // Each FLOW is a new request: a manual drain waits for its own answer.
            links[h].sender.drainAnswered = false
            // A receiver grants credit with its ATTACH; before we accept the link, keep it
            // and report it with `attached`.
            guard linkState == .attached else { return .ok }
            events.append(.link(.credit(links[h].id, credit: links[h].credit, drain: f.drain)))
            if f.drain && links[h].credit > 0 && links[h].sender.queue.isEmpty && links[h].sender.mayCompleteDrain {
                drainSender(h, events: &events)
            } else if f.echo {
                queueLinkFlow(h)
            }
        } else {
            if let theirs = f.deliveryCount {
                let advance = Int32(bitPattern: theirs &- links[h].deliveryCount)
                if advance > 0 {
                    // The sender used credit without transfers: drained.
                    links[h].deliveryCount = theirs
                    links[h].credit = links[h].credit > UInt32(advance) ? links[h].credit - UInt32(advance) : 0
                }
            }
            // Part 2, section 2.6.7: `available` is the sender's count of deliveries it
            // could send; a receiver granting credit by hand may act on it. Reported when
            // it changes (a FLOW without it leaves the last count standing; a first count
            // of 0 changes nothing to act on), and, for a link not accepted yet, with
            // `attached` once it is.
            if let available = f.available, available != links[h].receiver.available {
                let before = links[h].receiver.available ?? 0
                links[h].receiver.available = available
                if linkState == .attached && available != before {
                    events.append(.link(.available(links[h].id, available: available)))
                }
            }
            if links[h].receiver.drainRequested && links[h].credit == 0 {
                links[h].receiver.drainRequested = false
                links[h].drain = false
                events.append(.link(.drained(links[h].id)))
            }
            if f.echo { queueLinkFlow(h) }
        }
        return .ok
    }

    /// Drain with nothing to send: advance the delivery-count past the unused credit and
    /// tell the receiver (part 2, section 2.6.7).
    mutating func drainSender(_ h: Int, events: inout RingQueue<ConnectionEvent>) {
        links[h].deliveryCount &+= links[h].credit
        links[h].credit = 0
        queueLinkFlow(h)
        events.append(.link(.drained(links[h].id)))
    }
}
