import AMQPCodec

/// What only a receiving link holds.
struct ReceiverState {
    var policy: CreditPolicy = .manual
    var streaming = false
    /// The application asked the sender to drain; cleared when credit reaches 0.
    var drainRequested = false
    /// The delivery whose frames are arriving, between its first and last frame.
    var current: PartialDelivery? = nil
    /// The box the last streamed chunk carried (see `chunkExtras`).
    var chunkBox: DeliveryExtras? = nil
}
