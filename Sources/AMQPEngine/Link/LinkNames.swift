import AMQPCodec

// A session's links by name (part 2, section 2.6.1: a name and the direction identify a
// link), so that pairing a peer's ATTACH with ours, or finding the attachment a second
// ATTACH of the same name steals, is a lookup rather than a walk over every link of the
// session.

/// A link's name with our role on it.
struct LinkName: Hashable {
    let name: String
    let role: Role
}

extension SessionEndpoint {
    /// Records the link in slot `h` under its name.
    mutating func rememberName(of link: LinkEndpoint, at h: UInt32) {
        let key = LinkName(name: link.name, role: link.role)
        if linkNames[key] == nil {
            linkNames[key] = h
        } else {
            sharedLinkNames &+= 1
        }
    }

    /// Forgets the link that was in slot `h` (already emptied) under its name.
    mutating func forgetName(of link: LinkEndpoint, at h: UInt32) {
        let key = LinkName(name: link.name, role: link.role)
        guard linkNames[key] == h else {
            sharedLinkNames &-= 1
            return
        }
        linkNames[key] = nil
        guard sharedLinkNames > 0 else { return }
        for (i, l) in links.enumerated() where l.isLive && l.name == key.name && l.role == key.role {
            linkNames[key] = UInt32(i)
            sharedLinkNames &-= 1
            return
        }
    }

    /// A link named `key` that the peer holds attached (it answered our ATTACH, or
    /// started it): one a new ATTACH of the same name steals. Links we are detaching
    /// already are not counted: theirs is ending.
    func existingAttachment(_ key: LinkName) -> Int? {
        func holds(_ l: LinkEndpoint) -> Bool { l.remoteHandle != nil && (l.state == .attached || l.state == .awaitingAccept) }
        guard sharedLinkNames > 0 else {
            guard let h = linkNames[key].map({ Int($0) }), holds(links[h]) else { return nil }
            return h
        }
        for (h, l) in links.enumerated() {
            if l.isLive, l.name == key.name, l.role == key.role, holds(l) { return h }
        }
        return nil
    }

    /// Our link waiting for the peer's answer to its ATTACH: named `key`, without a peer
    /// handle yet.
    func awaitingAnswer(_ key: LinkName) -> Int? {
        func waits(_ l: LinkEndpoint) -> Bool { l.remoteHandle == nil && (l.state == .attachSent || l.state == .detachSent) }
        guard sharedLinkNames > 0 else {
            guard let h = linkNames[key].map({ Int($0) }), waits(links[h]) else { return nil }
            return h
        }
        // The application attached one name twice: the first one waiting is answered.
        for (h, l) in links.enumerated() {
            if l.isLive, l.name == key.name, l.role == key.role, waits(l) { return h }
        }
        return nil
    }
}
