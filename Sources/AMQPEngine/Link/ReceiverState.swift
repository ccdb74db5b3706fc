import AMQPCodec

/// What only a receiving link holds.
struct ReceiverState {
    var policy: CreditPolicy = .manual
    var streaming = false
    /// The application asked the sender to drain; cleared when credit reaches 0.
    var drainRequested = false
    /// Prefetch: a FLOW restoring the credit is queued. The credit is restored when it is
    /// written, as the sender learns of it only then: until that, transfers beyond the
    /// credit it knows are a transfer-limit violation.
    var refillPending = false
    /// `LinkConfiguration.creditOverrunAllowance`.
    var overrunAllowance: UInt32 = 0
    /// Transfers accepted without credit since our last grant.
    var overrun: UInt32 = 0
    /// The delivery whose frames are arriving, between its first and last frame.
    var current: PartialDelivery? = nil
    /// The sender's last word on how many deliveries it could send (FLOW's `available`),
    /// `nil` until it gives one.
    var available: UInt32? = nil
    /// The box the last streamed chunk carried (see `chunkExtras`).
    var chunkBox: DeliveryExtras? = nil
}
