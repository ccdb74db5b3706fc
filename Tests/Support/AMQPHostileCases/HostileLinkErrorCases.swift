import AMQPCodec
import AMQPEngine
import AMQPTesting
import Testing

// The link errors of part 2, section 2.8.18 and the session's errant-link (2.8.17): a
// link attached again under the same name is stolen from its older attachment; input on
// a handle whose link was detached with an error ends the session, but only once the
// peer's own DETACH shows it knew; detach-forced and stolen from the peer reach the
// application typed. Run by HostilePeerTests (see HostileSessionCases.swift for the
// setup: our link on handle 0, the peer's on handle 3, its session on channel 5).

private let forced = AMQPError(condition: .detachForced, description: "an operator detached it")
private let stolen = AMQPError(condition: .linkStolen, description: "attached on another connection")

/// The peer's DETACH of the setup's link (or `h`), closed, with `error`.
private func peerDetach(_ error: AMQPError?, handle h: UInt32 = setupHandle) -> [UInt8] {
    peerFrame(.detach(Detach(handle: h, closed: true, error: error)))
}

/// Expects our DETACH of handle `h`, closed, with an error of `condition` (`nil`: none).
private func expectDetach(_ peer: inout ScriptedPeer, handle h: UInt32 = 0, condition: ErrorCondition?) throws {
    try peer.expectPerformative("DETACH(\(h), closed, \(condition.map { "\($0)" } ?? "no error"))", channel: 0) {
        if case .detach(let d) = $0 { return d.handle == h && d.closed && d.error?.condition == condition }
        return false
    }
}

extension HostileCase {
    // MARK: amqp:link:stolen

    package static let stolenCases: [HostileCase] = [
        HostileCase(
            "ATTACH of a receiver's link again steals it", at: .opened, setup: .receiver(), send: peerAttach("r", handle: 4),
            expect: .recovers { peer, context in
                // Part 2, section 2.6.1: a name and a direction are one link, so this is
                // that link attaching again. The newer attachment wins.
                let link = try #require(context.link)
                try expectDetach(&peer, condition: .linkStolen)
                #expect(peer.events.linkSummaries.last == "remoteAttach:r")
                #expect(!peer.engine.isAttached(link))
                #expect(peer.engine.footprint.links == 2)
                try peer.send(bytes: peerDetach(nil))
                let detached = try #require(peer.events.linkDetaches.last)
                #expect(detached.0 == link)
                #expect(detached.1?.condition == .linkStolen && detached.1?.origin == .local)
                #expect(detached.1?.error.errorDescription?.contains("link \"r\" was attached again") == true)
                // The new attachment is a link like any the peer starts.
                var new: LinkID? = nil
                for case .link(.remoteAttach(let id, _)) in peer.events.events { new = id }
                let id = try #require(new)
                try peer.perform { try? $0.acceptLink(id, configuration: .receiver(name: "r", from: "q", credit: .manual)) }
                try peer.expectPerformative("ATTACH(r, receiver)", channel: 0) {
                    if case .attach(let a) = $0 { return a.name == "r" && a.role == .receiver && a.handle == id.handle }
                    return false
                }
                #expect(peer.engine.isAttached(id))
                #expect(peer.engine.footprint.links == 1)
                #expect(peer.engine.footprint.remoteHandles == 1)
            }),
        HostileCase(
            "ATTACH of a sender's link again steals it; its deliveries are lost", at: .opened,
            setup: .sender(credit: 5, deliveries: 2),
            send: peerFrame(.attach(Attach(name: "s", handle: 4, role: .receiver, source: Source(), target: .target(Target(address: "q"))))),
            expect: .recovers { peer, context in
                let link = try #require(context.link)
                try expectDetach(&peer, condition: .linkStolen)
                #expect(peer.events.linkSummaries.last == "remoteAttach:s")
                var refused = false
                try peer.perform { refused = (try? $0.send(on: link, payload: [1])) == nil }
                #expect(refused)
                try peer.send(bytes: peerDetach(nil))
                #expect(peer.events.linkSummaries.suffix(3) == ["lost:\(context.sent[0])", "lost:\(context.sent[1])", "detached"])
                let detached = try #require(peer.events.linkDetaches.last)
                #expect(detached.0 == link && detached.1?.condition == .linkStolen && detached.1?.origin == .local)
                #expect(peer.engine.footprint.links == 1)
                #expect(peer.engine.footprint.unsettledOutgoing == 0)
            }),
        HostileCase(
            "ATTACH of a link not yet accepted, again, steals it", at: .opened, setup: .session(),
            send: peerAttach("x", handle: 4) + peerAttach("x", handle: 5),
            expect: .recovers { peer, _ in
                // The first request is refused (a null terminus, section 2.6.3) and
                // detached as stolen; the second waits for the application.
                try peer.expectPerformative("ATTACH(x) with a null target", channel: 0) {
                    if case .attach(let a) = $0 { return a.name == "x" && a.handle == 0 && a.target == nil }
                    return false
                }
                try expectDetach(&peer, condition: .linkStolen)
                #expect(peer.events.linkSummaries.suffix(2) == ["remoteAttach:x", "remoteAttach:x"])
                try peer.send(bytes: peerDetach(nil, handle: 4))
                #expect(peer.events.linkDetaches.last?.1?.condition == .linkStolen)
                #expect(peer.engine.footprint.links == 1)
                #expect(peer.engine.footprint.remoteHandles == 1)
            }),
        HostileCase(
            "ATTACH of a name we are detaching starts a new link", at: .opened, setup: .receiver(), send: [],
            expect: .recovers { peer, context in
                // Ours is ending already: nothing to steal, and no session error.
                let link = try #require(context.link)
                try peer.perform { $0.detachLink(link) }
                try expectDetach(&peer, condition: nil)
                try peer.send(bytes: peerAttach("r", handle: 4))
                try peer.expectNothingMore()
                #expect(peer.events.linkSummaries.last == "remoteAttach:r")
                try peer.send(bytes: peerDetach(nil))
                #expect(peer.events.linkDetaches.last.map { $0.0 == link && $0.1 == nil } == true)
                #expect(peer.engine.footprint.links == 1)
            }),
        HostileCase(
            "a link stolen 2,000 times over, its DETACHes never answered", at: .opened, setup: .session(),
            maxEvents: 2_000, maxReplyBytes: 2_000 * 200,
            send: (0..<2_000).flatMap { peerAttach("x", handle: UInt32($0)) },
            expect: .recovers { peer, _ in
                // Each ATTACH refuses and detaches the one before (never accepted), at a
                // cost that does not grow with the detaching links left behind: they are
                // in neither name index (LinkNames.swift).
                #expect(peer.events.linkSummaries.filter { $0 == "remoteAttach:x" }.count == 2_000)
                let stolen = peer.pendingFrames.filter {
                    if case .amqp(_, .detach(let d), _) = $0.frame { d.error?.condition == .linkStolen } else { false }
                }
                #expect(stolen.count == 1_999)
                peer.skipFrames(peer.pendingFrames.count)
                #expect(peer.engine.footprint.links == 2_000)
                // Answering them all leaves the last attachment, and nothing else.
                try peer.send(bytes: (0..<1_999).flatMap { peerDetach(nil, handle: UInt32($0)) })
                #expect(peer.events.linkDetaches.filter { $0.1?.condition == .linkStolen }.count == 1_999)
                #expect(peer.engine.footprint.links == 1)
                #expect(peer.engine.footprint.remoteHandles == 1)
            }),
        HostileCase(
            "DETACH with detach-forced reaches the application", at: .opened, setup: .receiver(), send: peerDetach(forced),
            expect: .recovers { peer, context in
                try expectDetach(&peer, condition: nil)
                let detached = try #require(peer.events.linkDetaches.last)
                #expect(detached.0 == context.link)
                #expect(detached.1 == EngineError(forced, origin: .remote))
            }),
        HostileCase(
            "DETACH with stolen reaches the application", at: .opened, setup: .sender(credit: 3, deliveries: 1),
            send: peerDetach(stolen),
            expect: .recovers { peer, context in
                try expectDetach(&peer, condition: nil)
                #expect(peer.events.linkSummaries.suffix(2) == ["lost:\(context.sent[0])", "detached"])
                let detached = try #require(peer.events.linkDetaches.last)
                #expect(detached.0 == context.link)
                #expect(detached.1 == EngineError(stolen, origin: .remote))
            }),
    ]

    // MARK: amqp:session:errant-link

    package static let errantCases: [HostileCase] = [
        HostileCase(
            "TRANSFER after the peer's DETACH with an error", at: .opened, setup: .receiver(),
            send: peerDetach(forced) + peerTransfer(0),
            expect: .endsSession(.errantLink, "TRANSFER on handle 3, whose link was detached with an error")),
        HostileCase(
            "FLOW after the peer's DETACH with an error", at: .opened, setup: .sender(),
            send: peerDetach(forced) + peerFlow(credit: 5),
            expect: .endsSession(.errantLink, "FLOW on handle 3, whose link was detached with an error")),
        HostileCase(
            "DETACH after the peer's DETACH with an error", at: .opened, setup: .receiver(),
            send: peerDetach(forced) + peerDetach(nil),
            expect: .endsSession(.errantLink, "DETACH on handle 3, whose link was detached with an error")),
        HostileCase(
            "TRANSFER after the peer's DETACH without an error", at: .opened, setup: .receiver(),
            send: peerDetach(nil) + peerTransfer(0),
            expect: .endsSession(.unattachedHandle, "TRANSFER on handle 3, which is not attached")),
        HostileCase(
            "frames crossing our DETACH with an error are dropped; frames after the peer's answer are errant", at: .opened,
            setup: .receiver(), send: [],
            expect: .recovers { peer, context in
                let link = try #require(context.link)
                let session = try #require(context.session)
                // The application may detach with any condition, detach-forced included.
                try peer.perform { $0.detachLink(link, error: forced) }
                try peer.expectPerformative("DETACH(0, closed, detach-forced)", channel: 0) {
                    if case .detach(let d) = $0 { return d.handle == 0 && d.closed && d.error == forced }
                    return false
                }
                // Sent before the peer read our DETACH: in flight, so read and dropped.
                try peer.send(bytes: peerTransfer(0) + peerTransfer(1, more: true) + peerTransfer(nil) + peerFlow(deliveryCount: 2, credit: 0))
                try peer.expectNothingMore()
                #expect(peer.engine.isActive(session))
                #expect(peer.engine.footprint.links == 1 && peer.engine.footprint.bufferedDeliveryBytes == 0)
                try peer.send(bytes: peerDetach(nil))
                let detached = try #require(peer.events.linkDetaches.last)
                #expect(detached.0 == link && detached.1 == EngineError(forced, origin: .local))
                // After its DETACH the peer knew the link had ended with an error.
                try peer.send(bytes: peerTransfer(2))
                try peer.expectPerformative("END(errant-link)", channel: 0) {
                    if case .end(let e) = $0 {
                        return e.error?.condition == .errantLink
                            && e.error?.errorDescription == "TRANSFER on handle 3, whose link was detached with an error"
                    }
                    return false
                }
                try peer.send(.end(End()), channel: setupChannel)
                let ended = try #require(peer.events.sessionEnds.last)
                #expect(ended.0 == session && ended.1?.condition == .errantLink && ended.1?.origin == .local)
            }),
        HostileCase(
            "a handle detached with an error and attached again is the new link's", at: .opened, setup: .receiver(),
            send: peerDetach(forced) + peerAttach("again", handle: setupHandle) + peerFlow(credit: 0),
            expect: .recovers { peer, context in
                try expectDetach(&peer, condition: nil)
                #expect(peer.events.linkSummaries.suffix(2) == ["detached", "remoteAttach:again"])
                #expect(context.session.map { peer.engine.isActive($0) } == true)
                #expect(peer.engine.footprint.links == 1)
            }),
        HostileCase(
            "TRANSFER on the oldest of more links detached with errors than are remembered", at: .opened, setup: .session(),
            maxEvents: 100,
            send: (0..<40).flatMap { peerAttach("e\($0)", handle: 10 + UInt32($0)) + peerDetach(forced, handle: 10 + UInt32($0)) }
                + peerTransfer(0, on: 10),
            expect: .endsSession(.unattachedHandle, "TRANSFER on handle 10, which is not attached")),
        HostileCase(
            "TRANSFER on the newest of many links detached with errors", at: .opened, setup: .session(), maxEvents: 100,
            send: (0..<40).flatMap { peerAttach("e\($0)", handle: 10 + UInt32($0)) + peerDetach(forced, handle: 10 + UInt32($0)) }
                + peerTransfer(0, on: 49),
            expect: .endsSession(.errantLink, "TRANSFER on handle 49, whose link was detached with an error")),
    ]
}
