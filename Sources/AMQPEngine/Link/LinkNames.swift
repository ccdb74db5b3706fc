import AMQPCodec

// A session's links by name (part 2, section 2.6.1: a name and the direction identify a
// link), so that pairing a peer's ATTACH with ours, or finding the attachment a second
// ATTACH of the same name steals, is a lookup rather than a walk over every link of the
// session. (Stealing reaches across sessions: the connection's own index, HeldLinkNames.swift,
// says which sessions hold a name.)
//
// Two indexes, each over the links in one condition: those we attached that the peer
// has not answered (`awaitingNames`, for pairing), and those the peer holds attached
// (`heldNames`, for stealing). A link is in at most one, and only for as long as it is in
// that condition, so nothing a peer does leaves entries behind that a later lookup must
// walk past: a peer that steals a link over and over while never answering the DETACHes
// leaves detaching links, which are in neither index. Only the application can put two
// links of one name in an index (by attaching a name twice); only then is the table
// walked.

/// A link's name with our role on it.
struct LinkName: Hashable {
    let name: String
    let role: Role

    init(of link: LinkEndpoint) {
        name = link.name
        role = link.role
    }

    init(name: String, role: Role) {
        self.name = name
        self.role = role
    }
}

/// Links in one condition by name: one handle per name, and a count of the links that
/// share their name with the one indexed.
struct LinkNameIndex {
    private(set) var handles: [LinkName: UInt32] = [:]
    /// Links in the condition whose name is indexed under another handle.
    private(set) var shared = 0

    subscript(key: LinkName) -> UInt32? { handles[key] }

    /// Returns true when no link of the name was in the index before.
    @discardableResult
    mutating func insert(_ key: LinkName, _ h: Int) -> Bool {
        if handles[key] == nil {
            handles[key] = UInt32(h)
            return true
        }
        shared &+= 1
        return false
    }

    /// Takes the link in slot `h` out (it is leaving the condition); when it was the one
    /// indexed and others share its name, the first of them that `inCondition` accepts
    /// (slot `h` excluded) is indexed instead. Returns true when no link of the name is
    /// left in the index.
    @discardableResult
    mutating func remove(_ key: LinkName, _ h: Int, links: [LinkEndpoint], inCondition: (LinkEndpoint) -> Bool) -> Bool {
        guard handles[key] == UInt32(h) else {
            shared &-= 1
            return false
        }
        handles[key] = nil
        guard shared > 0 else { return true }
        for (i, l) in links.enumerated() where i != h && l.isLive && l.name == key.name && l.role == key.role && inCondition(l) {
            handles[key] = UInt32(i)
            shared &-= 1
            return false
        }
        return true
    }
}

extension LinkEndpoint {
    /// We attached it and the peer has not answered (it may be detaching already: the
    /// answer must still pair with it).
    var awaitsAnswer: Bool { remoteHandle == nil && (state == .attachSent || state == .detachSent) }

    /// The peer holds it attached: it answered our ATTACH, or started the link, and
    /// neither end is detaching it.
    var isHeld: Bool { remoteHandle != nil && (state == .attached || state == .awaitingAccept) }
}

extension SessionEndpoint {
    /// Our link waiting for the peer's answer to its ATTACH, named `key`: the first
    /// attached, when the application attached the name more than once.
    func awaitingAnswer(_ key: LinkName) -> Int? {
        guard awaitingNames.shared > 0 else { return awaitingNames[key].map { Int($0) } }
        for (h, l) in links.enumerated() where l.isLive && l.name == key.name && l.role == key.role && l.awaitsAnswer {
            return h
        }
        return nil
    }

    /// A link named `key` that the peer holds attached: the one a new ATTACH of the
    /// same name steals.
    func existingAttachment(_ key: LinkName) -> Int? {
        heldNames[key].map { Int($0) }
    }

    /// The link in slot `h` was just installed by the application's attach.
    mutating func nameAwaitingAnswer(_ h: Int) {
        awaitingNames.insert(LinkName(of: links[h]), h)
    }

    /// The link in slot `h` got the peer's handle: answered or started by the peer.
    /// Call once its state is set.
    mutating func nameAnswered(_ h: Int, wasAwaiting: Bool, shared: inout SessionShared) {
        let key = LinkName(of: links[h])
        if wasAwaiting { awaitingNames.remove(key, h, links: links) { $0.awaitsAnswer } }
        // The connection's index learns of the session's first held link of a name
        // (HeldLinkNames.swift).
        if links[h].isHeld && heldNames.insert(key, h) { shared.heldLinkNames.insert(key, channel: id.channel) }
    }

    /// The link in slot `h` stops being held (our DETACH, or it is ending). Call before
    /// its state changes.
    mutating func nameReleased(_ h: Int, shared: inout SessionShared) {
        guard links[h].isHeld else { return }
        let key = LinkName(of: links[h])
        if heldNames.remove(key, h, links: links, inCondition: { $0.isHeld }) {
            shared.heldLinkNames.remove(key, channel: id.channel)
        }
    }

    /// The link in slot `h` is ending: out of whichever index holds it. Call before its
    /// slot is emptied.
    mutating func forgetName(_ h: Int, shared: inout SessionShared) {
        if links[h].awaitsAnswer {
            awaitingNames.remove(LinkName(of: links[h]), h, links: links) { $0.awaitsAnswer }
        }
        nameReleased(h, shared: &shared)
    }
}
