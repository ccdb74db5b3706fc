import AMQPCodec

/// A frame a session has queued; FLOW contents are read from the state when written, so
/// they are always current and a burst of changes costs one frame.
enum SessionFrame {
    case begin(Begin)
    indirect case attach(Attach)
    /// A FLOW about this link (skipped if the link is gone by then), or session-only
    /// when `nil`.
    case flow(LinkID?)
    case detach(Detach)
    case end(End)
    case disposition(PendingDisposition)
}

/// One session endpoint (part 2, section 2.5): its state, windows, links and the
/// unsettled deliveries in both directions.
struct SessionEndpoint {
    enum State: Equatable {
        /// Our BEGIN is queued or sent; the peer's answer has not arrived.
        case beginSent
        /// The peer began it; the application has not accepted it yet.
        case awaitingAccept
        /// Both BEGINs exchanged.
        case mapped
        /// Our END is queued or sent; waiting for the peer's. Everything else from the
        /// peer is ignored.
        case endSent
        /// The peer's END arrived and ours answers it; the slot is freed once written.
        case ending
    }

    let id: SessionID
    var state: State
    var configuration: SessionConfiguration
    /// The peer's channel, once its BEGIN arrived.
    var remoteChannel: UInt16? = nil
    /// The peer's BEGIN.
    var remoteBegin: Begin? = nil
    /// Set when our BEGIN has been written: until the peer answers, nothing else goes.
    var beginWritten = false
    /// Why the session ends, once it does.
    var endError: EngineError? = nil

    // Session flow control (part 2, section 2.5.6), counted in transfer frames.
    var nextOutgoingID: UInt32 = 0
    var outgoingWindow: UInt32
    var remoteIncomingWindow: UInt32 = 0
    var remoteOutgoingWindow: UInt32 = 0
    var nextIncomingID: UInt32 = 0
    /// The window we announce: always the configured one, counted from next-incoming-id
    /// at the moment the frame carrying it is written.
    var incomingWindow: UInt32
    /// The first transfer-id beyond what we have announced the peer may send; a transfer
    /// at or past it is a window violation.
    var incomingLimit: UInt32 = 0
    /// The id our next delivery gets.
    var nextDeliveryID: DeliveryNumber = 0
    /// The id the peer's next delivery must have, once its first has arrived.
    var expectedDeliveryID: DeliveryNumber? = nil
    var remoteHandleMax: UInt32 = .max

    var control = RingQueue<SessionFrame>()
    var pendingDisposition: PendingDisposition? = nil
    var sessionFlowQueued = false

    /// Links by local handle; free handles hold `LinkEndpoint.vacant` (not optionals:
    /// reading a field of an optional element copies the whole endpoint first).
    var links: [LinkEndpoint] = []
    /// The handles in `links` that hold a link.
    var takenHandles = SlotBitmap()
    /// Our links the peer has not answered yet, by name and our role (LinkNames.swift).
    var awaitingNames = LinkNameIndex()
    /// Links the peer holds attached, by name and our role (LinkNames.swift).
    var heldNames = LinkNameIndex()
    /// Peer handle → local handle.
    var remoteHandles: [UInt32: UInt32] = [:]
    /// The peer's handles whose links were detached with an error (see ErrantLinks.swift).
    var erroredRemoteHandles = ErroredRemoteHandles()
    /// `localHandle(remote:)`'s last answer.
    var lastLocalHandle = 0
    /// Deliveries we sent and the peer has not settled.
    var outgoing = UnsettledMap()
    /// Deliveries we received and have not settled.
    var incoming = UnsettledMap()
    /// Where the next round of transfers starts, for fairness between links.
    var sendCursor = 0

    /// What a free channel's slot holds: generation 0, which no `SessionID` has.
    static var vacant: SessionEndpoint {
        SessionEndpoint(id: SessionID(channel: 0, generation: 0), state: .endSent, configuration: .init())
    }

    /// False for a free channel's slot.
    @inline(__always)
    var isLive: Bool { id.generation != 0 }

    init(id: SessionID, state: State, configuration: SessionConfiguration) {
        self.id = id
        self.state = state
        self.configuration = configuration
        self.outgoingWindow = configuration.outgoingWindow
        self.incomingWindow = configuration.incomingWindow
    }

    /// Our BEGIN.
    var localBegin: Begin {
        Begin(
            remoteChannel: remoteChannel, nextOutgoingID: nextOutgoingID, incomingWindow: incomingWindow,
            outgoingWindow: outgoingWindow, handleMax: configuration.handleMax,
            offeredCapabilities: configuration.offeredCapabilities,
            desiredCapabilities: configuration.desiredCapabilities, properties: configuration.properties)
    }

    /// Takes the peer's BEGIN: its windows and first transfer-id.
    mutating func mapped(by begin: Begin, channel: UInt16) {
        remoteChannel = channel
        remoteBegin = begin
        nextIncomingID = begin.nextOutgoingID
        incomingLimit = nextIncomingID &+ incomingWindow
        remoteIncomingWindow = begin.incomingWindow
        remoteOutgoingWindow = begin.outgoingWindow
        remoteHandleMax = begin.handleMax
    }

    /// A FLOW with the session's state and, when given, a link's.
    func flow(for link: LinkEndpoint?) -> Flow {
        var f = Flow(
            nextIncomingID: remoteBegin == nil ? nil : nextIncomingID, incomingWindow: incomingWindow,
            nextOutgoingID: nextOutgoingID, outgoingWindow: outgoingWindow)
        if let link {
            f.handle = link.id.handle
            f.deliveryCount = link.deliveryCountKnown ? link.deliveryCount : nil
            f.linkCredit = link.credit
            if link.receiver.refillPending, case .prefetch(let n) = link.receiver.policy { f.linkCredit = n }
            f.drain = link.drain
            if link.role == .sender { f.available = UInt32(truncatingIfNeeded: link.sender.queue.count) }
        }
        return f
    }

    /// Asks for a session FLOW (once, however often asked before it is written).
    mutating func queueSessionFlow() {
        guard !sessionFlowQueued else { return }
        sessionFlowQueued = true
        enqueue(.flow(nil))
    }

    /// Asks for a FLOW about the link in slot `h` (once until it is written).
    mutating func queueLinkFlow(_ h: Int) {
        guard !links[h].flowQueued else { return }
        links[h].flowQueued = true
        enqueue(.flow(links[h].id))
    }

    /// The id of the link with local handle `handle`, if any.
    @inline(__always)
    func linkID(_ handle: UInt32) -> LinkID? {
        let h = Int(handle)
        return h < links.count && links[h].isLive ? links[h].id : nil
    }

    /// The lowest free local handle not above `max`.
    func freeHandle(max: UInt32) -> UInt32? {
        let h = takenHandles.lowestFree
        return UInt64(h) <= UInt64(max) ? UInt32(h) : nil
    }

    /// Takes a link's slot (growing the table when `handle` is past its end).
    mutating func install(_ link: LinkEndpoint) {
        let h = Int(link.id.handle)
        while links.count <= h { links.append(.vacant) }
        links[h] = link
        takenHandles.insert(h)
    }

    /// The link named by `id`, if it still exists.
    @inline(__always)
    func linkIndex(_ id: LinkID) -> Int? {
        let h = Int(id.handle)
        guard h < links.count, links[h].id == id else { return nil }
        return h
    }

    /// The local handle of the peer's `handle`. The last answer is tried first: a link
    /// whose peer handle is `handle` is the one `remoteHandles` maps it to (the two are
    /// set and cleared together), and most frames follow one busy link, so the hash
    /// lookup is skipped for nearly every TRANSFER and FLOW.
    @inline(__always)
    mutating func localHandle(remote handle: UInt32) -> Int? {
        let c = lastLocalHandle
        if c < links.count && links[c].isLive && links[c].remoteHandle == handle { return c }
        guard let h = remoteHandles[handle] else { return nil }
        lastLocalHandle = Int(h)
        return Int(h)
    }

    /// True when a sender link could write a transfer now.
    var hasSendableTransfers: Bool {
        guard state == .mapped, remoteIncomingWindow > 0, outgoingWindow > 0 else { return false }
        for h in links.indices where links[h].canSend { return true }
        return false
    }

    /// True when `produce` would write something for this session; with `transfers`
    /// false, only its control frames and settlements count (a closing connection
    /// flushes those but starts no new transfer).
    func hasOutput(transfers: Bool) -> Bool {
        // Nothing goes out before our BEGIN, which the application's accept queues.
        if state == .awaitingAccept { return false }
        if state == .beginSent && beginWritten { return false }
        if !control.isEmpty || pendingDisposition != nil { return true }
        return transfers && hasSendableTransfers
    }
}
