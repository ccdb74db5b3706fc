import AMQPCodec

// Outgoing TRANSFER frames (part 2, section 2.6.12): a delivery takes one credit when its
// first frame goes out and is split at the peer's max-frame-size (or at the room left in
// the output buffer); each frame takes one slot of the peer's incoming window. Links
// take turns a delivery at a time.

extension ConnectionEngine {
    mutating func writeTransfers(session s: Int, into e: inout AMQPEncoder, gather: OutboundSegments?, maxFrame: Int) -> OutputResult {
        guard sessions.slots[s].state == .mapped else { return .done }
        // One mutating call on the session for the whole round: each separate
        // `sessions.slots[s]` write checks the table for uniqueness again.
        switch sessions.slots[s].writeTransfers(into: &e, gather: gather, maxFrame: maxFrame, trace: configuration.trace, events: &events) {
        case .complete, .partial:
            return .done
        case .full:
            return .full
        case .failed(let error):
            fail(error, sendClose: false)
            return .failed
        }
    }
}

/// What writing one transfer frame did (or, for a round, how it ended: `complete`
/// when everything that could go went).
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

    /// Writes transfers while credit and windows allow, links taking turns a delivery
    /// at a time.
    mutating func writeTransfers(
        into e: inout AMQPEncoder, gather: OutboundSegments?, maxFrame: Int, trace: Bool, events: inout RingQueue<ConnectionEvent>
    ) -> TransferWrite {
        // One link (the usual case): nothing to take turns with, so its frames go out in
        // one loop, without the round's bookkeeping between them.
        if links.count == 1 {
            while links[0].canSend {
                guard remoteIncomingWindow > 0, outgoingWindow > 0 else { return .complete }
                switch writeTransferFrame(0, into: &e, gather: gather, maxFrame: maxFrame, trace: trace, events: &events) {
                case .partial, .complete:
                    continue
                case .full:
                    sendCursor = 0
                    return .full
                case .failed(let error):
                    return .failed(error)
                }
            }
            return .complete
        }
        var progressed = true
        while progressed {
            progressed = false
            let n = links.count
            if n == 0 { return .complete }
            let start = sendCursor % n
            for k in 0..<n {
                let h = (start &+ k) % n
                guard links[h].canSend else { continue }
                while true {
                    guard remoteIncomingWindow > 0, outgoingWindow > 0 else { return .complete }
                    switch writeTransferFrame(h, into: &e, gather: gather, maxFrame: maxFrame, trace: trace, events: &events) {
                    case .partial:
                        continue
                    case .complete:
                        progressed = true
                        // The next round starts after the last link that sent, so a round
                        // that sends nothing leaves the turn where it was.
                        sendCursor = h &+ 1
                    case .full:
                        sendCursor = h
                        return .full
                    case .failed(let error):
                        return .failed(error)
                    }
                    break
                }
            }
        }
        return .complete
    }

    /// Writes the next frame of the head delivery of the sender in slot `h`.
    @inline(__always)
    mutating func writeTransferFrame(
        _ h: Int, into e: inout AMQPEncoder, gather: OutboundSegments?, maxFrame: Int, trace: Bool,
        events: inout RingQueue<ConnectionEvent>
    ) -> TransferWrite {
        let offset = links[h].sender.headOffset
        let started = links[h].sender.headID
        let first = started == nil
        let id = started ?? nextDeliveryID
        // The head is read in place, not copied: a copy would retain its payload and
        // go through the delivery's value witnesses.
        let d = links[h].sender.queue.firstAddress
        let frame: (chunk: Int, more: Bool)
        do {
            frame = try Self.encodeTransferFrame(
                d, handle: UInt32(h), id: id, first: first, offset: offset, channel: self.id.channel, maxFrame: maxFrame,
                into: &e, gather: gather)
        } catch {
            if error.code == .bufferTooSmall { return .full }
            return .failed(EngineError(.internalError, "cannot encode transfer: \(error)", origin: .local))
        }
        if first {
            nextDeliveryID &+= 1
            if !d.pointee.settled { outgoing.append(UnsettledEntry(id: id, handle: UInt32(h), token: d.pointee.handle.rawValue)) }
        }
        if trace {
            let t = Transfer(
                handle: UInt32(h), deliveryID: id, deliveryTag: first ? d.pointee.tag : nil,
                messageFormat: first ? d.pointee.messageFormat : nil, settled: first && d.pointee.settled ? true : nil,
                more: frame.more, batchable: first && d.pointee.batchable)
            events.append(.trace(OutboundFrame.amqp(channel: self.id.channel, .transfer(t)).traceLine))
        }
        nextOutgoingID &+= 1
        remoteIncomingWindow &-= 1
        outgoingWindow &-= 1
        if outgoingWindow <= configuration.outgoingWindow / 2 {
            outgoingWindow = configuration.outgoingWindow
            queueSessionFlow()
        }
        // `d` is not used past this point: the link's update may remove the head.
        let drainNow = links[h].wroteHeadFrame(id: id, first: first, chunk: frame.chunk, more: frame.more)
        if drainNow { drainSender(h, events: &events) }
        return frame.more ? .partial : .complete
    }

    /// Writes one TRANSFER frame of `d` from payload byte `offset`: as much as fits in
    /// max-frame-size and the buffer. Returns the payload bytes written and whether more
    /// frames follow; leaves nothing behind when it throws. With `gather`, a chunk of at
    /// least its threshold goes there by reference instead of into the buffer.
    @inline(__always)
    static func encodeTransferFrame(
        _ d: UnsafePointer<OutgoingDelivery>, handle: UInt32, id: DeliveryNumber, first: Bool, offset: Int, channel: UInt16,
        maxFrame: Int, into e: inout AMQPEncoder, gather: OutboundSegments? = nil
    ) throws(EncodeError) -> (chunk: Int, more: Bool) {
        let remaining = d.pointee.payload.count - offset
        // One comparison on the path of small messages.
        if let gather, remaining >= gather.threshold,
            let frame = try encodeGatheredTransferFrame(
                d, handle: handle, id: id, first: first, offset: offset, channel: channel, maxFrame: maxFrame, into: &e,
                gather: gather)
        {
            return frame
        }
        let start = try FrameEncoder.beginFrame(channel: channel, into: &e)
        do throws(EncodeError) {
            let limit = Swift.min(maxFrame, e.capacity - start)
            let mark = e.count
            try encodeTransfer(d, handle: handle, id: id, first: first, more: false, into: &e)
            var chunk = remaining
            var more = false
            if remaining > limit - (e.count - start) {
                e.rewind(to: mark)
                more = true
                try encodeTransfer(d, handle: handle, id: id, first: first, more: true, into: &e)
                let room = limit - (e.count - start)
                if room <= 0 || (limit < maxFrame && room < minimumChunk) { throw EncodeError(.bufferTooSmall) }
                chunk = room
            }
            try e.writeBytes(d.pointee.payload, from: offset, count: chunk)
            try FrameEncoder.endFrame(start, into: &e)
            return (chunk, more)
        } catch {
            e.rewind(to: start)
            throw error
        }
    }

    /// The frame of `encodeTransferFrame` with its payload chunk by reference: only the
    /// frame header and the performative take room in the buffer, and the chunk is cut at
    /// max-frame-size and at what `gather` may still hold. `nil` (nothing written) when
    /// that leaves less than the threshold: the caller copies instead.
    @inline(never)
    static func encodeGatheredTransferFrame(
        _ d: UnsafePointer<OutgoingDelivery>, handle: UInt32, id: DeliveryNumber, first: Bool, offset: Int, channel: UInt16,
        maxFrame: Int, into e: inout AMQPEncoder, gather: OutboundSegments
    ) throws(EncodeError) -> (chunk: Int, more: Bool)? {
        let room = gather.room
        guard room >= gather.threshold else { return nil }
        let remaining = d.pointee.payload.count - offset
        let start = try FrameEncoder.beginFrame(channel: channel, into: &e)
        do throws(EncodeError) {
            let mark = e.count
            try encodeTransfer(d, handle: handle, id: id, first: first, more: false, into: &e)
            var chunk = remaining
            var more = false
            if remaining > Swift.min(maxFrame - (e.count - start), room) {
                e.rewind(to: mark)
                more = true
                try encodeTransfer(d, handle: handle, id: id, first: first, more: true, into: &e)
                chunk = Swift.min(maxFrame - (e.count - start), room)
            }
            guard chunk >= gather.threshold else {
                e.rewind(to: start)
                return nil
            }
            try FrameEncoder.endFrame(start, followedBy: chunk, into: &e)
            gather.append(d.pointee.payload, offset: offset, count: chunk, at: e.count)
            return (chunk, more)
        } catch {
            e.rewind(to: start)
            throw error
        }
    }

    /// The TRANSFER of a frame of `d`: the first carries its tag, format and settledness,
    /// and `batchable` when set (the specification makes it hold for the whole delivery
    /// when any of its frames carries it).
    @inline(__always)
    static func encodeTransfer(
        _ d: UnsafePointer<OutgoingDelivery>, handle: UInt32, id: DeliveryNumber, first: Bool, more: Bool,
        into e: inout AMQPEncoder
    ) throws(EncodeError) {
        if first && d.pointee.batchable {
            // Rare: the general encoder, which writes the fields up to `batchable`,
            // keeps the one-claim path below free of it.
            try Transfer.encode(
                handle: handle, deliveryID: id, deliveryTag: d.pointee.tag, messageFormat: d.pointee.messageFormat,
                settled: d.pointee.settled ? true : nil, more: more, batchable: true, into: &e)
        } else if first {
            try Transfer.encodeFirst(
                handle: handle, deliveryID: id, deliveryTag: d.pointee.tag, messageFormat: d.pointee.messageFormat,
                settled: d.pointee.settled, more: more, into: &e)
        } else {
            try Transfer.encodeContinuation(handle: handle, deliveryID: id, more: more, into: &e)
        }
    }
}

extension LinkEndpoint {
    /// A frame of the head delivery went out: `chunk` payload bytes; the delivery's
    /// first frame when `first`, its last unless `more`. Returns true when the link must
    /// now give its credit back (a drain with nothing left to send).
    @inline(__always)
    mutating func wroteHeadFrame(id: DeliveryNumber, first: Bool, chunk: Int, more: Bool) -> Bool {
        if first {
            credit &-= 1
            deliveryCount &+= 1
            sender.headID = id
        }
        if more {
            sender.headOffset &+= chunk
            return false
        }
        sender.queue.removeFirst()
        sender.headID = nil
        sender.headOffset = 0
        return drain && credit > 0 && sender.queue.isEmpty && sender.mayCompleteDrain
    }
}
