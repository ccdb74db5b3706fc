import AMQPCodec

// Incoming TRANSFER frames (part 2, section 2.6.12): session window and delivery-id
// sequencing, link credit, then per delivery: hand a one-frame delivery over as a view
// into the receive buffer, reassemble a multi-frame one into an owned buffer (bounded by
// max-message-size and by the connection's buffered-bytes budget), or stream it frame by
// frame; aborts discard what arrived.

/// The delivery whose frames are arriving on a receiving link.
struct PartialDelivery {
    let id: DeliveryNumber
    let tag: DeliveryTag
    let messageFormat: UInt32
    var settled: Bool
    var state: DeliveryState?
    /// Settle in rcv-settle-mode `second`.
    let secondMode: Bool
    /// Bytes so far (reassembling links keep them in `buffer`).
    var size = 0
    var buffer: [UInt8] = []
    /// The rest of this delivery is read and dropped (its link detached, or it broke a
    /// limit).
    var discarding: Bool

    /// The delivery with the bytes reassembled so far.
    func delivery(owning bytes: [UInt8]) -> Delivery {
        Delivery(
            id: id, messageFormat: messageFormat, settled: settled, payload: nil, tag: nil,
            extras: DeliveryExtras(tag: tag, state: state, owned: bytes))
    }
}

extension TransferView {
    /// The sender's state, already checked to decode when the TRANSFER was read.
    var checkedState: DeliveryState? {
        guard hasState else { return nil }
        return (try? state()) ?? nil
    }
}

extension ReceiverState {
    /// The box that chunks of a streamed delivery carry their tag and state in: the one
    /// the last chunk carried when it holds the same, or that one updated in place when
    /// no event holds it any more, so a stream of deliveries reuses one box.
    mutating func chunkExtras(for p: PartialDelivery) -> DeliveryExtras {
        if chunkBox != nil {
            // Asked before binding the box to a name, which would hold a second reference.
            let unique = isKnownUniquelyReferenced(&chunkBox!)
            let box = chunkBox.unsafelyUnwrapped
            if box.tag == p.tag && box.state == p.state { return box }
            if unique {
                box.tag = p.tag
                box.state = p.state
                return box
            }
        }
        let box = DeliveryExtras(tag: p.tag, state: p.state)
        chunkBox = box
        return box
    }
}

/// What one frame did to its delivery.
enum FrameOutcome {
    /// More frames follow.
    case incomplete
    /// The delivery is complete; `settled` is the sender's final word.
    case completed(settled: Bool)
    /// The sender aborted it.
    case aborted
    /// Read and dropped.
    case discarded
    /// It grew past our max-message-size.
    case tooLarge(size: Int)
    /// Buffering it would exceed the connection's budget.
    case overBudget
}

extension LinkEndpoint {
    /// Takes one frame of the current delivery.
    mutating func take(_ t: TransferView, payload: UnsafeRawBufferPointer, shared: inout SessionShared, events: inout RingQueue<ConnectionEvent>) -> FrameOutcome {
        if t.settled == true { receiver.current!.settled = true }
        if t.hasState { receiver.current!.state = t.checkedState }
        let last = !t.more
        if t.aborted {
            let p = receiver.current!
            shared.bufferedDeliveryBytes -= p.buffer.count
            receiver.current = nil
            if p.discarding { return .discarded }
            events.append(.link(.aborted(id, p.id)))
            return .aborted
        }
        if receiver.current!.discarding {
            if last { receiver.current = nil }
            return .discarded
        }
        let size = receiver.current!.size &+ payload.count
        if maxMessageSize > 0 && UInt64(size) > maxMessageSize {
            shared.bufferedDeliveryBytes -= receiver.current!.buffer.count
            receiver.current!.buffer = []
            if last { receiver.current = nil } else { receiver.current!.discarding = true }
            return .tooLarge(size: size)
        }
        receiver.current!.size = size
        if receiver.streaming {
            let p = receiver.current!
            let chunk = Delivery(
                id: p.id, messageFormat: p.messageFormat, settled: p.settled, payload: payload, tag: nil,
                extras: receiver.chunkExtras(for: p))
            events.append(.link(.deliveryChunk(id, chunk, isLast: last)))
            if last {
                let settled = receiver.current!.settled
                receiver.current = nil
                return .completed(settled: settled)
            }
            return .incomplete
        }
        if last && size == payload.count {
            // Everything is in this frame: lend it, no copy.
            let p = receiver.current!
            let extras = p.state == nil ? nil : DeliveryExtras(tag: nil, state: p.state)
            events.append(.link(.delivery(id, Delivery(
                id: p.id, messageFormat: p.messageFormat, settled: p.settled, payload: payload,
                tag: t.deliveryTagBytes, extras: extras))))
            receiver.current = nil
            let settled = p.settled
            return .completed(settled: settled)
        }
        shared.bufferedDeliveryBytes &+= payload.count
        if shared.bufferedDeliveryBytes > shared.maxBufferedDeliveryBytes {
            return .overBudget
        }
        receiver.current!.buffer.append(contentsOf: payload)
        guard last else { return .incomplete }
        let p = receiver.current!
        receiver.current = nil
        shared.bufferedDeliveryBytes -= p.buffer.count
        events.append(.link(.delivery(id, p.delivery(owning: p.buffer))))
        return .completed(settled: p.settled)
    }
}

extension SessionEndpoint {
    mutating func receiveTransfer(_ t: TransferView, payload: UnsafeRawBufferPointer, shared: inout SessionShared, events: inout RingQueue<ConnectionEvent>) -> SessionVerdict {
        guard state == .mapped else { return .ok }
        // Part 2, section 2.5.6: the peer may send up to the limit we last announced.
        let left = incomingLimit &- nextIncomingID
        guard left != 0, left <= incomingWindow else {
            return .endSession(AMQPError(
                condition: .windowViolation, description: "TRANSFER \(nextIncomingID) beyond the incoming window we announced"))
        }
        nextIncomingID &+= 1
        if remoteOutgoingWindow > 0 { remoteOutgoingWindow &-= 1 }
        if left &- 1 <= incomingWindow / 2 { queueSessionFlow() }
        guard let h = localHandle(remote: t.handle) else {
            return .endSession(unattached("TRANSFER", handle: t.handle))
        }
        guard links[h].role == .receiver else {
            return .endSession(AMQPError(condition: .notAllowed, description: "TRANSFER on handle \(t.handle), where the peer is the receiver"))
        }
        let id: DeliveryNumber
        if links[h].receiver.current != nil {
            let currentID = links[h].receiver.current.unsafelyUnwrapped.id
            if let given = t.deliveryID, given != currentID {
                return .endSession(AMQPError(
                    condition: .invalidField, description: "continuation TRANSFER with delivery-id \(given) during delivery \(currentID)"))
            }
            // Part 2, section 2.7.5: a continuation may repeat the tag and format, not change them.
            if let tag = t.deliveryTag, tag != links[h].receiver.current.unsafelyUnwrapped.tag {
                return .endSession(AMQPError(
                    condition: .invalidField, description: "continuation TRANSFER with another delivery-tag during delivery \(currentID)"))
            }
            let currentFormat = links[h].receiver.current.unsafelyUnwrapped.messageFormat
            if let format = t.messageFormat, format != currentFormat {
                return .endSession(AMQPError(
                    condition: .invalidField,
                    description: "continuation TRANSFER with message-format \(format) during delivery \(currentID) (format \(currentFormat))"))
            }
            id = currentID
        } else {
            guard let given = t.deliveryID ?? expectedDeliveryID else {
                return .endSession(AMQPError(condition: .invalidField, description: "the first TRANSFER of a delivery has no delivery-id"))
            }
            if let expected = expectedDeliveryID, given != expected {
                return .endSession(AMQPError(
                    condition: .invalidField, description: "delivery-id \(given) out of sequence: expected \(expected)"))
            }
            expectedDeliveryID = given &+ 1
            id = given
            var discarding = links[h].state == .detachSent
            if !discarding {
                if links[h].credit == 0 && links[h].receiver.overrun < links[h].receiver.overrunAllowance {
                    // Tolerated excess (`creditOverrunAllowance`): the sender counted it,
                    // so the delivery-count moves on; the credit stays 0.
                    links[h].receiver.overrun += 1
                    links[h].deliveryCount &+= 1
                } else if links[h].credit == 0 {
                    detachLocally(h, closed: true, error: EngineError(
                        .transferLimitExceeded, "TRANSFER of delivery \(id) without link credit", origin: .local), shared: &shared)
                    discarding = true
                } else {
                    consumeCredit(h, events: &events)
                }
            }
            let settled = t.settled ?? false
            let second = (t.rcvSettleMode ?? links[h].rcvSettleMode) == .second
            if !discarding && !t.more && !t.aborted && !links[h].receiver.streaming
                && (links[h].maxMessageSize == 0 || UInt64(payload.count) <= links[h].maxMessageSize)
            {
                // A whole delivery in one frame, the common case: lend it at once, with
                // no partial delivery to set up and tear down.
                if !settled { incoming.append(UnsettledEntry(id: id, handle: UInt32(h), secondMode: second)) }
                // Tag and payload stay views of the frame; only a state needs a box. The
                // event is built in each branch: with a literal `nil` for the box, the
                // common one retains and releases nothing.
                if t.hasState {
                    events.append(.link(.delivery(links[h].id, Delivery(
                        id: id, messageFormat: t.messageFormat ?? 0, settled: settled, payload: payload,
                        tag: t.deliveryTagBytes, extras: DeliveryExtras(tag: nil, state: t.checkedState)))))
                } else {
                    events.append(.link(.delivery(links[h].id, Delivery(
                        id: id, messageFormat: t.messageFormat ?? 0, settled: settled, payload: payload,
                        tag: t.deliveryTagBytes, extras: nil))))
                }
                return .ok
            }
            links[h].receiver.current = PartialDelivery(
                id: id, tag: t.deliveryTag ?? DeliveryTag(), messageFormat: t.messageFormat ?? 0, settled: settled,
                state: t.checkedState, secondMode: second, discarding: discarding)
            if !discarding && !settled {
                incoming.append(UnsettledEntry(id: id, handle: UInt32(h), secondMode: second))
            }
        }
        switch links[h].take(t, payload: payload, shared: &shared, events: &events) {
        case .incomplete, .discarded:
            break
        case .completed(let settled):
            if settled { forgetIncoming(id) }
        case .aborted:
            forgetIncoming(id)
        case .tooLarge(let size):
            forgetIncoming(id)
            let limit = links[h].maxMessageSize
            detachLocally(h, closed: true, error: EngineError(
                .messageSizeExceeded, "delivery \(id) reached \(size) bytes, above max-message-size \(limit)", origin: .local),
                shared: &shared)
        case .overBudget:
            return .closeConnection(AMQPError(
                condition: .resourceLimitExceeded,
                description: "partly received deliveries exceed \(shared.maxBufferedDeliveryBytes) buffered bytes"))
        }
        return .ok
    }

    /// A delivery arrived: one credit used (part 2, section 2.6.7); a prefetching link
    /// tops its credit up when half is gone (once the FLOW saying so is written).
    @inline(__always)
    mutating func consumeCredit(_ h: Int, events: inout RingQueue<ConnectionEvent>) {
        let (drained, toppedUp) = links[h].consumeCredit()
        if drained { events.append(.link(.drained(links[h].id))) }
        if toppedUp { queueLinkFlow(h) }
    }

    /// Drops the unsettled entry of an incoming delivery that needs no settling.
    mutating func forgetIncoming(_ id: DeliveryNumber) {
        if let i = incoming.index(of: id) {
            incoming.settle(at: i)
            incoming.trim()
        }
    }
}

extension LinkEndpoint {
    /// A delivery arrived: one credit used. Returns whether a drain it asked for is now
    /// over, and whether its prefetch credit was topped up (tell the sender). One
    /// mutating call, so the session's link table is checked for uniqueness once.
    @inline(__always)
    mutating func consumeCredit() -> (drained: Bool, toppedUp: Bool) {
        credit &-= 1
        deliveryCount &+= 1
        var drained = false
        if credit == 0 && receiver.drainRequested {
            receiver.drainRequested = false
            drain = false
            drained = true
        }
        // The top-up counts only once the FLOW announcing it is written (the session's
        // output restores `credit` then): until then a peer sending past the old credit
        // is still caught.
        if case .prefetch(let n) = receiver.policy, !receiver.drainRequested, credit <= n / 2, !receiver.refillPending {
            receiver.refillPending = true
            return (drained, true)
        }
        return (drained, false)
    }
}
