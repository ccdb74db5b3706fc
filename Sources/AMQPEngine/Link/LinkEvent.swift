public import AMQPCodec

/// What happened on a link (`ConnectionEvent.link`).
public enum LinkEvent {
    /// The peer attached a link; answer with `acceptLink` or refuse with `detachLink`.
    /// Not reported when `ConnectionConfiguration.autoAccept` is set.
    indirect case remoteAttach(LinkID, Attach)
    /// Both ATTACHes are exchanged. Reported once per link: when the peer answers ours,
    /// or when we accept the peer's. Carries the peer's ATTACH; a null source (for our
    /// receiver) or target (for our sender) means the peer refused, and its DETACH follows.
    indirect case attached(LinkID, Attach)
    /// The link is gone and its handle may be reused: DETACH went both ways, or its
    /// session or connection ended. `closed` is the peer's `closed` flag (false when the
    /// session or connection ended under the link). `error` is why, with who raised it
    /// (an `amqp:link:redirect` from the peer carries the new address in its info).
    /// Deliveries still unsettled were reported `lost` just before.
    indirect case detached(LinkID, closed: Bool, error: EngineError?)
    /// Sender: the peer's FLOW set our credit to `credit` (messages we may start now);
    /// `drain` asks us to use it up or give it back.
    case credit(LinkID, credit: UInt32, drain: Bool)
    /// Drain finished, credit is 0. Receiver: the sender answered our drain request.
    /// Sender: we had nothing to send, so the engine gave the credit back.
    case drained(LinkID)
    /// Receiver: a whole delivery. The payload of a one-frame delivery borrows the bytes
    /// given to `receive` (valid until the next `receive`); a multi-frame delivery owns
    /// its reassembled bytes.
    case delivery(LinkID, Delivery)
    /// Receiver with `streaming`: one frame of a delivery, its bytes borrowed as above in
    /// `delivery.payload`. `isLast` marks the delivery's final frame (its `settled` and
    /// `state` are final then).
    case deliveryChunk(LinkID, Delivery, isLast: Bool)
    /// Receiver: the sender aborted the delivery; whatever arrived of it is discarded.
    case aborted(LinkID, DeliveryNumber)
    /// Sender: the peer reported the delivery's state. `settled` is true when the delivery
    /// is finished: the peer settled it, or it reached an outcome and the engine settled
    /// it (the settle-mode rules are the engine's job). A non-final state, e.g.
    /// `received`, comes with `settled == false`.
    case outcome(LinkID, DeliveryHandle, state: DeliveryState?, settled: Bool)
    /// Receiver: the sender settled a delivery we had not settled (in rcv-settle-mode
    /// `second`, the end of the exchange after our outcome); `state` is the sender's.
    case remoteSettled(LinkID, DeliveryNumber, state: DeliveryState?)
    /// Sender: the delivery's fate is unknown because its link, session or connection
    /// ended before it was settled. `sent` is false when no frame of it was written, so
    /// the peer never saw it and it can be sent again safely; true when the peer may
    /// have it. Pre-settled deliveries are reported only while not completely written.
    case lost(LinkID, DeliveryHandle, sent: Bool)
}

/// A delivery as a receiver sees it.
public struct Delivery {
    /// The delivery-id; settle with it.
    public var id: DeliveryNumber
    /// The sender's tag.
    public var tag: DeliveryTag
    /// The message format (0: the AMQP message format of part 3).
    public var messageFormat: UInt32
    /// The sender settled it: nothing to settle.
    public var settled: Bool
    /// The sender's state for the delivery, if it sent one.
    public var state: DeliveryState?
    /// The encoded message (or one frame's part of it, in a `deliveryChunk`).
    public var payload: DeliveryPayload

    /// Creates a delivery.
    public init(id: DeliveryNumber, tag: DeliveryTag, messageFormat: UInt32, settled: Bool, state: DeliveryState?, payload: DeliveryPayload) {
        self.id = id
        self.tag = tag
        self.messageFormat = messageFormat
        self.settled = settled
        self.state = state
        self.payload = payload
    }
}

/// A delivery's bytes: borrowed from the receive buffer, or owned.
public enum DeliveryPayload {
    /// Bytes in the buffer given to `receive`; valid until the next `receive`.
    case borrowed(BytesView)
    /// Bytes reassembled from several frames; the application keeps them.
    case owned([UInt8])

    /// Number of bytes.
    public var count: Int {
        switch self {
        case .borrowed(let v): v.count
        case .owned(let a): a.count
        }
    }

    /// Calls `body` with the bytes.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        switch self {
        case .borrowed(let v):
            return try body(v.bytes)
        case .owned(let a):
            let r: Result<R, E> = a.withUnsafeBytes { raw in Result { () throws(E) -> R in try body(raw) } }
            return try r.get()
        }
    }

    /// The bytes as an array: a copy when borrowed, the same storage when owned.
    public var bytes: [UInt8] {
        switch self {
        case .borrowed(let v): v.array
        case .owned(let a): a
        }
    }
}
