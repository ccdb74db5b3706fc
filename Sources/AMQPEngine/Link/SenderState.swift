import AMQPCodec

/// A delivery the application queued with `send`.
struct OutgoingDelivery {
    let handle: DeliveryHandle
    /// The encoded message, the application's own array (never copied).
    let payload: [UInt8]
    let tag: DeliveryTag
    let messageFormat: UInt32
    let settled: Bool
    /// Bytes already written.
    var offset = 0
    /// Assigned when the first frame goes out.
    var deliveryID: DeliveryNumber? = nil
}

/// What only a sending link holds.
struct SenderState {
    /// Deliveries not yet completely written, oldest first; the head may be half written.
    var queue = RingQueue<OutgoingDelivery>()
    /// The next automatic delivery tag.
    var nextTag: UInt64 = 0
}
