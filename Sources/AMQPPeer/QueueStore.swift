import AMQPCodec

/// Every queue, and the accounting that keeps them bounded.
///
/// `heldBytes` counts messages in queues and messages handed to consumers and not yet
/// settled (they may come back), so the total bound holds whatever consumers do.
/// Messages coming back are never refused: they were counted when they arrived. A queue
/// can therefore hold more than its own bound by what its consumers had unsettled.
struct QueueStore {
    let limits: PeerLimits
    /// Queues made at the start, which stay when empty.
    let permanent: Set<String>
    /// The queues, in slots that `index` names by address. Reached through the array,
    /// not as `[String: MessageQueue]` values: changing a dictionary's value in place
    /// (`queues[address]?.popFirst()`) went through accessor coroutines that allocated
    /// three times per message taken.
    private var slots: [MessageQueue] = []
    /// Slot by address, for every queue that exists.
    private(set) var index: [String: Int] = [:]
    /// Slots of forgotten queues, for the next queue made.
    private var freeSlots: [Int] = []
    private(set) var heldBytes = 0
    private var nextSequence: UInt64 = 0

    init(limits: PeerLimits, permanent: Set<String> = []) {
        self.limits = limits
        self.permanent = permanent
        for address in permanent { _ = make(address) }
    }

    /// The addresses of every queue.
    var addresses: Dictionary<String, Int>.Keys { index.keys }

    func depth(_ address: String) -> Int { index[address].map { slots[$0].count } ?? 0 }

    func exists(_ address: String) -> Bool { index[address] != nil }

    /// Makes the queue unless it exists; false when there are too many queues.
    mutating func ensure(_ address: String) -> Bool {
        if index[address] != nil { return true }
        guard index.count < limits.maxQueues else { return false }
        _ = make(address)
        return true
    }

    /// A new, empty queue for `address` (which has none); its slot.
    private mutating func make(_ address: String) -> Int {
        let slot: Int
        if let reused = freeSlots.popLast() {
            slot = reused
            slots[slot] = MessageQueue()
        } else {
            slot = slots.count
            slots.append(MessageQueue())
        }
        index[address] = slot
        return slot
    }

    /// Stores a message that arrived; returns why not when a bound says no.
    mutating func store(_ address: String, payload: [UInt8], messageFormat: UInt32) -> AMQPError? {
        guard ensure(address), let slot = index[address] else {
            return AMQPError(condition: .resourceLimitExceeded, description: "the peer holds \(limits.maxQueues) queues already")
        }
        let q = (count: slots[slot].count, bytes: slots[slot].bytes)
        if q.count >= limits.maxQueueMessages {
            return AMQPError(condition: .resourceLimitExceeded, description: "queue \(address) is full: \(q.count) messages")
        }
        if q.bytes + payload.count > limits.maxQueueBytes {
            return AMQPError(condition: .resourceLimitExceeded, description: "queue \(address) is full: \(q.bytes) of \(limits.maxQueueBytes) bytes")
        }
        if heldBytes + payload.count > limits.maxTotalBytes {
            return AMQPError(condition: .resourceLimitExceeded, description: "the peer holds \(heldBytes) of \(limits.maxTotalBytes) bytes")
        }
        heldBytes += payload.count
        let m = StoredMessage(payload: payload, messageFormat: messageFormat, sequence: sequence())
        slots[slot].append(m)
        return nil
    }

    /// Takes the oldest message for a consumer; it stays counted until `consumed`.
    mutating func take(_ address: String) -> StoredMessage? {
        guard let slot = index[address] else { return nil }
        return slots[slot].popFirst()
    }

    /// A message taken comes back to its place (released, modified, its consumer gone).
    /// `previousSize` is its size when taken (a modified message may have grown).
    mutating func putBack(_ address: String, _ m: StoredMessage, previousSize: Int) {
        heldBytes += m.payload.count - previousSize
        let slot = index[address] ?? make(address)
        slots[slot].putBack(m)
    }

    /// A message taken is finished with (accepted, or given up).
    mutating func consumed(_ m: StoredMessage) {
        heldBytes -= m.payload.count
    }

    /// A message taken moves to the dead-letter queue, at its end, unless that is full
    /// (then it is dropped). Returns whether it was kept.
    mutating func deadLetter(_ m: StoredMessage, to address: String) -> Bool {
        guard ensure(address), let slot = index[address] else {
            consumed(m)
            return false
        }
        guard slots[slot].count < limits.maxQueueMessages, slots[slot].bytes + m.payload.count <= limits.maxQueueBytes else {
            consumed(m)
            return false
        }
        slots[slot].append(StoredMessage(payload: m.payload, messageFormat: m.messageFormat, sequence: sequence()))
        return true
    }

    /// Forgets an empty queue nobody uses, so addresses tried once do not pile up.
    mutating func forgetIfEmpty(_ address: String) {
        guard let slot = index[address], slots[slot].isEmpty, !permanent.contains(address) else { return }
        index[address] = nil
        // The next queue made takes the slot.
        freeSlots.append(slot)
    }

    /// The messages of a queue, oldest first.
    func messages(_ address: String) -> [StoredMessage] { index[address].map { slots[$0].messages } ?? [] }

    private mutating func sequence() -> UInt64 {
        defer { nextSequence += 1 }
        return nextSequence
    }
}
