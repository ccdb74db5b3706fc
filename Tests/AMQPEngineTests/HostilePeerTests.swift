import AMQPCodec
import AMQPEngine
import AMQPTesting
import Testing

// Runs every hostile case (HostileConnectionCases, HostileSessionCases) for each role it
// lists, under whole, one-byte and random cuts, and checks, beyond the case's own
// outcome, that the engine ends in bounded steps and holds nothing beyond one frame.

@Suite struct HostilePeerTests {
    @Test func thereAreEnoughConnectionCases() {
        #expect(HostileCase.connection.count >= 30)
        #expect(Set(HostileCase.connection.map(\.name)).count == HostileCase.connection.count)
    }

    @Test(arguments: HostileRun.all, [CutPolicy.whole, .oneByte, .random(seed: 0xBAD, maxChunk: 17)])
    func hostilePeer(run: HostileRun, cut: CutPolicy) throws {
        let c = run.hostile
        let configuration = c.configuration(run.role)
        var peer = ScriptedPeer(configuration: configuration, cutPolicy: cut)
        if run.role == .server { try peer.perform { $0.open() } }
        try Self.reach(c.stage, sasl: c.sasl, &peer)

        let openSent = peer.fromEngine.frames.contains { if case .amqp(_, .open, _) = $0.frame { true } else { false } }
        let stateBefore = peer.engine.state
        let eventsBefore = peer.events.count
        let writtenBefore = peer.fromEngine.bytesWritten
        peer.skipFrames(peer.pendingFrames.count)

        let input = c.input(run.role)
        try peer.send(bytes: input)

        // Bounded memory: whatever the engine did not consume is at most one frame it
        // is still waiting for, never a growing backlog.
        #expect(peer.toEngine.unconsumedBytes <= min(input.count, Int(min(c.maxFrameSize, 1 << 20))))
        #expect(peer.events.count - eventsBefore <= 16, "events: \(peer.events.summaries.dropFirst(eventsBefore))")
        // A reply is a few small frames (OPEN, CLOSE, a header, SASL challenges), never
        // proportional to what the peer sent.
        #expect(peer.fromEngine.bytesWritten - writtenBefore <= 4_096)

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
