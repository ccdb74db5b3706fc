package import AMQPCodec
package import AMQPEngine
package import AMQPTesting
import Testing

// What a hostile (or merely broken) peer can do to the session layer (channels, BEGIN,
// END, session lifecycles), and what the engine must answer; link cases are in
// HostileLinkCases.swift. Run by HostilePeerTests with the connection cases: each for both
// roles, under whole, one-byte and random cuts. Most cases strike after a setup (see
// `HostileSetup`): the engine began a session on channel 0, which the peer answered on
// channel 5, and attached a link on handle 0, which the peer answered on handle 3.
//
// Where the specification names the condition (part 2, sections 2.7 and 2.8) the case
// asserts it; elsewhere it asserts the engine's documented choice: a session-scoped
// protocol error ends the session with `amqp:invalid-field` or `amqp:not-allowed`, a
// frame on a channel without a session closes the connection with `amqp:not-allowed`.

/// The peer's channel for the setup's session.
package let setupChannel = HostileSetup.peerChannel
/// The peer's handle for the setup's link.
package let setupHandle = HostileSetup.peerHandle

/// A frame from the peer, on the setup's channel unless told.
package func peerFrame(_ p: Performative, on c: UInt16 = setupChannel, payload: [UInt8] = []) -> [UInt8] {
    FrameBytes.frame(p, channel: c, payload: payload)
}

/// A TRANSFER from the peer on the setup's link (or `h`): the first frame of delivery `id`
/// (tag `id`, format 0), or a continuation when `id` is nil.
package func peerTransfer(
    _ id: UInt32?, more: Bool = false, payload: Int = 10, tag: DeliveryTag? = nil, format: UInt32? = nil,
    settled: Bool? = nil, aborted: Bool = false, on h: UInt32 = setupHandle
) -> [UInt8] {
    let t = Transfer(
        handle: h, deliveryID: id, deliveryTag: tag ?? id.map { DeliveryTag(UInt64($0)) },
        messageFormat: format ?? (id == nil ? nil : 0), settled: settled, more: more, aborted: aborted)
    return peerFrame(.transfer(t), payload: [UInt8](repeating: 0x5A, count: payload))
}

/// A FLOW from the peer; with `link`, about the setup's link.
package func peerFlow(
    nextIncomingID: UInt32? = 0, incomingWindow: UInt32 = 1_000, nextOutgoingID: UInt32 = 0, link: Bool = true,
    deliveryCount: UInt32? = 0, credit: UInt32? = nil, drain: Bool = false, echo: Bool = false
) -> [UInt8] {
    peerFrame(.flow(Flow(
        nextIncomingID: nextIncomingID, incomingWindow: incomingWindow, nextOutgoingID: nextOutgoingID, outgoingWindow: 1_000,
        handle: link ? setupHandle : nil, deliveryCount: link ? deliveryCount : nil, linkCredit: link ? credit : nil,
        drain: drain, echo: echo)))
}

/// The peer attaching a link `name` as sender on `h`.
package func peerAttach(_ name: String, handle h: UInt32) -> [UInt8] {
    peerFrame(.attach(Attach(
        name: name, handle: h, role: .sender, source: Source(address: "q"), target: .target(Target()), initialDeliveryCount: 0)))
}

/// An ATTACH from the peer whose fields are given as raw encodings.
package func peerRawAttach(_ fields: [[UInt8]]) -> [UInt8] {
    FrameBytes.rawFrame(channel: setupChannel, body: FrameBytes.describedList(0x12, rawFields: fields))
}

/// The peer beginning a session of its own.
package let unansweredBegin = Begin(nextOutgoingID: 0, incomingWindow: 1_000, outgoingWindow: 1_000)

extension HostileCase {
    /// Every session and link case.
    package static let sessions: [HostileCase] = channelCases + lifecycleCases + attachCases + transferCases + flowCases
        + stolenCases + stealAcrossSessionsCases + errantCases + hintCases

    // MARK: Channels, BEGIN and END

    package static let channelCases: [HostileCase] = [
        HostileCase(
            "BEGIN on a channel in use", at: .opened, setup: .session(), send: peerFrame(.begin(unansweredBegin)),
            expect: .closes(.notAllowed, "BEGIN on channel 5, which is in use")),
        HostileCase(
            "BEGIN beyond channel-max", at: .opened, configure: { $0.channelMax = 3 }, send: peerFrame(.begin(unansweredBegin), on: 4),
            expect: .closes(.framingError, "BEGIN on channel 4, above channel-max 3")),
        HostileCase(
            "BEGIN whose remote-channel names a channel we never used", at: .opened,
            send: peerFrame(.begin(Begin(remoteChannel: 7, nextOutgoingID: 0, incomingWindow: 10, outgoingWindow: 10))),
            expect: .closes(.invalidField, "BEGIN answers channel 7, where we began no session")),
        HostileCase(
            "BEGIN answering a session that is already answered", at: .opened, setup: .session(),
            send: peerFrame(.begin(Begin(remoteChannel: 0, nextOutgoingID: 0, incomingWindow: 10, outgoingWindow: 10)), on: 6),
            expect: .closes(.invalidField, "BEGIN answers channel 0")),
        HostileCase(
            "END on a channel without a session", at: .opened, send: peerFrame(.end(End()), on: 9),
            expect: .closes(.notAllowed, "END on channel 9, where no session has begun")),
        HostileCase(
            "END twice", at: .opened, setup: .session(), send: peerFrame(.end(End())) + peerFrame(.end(End())),
            expect: .closes(.notAllowed, "END on channel 5, where no session has begun")),
        HostileCase(
            "ATTACH on a channel without a session", at: .opened, send: peerAttach("x", handle: 0),
            expect: .closes(.notAllowed, "attach on channel 5, where no session has begun")),
        HostileCase(
            "FLOW on a channel without a session", at: .opened, send: peerFlow(link: false),
            expect: .closes(.notAllowed, "flow on channel 5, where no session has begun")),
        HostileCase(
            "TRANSFER on a channel without a session", at: .opened, send: peerTransfer(0),
            expect: .closes(.notAllowed, "transfer on channel 5, where no session has begun")),
        HostileCase(
            "DISPOSITION on a channel without a session", at: .opened,
            send: peerFrame(.disposition(Disposition(role: .receiver, first: 0, settled: true))),
            expect: .closes(.notAllowed, "disposition on channel 5, where no session has begun")),
        HostileCase(
            "DETACH on a channel without a session", at: .opened, send: peerFrame(.detach(Detach(handle: 0, closed: true))),
            expect: .closes(.notAllowed, "detach on channel 5, where no session has begun")),
        HostileCase(
            "BEGIN on a channel reused before our END went out, every channel taken", at: .opened,
            configure: { $0.channelMax = 3 },
            send: (0..<4).flatMap { peerFrame(.begin(unansweredBegin), on: $0) } + peerFrame(.end(End()), on: 0) + peerFrame(.begin(unansweredBegin), on: 0),
            expect: .closes(.resourceLimitExceeded, "the peer began more sessions than we have channels")),
        HostileCase(
            "4,000 sessions begun at once", at: .opened, maxEvents: 4_000,
            send: (0..<4_000).flatMap { peerFrame(.begin(unansweredBegin), on: UInt16($0)) },
            expect: .recovers { peer, _ in
                // Each waits for the application; a new channel costs the same however many
                // are taken.
                #expect(peer.events.events.filter { if case .session(.remoteBegin) = $0 { true } else { false } }.count == 4_000)
                #expect(peer.engine.footprint.sessions == 4_000)
                #expect(peer.engine.footprint.sessionSlots == 4_000)
            }),
        HostileCase(
            "frames after the peer's own END", at: .opened, setup: .receiver(credit: .prefetch(10)),
            send: peerFrame(.end(End())) + peerTransfer(0), expect: .closes(.notAllowed, "transfer on channel 5, where no session has begun")),
    ]

    // MARK: Lifecycles

    package static let lifecycleCases: [HostileCase] = [
        HostileCase(
            "sessions begun and ended 10,000 times", at: .opened, maxEvents: 20_000, maxReplyBytes: 10_000 * 80,
            send: (0..<10_000).flatMap { _ in peerFrame(.begin(unansweredBegin)) + peerFrame(.end(End())) },
            expect: .recovers { peer, context in
                // Each is refused (BEGIN, then END) as the application never accepted it.
                #expect(peer.events.sessionEnds.count == 10_000)
                #expect(peer.pendingFrames.count == 20_000)
                peer.skipFrames(peer.pendingFrames.count)
                var after = peer.engine.footprint
                after.remoteChannelSlots = context.baseline.remoteChannelSlots
                #expect(after == context.baseline)
            }),
        HostileCase(
            "END with an error reaches the application", at: .opened, setup: .receiver(),
            send: peerFrame(.end(End(error: AMQPError(condition: .errantLink, description: "errant", info: ["k": .string("v")])))),
            expect: .recovers { peer, context in
                try peer.expectPerformative("END", channel: 0) { if case .end(let e) = $0 { e.error == nil } else { false } }
                let error = EngineError(.errantLink, "errant", origin: .remote, info: ["k": .string("v")])
                #expect(peer.events.linkDetaches.last.map { $0.0 == context.link && $0.1 == error } == true)
                #expect(peer.events.sessionEnds.last.map { $0.0 == context.session && $0.1 == error } == true)
                #expect(peer.engine.footprint.sessions == 0)
            }),
        HostileCase(
            "a peer that never answers our DETACH", at: .opened, setup: .receiver(), send: [],
            expect: .recovers { peer, context in
                // No link time-out: the link waits for the peer (without credit, its
                // frames ignored) until the session or connection ends. CLOSE has one.
                let link = try #require(context.link)
                try peer.perform { $0.detachLink(link) }
                try peer.expectPerformative("DETACH", channel: 0) { if case .detach = $0 { true } else { false } }
                #expect(peer.engine.nextDeadline == nil)
                try peer.advance(byMilliseconds: 3_600_000)
                try peer.send(bytes: peerTransfer(0) + peerFlow(credit: 5))
                #expect(peer.engine.footprint.links == 1)
                #expect(peer.engine.footprint.bufferedDeliveryBytes == 0)
                #expect(!peer.engine.isAttached(link))
            }),
        HostileCase(
            "a peer that never answers our END, and keeps sending", at: .opened, setup: .receiver(credit: .prefetch(10)), send: [],
            expect: .recovers { peer, context in
                // No session time-out either: frames for the ending session are ignored,
                // and its links are already gone.
                let session = try #require(context.session)
                try peer.perform { $0.endSession(session) }
                try peer.expectPerformative("END", channel: 0) { if case .end = $0 { true } else { false } }
                #expect(peer.engine.nextDeadline == nil)
                let events = peer.events.count
                try peer.advance(byMilliseconds: 3_600_000)
                try peer.send(bytes: (0..<20).flatMap { peerTransfer($0) } + peerFlow(credit: 5, echo: true)
                    + peerFrame(.disposition(Disposition(role: .sender, first: 0, last: 19, settled: true))) + peerAttach("late", handle: 9))
                #expect(peer.events.count == events)
                #expect(peer.engine.footprint.sessions == 1 && peer.engine.footprint.links == 0)
                #expect(peer.engine.footprint.unsettledIncoming == 0)
                try peer.send(bytes: peerFrame(.end(End())))
                #expect(peer.events.sessionEnds.last.map { $0.0 == session && $0.1 == nil } == true)
                #expect(peer.engine.footprint.sessions == 0)
            }),
    ]

    package static func handleMax(_ n: UInt32) -> SessionConfiguration {
        var c = SessionConfiguration()
        c.handleMax = n
        return c
    }

    package static func incomingWindow(_ n: UInt32) -> SessionConfiguration {
        var c = SessionConfiguration()
        c.incomingWindow = n
        return c
    }
}

extension EventLog {
    /// Each `ended` session event: the session and its error.
    package var sessionEnds: [(SessionID, EngineError?)] {
        events.compactMap { if case .session(.ended(let id, let e)) = $0 { (id, e) } else { nil } }
    }

    /// Each `detached` link event: the link and its error.
    package var linkDetaches: [(LinkID, EngineError?)] {
        events.compactMap { if case .link(.detached(let id, _, let e)) = $0 { (id, e) } else { nil } }
    }

    /// The handles of each settled `outcome`.
    package var outcomes: [DeliveryHandle] {
        events.flatMap { (e: ConnectionEvent) -> [DeliveryHandle] in
            if case .link(.outcomes(_, let hs, _, true)) = e { return Array(hs) }
            return []
        }
    }

    /// Link events in a compact form: `remoteAttach:<name>`, `delivery:<id>`,
    /// `aborted:<id>`, `credit:<n>[:drain]`, `drained`, `detached`, …
    package var linkSummaries: [String] {
        events.compactMap { e -> String? in
            guard case .link(let l) = e else { return nil }
            switch l {
            case .remoteAttach(_, let a): return "remoteAttach:\(a.name)"
            case .attached(_, let a): return "attached:\(a.name)"
            case .detached: return "detached"
            case .credit(_, let c, let drain): return "credit:\(c)\(drain ? ":drain" : "")"
            case .available(_, let n): return "available:\(n)"
            case .drained: return "drained"
            case .delivery(_, let d): return "delivery:\(d.id)"
            case .deliveryChunk(_, let d, _): return "chunk:\(d.id)"
            case .aborted(_, let id): return "aborted:\(id)"
            case .outcomes(_, let hs, _, _): return hs.map { "outcome:\($0)" }.joined(separator: ",")
            case .remoteSettled(_, let id, _): return "remoteSettled:\(id)"
            case .lost(_, let h, _): return "lost:\(h)"
            }
        }
    }
}
