import AMQPCodec

// Outgoing TRANSFER frames (part 2, section 2.6.12): a delivery takes one credit when its
// first frame goes out and is split at the peer's max-frame-size (or at the room left in
// the output buffer); each frame takes one slot of the peer's incoming window. Links
// take turns a delivery at a time.

extension ConnectionEngine {
    mutating func writeTransfers(session s: Int, into e: inout AMQPEncoder, maxFrame: Int) -> OutputResult {
        guard sessions.slots[s].state == .mapped else { return .done }
        var progressed = true
        while progressed {
            progressed = false
            let n = sessions.slots[s].links.count
            if n == 0 { return .done }
            let start = sessions.slots[s].sendCursor % n
            for k in 0..<n {
                let h = (start &+ k) % n
                guard sessions.slots[s].links[h].canSend else { continue }
                while true {
                    guard sessions.slots[s].remoteIncomingWindow > 0, sessions.slots[s].outgoingWindow > 0 else { return .done }
                    switch sessions.slots[s].writeTransferFrame(h, into: &e, maxFrame: maxFrame, trace: configuration.trace, events: &events) {
                    case .partial:
                        continue
                    case .complete:
                        progressed = true
                    case .full:
                        sessions.slots[s].sendCursor = h
                        return .full
                    case .failed(let error):
                        fail(error, sendClose: false)
                        return .failed
                    }
                    break
                }
            }
            sessions.slots[s].sendCursor = start &+ 1
        }
        return .done
    }
}

/// The fields of a queued delivery that writing its frames needs (a struct: a tuple of
/// them would be destroyed through the runtime's generic tuple witness).
struct HeadDelivery {
    let payload: [UInt8]
    let tag: DeliveryTag
    let messageFormat: UInt32
    let settled: Bool
    let handle: DeliveryHandle

    @inline(__always)
    init(_ d: borrowing OutgoingDelivery) {
        payload = d.payload
        tag = d.tag
        messageFormat = d.messageFormat
        settled = d.settled
        handle = d.handle
    }
}

/// What writing one transfer frame did.
enum TransferWrite {
    /// The delivery's last frame went out.
    case complete
    /// A frame went out; more follow.
    case partial
    /// No room in the output buffer.
    case full
    /// Encoding failed for a reason other than room.
    case failed(EngineError)
}

extension SessionEndpoint {
    /// Below this many payload bytes a frame cut short by the output buffer (rather than
    /// by max-frame-size) waits for the next buffer instead.
    static let minimumChunk = 512

    /// Writes the next frame of the head delivery of the sender in slot `h`.
    mutating func writeTransferFrame(
        _ h: Int, into e: inout AMQPEncoder, maxFrame: Int, trace: Bool, events: inout RingQueue<ConnectionEvent>
    ) -> TransferWrite {
        // The head's fields, read in place: a copy of the whole delivery would go through
        // its value witness.
        let d = links[h].sender.queue.withFirst { d in HeadDelivery(d) }
        let offset = links[h].sender.headOffset
        let started = links[h].sender.headID
        let first = started == nil
        let id = started ?? nextDeliveryID
        var t = Transfer(handle: UInt32(h), deliveryID: id)
        if first {
            t.deliveryTag = d.tag
            t.messageFormat = d.messageFormat
            if d.settled { t.settled = true }
        }
        let remaining = d.payload.count - offset
        var chunk = 0
        do {
            try FrameEncoder.encodeFrame(channel: self.id.channel, into: &e) { (e) throws(EncodeError) in
                let frameStart = e.count - FrameHeader.size
                let limit = Swift.min(maxFrame, e.capacity - frameStart)
                let mark = e.count
                try t.encode(into: &e)
                if remaining <= limit - (e.count - frameStart) {
                    chunk = remaining
                } else {
                    e.rewind(to: mark)
                    t.more = true
                    try t.encode(into: &e)
                    let room = limit - (e.count - frameStart)
                    if room <= 0 || (limit < maxFrame && room < Self.minimumChunk) { throw EncodeError(.bufferTooSmall) }
                    chunk = room
                }
                try e.writeBytes(of: d.payload, from: offset, count: chunk)
            }
        } catch {
            if error.code == .bufferTooSmall { return .full }
            return .failed(EngineError(.internalError, "cannot encode transfer: \(error)", origin: .local))
        }
        if first {
            nextDeliveryID &+= 1
            links[h].credit &-= 1
            links[h].deliveryCount &+= 1
            links[h].sender.headID = id
            if !d.settled { outgoing.append(UnsettledEntry(id: id, handle: UInt32(h), token: d.handle.rawValue)) }
        }
        links[h].sender.headOffset = offset + chunk
        nextOutgoingID &+= 1
        remoteIncomingWindow &-= 1
        outgoingWindow &-= 1
        if outgoingWindow <= configuration.outgoingWindow / 2 {
            outgoingWindow = configuration.outgoingWindow
            queueSessionFlow()
        }
        if trace { events.append(.trace(OutboundFrame.amqp(channel: self.id.channel, .transfer(t)).traceLine)) }
        guard !t.more else { return .partial }
        links[h].sender.queue.removeFirst()
        links[h].sender.headID = nil
        links[h].sender.headOffset = 0
        if links[h].drain && links[h].credit > 0 && links[h].sender.queue.isEmpty && links[h].sender.mayCompleteDrain {
            drainSender(h, events: &events)
        }
        return .complete
    }
}

extension AMQPEncoder {
    /// Writes `count` bytes of `array` from `offset`.
    @inline(__always)
    mutating func writeBytes(of array: [UInt8], from offset: Int, count: Int) throws(EncodeError) {
        guard count > 0 else { return }
        let r: Result<Void, EncodeError> = array.withUnsafeBytes { raw in
            Result { () throws(EncodeError) in try self.writeBytes(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + count)])) }
        }
        try r.get()
    }
}
