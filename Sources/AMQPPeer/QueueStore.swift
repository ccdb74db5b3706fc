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
    private(set) var queues: [String: MessageQueue] = [:]
    private(set) var heldBytes = 0
    private var nextSequence: UInt64 = 0

    init(limits: PeerLimits, permanent: Set<String> = []) {
        self.limits = limits
        self.permanent = permanent
        for address in permanent { queues[address] = MessageQueue() }
    }

    func depth(_ address: String) -> Int { queues[address]?.count ?? 0 }

    func exists(_ address: String) -> Bool { queues[address] != nil }

    /// Makes the queue unless it exists; false when there are too many queues.
    mutating func ensure(_ address: String) -> Bool {
        if queues[address] != nil { return true }
        guard queues.count < limits.maxQueues else { return false }
        queues[address] = MessageQueue()
        return true
    }

    /// Stores a message that arrived; returns why not when a bound says no.
    mutating func store(_ address: String, payload: [UInt8], messageFormat: UInt32) -> AMQPError? {
        guard ensure(address) else {
            return AMQPError(condition: .resourceLimitExceeded, description: "the peer holds \(limits.maxQueues) queues already")
        }
        let q = occupancy(address)
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
        queues[address]!.append(StoredMessage(payload: payload, messageFormat: messageFormat, sequence: sequence()))
        return nil
    }

    /// Takes the oldest message for a consumer; it stays counted until `consumed`.
    mutating func take(_ address: String) -> StoredMessage? {
        queues[address]?.popFirst()
    }

    /// A message taken comes back to its place (released, modified, its consumer gone).
    /// `previousSize` is its size when taken (a modified message may have grown).
    mutating func putBack(_ address: String, _ m: StoredMessage, previousSize: Int) {
        heldBytes += m.payload.count - previousSize
        if queues[address] == nil { queues[address] = MessageQueue() }
        queues[address]!.putBack(m)
    }

    /// A message taken is finished with (accepted, or given up).
    mutating func consumed(_ m: StoredMessage) {
        heldBytes -= m.payload.count
    }

    /// A message taken moves to the dead-letter queue, at its end, unless that is full
    /// (then it is dropped). Returns whether it was kept.
    mutating func deadLetter(_ m: StoredMessage, to address: String) -> Bool {
        if queues[address] == nil && !ensure(address) {
            consumed(m)
            return false
        }
        let q = occupancy(address)
        guard q.count < limits.maxQueueMessages, q.bytes + m.payload.count <= limits.maxQueueBytes else {
            consumed(m)
            return false
        }
        queues[address]!.append(StoredMessage(payload: m.payload, messageFormat: m.messageFormat, sequence: sequence()))
        return true
    }

    /// Messages and bytes in the queue at `address`, read without keeping a copy of the
    /// queue: a copy alive across the `append` that follows (debug builds keep locals to
    /// the end of their scope) made every append copy the whole ring, O(n) per message.
    private func occupancy(_ address: String) -> (count: Int, bytes: Int) {
        queues[address].map { ($0.count, $0.bytes) } ?? (0, 0)
    }

    /// Forgets an empty queue nobody uses, so addresses tried once do not pile up.
    mutating func forgetIfEmpty(_ address: String) {
        if let q = queues[address], q.isEmpty, !permanent.contains(address) { queues[address] = nil }
    }

    /// The messages of a queue, oldest first.
    func messages(_ address: String) -> [StoredMessage] { queues[address]?.messages ?? [] }

    private mutating func sequence() -> UInt64 {
        defer { nextSequence += 1 }
        return nextSequence
    }
}
