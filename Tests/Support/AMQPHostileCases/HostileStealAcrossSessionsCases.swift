import AMQPCodec
import AMQPEngine
import AMQPTesting
import Testing

// amqp:link:stolen across the sessions of one connection (part 2, section 2.6.1): a link
// is its name, its direction and the two containers, "a link can only be active in one
// connection at a time", so an ATTACH in one session steals the attachment of the same
// name and direction held in another. The connection's index of held names
// (HeldLinkNames.swift) must follow links and sessions as they end, or a later ATTACH
// would steal what is gone (or miss what is there). Run by HostilePeerTests; the setup
// is HostileSessionCases.swift's (our session on channel 0, the peer's 5, our link on
// handle 0, the peer's 3). The second session is the peer's channel 6.

/// The peer's channel for the second session.
private let secondChannel: UInt16 = 6
private let stolenError = AMQPError(condition: .linkStolen, description: "attached on another connection")

/// The peer's ATTACH of `name` on `channel`, as `role` (a sender by default: it steals a
/// receiver of ours).
private func attach(_ name: String, handle h: UInt32, role: Role = .sender, on channel: UInt16 = secondChannel) -> [UInt8] {
    let a = role == .sender
        ? Attach(name: name, handle: h, role: .sender, source: Source(address: "q"), target: .target(Target()), initialDeliveryCount: 0)
        : Attach(name: name, handle: h, role: .receiver, source: Source(), target: .target(Target(address: "q")))
    return peerFrame(.attach(a), on: channel)
}

/// The peer beginning the second session (not answering one of ours).
private let secondBegin = peerFrame(.begin(unansweredBegin), on: secondChannel)

/// The peer's DETACH of handle `h` on `channel`, closed, without an error.
private func detach(_ h: UInt32, on channel: UInt16) -> [UInt8] {
    peerFrame(.detach(Detach(handle: h, closed: true)), on: channel)
}

/// Our DETACHes with `amqp:link:stolen` among the frames not yet looked at: (our channel,
/// our handle) each.
private func stolenDetaches(_ peer: ScriptedPeer) -> [(channel: UInt16, handle: UInt32)] {
    peer.pendingFrames.compactMap {
        if case .amqp(let c, .detach(let d), _) = $0.frame, d.closed, d.error?.condition == .linkStolen { (c, d.handle) } else { nil }
    }
}

/// The session the peer began (the last `remoteBegin`).
private func peerBegunSession(_ peer: ScriptedPeer) throws -> SessionID {
    var found: SessionID? = nil
    for case .session(.remoteBegin(let id, _)) in peer.events.events { found = id }
    return try #require(found)
}

/// The link the peer attached last (`remoteAttach`).
private func peerAttachedLink(_ peer: ScriptedPeer) throws -> LinkID {
    var found: LinkID? = nil
    for case .link(.remoteAttach(let id, _)) in peer.events.events { found = id }
    return try #require(found)
}

/// The engine begins a second session, answered by the peer on channel 6; returns it.
private func beginSecondSession(_ peer: inout ScriptedPeer) throws -> SessionID {
    var session: SessionID? = nil
    try peer.perform { session = try? $0.beginSession() }
    let id = try #require(session)
    try peer.expectPerformative("BEGIN", channel: id.channel) { if case .begin = $0 { true } else { false } }
    try peer.send(
        .begin(Begin(remoteChannel: id.channel, nextOutgoingID: 0, incomingWindow: 1_000, outgoingWindow: 1_000)), channel: secondChannel)
    return id
}

/// The application attaches a receiver named "dup" in `first` and in a second session it
/// begins; the peer answers both (handle 3 on each channel). Returns the second session
/// and the two links, in that order.
private func attachDupInTwoSessions(_ peer: inout ScriptedPeer, first: SessionID) throws -> (SessionID, [LinkID]) {
    let second = try beginSecondSession(&peer)
    var links: [LinkID] = []
    try peer.perform {
        for s in [first, second] {
            if let l = try? $0.attachLink(session: s, .receiver(name: "dup", from: "q", credit: .manual)) { links.append(l) }
        }
    }
    #expect(links.count == 2)
    peer.skipFrames(peer.pendingFrames.count)
    try peer.send(bytes: attach("dup", handle: 3, on: setupChannel) + attach("dup", handle: 3))
    return (second, links)
}

extension HostileCase {
    package static let stealAcrossSessionsCases: [HostileCase] = [
        HostileCase(
            "ATTACH of a receiver's link in another session steals it", at: .opened, setup: .receiver(),
            send: secondBegin + attach("r", handle: 0),
            expect: .recovers { peer, context in
                let link = try #require(context.link)
                // Detached on its own session, while the new attachment waits in the other.
                try peer.expectPerformative("DETACH(0, closed, stolen)", channel: 0) {
                    if case .detach(let d) = $0 { return d.handle == 0 && d.closed && d.error?.condition == .linkStolen }
                    return false
                }
                #expect(!peer.engine.isAttached(link))
                #expect(peer.events.linkSummaries.last == "remoteAttach:r")
                let new = try peerAttachedLink(peer)
                let session = try peerBegunSession(peer)
                #expect(new.session == session && session != context.session)
                #expect(peer.engine.footprint.heldLinkNames == 1)
                try peer.send(bytes: detach(setupHandle, on: setupChannel))
                let detached = try #require(peer.events.linkDetaches.last)
                #expect(detached.0 == link && detached.1?.condition == .linkStolen && detached.1?.origin == .local)
                #expect(detached.1?.error.errorDescription?.contains("in another session (the peer's channel 6)") == true)
                // The older session goes on; the new link is one like any the peer starts.
                #expect(context.session.map { peer.engine.isActive($0) } == true)
                try peer.perform { try? $0.acceptSession(session) }
                try peer.expectPerformative("BEGIN", channel: session.channel) { if case .begin = $0 { true } else { false } }
                try peer.perform { try? $0.acceptLink(new, configuration: .receiver(name: "r", from: "q", credit: .manual)) }
                try peer.expectPerformative("ATTACH(r, receiver)", channel: session.channel) {
                    if case .attach(let a) = $0 { return a.name == "r" && a.role == .receiver && a.handle == new.handle }
                    return false
                }
                #expect(peer.engine.isAttached(new))
                #expect(peer.engine.footprint.links == 1 && peer.engine.footprint.heldLinkNames == 1)
            }),
        HostileCase(
            "ATTACH of a sender's link in another session steals it; its deliveries are lost", at: .opened,
            setup: .sender(credit: 5, deliveries: 2), send: [],
            expect: .recovers { peer, context in
                // This time the engine began the second session.
                let link = try #require(context.link)
                let second = try beginSecondSession(&peer)
                try peer.send(bytes: attach("s", handle: 0, role: .receiver))
                try peer.expectPerformative("DETACH(0, closed, stolen)", channel: 0) {
                    if case .detach(let d) = $0 { return d.handle == 0 && d.closed && d.error?.condition == .linkStolen }
                    return false
                }
                #expect(peer.events.linkSummaries.last == "remoteAttach:s")
                #expect(try peerAttachedLink(peer).session == second)
                var refused = false
                try peer.perform { refused = (try? $0.send(on: link, payload: [1])) == nil }
                #expect(refused)
                try peer.send(bytes: detach(setupHandle, on: setupChannel))
                #expect(peer.events.linkSummaries.suffix(3) == ["lost:\(context.sent[0])", "lost:\(context.sent[1])", "detached"])
                let detached = try #require(peer.events.linkDetaches.last)
                #expect(detached.0 == link && detached.1?.condition == .linkStolen && detached.1?.origin == .local)
                #expect(peer.engine.footprint.unsettledOutgoing == 0)
                #expect(peer.engine.footprint.links == 1 && peer.engine.footprint.heldLinkNames == 1)
            }),
        HostileCase(
            "ATTACH steals back and forth between two sessions", at: .opened, setup: .receiver(), send: [],
            expect: .recovers { peer, context in
                // Each steal moves the name's entry to the session that now holds it, so
                // the next ATTACH, in the first session again, finds the second's link.
                let second = try beginSecondSession(&peer)
                try peer.send(bytes: attach("r", handle: 0))
                #expect(stolenDetaches(peer).map(\.channel) == [0])
                peer.skipFrames(peer.pendingFrames.count)
                let moved = try peerAttachedLink(peer)
                #expect(moved.session == second)
                try peer.send(bytes: attach("r", handle: 4, on: setupChannel))
                // Never accepted: refused (null target), then detached as stolen.
                #expect(stolenDetaches(peer).map(\.channel) == [second.channel])
                peer.skipFrames(peer.pendingFrames.count)
                #expect(try peerAttachedLink(peer).session == context.session)
                try peer.send(bytes: detach(setupHandle, on: setupChannel) + detach(0, on: secondChannel))
                #expect(peer.events.linkDetaches.suffix(2).map { $0.1?.condition } == [.linkStolen, .linkStolen])
                #expect(peer.engine.footprint.links == 1 && peer.engine.footprint.heldLinkNames == 1)
            }),
        HostileCase(
            "ATTACH of a name the application attached in two sessions steals both", at: .opened, setup: .session(), send: [],
            expect: .recovers { peer, context in
                // Only the application can have two sessions hold a name at once; the
                // lookup then walks the sessions, and the steal leaves one holder.
                let first = try #require(context.session)
                let (second, links) = try attachDupInTwoSessions(&peer, first: first)
                #expect(links.allSatisfy { peer.engine.isAttached($0) })
                #expect(peer.engine.footprint.heldLinkNames == 1)
                try peer.send(bytes: attach("dup", handle: 4, on: setupChannel))
                #expect(Set(stolenDetaches(peer).map(\.channel)) == [first.channel, second.channel])
                peer.skipFrames(peer.pendingFrames.count)
                #expect(!links.contains { peer.engine.isAttached($0) })
                try peer.send(bytes: detach(3, on: setupChannel) + detach(3, on: secondChannel))
                #expect(Set(peer.events.linkDetaches.suffix(2).map(\.0)) == Set(links))
                #expect(peer.engine.footprint.links == 1 && peer.engine.footprint.heldLinkNames == 1)
            }),
        HostileCase(
            "ATTACH of a name still held in a second session after the first let it go", at: .opened, setup: .session(),
            send: [],
            expect: .recovers { peer, context in
                // The first session to hold the name is the one the index remembers; once
                // it lets the name go, the second's link must still be found.
                let first = try #require(context.session)
                let (second, links) = try attachDupInTwoSessions(&peer, first: first)
                try peer.perform { $0.detachLink(links[0]) }
                try peer.expectPerformative("DETACH(0, closed)", channel: first.channel) {
                    if case .detach(let d) = $0 { return d.handle == 0 && d.error == nil }
                    return false
                }
                try peer.send(bytes: detach(3, on: setupChannel))
                #expect(peer.engine.footprint.heldLinkNames == 1)
                try peer.send(bytes: attach("dup", handle: 4, on: setupChannel))
                #expect(stolenDetaches(peer).map(\.channel) == [second.channel])
                peer.skipFrames(peer.pendingFrames.count)
                try peer.send(bytes: detach(3, on: secondChannel))
                #expect(peer.events.linkDetaches.last.map { $0.0 == links[1] && $0.1?.condition == .linkStolen } == true)
                #expect(peer.engine.footprint.links == 1 && peer.engine.footprint.heldLinkNames == 1)
            }),

        // MARK: The index follows sessions as they end

        HostileCase(
            "ATTACH of a name whose session the peer ended with an error steals nothing", at: .opened, setup: .receiver(),
            send: peerFrame(.end(End(error: stolenError))),
            expect: .recovers { peer, context in
                let link = try #require(context.link)
                let session = try #require(context.session)
                try peer.expectPerformative("END", channel: 0) { if case .end(let e) = $0 { e.error == nil } else { false } }
                #expect(peer.events.linkDetaches.map(\.0) == [link])
                #expect(peer.events.sessionEnds.map(\.0) == [session])
                #expect(peer.engine.footprint.heldLinkNames == 0)
                // No DETACH: the link ended with its session, and its name with it.
                try peer.send(bytes: secondBegin + attach("r", handle: 0))
                try peer.expectNothingMore()
                #expect(peer.events.linkSummaries.last == "remoteAttach:r")
                #expect(peer.engine.footprint.links == 1 && peer.engine.footprint.heldLinkNames == 1)
            }),
        HostileCase(
            "ATTACH of a name whose session we are ending with an error steals nothing", at: .opened, setup: .receiver(),
            send: attach("x", handle: setupHandle, on: setupChannel),
            expect: .recovers { peer, context in
                let link = try #require(context.link)
                try peer.expectPerformative("END(handle-in-use)", channel: 0) {
                    if case .end(let e) = $0 { e.error?.condition == .handleInUse } else { false }
                }
                #expect(peer.events.linkDetaches.map(\.0) == [link])
                #expect(peer.engine.footprint.heldLinkNames == 0)
                // Our END is not answered yet, but the session's links are gone already.
                try peer.send(bytes: secondBegin + attach("r", handle: 0))
                try peer.expectNothingMore()
                #expect(peer.events.linkSummaries.last == "remoteAttach:r")
                #expect(peer.engine.footprint.links == 1 && peer.engine.footprint.heldLinkNames == 1)
                try peer.send(.end(End()), channel: setupChannel)
                #expect(peer.events.sessionEnds.last.map { $0.0 == context.session && $0.1?.condition == .handleInUse } == true)
            }),
        HostileCase(
            "ATTACH of a name whose session the application ended steals nothing", at: .opened, setup: .sender(),
            send: [],
            expect: .recovers { peer, context in
                let session = try #require(context.session)
                _ = try beginSecondSession(&peer)
                try peer.perform { $0.endSession(session) }
                try peer.expectPerformative("END", channel: 0) { if case .end = $0 { true } else { false } }
                #expect(peer.engine.footprint.heldLinkNames == 0)
                try peer.send(bytes: attach("s", handle: 0, role: .receiver))
                try peer.expectNothingMore()
                #expect(peer.events.linkSummaries.last == "remoteAttach:s")
                try peer.send(.end(End()), channel: setupChannel)
                #expect(peer.engine.footprint.links == 1 && peer.engine.footprint.heldLinkNames == 1)
            }),
        HostileCase(
            "a link stolen 2,000 times over between two sessions, its DETACHes never answered", at: .opened, setup: .session(),
            configure: {
                var policy = AutoAcceptPolicy()
                policy.links = false
                $0.autoAccept = policy
            },
            maxEvents: 2_001, maxReplyBytes: 2_000 * 200,
            send: secondBegin + (0..<2_000).flatMap { i in attach("x", handle: UInt32(i / 2), on: i % 2 == 0 ? setupChannel : secondChannel) },
            expect: .recovers { peer, context in
                // Each ATTACH steals the one before, in the other session, at a cost that
                // does not grow with the links left detaching in either.
                #expect(peer.events.linkSummaries.filter { $0 == "remoteAttach:x" }.count == 2_000)
                let stolen = stolenDetaches(peer)
                #expect(stolen.count == 1_999)
                #expect(stolen.filter { $0.channel == 0 }.count == 1_000)
                peer.skipFrames(peer.pendingFrames.count)
                #expect(peer.engine.footprint.links == 2_000)
                #expect(peer.engine.footprint.heldLinkNames == 1)
                // Answering them all leaves the last attachment (in the second session).
                try peer.send(
                    bytes: (0..<1_000).flatMap { detach(UInt32($0), on: setupChannel) } + (0..<999).flatMap { detach(UInt32($0), on: secondChannel) })
                #expect(peer.events.linkDetaches.filter { $0.1?.condition == .linkStolen }.count == 1_999)
                #expect(peer.engine.footprint.links == 1 && peer.engine.footprint.remoteHandles == 1)
                #expect(try peerAttachedLink(peer).session != context.session)
            }),
    ]
}
