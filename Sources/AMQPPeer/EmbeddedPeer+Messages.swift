import AMQPCodec
import AMQPEngine
import AMQPReactor

// Messages: storing what clients send, handing queues to receivers as credit allows,
// and acting on outcomes.

extension EmbeddedPeer {
    /// Most deliveries one receiver is handed before the next receiver of the same queue
    /// gets its turn.
    static let deliveriesPerTurn = 64

    func messageArrived(
        _ connection: PeerConnection, _ link: LinkID, _ delivery: DeliveryNumber, settled: Bool, messageFormat: UInt32,
        payload: DeliveryPayload
    ) {
        // After a fault is played, what was already parsed is left unsettled: the client
        // hears it was lost when the link or connection ends.
        guard let l = connection.links[link], !l.faulted, !connection.dropping else { return }
        let state: DeliveryState
        switch l.kind {
        case .inbound(let fixed):
            var address = fixed
            if address == nil {
                // Anonymous relay: the message says where it goes.
                address = payload.withUnsafeBytes { try? Message(decoding: $0) }?.properties?.to
            }
            if let address {
                state = payload.withUnsafeBytes { bytes in
                    store(connection, address, queue: fixed == nil ? nil : l.queue, payload: bytes, messageFormat: messageFormat)
                }
            } else {
                statistics.messagesRefused += 1
                state = .rejected(AMQPError(condition: .notFound, description: "the link has no target address and the message no `to`"))
            }
        case .cbsRequests:
            state = putToken(connection, payload.bytes)
        case .outbound, .cbsReplies:
            return
        }
        if !settled {
            withEngine(connection.id) { try? $0.settle(link, delivery: delivery, state: state) }
        }
        countMessage(connection, link: link)
        countMessage(connection)
    }

    /// Stores a copy of `payload` for `address` (whose queue a link may have resolved when
    /// it attached); the outcome to answer with.
    func store(
        _ connection: PeerConnection, _ address: String, queue resolved: QueueRef?, payload: UnsafeRawBufferPointer, messageFormat: UInt32
    ) -> DeliveryState {
        if configuration.cbs.protects(address) && !connection.isAuthorized(for: address) {
            statistics.messagesRefused += 1
            return .rejected(AMQPError(condition: .unauthorizedAccess, description: "\(address) needs a token: put one to $cbs first"))
        }
        // A queue that exists is known; otherwise it may be made here.
        var existing: Int? = nil
        if let resolved { existing = store.slot(resolved) }
        if existing == nil { existing = store.slot(address) }
        guard existing != nil || knows(address) else {
            statistics.messagesRefused += 1
            return .rejected(AMQPError(condition: .notFound, description: "no queue \(address): this peer makes no queues on demand"))
        }
        let refusal: AMQPError?
        let slot: Int?
        if let existing {
            slot = existing
            refusal = store.store(slot: existing, payload: payload, messageFormat: messageFormat)
        } else {
            refusal = store.store(address, payload: payload, messageFormat: messageFormat)
            slot = store.slot(address)
        }
        if let refusal {
            statistics.messagesRefused += 1
            return .rejected(refusal)
        }
        statistics.messagesStored += 1
        if let slot { pump(slot: slot) }
        return .accepted
    }

    /// `reactor.withInner` for the peer's own machine, through its layers' stored
    /// properties rather than the generic `innermost` accessors: called per message, and
    /// those accessors' coroutine frames are heap-allocated in debug builds (free in
    /// release ones), which would hide the peer's own allocations from
    /// PeerAllocationTests.
    @discardableResult
    func withEngine<R>(_ id: ConnectionID, _ body: (inout ConnectionEngine) -> R) -> R? {
        reactor.withConnection(id) { machine in body(&machine.inner.inner) }
    }

    func creditArrived(_ connection: PeerConnection, _ link: LinkID, drain: Bool) {
        guard let l = connection.links[link] else { return }
        switch l.kind {
        case .outbound(let address, _): pump(address)
        case .cbsReplies: pumpReplies(connection)
        default: return
        }
        // Everything the queue could give this link is handed over: the engine gives back
        // the credit left once it is written.
        if drain { withEngine(connection.id) { try? $0.completeDrain(on: link) } }
    }

    /// Hands the queue at `address` to its receivers, in turns, as far as their credit
    /// goes.
    func pump(_ address: String) {
        if let slot = store.slot(address) { pump(slot: slot) }
    }

    /// Hands the queue at `slot` to its receivers, in turns, as far as their credit goes.
    func pump(slot: Int) {
        guard store.depth(slot: slot) > 0 else { return }
        let list = store.receivers(slot: slot)
        guard !list.isEmpty else { return }
        var start = store.rotation(slot: slot)
        var progress = true
        while progress && store.depth(slot: slot) > 0 {
            progress = false
            for k in 0..<list.count where store.depth(slot: slot) > 0 {
                let consumer = list[(start + k) % list.count]
                if deliver(slot: slot, to: consumer, atMost: Self.deliveriesPerTurn) > 0 { progress = true }
            }
            start += 1
        }
        store.setRotation(start % list.count, slot: slot)
    }

    /// Sends up to `atMost` messages of the queue at `slot` (and the link's credit) to one
    /// receiver.
    func deliver(slot: Int, to consumer: Consumer, atMost: Int) -> Int {
        guard let connection = connections[consumer.connection], !connection.dropping, let l = connection.links[consumer.link], !l.faulted,
            case .outbound(let address, let presettled) = l.kind
        else { return 0 }
        let queue = store.ref(slot: slot)
        let sent: Int = withEngine(connection.id) { engine in
            var sent = 0
            var room = Swift.min(atMost, engine.sendable(on: consumer.link))
            while room > 0, let m = store.take(slot: slot) {
                do {
                    let handle = try engine.send(
                        on: consumer.link, payload: m.payload, settled: presettled, messageFormat: m.messageFormat)
                    if presettled {
                        store.consumed(m)
                    } else {
                        connection.outstanding[handle] = Outstanding(address: address, queue: queue, message: m, link: consumer.link)
                    }
                    sent += 1
                    room -= 1
                } catch {
                    store.putBack(address, m, previousSize: m.payload.count)
                    break
                }
            }
            return sent
        } ?? 0
        guard sent > 0 else { return 0 }
        statistics.deliveriesSent += sent
        // Faults count after the batch: they call the reactor for this connection.
        for _ in 0..<sent {
            countMessage(connection, link: consumer.link)
            countMessage(connection)
        }
        return sent
    }

    func outcomeArrived(_ connection: PeerConnection, _ link: LinkID, _ handle: DeliveryHandle, _ state: DeliveryState?, settled: Bool) {
        guard settled, let o = connection.outstanding.removeValue(forKey: handle) else { return }
        switch state {
        case .released?:
            store.putBack(o.address, o.message, previousSize: o.message.payload.count)
            statistics.messagesReturned += 1
        case .modified(let failed, _, let annotations)?:
            store.putBack(o.address, Self.modify(o.message, deliveryFailed: failed, annotations: annotations), previousSize: o.message.payload.count)
            statistics.messagesReturned += 1
        case .rejected?:
            statistics.messagesRejected += 1
            // Rejected twice (from the dead-letter queue itself) is the end of it.
            if let dlq = configuration.deadLetterAddress, o.address != dlq {
                if store.deadLetter(o.message, to: dlq) {
                    statistics.deadLettered += 1
                    pump(dlq)
                }
            } else {
                store.consumed(o.message)
            }
        default:
            // Accepted, or settled without an outcome: the client has it.
            store.consumed(o.message)
            statistics.messagesAccepted += 1
        }
        var slot = store.slot(o.queue)
        if slot == nil { slot = store.slot(o.address) }
        if let slot { pump(slot: slot) }
    }

    func deliveryLost(_ connection: PeerConnection, _ handle: DeliveryHandle) {
        guard let o = connection.outstanding.removeValue(forKey: handle) else { return }
        store.putBack(o.address, o.message, previousSize: o.message.payload.count)
        statistics.messagesReturned += 1
        // Pumped when the link is reported gone (it is still registered now).
    }

    /// A modified message: one more failed delivery in its header when `deliveryFailed`,
    /// and the annotations merged into its message annotations. Unchanged if it cannot be
    /// decoded (it is the client's business what it sent).
    static func modify(_ m: StoredMessage, deliveryFailed: Bool, annotations: Fields?) -> StoredMessage {
        guard deliveryFailed || annotations?.isEmpty == false, var message = try? Message(decoding: m.payload) else { return m }
        if deliveryFailed {
            var header = message.header ?? MessageHeader()
            header.deliveryCount &+= 1
            message.header = header
        }
        if let annotations, !annotations.isEmpty {
            var merged = message.messageAnnotations ?? Annotations()
            for entry in annotations.entries { merged[.symbol(entry.key)] = entry.value }
            message.messageAnnotations = merged
        }
        guard let payload = try? message.encoded() else { return m }
        return StoredMessage(payload: payload, messageFormat: m.messageFormat, sequence: m.sequence)
    }
}
