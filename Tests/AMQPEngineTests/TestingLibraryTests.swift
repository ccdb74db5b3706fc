import AMQPCodec
import AMQPEngine
import AMQPHostileCases
import AMQPTesting
import Testing

// The shipped test support itself: clocks, cuts, frame decoding and descriptions, and
// the failures scripts report.

@Suite struct VirtualClockTests {
    @Test func movesOnlyWhenToldAndOnlyForward() {
        var clock = VirtualClock()
        #expect(clock.now == EngineInstant(nanoseconds: 1_000_000_000))
        clock.advance(byMilliseconds: 1_500)
        clock.advance(byNanoseconds: 7)
        clock.advance(by: .microseconds(3))
        #expect(clock.now.nanoseconds == 2_500_003_007)
        clock.advance(to: EngineInstant(nanoseconds: 3_000_000_000))
        #expect(clock.now.description == "3000.000ms")
        #expect(clock.instant(after: .seconds(2)) == EngineInstant(nanoseconds: 5_000_000_000))
        #expect(clock.now.nanoseconds == 3_000_000_000)
        #expect(VirtualClock.nanoseconds(in: .milliseconds(1.5)) == 1_500_000)
        #expect(VirtualClock(start: .zero).now == .zero)
    }
}

@Suite struct CutPolicyTests {
    @Test func randomCutsAreReproducible() {
        var a = SeededGenerator(seed: 9)
        var b = SeededGenerator(seed: 9)
        var c = SeededGenerator(seed: 10)
        let x = (0..<8).map { _ in a.next() }
        #expect(x == (0..<8).map { _ in b.next() })
        #expect(x != (0..<8).map { _ in c.next() })
    }

    /// Every policy delivers the same conversation: same frames, same instants, same
    /// events, only cut differently.
    @Test func everyPolicyGivesTheSameConversation() throws {
        func run(_ cut: CutPolicy) throws -> (client: [TimedFrame], server: [TimedFrame], events: [String], calls: Int) {
            var pair = EnginePair(
                client: engineConfiguration(.client, sasl: .client(.plain(username: "guest", password: "secret")), idleTimeout: 2_000),
                server: engineConfiguration(.server, sasl: standardServerSASL, idleTimeout: 3_000), cutPolicy: cut)
            pair.server.open()
            pair.client.open()
            try pair.pump(until: "both opened") { $0.client.state == .opened && $0.server.state == .opened }
            try pair.advance(byMilliseconds: 10_000)
            pair.client.close()
            try pair.pump(until: "both finished") { $0.client.isFinished && $0.server.isFinished }
            return (pair.clientFrames, pair.serverFrames, pair.clientEvents.summaries + pair.serverEvents.summaries, pair.toServer.receiveCalls)
        }
        let reference = try run(.whole)
        #expect(reference.client.count > 10)
        for cut in CutPolicy.all.dropFirst() {
            let other = try run(cut)
            #expect(other.client == reference.client, "\(cut)")
            #expect(other.server == reference.server, "\(cut)")
            #expect(other.events == reference.events, "\(cut)")
            #expect(other.calls > reference.calls, "\(cut) should cut into more receive calls")
        }
        #expect(try run(.oneByte).calls == reference.client.reduce(0) { $0 + $1.byteCount })
    }

    @Test func maxChunkBoundsEveryPiece() {
        var engine = ConnectionEngine(configuration: engineConfiguration(.server))
        var transport = InMemoryTransport(cutPolicy: .maxChunk(3))
        transport.write(ProtocolHeader.amqp.bytes + FrameBytes.frame(.open(peerOpen())), at: .zero)
        let total = transport.bytesInFlight
        let consumed = transport.deliver(to: &engine, now: .zero)
        #expect(consumed == total)
        #expect(transport.receiveCalls == (total + 2) / 3)
        #expect(transport.peakUnconsumed < total)
    }
}

@Suite struct FrameDecodingTests {
    static let stream: [UInt8] =
        ProtocolHeader.sasl.bytes + FrameBytes.frame(.saslMechanisms(SASLMechanisms(saslServerMechanisms: ["PLAIN"])))
        + FrameBytes.frame(.saslOutcome(SASLOutcome(code: .ok))) + ProtocolHeader.amqp.bytes
        + FrameBytes.frame(.open(Open(containerID: "c", maxFrameSize: 512, idleTimeOut: 1_000)))
        + FrameBytes.emptyFrame(channel: 3)
        + FrameBytes.frame(.close(Close(error: AMQPError(condition: .internalError, description: "bye"))))

    static let expected: [DecodedFrame] = [
        .header(.sasl), .sasl(.saslMechanisms(SASLMechanisms(saslServerMechanisms: ["PLAIN"]))), .sasl(.saslOutcome(SASLOutcome(code: .ok))),
        .header(.amqp), .amqp(channel: 0, .open(Open(containerID: "c", maxFrameSize: 512, idleTimeOut: 1_000)), payload: []),
        .empty(channel: 3), .amqp(channel: 0, .close(Close(error: AMQPError(condition: .internalError, description: "bye"))), payload: []),
    ]

    @Test func decodesAWholeConversation() {
        #expect(DecodedFrame.decodeAll(Self.stream) == Self.expected)
    }

    @Test func decodesTheSameFedOneByteAtATime() {
        var decoder = FrameStreamDecoder()
        var frames: [DecodedFrame] = []
        for b in Self.stream { frames += decoder.feed([b]) }
        #expect(frames == Self.expected)
        #expect(decoder.buffered.isEmpty)
    }

    @Test func describesFramesCompactly() {
        #expect(Self.expected.map(\.description) == [
            "HEADER AMQP 3 1.0.0", "SASL-MECHANISMS(sasl-server-mechanisms: [PLAIN])", "SASL-OUTCOME(code: ok)", "HEADER AMQP 0 1.0.0",
            "[0] OPEN(container-id: \"c\", max-frame-size: 512, idle-time-out: 1000)", "[3] EMPTY",
            "[0] CLOSE(error: amqp:internal-error \"bye\")",
        ])
    }

    @Test func keepsGoingAfterAnUndecodableBodyButNotAfterABrokenHeader() {
        let badBody = FrameBytes.rawFrame(body: FrameBytes.body(.described(descriptor: .ulong(0x19), value: .list([]))))
        let frames = DecodedFrame.decodeAll(badBody + FrameBytes.emptyFrame() + FrameBytes.rawFrame(body: [], size: 3) + FrameBytes.emptyFrame())
        #expect(frames.count == 3)
        guard frames.count == 3, case .undecodable(let header, _, let error) = frames[0], case .garbage(let rest, _) = frames[2] else {
            Issue.record("unexpected \(frames)")
            return
        }
        #expect(header.size == UInt32(badBody.count))
        #expect(error.code == .unexpectedDescriptor)
        #expect(frames[1] == .empty(channel: 0))
        #expect(rest.count == 16)
        #expect(frames[2].description.hasPrefix("GARBAGE invalid frame header (size 3 is below 8)"))
    }

    @Test func reportsATruncatedTail() {
        let frames = DecodedFrame.decodeAll(Array(FrameBytes.frame(.close(Close())).dropLast()))
        guard case .garbage(_, let error)? = frames.last else {
            Issue.record("expected garbage, got \(frames)")
            return
        }
        #expect(error.code == .truncated)
    }

    @Test func engineOutputHelpers() {
        var engine = ConnectionEngine(configuration: engineConfiguration(.client))
        engine.open()
        let frames = engine.produceFrames(now: .zero)
        #expect(frames.map(\.description) == [
            "HEADER AMQP 0 1.0.0", "[0] OPEN(container-id: \"engine-client\", hostname: \"broker.example\", max-frame-size: 63488)",
        ])
        #expect(engine.drainEvents().map(EventLog.describe) == ["START->HDR_SENT", "HDR_SENT->OPEN_PIPE"])
    }
}

@Suite struct ScriptFailureTests {
    @Test func expectationFailureSaysWhatArrived() throws {
        var peer = try scriptedPeer(engineConfiguration(.client))
        try peer.perform { $0.open() }
        try peer.expectHeader()
        do {
            try peer.expectClose(condition: nil)
            Issue.record("expected a failure")
        } catch {
            #expect(error.message.contains("expected CLOSE without an error on channel 0, got @1000.000ms [0] OPEN(container-id: \"engine-client\""))
            #expect(error.message.contains("engine (client) at 1000.000ms: OPEN_PIPE"))
            #expect(error.message.contains("recent events: START->HDR_SENT, HDR_SENT->OPEN_PIPE"))
            #expect(error.fileID == "AMQPEngineTests/TestingLibraryTests.swift")
        }
        // A failed expectation consumes nothing.
        try peer.expectOpen()
        do {
            try peer.expectEmptyFrame()
            Issue.record("expected a failure")
        } catch {
            #expect(error.message.hasPrefix("expected EMPTY, but the engine wrote nothing more"))
        }
    }

    @Test func expectNothingMoreListsWhatIsLeft() throws {
        var peer = try scriptedPeer(engineConfiguration(.client))
        try peer.perform { $0.open() }
        #expect(throws: ScriptFailure.self) { try peer.expectNothingMore() }
        do {
            try peer.expectNothingMore()
        } catch {
            #expect(error.message.contains("not yet expected: @1000.000ms HEADER AMQP 0 1.0.0; @1000.000ms [0] OPEN("))
        }
    }

    @Test func pumpFailsWhenThePairGoesQuiet() {
        var pair = EnginePair(client: engineConfiguration(.client), server: engineConfiguration(.server))
        pair.client.open()  // the server application never opens: OPEN_RCVD for ever
        do {
            try pair.pump(until: "both opened") { $0.server.state == .opened }
            Issue.record("expected a failure")
        } catch {
            #expect(error.message.hasPrefix("the pair went quiet before both opened at 1000.000ms"))
            #expect(error.message.contains("server: OPEN_RCVD"))
            #expect(error.message.contains("client: OPEN_SENT"))
        }
    }

    @Test func pumpGivesUpAfterItsBoundEvenWhenTimeMayPass() {
        // Heartbeats make deadlines for ever; a condition that never holds must still end.
        var pair = EnginePair(client: engineConfiguration(.client, idleTimeout: 1_000), server: engineConfiguration(.server, idleTimeout: 1_000))
        pair.server.open()
        pair.client.open()
        #expect(throws: ScriptFailure.self) {
            try pair.pump(until: "never", maxRounds: 50, advancingTime: true) { _ in false }
        }
        #expect(pair.clock.now > VirtualClock.defaultStart)
        #expect(pair.client.state == .opened)
    }

    @Test func timePassesOnlyWhenAsked() throws {
        var pair = EnginePair(client: engineConfiguration(.client, idleTimeout: 1_000), server: engineConfiguration(.server))
        pair.server.open()
        pair.client.open()
        try pair.pumpUntilQuiet()
        #expect(pair.clock.now == VirtualClock.defaultStart)
        #expect(pair.client.state == .opened)
        // Only the client announced an idle time-out (500 ms, half of its 1 s): the
        // server beats at half of that, at exact instants, and the client (owing
        // nothing) stays silent.
        try pair.advance(byMilliseconds: 2_000)
        let start = VirtualClock.defaultStart
        #expect(pair.serverFrames.filter { $0.frame.isEmptyFrame }.map(\.at) == stride(from: 250, through: 2_000, by: 250).map { start.advanced(byMilliseconds: $0) })
        #expect(!pair.clientFrames.contains { $0.frame.isEmptyFrame })
        #expect(pair.clock.now == start.advanced(byMilliseconds: 2_000))
        #expect(pair.client.state == .opened)
    }
}
