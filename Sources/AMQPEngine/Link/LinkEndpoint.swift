import AMQPCodec

/// One link endpoint (part 2, section 2.6): its state and flow control; what only a
/// sender or only a receiver needs lives in `sender` and `receiver`.
struct LinkEndpoint {
    enum State: Equatable {
        /// Our ATTACH is queued or sent; the peer's has not arrived.
        case attachSent
        /// The peer attached; the application has not accepted it yet.
        case awaitingAccept
        /// Both ATTACHes exchanged.
        case attached
        /// Our DETACH is queued or sent; waiting for the peer's. Frames for the link are
        /// ignored meanwhile.
        case detachSent
    }

    let id: LinkID
    let name: String
    let role: Role
    var state: State
    /// The peer's handle, once its ATTACH arrived.
    var remoteHandle: UInt32? = nil
    /// The peer's ATTACH.
    var remoteAttach: Attach? = nil
    var sndSettleMode: SenderSettleMode = .mixed
    var rcvSettleMode: ReceiverSettleMode = .first
    /// Our max-message-size (receivers enforce it), 0 for none.
    var maxMessageSize: UInt64 = 0
    /// The peer's max-message-size (senders respect it), 0 for none.
    var remoteMaxMessageSize: UInt64 = 0

    // Link flow control (part 2, section 2.6.7).
    var deliveryCount: UInt32 = 0
    /// A receiver learns the delivery-count from the sender's ATTACH.
    var deliveryCountKnown: Bool
    var credit: UInt32 = 0
    var drain = false
    var initialDeliveryCount: UInt32 = 0
    var flowQueued = false
    /// Why we detached, when it was an error.
    var detachError: EngineError? = nil

    var sender = SenderState()
    var receiver = ReceiverState()

    /// What a free handle's slot holds: generation 0, which no `LinkID` has.
    static var vacant: LinkEndpoint {
        LinkEndpoint(
            id: LinkID(session: SessionID(channel: 0, generation: 0), handle: 0, generation: 0),
            configuration: LinkConfiguration(name: "", role: .sender), state: .detachSent)
    }

    /// False for a free handle's slot.
    @inline(__always)
    var isLive: Bool { id.generation != 0 }

    init(id: LinkID, configuration c: LinkConfiguration, state: State) {
        self.id = id
        self.name = c.name
        self.role = c.role
        self.state = state
        self.deliveryCountKnown = c.role == .sender
        apply(c)
    }

    /// Takes our side's settings from a configuration.
    mutating func apply(_ c: LinkConfiguration) {
        maxMessageSize = c.maxMessageSize ?? 0
        if role == .sender {
            sndSettleMode = c.sndSettleMode
            sender.manualDrain = c.manualDrain
            initialDeliveryCount = c.initialDeliveryCount
            deliveryCount = c.initialDeliveryCount
        } else {
            rcvSettleMode = c.rcvSettleMode
            receiver.policy = c.credit
            receiver.streaming = c.streaming
            receiver.overrunAllowance = c.creditOverrunAllowance
        }
    }

    /// Takes the peer's side from its ATTACH.
    mutating func attached(by a: Attach) {
        remoteHandle = a.handle
        remoteAttach = a
        remoteMaxMessageSize = a.maxMessageSize ?? 0
        if role == .receiver {
            sndSettleMode = a.sndSettleMode
            if !deliveryCountKnown {
                deliveryCount = a.initialDeliveryCount ?? 0
                deliveryCountKnown = true
            }
        } else {
            rcvSettleMode = a.rcvSettleMode
        }
    }

    /// Our ATTACH, from a configuration.
    func attach(_ c: LinkConfiguration) -> Attach {
        Attach(
            name: name, handle: id.handle, role: role, sndSettleMode: c.sndSettleMode, rcvSettleMode: c.rcvSettleMode,
            source: c.source, target: c.target, initialDeliveryCount: role == .sender ? c.initialDeliveryCount : nil,
            maxMessageSize: c.maxMessageSize, offeredCapabilities: c.offeredCapabilities,
            desiredCapabilities: c.desiredCapabilities, properties: c.properties)
    }

    /// Queues a delivery on a sender (`ConnectionEngine.send`), checking that the link
    /// may take it.
    @inline(__always)
    mutating func enqueue(
        _ payload: [UInt8], tag: DeliveryTag?, settled: Bool, messageFormat: UInt32, batchable: Bool, handle: DeliveryHandle
    ) throws(EngineError) {
        guard role == .sender else { throw EngineError(.illegalState, "\(id) is a receiver", origin: .local) }
        guard state == .attachSent || state == .attached else {
            throw EngineError(.illegalState, "\(id) is detaching", origin: .local)
        }
        if remoteMaxMessageSize > 0 && UInt64(payload.count) > remoteMaxMessageSize {
            throw EngineError(
                .messageSizeExceeded, "a \(payload.count)-byte message exceeds the peer's max-message-size \(remoteMaxMessageSize)",
                origin: .local)
        }
        let presettled: Bool
        switch sndSettleMode {
        case .settled: presettled = true
        case .mixed: presettled = settled
        case .unsettled:
            if settled { throw EngineError(.preconditionFailed, "\(id) has sender settle mode unsettled", origin: .local) }
            presettled = false
        }
        let deliveryTag: DeliveryTag
        if let tag {
            deliveryTag = tag
        } else {
            deliveryTag = DeliveryTag(sender.nextTag)
            sender.nextTag &+= 1
        }
        sender.queue.append(OutgoingDelivery(
            handle: handle, payload: payload, tag: deliveryTag, messageFormat: messageFormat, settled: presettled,
            batchable: batchable))
    }

    /// How many more deliveries a sender could start now (`ConnectionEngine.sendable`).
    @inline(__always)
    var sendable: Int {
        guard role == .sender, state == .attached else { return 0 }
        var queued = sender.queue.count
        if sender.headID != nil { queued -= 1 }
        return Swift.max(0, Int(credit) - queued)
    }

    /// A sender with something it may write now: a delivery half written (no credit
    /// needed to finish it), or a new one and credit for it.
    @inline(__always)
    var canSend: Bool {
        guard role == .sender, state == .attached, !sender.queue.isEmpty else { return false }  // vacant: detachSent
        return sender.headID != nil || credit > 0
    }
}
