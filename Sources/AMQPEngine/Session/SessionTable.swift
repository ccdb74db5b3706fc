import AMQPCodec

/// Counters and budgets shared by every session of a connection.
struct SessionShared {
    /// Source of generations for new sessions and links.
    var nextGeneration: UInt32 = 0
    /// The next `DeliveryHandle`.
    var nextDeliveryHandle: UInt64 = 1
    /// Bytes held in partly received multi-frame deliveries, across the connection.
    var bufferedDeliveryBytes = 0
    /// `EngineLimits.maxBufferedDeliveryBytes`.
    var maxBufferedDeliveryBytes = Int.max
    /// `ConnectionConfiguration.autoAccept`.
    var autoAccept: AutoAcceptPolicy? = nil
    /// Which sessions hold links the peer attached, by name: where an ATTACH's steal
    /// looks (HeldLinkNames.swift).
    var heldLinkNames = HeldLinkNames()

    /// Never 0: a vacant link slot has generation 0, so no name ever matches it.
    mutating func generation() -> UInt32 {
        nextGeneration &+= 1
        if nextGeneration == 0 { nextGeneration = 1 }
        return nextGeneration
    }
}

/// The connection's sessions, by local channel, and the map from the peer's channels.
struct SessionTable {
    /// Sessions by local channel; free channels hold `SessionEndpoint.vacant` (not
    /// optionals: reading a field of an optional element copies the whole session).
    var slots: [SessionEndpoint] = []
    /// Peer channel → local channel + 1 (0: unmapped). An array, not a dictionary: it is
    /// read for every frame and bounded by channel-max.
    var remoteChannels: [UInt32] = []
    var shared = SessionShared()
    /// Where the next produce round starts, for fairness between sessions.
    var cursor = 0

    /// The channels in `slots` that hold a session.
    var taken = SlotBitmap()

    /// The lowest free local channel not above `max`.
    func freeChannel(max: UInt16) -> UInt16? {
        let c = taken.lowestFree
        return c <= Int(max) ? UInt16(c) : nil
    }

    /// The local channel of the peer's `channel`.
    @inline(__always)
    func local(forRemote channel: UInt16) -> Int? {
        let c = Int(channel)
        guard c < remoteChannels.count, remoteChannels[c] != 0 else { return nil }
        return Int(remoteChannels[c] &- 1)
    }

    mutating func map(remote: UInt16, local: UInt16) {
        let c = Int(remote)
        if remoteChannels.count <= c { remoteChannels.append(contentsOf: repeatElement(0, count: c + 1 - remoteChannels.count)) }
        remoteChannels[c] = UInt32(local) &+ 1
    }

    mutating func unmap(remote: UInt16) {
        let c = Int(remote)
        if c < remoteChannels.count { remoteChannels[c] = 0 }
    }

    mutating func install(_ session: SessionEndpoint) {
        let c = Int(session.id.channel)
        while slots.count <= c { slots.append(.vacant) }
        slots[c] = session
        taken.insert(c)
    }

    /// Frees the slot of channel `s`. A free tail of the table is dropped, and its storage
    /// given back once mostly unused, so a burst of sessions does not leave the
    /// connection holding a table sized for it.
    mutating func remove(at s: Int) {
        slots[s] = .vacant
        taken.remove(s)
        guard s == slots.count - 1 else { return }
        while let last = slots.last, !last.isLive { slots.removeLast() }
        if slots.capacity > 64 && slots.count < slots.capacity / 4 {
            var fresh: [SessionEndpoint] = []
            fresh.reserveCapacity(slots.count)
            fresh.append(contentsOf: slots)
            slots = fresh
        }
    }

    /// The slot of `id`, if the session still exists.
    @inline(__always)
    func index(_ id: SessionID) -> Int? {
        let c = Int(id.channel)
        guard c < slots.count, slots[c].id == id else { return nil }
        return c
    }

    /// The session and link slots of `id`, if the link still exists. Fields are read in
    /// place: calling a method of `slots[s]` here would copy the whole session first.
    @inline(__always)
    func index(_ id: LinkID) -> (session: Int, link: Int)? {
        let s = Int(id.session.channel)
        guard s < slots.count, slots[s].id == id.session else { return nil }
        let h = Int(id.handle)
        guard h < slots[s].links.count, slots[s].links[h].id == id else { return nil }
        return (s, h)
    }
}

/// What handling a peer's frame asks of the connection.
enum SessionVerdict {
    /// Nothing more.
    case ok
    /// End the session with this error (part 2, section 2.8.16 conditions).
    case endSession(AMQPError)
    /// Close the connection with this error.
    case closeConnection(AMQPError)
}
