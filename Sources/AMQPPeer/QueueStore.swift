import AMQPCodec

/// Every queue, and the accounting that keeps them bounded.
///
/// `heldBytes` counts messages in queues and messages handed to consumers and not yet
/// settled (they may come back), so the total bound holds whatever consumers do.
/// Messages coming back are never refused: they were counted when they arrived. A queue
/// can therefore hold more than its own bound by what its consumers had unsettled.
///
/// The per-message calls take a queue's slot, which links resolve once when they attach
/// (a `QueueRef`, checked against the slot's generation before use), so the hot path
/// hashes no address. Arrays of finished messages are kept in `pool` for the next messages that
/// arrive; what it keeps and `heldBytes` together stay within `maxTotalBytes`.
struct QueueStore {
    let limits: PeerLimits
    /// Queues made at the start, which stay when empty.
    let permanent: Set<String>
    /// The queues, in slots that `index` names by address. Reached through the array,
    /// not as `[String: MessageQueue]` values: changing a dictionary's value in place
    /// (`queues[address]?.popFirst()`) went through accessor coroutines that allocated
    /// three times per message taken.
    private var slots: [MessageQueue] = []
    /// Address by slot (`""` for a free slot).
    private var names: [String] = []
    /// Bumped when a slot's queue is forgotten, so references to it go stale.
    private var generations: [UInt64] = []
    /// Receivers by slot, in attach order, and where the next round of deliveries starts.
    private var receiverLists: [[Consumer]] = []
    private var rotations: [Int] = []
    /// Slot by address, for every queue that exists.
    private(set) var index: [String: Int] = [:]
    /// Slots of forgotten queues, for the next queue made.
    private var freeSlots: [Int] = []
    private(set) var heldBytes = 0
    private var nextSequence: UInt64 = 0
    /// Arrays of finished messages, for the next ones that arrive.
    private var pool = BufferPool()

    init(limits: PeerLimits, permanent: Set<String> = []) {
        self.limits = limits
        self.permanent = permanent
        for address in permanent { _ = make(address) }
    }

    /// The addresses of every queue.
    var addresses: Dictionary<String, Int>.Keys { index.keys }

    func depth(_ address: String) -> Int { index[address].map { slots[$0].count } ?? 0 }

    /// Messages waiting in the queue at `slot`.
    func depth(slot: Int) -> Int { slots[slot].count }

    /// The slot of the queue at `address`, if it exists.
    func slot(_ address: String) -> Int? { index[address] }

    /// A reference to the queue at `address`, if it exists.
    func ref(_ address: String) -> QueueRef? { index[address].map { QueueRef(slot: $0, generation: generations[$0]) } }

    /// A reference to the queue at `slot` (which exists).
    func ref(slot: Int) -> QueueRef { QueueRef(slot: slot, generation: generations[slot]) }

    /// The slot `ref` names, while its queue exists (a slot is reused once its queue is
    /// forgotten). Integers only: a check that compared addresses (a call into the
    /// standard library) made the compiler copy the whole store around it, per message.
    func slot(_ ref: QueueRef) -> Int? { generations[ref.slot] == ref.generation ? ref.slot : nil }

    /// Bytes kept in the pool of recycled arrays (tests).
    var pooledBytes: Int { pool.bytes }

    func exists(_ address: String) -> Bool { index[address] != nil }

    /// Makes the queue unless it exists; false when there are too many queues.
    mutating func ensure(_ address: String) -> Bool { ensureSlot(address) != nil }

    /// Makes the queue unless it exists; its slot, or nil when there are too many queues.
    mutating func ensureSlot(_ address: String) -> Int? {
        if let slot = index[address] { return slot }
        guard index.count < limits.maxQueues else { return nil }
        return make(address)
    }

    /// A new, empty queue for `address` (which has none); its slot.
    private mutating func make(_ address: String) -> Int {
        let slot: Int
        if let reused = freeSlots.popLast() {
            slot = reused
            slots[slot] = MessageQueue()
            names[slot] = address
            receiverLists[slot] = []
            // The generation was bumped when the slot was freed.
            rotations[slot] = 0
        } else {
            slot = slots.count
            slots.append(MessageQueue())
            names.append(address)
            generations.append(0)
            receiverLists.append([])
            rotations.append(0)
        }
        index[address] = slot
        return slot
    }

    /// Stores a message that arrived; returns why not when a bound says no.
    mutating func store(_ address: String, payload: UnsafeRawBufferPointer, messageFormat: UInt32) -> AMQPError? {
        guard let slot = ensureSlot(address) else {
            return AMQPError(condition: .resourceLimitExceeded, description: "the peer holds \(limits.maxQueues) queues already")
        }
        return store(slot: slot, payload: payload, messageFormat: messageFormat)
    }

    /// Stores a message that arrived in the queue at `slot` (a copy of `payload`, in a
    /// recycled array when there is one); returns why not when a bound says no.
    mutating func store(slot: Int, payload: UnsafeRawBufferPointer, messageFormat: UInt32) -> AMQPError? {
        let q = (count: slots[slot].count, bytes: slots[slot].bytes)
        if q.count >= limits.maxQueueMessages {
            return AMQPError(condition: .resourceLimitExceeded, description: "queue \(names[slot]) is full: \(q.count) messages")
        }
        if q.bytes + payload.count > limits.maxQueueBytes {
            return AMQPError(condition: .resourceLimitExceeded, description: "queue \(names[slot]) is full: \(q.bytes) of \(limits.maxQueueBytes) bytes")
        }
        if heldBytes + payload.count > limits.maxTotalBytes {
            return AMQPError(condition: .resourceLimitExceeded, description: "the peer holds \(heldBytes) of \(limits.maxTotalBytes) bytes")
        }
        heldBytes += payload.count
        var bytes = pool.take(size: payload.count)
        bytes.append(contentsOf: payload)
        // What is held grew: the pool gives way rather than the total going over.
        if heldBytes + pool.bytes > limits.maxTotalBytes { pool.removeAll() }
        let m = StoredMessage(payload: bytes, messageFormat: messageFormat, sequence: sequence())
        slots[slot].append(m)
        return nil
    }

    /// Takes the oldest message for a consumer; it stays counted until `consumed`.
    mutating func take(_ address: String) -> StoredMessage? {
        guard let slot = index[address] else { return nil }
        return slots[slot].popFirst()
    }

    /// Takes the oldest message of the queue at `slot`; it stays counted until `consumed`.
    mutating func take(slot: Int) -> StoredMessage? { slots[slot].popFirst() }

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
        pool.put(m.payload, room: limits.maxTotalBytes - heldBytes)
    }

    // MARK: Receivers

    /// The receivers of the queue at `slot`, in attach order.
    func receivers(slot: Int) -> [Consumer] { receiverLists[slot] }

    /// Where the next round of deliveries of the queue at `slot` starts.
    func rotation(slot: Int) -> Int { rotations[slot] }

    mutating func setRotation(_ start: Int, slot: Int) { rotations[slot] = start }

    /// Adds a receiver to the queue at `address` (which exists).
    mutating func addReceiver(_ consumer: Consumer, to address: String) {
        guard let slot = index[address] else { return }
        receiverLists[slot].append(consumer)
    }

    /// Removes a receiver of the queue at `address`.
    mutating func removeReceiver(_ consumer: Consumer, from address: String) {
        guard let slot = index[address] else { return }
        receiverLists[slot].removeAll { $0 == consumer }
        if receiverLists[slot].isEmpty { rotations[slot] = 0 }
    }

    /// True when the queue at `address` has receivers.
    func hasReceivers(_ address: String) -> Bool { index[address].map { !receiverLists[$0].isEmpty } ?? false }

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
        guard let slot = index[address], slots[slot].isEmpty, receiverLists[slot].isEmpty, !permanent.contains(address) else { return }
        index[address] = nil
        names[slot] = ""
        generations[slot] &+= 1
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

/// A queue's slot as a link or a delivery remembers it: valid while the slot's generation
/// is the same (`QueueStore.slot(_:)`).
struct QueueRef: Equatable {
    let slot: Int
    let generation: UInt64
}
