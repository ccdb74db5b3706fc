/// What a connection engine holds right now: the sizes of its tables and queues, so a
/// driver can watch a connection's memory and tests can check that nothing a peer does
/// makes it grow without bound (or keeps it grown once the peer's work is over).
///
/// Table sizes count slots, not only live entries: a table that keeps slots after its
/// entries are gone still holds that memory.
public struct EngineFootprint: Hashable, Sendable, CustomStringConvertible {
    /// Sessions that exist (in any state).
    public var sessions: Int
    /// Slots in the session table (highest local channel in use + 1, or more).
    public var sessionSlots: Int
    /// Slots in the map from the peer's channels to ours.
    public var remoteChannelSlots: Int
    /// Links that exist, across sessions.
    public var links: Int
    /// Slots in the sessions' link tables, summed.
    public var linkSlots: Int
    /// Entries in the sessions' maps from the peer's handles to ours, summed.
    public var remoteHandles: Int
    /// Link names (with a direction) the peer holds attached, in any session: entries in
    /// the connection's index that a new ATTACH's steal looks up.
    public var heldLinkNames: Int
    /// Entries (settled ones not yet dropped included) in the unsettled maps of
    /// deliveries we received, summed over sessions.
    public var unsettledIncoming: Int
    /// The same for deliveries we sent.
    public var unsettledOutgoing: Int
    /// Bytes of partly received deliveries held across the connection (bounded by
    /// `EngineLimits.maxBufferedDeliveryBytes`).
    public var bufferedDeliveryBytes: Int
    /// Deliveries queued on senders and not completely written.
    public var queuedDeliveries: Int
    /// Frames waiting to be written: the connection's own and the sessions'.
    public var queuedFrames: Int
    /// Events not yet taken with `nextEvent()`.
    public var pendingEvents: Int

    /// `sessions 1/1, links 2/2, …` (live/slots where both exist).
    public var description: String {
        "sessions \(sessions)/\(sessionSlots) (remote \(remoteChannelSlots)), links \(linkSlots == links ? "\(links)" : "\(links)/\(linkSlots)") "
            + "(remote \(remoteHandles), held names \(heldLinkNames)), unsettled in \(unsettledIncoming) out \(unsettledOutgoing), "
            + "buffered \(bufferedDeliveryBytes) B, queued deliveries \(queuedDeliveries), frames \(queuedFrames), events \(pendingEvents)"
    }
}

extension ConnectionEngine {
    /// What the engine holds now (walks every session and link: for monitoring and
    /// tests, not for every tick).
    public var footprint: EngineFootprint {
        var f = EngineFootprint(
            sessions: 0, sessionSlots: sessions.slots.count, remoteChannelSlots: sessions.remoteChannels.count,
            links: 0, linkSlots: 0, remoteHandles: 0, heldLinkNames: sessions.shared.heldLinkNames.count, unsettledIncoming: 0, unsettledOutgoing: 0,
            bufferedDeliveryBytes: sessions.shared.bufferedDeliveryBytes, queuedDeliveries: 0,
            queuedFrames: control.count, pendingEvents: events.count)
        for s in sessions.slots where s.isLive {
            f.sessions += 1
            f.linkSlots += s.links.count
            f.remoteHandles += s.remoteHandles.count
            f.unsettledIncoming += s.incoming.count
            f.unsettledOutgoing += s.outgoing.count
            f.queuedFrames += s.control.count + (s.pendingDisposition == nil ? 0 : 1)
            for l in s.links where l.isLive {
                f.links += 1
                f.queuedDeliveries += l.sender.queue.count
            }
        }
        return f
    }
}
