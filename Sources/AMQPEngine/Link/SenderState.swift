import AMQPCodec

/// A delivery the application queued with `send`.
struct OutgoingDelivery {
    let handle: DeliveryHandle
    /// The encoded message, the application's own array (never copied).
    let payload: [UInt8]
    let tag: DeliveryTag
    let messageFormat: UInt32
    let settled: Bool
    /// TRANSFER's `batchable` (on the first frame; part 2, section 2.7.5).
    let batchable: Bool
}

/// What only a sending link holds.
struct SenderState {
    /// Deliveries not yet completely written, oldest first; the head may be half written.
    /// Elements are never changed in place (that would copy them): the head's progress
    /// is kept below.
    var queue = RingQueue<OutgoingDelivery>()
    /// The head's delivery-id, once its first frame is written.
    var headID: DeliveryNumber? = nil
    /// Bytes of the head already written.
    var headOffset = 0
    /// The next automatic delivery tag.
    var nextTag: UInt64 = 0
    /// `LinkConfiguration.manualDrain`.
    var manualDrain = false
    /// With `manualDrain`: the application answered the current drain request
    /// (`completeDrain`), so unused credit goes back once the queue is empty.
    var drainAnswered = false

    /// Whether the engine may give unused credit back now, the queue being empty.
    var mayCompleteDrain: Bool { !manualDrain || drainAnswered }
}

extension SenderState {
    /// Removes the queued delivery `handle` unless its first frame is written (the head
    /// with a delivery-id). Withdrawals are rare (a send's time-out), so the queue is
    /// rotated once rather than given a removal in the middle; the order of the rest,
    /// and the head's progress, stay as they were.
    mutating func withdraw(_ handle: DeliveryHandle) -> Bool {
        let n = queue.count
        guard n > 0 else { return false }
        if headID != nil, queue.first?.handle == handle { return false }
        var found = false
        for _ in 0..<n {
            let d = queue.takeFirst()
            if !found && d.handle == handle {
                found = true
            } else {
                queue.append(d)
            }
        }
        return found
    }
}
