import AMQPCodec
import AMQPEngine
import AMQPTesting
import AMQPHostileCases
import Testing

// Runs every hostile case (HostileConnectionCases, HostileSessionCases) for each role it
// lists, under whole, one-byte and random cuts, and checks, beyond the case's own
// outcome, that the engine ends in bounded steps and holds nothing beyond one frame.

@Suite struct HostilePeerTests {
    @Test func thereAreEnoughConnectionCases() {
        #expect(HostileCase.connection.count >= 30)
        #expect(Set(HostileCase.connection.map(\.name)).count == HostileCase.connection.count)
    }

    @Test func thereAreEnoughSessionCases() {
        #expect(HostileCase.sessions.count >= 30)
        let names = (HostileCase.connection + HostileCase.sessions).map(\.name)
        #expect(Set(names).count == names.count)
    }

    @Test(arguments: HostileRun.all, [CutPolicy.whole, .oneByte, .random(seed: 0xBAD, maxChunk: 17)])
    func hostilePeer(run: HostileRun, cut: CutPolicy) throws {
        let c = run.hostile
        let configuration = c.configuration(run.role)
        var peer = ScriptedPeer(configuration: configuration, cutPolicy: cut)
        if run.role == .server { try peer.perform { $0.open() } }
        try Self.reach(c.stage, sasl: c.sasl, &peer)
        var context = try Self.establish(c.setup, &peer)

        let openSent = peer.fromEngine.frames.contains { if case .amqp(_, .open, _) = $0.frame { true } else { false } }
        let stateBefore = peer.engine.state
        let eventsBefore = peer.events.count
        let writtenBefore = peer.fromEngine.bytesWritten
        peer.skipFrames(peer.pendingFrames.count)

        let input = c.input(run.role)
        context.inputBytes = input.count
        try peer.send(bytes: input)

        // Bounded memory: whatever the engine did not consume is at most one frame it
        // is still waiting for, never a growing backlog; partly received deliveries stay
        // within their budget.
        #expect(peer.toEngine.unconsumedBytes <= min(input.count, Int(min(c.maxFrameSize, 1 << 20))))
        #expect(peer.engine.footprint.bufferedDeliveryBytes <= configuration.limits.maxBufferedDeliveryBytes)
        #expect(peer.events.count - eventsBefore <= c.maxEvents, "events: \(peer.events.summaries.dropFirst(eventsBefore).prefix(40))")
        // A reply is a few small frames (OPEN, CLOSE, END, DETACH, a header, SASL
        // challenges); only floods that each call for an answer get a larger bound.
        #expect(peer.fromEngine.bytesWritten - writtenBefore <= c.maxReplyBytes)

        switch c.outcome(run.role) {
        case .fails(let condition, let text):
            // Below AMQP nothing but protocol headers and SASL frames may be written.
            for f in peer.pendingFrames {
                #expect(f.frame.protocolHeader != nil || f.frame.saslPerformative != nil, "wrote \(f) on a transport failure")
            }
            peer.skipFrames(peer.pendingFrames.count)
            try peer.expectFinished(.error, condition: condition, descriptionContains: text)

        case .refusesSASL(let code, let condition, let text):
            peer.skipFrames { if case .sasl(.saslChallenge) = $0 { true } else { false } }
            try peer.expectSASLOutcome(code)
            try peer.expectFinished(.error, condition: condition, origin: .local, descriptionContains: text)

        case .closes(let condition, let text):
            if !openSent { try peer.expectOpen("OPEN before the error CLOSE") }
            let close = try peer.expectClose(condition: condition)
            #expect(close.error?.errorDescription?.contains(text) == true, "CLOSE says \(close.error.map { "\($0)" } ?? "nothing")")
            try peer.expectNothingMore()
            if !peer.engine.state.isFinal {
                // DISCARDING: the same input again is ignored, and a peer that never
                // answers is given up on at the close time-out.
                try peer.expectState(.discarding)
                try peer.send(bytes: input)
                try peer.expectNothingMore()
                try peer.advance(byMilliseconds: UInt64(configuration.closeTimeout))
            }
            try peer.expectFinished(.end, condition: condition, origin: .local, descriptionContains: text)

        case .tolerates(let state):
            if !openSent && peer.engine.state == .opened { try peer.expectOpen() }
            try peer.expectNothingMore()
            try peer.expectState(state ?? stateBefore)
            #expect(peer.engine.failure == nil)
            try peer.send(.close(Close()))
            if !openSent && state != .opened { try peer.expectOpen() }
            try peer.expectClose(condition: nil)
            try peer.expectFinished(.end, condition: nil)

        case .closesCleanly:
            if !openSent { try peer.expectOpen("OPEN before answering CLOSE") }
            try peer.expectClose(condition: nil)
            try peer.expectFinished(.end, condition: nil)

        case .endsSession(let condition, let text):
            let session = try #require(context.session, "the case has no session")
            try Self.expectEnd(&peer, condition: condition, text: text)
            try peer.send(.end(End()), channel: HostileSetup.peerChannel)
            let ended = peer.events.sessionEnds.last
            #expect(ended?.0 == session, "ended: \(ended.map { "\($0)" } ?? "nothing")")
            #expect(ended?.1?.condition == condition && ended?.1?.origin == .local)
            #expect(ended?.1?.error.errorDescription?.contains(text) == true)
            #expect(!peer.engine.isActive(session))
            #expect(peer.engine.footprint.sessions == context.baseline.sessions - 1)
            try Self.closeCleanly(&peer)

        case .detachesLink(let condition, let text):
            let link = try #require(context.link, "the case has no link")
            let detach = try peer.expectPerformative("DETACH(closed, error: \(condition))", channel: link.session.channel) {
                if case .detach(let d) = $0 { return d.handle == link.handle && d.closed && d.error?.condition == condition }
                return false
            }
            if case .detach(let d) = detach {
                #expect(d.error?.errorDescription?.contains(text) == true, "DETACH says \(d.error.map { "\($0)" } ?? "nothing")")
            }
            try peer.expectNothingMore()
            try peer.send(.detach(Detach(handle: HostileSetup.peerHandle, closed: true)), channel: HostileSetup.peerChannel)
            let detached = peer.events.linkDetaches.last
            #expect(detached?.0 == link, "detached: \(detached.map { "\($0)" } ?? "nothing")")
            #expect(detached?.1?.condition == condition && detached?.1?.origin == .local)
            #expect(detached?.1?.error.errorDescription?.contains(text) == true)
            #expect(peer.engine.footprint.links == context.baseline.links - 1)
            #expect(peer.engine.footprint.bufferedDeliveryBytes == 0)
            #expect(peer.engine.footprint.remoteHandles == context.baseline.remoteHandles - 1)
            #expect(peer.engine.isActive(link.session))
            try Self.closeCleanly(&peer)

        case .recovers(let check):
            try check(&peer, context)
            try peer.expectNothingMore()
            try Self.closeCleanly(&peer)

        case .waitsForMore:
            try peer.expectNothingMore()
            try peer.expectState(stateBefore)
            #expect(peer.engine.failure == nil)
            #expect(peer.toEngine.unconsumedBytes == input.count)
            try peer.perform { $0.close() }
            try peer.expectClose(condition: nil)
            try peer.advance(byMilliseconds: UInt64(configuration.closeTimeout))
            try peer.expectFinished(.end, condition: .connectionForced)
        }

        try peer.expectNothingMore()
        if peer.engine.isFinished {
            // A finished engine takes (and drops) anything more.
            try peer.send(bytes: input)
            #expect(peer.toEngine.unconsumedBytes == 0)
            try peer.expectNothingMore()
        }
        #expect(peer.engine.isFinished)
        #expect(peer.engine.nextDeadline == nil)
        expectConsistentEvents(peer)
    }

    /// The engine begins the setup's session and attaches its link; the peer answers
    /// each (on channel 5, handle 3), grants credit, and the engine sends its deliveries.
    static func establish(_ setup: HostileSetup, _ peer: inout ScriptedPeer) throws -> HostileContext {
        var context = HostileContext(baseline: peer.engine.footprint, inputBytes: 0, sent: [])
        peer.skipFrames(peer.pendingFrames.count)
        guard let sessionConfiguration = setup.session else { return context }
        var session: SessionID? = nil
        try peer.perform { session = try? $0.beginSession(sessionConfiguration) }
        let sid = try #require(session)
        try peer.expectPerformative("BEGIN", channel: sid.channel) { if case .begin = $0 { true } else { false } }
        try peer.send(.begin(setup.peerBegin), channel: HostileSetup.peerChannel)
        context.session = sid
        if let first = setup.link {
            for k in 0..<setup.linkCount {
                var linkConfiguration = first
                if k > 0 { linkConfiguration.name += "-\(k)" }
                var link: LinkID? = nil
                try peer.perform { link = try? $0.attachLink(session: sid, linkConfiguration) }
                let lid = try #require(link)
                let peerRole: Role = linkConfiguration.role == .sender ? .receiver : .sender
                try peer.send(
                    .attach(Attach(
                        name: linkConfiguration.name, handle: HostileSetup.peerHandle + UInt32(k), role: peerRole,
                        source: linkConfiguration.source, target: linkConfiguration.target,
                        initialDeliveryCount: peerRole == .sender ? 0 : nil)),
                    channel: HostileSetup.peerChannel)
                #expect(peer.engine.isAttached(lid))
                context.links.append(lid)
            }
            let lid = context.links[0]
            if setup.credit > 0 {
                try peer.send(
                    .flow(Flow(
                        nextIncomingID: 0, incomingWindow: 1_000, nextOutgoingID: 0, outgoingWindow: 1_000,
                        handle: HostileSetup.peerHandle, deliveryCount: 0, linkCredit: setup.credit)),
                    channel: HostileSetup.peerChannel)
            }
            for i in 0..<setup.deliveries {
                var handle: DeliveryHandle? = nil
                try peer.perform { handle = try? $0.send(on: lid, payload: [UInt8(truncatingIfNeeded: i)]) }
                context.sent.append(try #require(handle))
            }
        }
        #expect(peer.engine.failure == nil)
        peer.skipFrames(peer.pendingFrames.count)
        context.baseline = peer.engine.footprint
        return context
    }

    /// Expects END on the setup's session (channel 0) with `condition`, its description
    /// containing `text`, and nothing else.
    static func expectEnd(_ peer: inout ScriptedPeer, condition: ErrorCondition, text: String) throws {
        let end = try peer.expectPerformative("END(error: \(condition))", channel: 0) {
            if case .end(let e) = $0 { return e.error?.condition == condition }
            return false
        }
        if case .end(let e) = end {
            #expect(e.error?.errorDescription?.contains(text) == true, "END says \(e.error.map { "\($0)" } ?? "nothing")")
        }
        try peer.expectNothingMore()
    }

    /// The engine is still OPENED without a failure; the peer closes and the engine
    /// answers and ends cleanly.
    static func closeCleanly(_ peer: inout ScriptedPeer) throws {
        try peer.expectState(.opened)
        #expect(peer.engine.failure == nil)
        try peer.send(.close(Close()))
        try peer.expectClose(condition: nil)
        try peer.expectFinished(.end, condition: nil)
    }

    /// Plays the conversation up to `stage` for an engine of either role.
    static func reach(_ stage: HostileStage, sasl: Bool, _ peer: inout ScriptedPeer) throws {
        let client = peer.engineRole == .client
        if client { try peer.perform { $0.open() } }
        guard stage > .start else { return }
        if sasl {
            try peer.exchangeHeaders(.sasl)
            if !client { try peer.expectSASLMechanisms(["PLAIN", "ANONYMOUS", "EXTERNAL"]) }
            guard stage > .saslHeaders else { return }
            if client {
                try peer.send(.saslMechanisms(SASLMechanisms(saslServerMechanisms: ["PLAIN"])))
                try peer.expectSASLInit()
            }
            guard stage > .saslInitSent else { return }
            if client {
                try peer.send(.saslOutcome(SASLOutcome(code: .ok)))
            } else {
                try peer.send(.saslInit(SASLInit(mechanism: "ANONYMOUS")))
                try peer.expectSASLOutcome(.ok)
            }
            guard stage > .saslDone else { return }
        }
        try peer.exchangeHeaders(.amqp)
        guard stage > .headers else { return }
        try peer.exchangeOpen(peerOpen())
    }
}

/// One case against one role: the unit the runner is parameterized over.
struct HostileRun: Sendable, CustomTestStringConvertible {
    let hostile: HostileCase
    let role: EngineRole
    var testDescription: String { "\(hostile.name) [\(role)]" }

    /// Every run: the connection cases, then the session and link cases.
    static let all: [HostileRun] = (HostileCase.connection + HostileCase.sessions).flatMap { c in
        c.roles.map { HostileRun(hostile: c, role: $0) }
    }
}
