/// A message the peer holds: the encoded message as the client sent it, and its place
/// in arrival order.
struct StoredMessage {
    /// The encoded message; handed to the engine as is (shared, never copied).
    var payload: [UInt8]
    var messageFormat: UInt32
    /// Arrival order across the peer; a queue is always in this order, so a message
    /// coming back (released, or its consumer gone) returns to its old place.
    let sequence: UInt64
}

/// One address's messages, oldest first: a ring buffer that also takes messages back
/// into their arrival-order place.
struct MessageQueue {
    private var slots: [StoredMessage?] = []
    private var head = 0
    private(set) var count = 0
    /// Bytes of the payloads held.
    private(set) var bytes = 0

    var isEmpty: Bool { count == 0 }

    private func slot(_ i: Int) -> Int { (head + i) & (slots.count - 1) }

    private mutating func grow() {
        let capacity = Swift.max(16, slots.count * 2)
        var fresh = [StoredMessage?](repeating: nil, count: capacity)
        for i in 0..<count { fresh[i] = slots[slot(i)] }
        slots = fresh
        head = 0
    }

    mutating func append(_ m: StoredMessage) {
        if count == slots.count { grow() }
        slots[slot(count)] = m
        count += 1
        bytes += m.payload.count
    }

    mutating func popFirst() -> StoredMessage? {
        guard count > 0 else { return nil }
        let m = slots[head].take()
        head = (head + 1) & (slots.count - 1)
        count -= 1
        bytes -= m!.payload.count
        return m
    }

    /// Puts a message back where its sequence says. Returned messages are usually older
    /// than everything queued, so the search runs from the front and stops early.
    mutating func putBack(_ m: StoredMessage) {
        if count == slots.count { grow() }
        var position = 0
        while position < count, slots[slot(position)]!.sequence < m.sequence { position += 1 }
        // Make room at the front and shift the older ones down by one.
        head = (head - 1 + slots.count) & (slots.count - 1)
        for i in 0..<position { slots[slot(i)] = slots[slot(i + 1)] }
        slots[slot(position)] = m
        count += 1
        bytes += m.payload.count
    }

    /// Every message, oldest first (tests and tools).
    var messages: [StoredMessage] { (0..<count).map { slots[slot($0)]! } }
}
