import AMQPCodec

// Stealing across the sessions of a connection (part 2, section 2.6.1): "the link can be
// globally identified by the (ordered) tuple (A,B,<name>)", A and B being the containers
// of source and target, and "a link can only be active in one connection at a time. If
// an attempt is made to attach the link subsequently when it is not suspended, then the
// link can be 'stolen'". Sessions do not enter into a link's identity: an ATTACH in one
// session steals an attachment of the same name and direction held in any session of the
// connection, not just its own. (Other connections are beyond one engine's sight.)
//
// Each session indexes its own held links by name (`SessionEndpoint.heldNames`,
// LinkNames.swift). This index, over the connection, says which sessions hold a name:
// one channel and a count. Every ATTACH the peer starts asks it, so it must answer in
// O(1) whatever the peer leaves behind; it does, because the peer cannot make a name
// held by two sessions at once (its ATTACH steals every other attachment of the name
// first). Only the application can, by attaching one name in several sessions and
// having the peer answer each; only then does a lookup walk the sessions, and the steal
// that follows leaves one holder again.

/// Which sessions of the connection hold links the peer attached, by name and our role.
struct HeldLinkNames {
    struct Entry {
        /// Sessions whose `heldNames` hold the name (1 or more).
        var sessions: UInt32
        /// The local channel of one of them, when `channelKnown`: a session that lets the
        /// name go while others still hold it leaves no way to tell which, short of a walk.
        var channel: UInt16
        var channelKnown: Bool
    }

    /// Where a name is held.
    enum Holders: Equatable {
        case none
        /// By the session on this local channel only.
        case one(Int)
        /// By more than one session, or by one not remembered: walk the sessions.
        case unknown
    }

    private(set) var entries: [LinkName: Entry] = [:]

    /// Names held, by any session.
    var count: Int { entries.count }

    func holders(_ key: LinkName) -> Holders {
        guard let e = entries[key] else { return .none }
        return e.sessions == 1 && e.channelKnown ? .one(Int(e.channel)) : .unknown
    }

    /// The session on `channel` started holding `key` (it held no link of that name).
    mutating func insert(_ key: LinkName, channel: UInt16) {
        if var e = entries[key] {
            e.sessions &+= 1
            entries[key] = e
        } else {
            entries[key] = Entry(sessions: 1, channel: channel, channelKnown: true)
        }
    }

    /// The session on `channel` holds no link named `key` any more.
    mutating func remove(_ key: LinkName, channel: UInt16) {
        guard var e = entries[key] else { return }
        guard e.sessions > 1 else {
            entries[key] = nil
            return
        }
        e.sessions &-= 1
        if e.channel == channel { e.channelKnown = false }
        entries[key] = e
    }

    /// The connection is over: no session holds anything.
    mutating func removeAll() {
        entries.removeAll()
    }
}

extension ConnectionEngine {
    /// The peer's ATTACH on the session in slot `s`: pairs it with our link of that name,
    /// or, when the peer starts the link, first steals the attachment of the name held in
    /// any session of the connection.
    mutating func receiveAttach(_ a: Attach, session s: Int) -> SessionVerdict {
        switch sessions.slots[s].pairAttach(a, shared: &sessions.shared, events: &events) {
        case .done(let verdict):
            return verdict
        case .peerStarts(let key):
            stealAttachments(key, by: a, session: s)
            return sessions.slots[s].startPeerLink(a, shared: &sessions.shared, events: &events)
        }
    }

    /// Detaches, closed with `amqp:link:stolen` (section 2.8.18: "the link has been
    /// attached elsewhere, causing the existing attachment to be forcibly closed"), every
    /// link named `key` that the peer holds attached, in whichever session it is.
    mutating func stealAttachments(_ key: LinkName, by a: Attach, session s: Int) {
        switch sessions.shared.heldLinkNames.holders(key) {
        case .none:
            return
        case .one(let t):
            // Kept in step with the sessions' own indexes, so the slot is a live session.
            guard t < sessions.slots.count, sessions.slots[t].isLive else { return }
            steal(key, by: a, in: t, attachedIn: s)
        case .unknown:
            for t in sessions.slots.indices where sessions.slots[t].isLive && sessions.slots[t].existingAttachment(key) != nil {
                steal(key, by: a, in: t, attachedIn: s)
            }
        }
    }

    /// Steals the session in slot `t`'s attachments named `key`; the new ATTACH came on
    /// the session in slot `s`.
    private mutating func steal(_ key: LinkName, by a: Attach, in t: Int, attachedIn s: Int) {
        var why = "link \"\(a.name)\" was attached again, on the peer's handle \(a.handle)"
        if t != s, let channel = sessions.slots[s].remoteChannel { why += " in another session (the peer's channel \(channel))" }
        while let old = sessions.slots[t].existingAttachment(key) {
            sessions.slots[t].detachLocally(old, closed: true, error: EngineError(.linkStolen, why, origin: .local), shared: &sessions.shared)
        }
    }
}
