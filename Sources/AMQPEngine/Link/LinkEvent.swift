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
    /// (an `amqp:link:redirect` from the peer carries the new address in its info; a
    /// local `amqp:link:stolen` means the peer attached a link of the same name and
    /// direction again, in this session or another of the connection, which the engine
    /// reported as a new link, so it detached this one). Deliveries still unsettled were
    /// reported `lost` just before.
    indirect case detached(LinkID, closed: Bool, error: EngineError?)
    /// Sender: the peer's FLOW set our credit to `credit` (messages we may start now);
    /// `drain` asks us to use it up or give it back.
    case credit(LinkID, credit: UInt32, drain: Bool)
    /// Receiver: the sender's FLOW says it could send `available` deliveries now (its
    /// `available` field, part 2, section 2.6.7), a different count from the last one
    /// (a sender that has said nothing counts as 0). A hint for a receiver that grants
    /// credit by hand; also `ConnectionEngine.available(on:)`.
    case available(LinkID, available: UInt32)
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
    /// Sender: the peer reported the state of the deliveries `handles`: consecutive
    /// handles of this link that one DISPOSITION disposed alike, so settling a run of
    /// deliveries is one event, not one per delivery. `settled` is true when they are
    /// finished: the peer settled them, or they reached an outcome and the engine settled
    /// them (the settle-mode rules are the engine's job). A non-final state, e.g.
    /// `received`, comes with `settled == false`.
    case outcomes(LinkID, ClosedRange<DeliveryHandle>, state: DeliveryState?, settled: Bool)
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
///
/// Small and free of references in the common case, a delivery in one frame: its tag and
/// payload are views of the bytes given to `receive` (valid until the next `receive`,
/// like everything an event borrows), and what must be owned (a state the sender set,
/// bytes reassembled from several frames, the tag of a streamed delivery) sits in one
/// box that only those deliveries carry. An event holding a delivery is then small
/// enough to be moved and destroyed inline; a larger one is destroyed through the
/// runtime's generic value witnesses, twice per message.
public struct Delivery {
    // Stored largest first, so the fields pack without padding.
    let payloadBase: UnsafeRawPointer?
    let tagBase: UnsafeRawPointer?
    let extras: DeliveryExtras?
    /// The delivery-id; settle with it.
    public let id: DeliveryNumber
    /// The message format (0: the AMQP message format of part 3).
    public let messageFormat: UInt32
    let payloadCount: UInt32
    let tagCount: UInt8
    /// The sender settled it: nothing to settle.
    public let settled: Bool

    /// The sender's tag.
    public var tag: DeliveryTag {
        if let tag = extras?.tag { return tag }
        // At most `DeliveryTag.maxLength` bytes: checked when the TRANSFER was decoded.
        return DeliveryTag(bytes: UnsafeRawBufferPointer(start: tagBase, count: Int(tagCount))).unsafelyUnwrapped
    }

    /// The sender's state for the delivery, if it sent one.
    public var state: DeliveryState? { extras?.state }

    /// The encoded message (or one frame's part of it, in a `deliveryChunk`).
    public var payload: DeliveryPayload {
        if let owned = extras?.owned { return .owned(owned) }
        return .borrowed(UnsafeRawBufferPointer(start: payloadBase, count: Int(payloadCount)))
    }

    /// Creates a delivery (tag, state and an owned payload are kept in a box).
    ///
    /// - Precondition: a borrowed payload holds fewer than 2³² bytes.
    public init(id: DeliveryNumber, tag: DeliveryTag, messageFormat: UInt32, settled: Bool, state: DeliveryState?, payload: DeliveryPayload) {
        let extras = DeliveryExtras(tag: tag, state: state)
        switch payload {
        case .borrowed(let raw):
            precondition(raw.count <= Int(UInt32.max), "a borrowed payload of \(raw.count) bytes")
            self.init(id: id, messageFormat: messageFormat, settled: settled, payload: raw, tag: nil, extras: extras)
        case .owned(let bytes):
            extras.owned = bytes
            self.init(id: id, messageFormat: messageFormat, settled: settled, payload: nil, tag: nil, extras: extras)
        }
    }

    /// A delivery whose payload (and tag, unless `extras` holds it) are views.
    @inline(__always)
    init(
        id: DeliveryNumber, messageFormat: UInt32, settled: Bool, payload: UnsafeRawBufferPointer?,
        tag: UnsafeRawBufferPointer?, extras: DeliveryExtras?
    ) {
        payloadBase = payload?.baseAddress
        tagBase = tag?.baseAddress
        self.extras = extras
        self.id = id
        self.messageFormat = messageFormat
        payloadCount = UInt32(truncatingIfNeeded: payload?.count ?? 0)
        tagCount = UInt8(truncatingIfNeeded: tag?.count ?? 0)
        self.settled = settled
    }
}

/// What a `Delivery` owns, when it owns anything: kept out of line so the common
/// delivery holds no references. Shared by the chunks of a streamed delivery; the
/// engine copies it before changing one that an event may still hold.
final class DeliveryExtras {
    /// The tag, when it is not a view of the received bytes.
    var tag: DeliveryTag?
    var state: DeliveryState?
    /// Bytes reassembled from several frames.
    var owned: [UInt8]?

    init(tag: DeliveryTag?, state: DeliveryState?, owned: [UInt8]? = nil) {
        self.tag = tag
        self.state = state
        self.owned = owned
    }
}

/// A delivery's bytes: borrowed from the receive buffer, or owned.
public enum DeliveryPayload {
    /// Bytes in the buffer given to `receive`; valid until the next `receive`.
    case borrowed(UnsafeRawBufferPointer)
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
            return try body(v)
        case .owned(let a):
            let r: Result<R, E> = a.withUnsafeBytes { raw in Result { () throws(E) -> R in try body(raw) } }
            return try r.get()
        }
    }

    /// The bytes as an array: a copy when borrowed, the same storage when owned.
    public var bytes: [UInt8] {
        switch self {
        case .borrowed(let v): Array(v)
        case .owned(let a): a
        }
    }
}
