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

    /// The lowest free local channel not above `max`.
    func freeChannel(max: UInt16) -> UInt16? {
        for (i, s) in slots.enumerated() where !s.isLive {
            return i <= Int(max) ? UInt16(i) : nil
        }
        return slots.count <= Int(max) ? UInt16(slots.count) : nil
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
