import AMQPCodec
import AMQPEngine
import AMQPHostileCases
import AMQPTesting
import Testing

// Every state transition of the connection core (part 2, section 2.4.6), for both
// roles, against a scripted peer, under every cut policy where the split matters.

@Suite struct ClientStateTests {
    @Test(arguments: CutPolicy.all)
    func openThenCleanCloseByUs(cut: CutPolicy) throws {
        var peer = try scriptedPeer(engineConfiguration(.client), cutPolicy: cut)
        try peer.perform { $0.open() }
        #expect(peer.events.transitions == ["START->HDR_SENT", "HDR_SENT->OPEN_PIPE"])
        try peer.expectHeader(.amqp)
        let open = try peer.expectOpen()
        #expect(open == Open(containerID: "engine-client", hostname: "broker.example", maxFrameSize: 63_488))
        try peer.send(header: .amqp)
        try peer.expectState(.openSent)
        try peer.send(.open(peerOpen("broker")))
        try peer.expectState(.opened)
        #expect(peer.engine.remoteOpen?.containerID == "broker")
        try peer.perform { $0.close() }
        try peer.expectClose(condition: nil)
        try peer.expectState(.closeSent)
        try peer.send(.close(Close()))
        try peer.expectFinished(.end, condition: nil)
        try peer.expectNothingMore()
        #expect(peer.events.summaries == [
            "START->HDR_SENT", "HDR_SENT->OPEN_PIPE", "OPEN_PIPE->OPEN_SENT", "remote-open(broker)", "OPEN_SENT->OPENED",
            "OPENED->CLOSE_SENT", "remote-close(-)", "CLOSE_SENT->END", "closed(-)",
        ])
        expectConsistentEvents(peer)
    }

    @Test func peerHeaderBeforeOpenGoesThroughHeaderReceived() throws {
        var peer = try scriptedPeer(engineConfiguration(.client))
        try peer.send(header: .amqp)
        try peer.expectState(.headerReceived)
        try peer.expectNothingMore()
        try peer.perform { $0.open() }
        try peer.expectHeader()
        try peer.expectOpen()
        try peer.send(.open(peerOpen()))
        #expect(peer.events.transitions == ["START->HDR_RCVD", "HDR_RCVD->HDR_EXCH", "HDR_EXCH->OPEN_SENT", "OPEN_SENT->OPENED"])
        expectConsistentEvents(peer)
    }

    @Test func openClosePipeline() throws {
        // OPEN_PIPE → OC_PIPE: open and close before the peer says anything.
        var peer = try scriptedPeer(engineConfiguration(.client))
        try peer.perform { $0.open(); $0.close() }
        try peer.expectHeader()
        try peer.expectOpen()
        try peer.expectClose(condition: nil)
        try peer.expectState(.openClosePipe)
        try peer.send(header: .amqp)
        try peer.expectState(.closePipe)
        try peer.send(.open(peerOpen()))
        try peer.expectState(.closeSent)
        try peer.send(.close(Close()))
        try peer.expectFinished(.end, condition: nil)
        #expect(peer.events.transitions == [
            "START->HDR_SENT", "HDR_SENT->OPEN_PIPE", "OPEN_PIPE->OC_PIPE", "OC_PIPE->CLOSE_PIPE", "CLOSE_PIPE->CLOSE_SENT",
            "CLOSE_SENT->END",
        ])
        expectConsistentEvents(peer)
    }

    @Test func closeBeforeOpenIsPipelinedToo() throws {
        // close() alone on a fresh client still sends header, OPEN and CLOSE (OC_PIPE).
        var peer = try scriptedPeer(engineConfiguration(.client))
        try peer.perform { $0.close() }
        try peer.expectHeader()
        try peer.expectOpen()
        try peer.expectClose(condition: nil)
        try peer.expectState(.openClosePipe)
        expectConsistentEvents(peer)
    }

    @Test func closePipeFromOpenSent() throws {
        var peer = try scriptedPeer(engineConfiguration(.client))
        try peer.perform { $0.open() }
        try peer.exchangeHeaders()
        try peer.expectOpen()
        try peer.expectState(.openSent)
        try peer.perform { $0.close() }
        try peer.expectClose(condition: nil)
        try peer.expectState(.closePipe)
        try peer.send(.open(peerOpen()))
        try peer.expectState(.closeSent)
        try peer.send(.close(Close()))
        try peer.expectFinished(.end, condition: nil)
        expectConsistentEvents(peer)
    }

    @Test func peerClosesWhileOpenSent() throws {
        // A peer may refuse with OPEN then CLOSE; here it skips its OPEN entirely.
        var peer = try scriptedPeer(engineConfiguration(.client))
        try peer.perform { $0.open() }
        try peer.exchangeHeaders()
        try peer.expectOpen()
        try peer.send(.close(Close(error: AMQPError(condition: .notAllowed, description: "go away"))))
        try peer.expectClose(condition: nil)
        try peer.expectFinished(.end, condition: .notAllowed, origin: .remote, descriptionContains: "go away")
        #expect(peer.events.remoteCloses == [AMQPError(condition: .notAllowed, description: "go away")])
        expectConsistentEvents(peer)
    }
}

@Suite struct ServerStateTests {
    @Test(arguments: CutPolicy.all)
    func answersHeaderAndOpen(cut: CutPolicy) throws {
        var peer = try scriptedPeer(engineConfiguration(.server), cutPolicy: cut)
        try peer.send(header: .amqp)
        try peer.expectHeader(.amqp)
        try peer.expectState(.headerExchanged)
        try peer.send(.open(Open(containerID: "client", hostname: "vhost")))
        let open = try peer.expectOpen()
        #expect(open == Open(containerID: "engine-server", maxFrameSize: 63_488))
        try peer.expectState(.opened)
        #expect(peer.engine.remoteOpen?.hostname == "vhost")
        #expect(peer.events.transitions == ["START->HDR_RCVD", "HDR_RCVD->HDR_EXCH", "HDR_EXCH->OPEN_RCVD", "OPEN_RCVD->OPENED"])
        expectConsistentEvents(peer)
    }

    @Test func waitsForTheApplicationBeforeAnsweringOpen() throws {
        var peer = ScriptedPeer(configuration: engineConfiguration(.server))
        try peer.send(header: .amqp)
        try peer.expectHeader()
        try peer.send(.open(peerOpen("client")))
        try peer.expectState(.openReceived)
        try peer.expectNothingMore()
        try peer.perform { $0.open() }
        try peer.expectOpen()
        try peer.expectState(.opened)
        expectConsistentEvents(peer)
    }

    @Test func clientClosesBeforeTheApplicationOpens() throws {
        // OPEN_RCVD → CLOSE_RCVD: the server still owes OPEN, then answers CLOSE.
        var peer = ScriptedPeer(configuration: engineConfiguration(.server))
        try peer.send(header: .amqp)
        try peer.expectHeader()
        try peer.send(.open(peerOpen("c")))
        try peer.expectState(.openReceived)
        try peer.send(.close(Close(error: AMQPError(condition: .notAllowed))))
        try peer.expectOpen()
        try peer.expectClose(condition: nil)
        try peer.expectFinished(.end, condition: .notAllowed, origin: .remote)
        #expect(peer.events.transitions.suffix(2) == ["OPEN_RCVD->CLOSE_RCVD", "CLOSE_RCVD->END"])
        expectConsistentEvents(peer)
    }

    @Test func pipelinedClientIsAnsweredInOrder() throws {
        // Header, OPEN and CLOSE in one write: the server answers header, OPEN, CLOSE.
        var peer = try scriptedPeer(engineConfiguration(.server))
        try peer.send(bytes: ProtocolHeader.amqp.bytes + FrameBytes.frame(.open(peerOpen("c"))) + FrameBytes.frame(.close(Close())))
        try peer.expectHeader()
        try peer.expectOpen()
        try peer.expectClose(condition: nil)
        try peer.expectFinished(.end, condition: nil)
        #expect(peer.events.transitions == [
            "START->HDR_RCVD", "HDR_RCVD->HDR_EXCH", "HDR_EXCH->OPEN_RCVD", "OPEN_RCVD->OPENED", "OPENED->CLOSE_RCVD",
            "CLOSE_RCVD->END",
        ])
        expectConsistentEvents(peer)
    }

    @Test func closesBeforeTheClientsOpen() throws {
        // The application closes right after the header exchange: OPEN must still go
        // first (part 2, section 2.4.1), and it must go now, not when (or if) the client's
        // OPEN arrives.
        var peer = try scriptedPeer(engineConfiguration(.server))
        try peer.send(header: .amqp)
        try peer.expectHeader()
        try peer.perform { $0.close(error: AMQPError(condition: .resourceLimitExceeded, description: "too many connections")) }
        try peer.expectOpen()
        try peer.expectClose(condition: .resourceLimitExceeded)
        try peer.expectState(.closePipe)
        // The spec's diagram goes CLOSE_PIPE → CLOSE_SENT on the peer's OPEN, error or not.
        try peer.send(.open(peerOpen("c")))
        try peer.expectState(.closeSent)
        try peer.send(.close(Close()))
        try peer.expectFinished(.end, condition: .resourceLimitExceeded, origin: .local)
        #expect(peer.events.transitions == [
            "START->HDR_RCVD", "HDR_RCVD->HDR_EXCH", "HDR_EXCH->OPEN_SENT", "OPEN_SENT->CLOSE_PIPE", "CLOSE_PIPE->CLOSE_SENT",
            "CLOSE_SENT->END",
        ])
        expectConsistentEvents(peer)
    }

    @Test func closesBeforeTheClientsOpenToASilentClient() throws {
        var peer = try scriptedPeer(engineConfiguration(.server, closeTimeout: 500))
        try peer.send(header: .amqp)
        try peer.expectHeader()
        try peer.perform { $0.close() }
        try peer.expectOpen()
        try peer.expectClose(condition: nil)
        try peer.advance(byMilliseconds: 500)
        try peer.expectFinished(.end, condition: .connectionForced)
        expectConsistentEvents(peer)
    }

    @Test func closesWhenTheApplicationAsks() throws {
        var peer = try scriptedPeer(engineConfiguration(.server))
        try peer.send(header: .amqp)
        try peer.expectHeader()
        try peer.exchangeOpen(peerOpen("c"))
        try peer.perform { $0.close() }
        try peer.expectClose(condition: nil)
        try peer.send(.close(Close()))
        try peer.expectFinished(.end, condition: nil)
        expectConsistentEvents(peer)
    }
}

@Suite struct CloseTests {
    /// Opens an engine of `role` with the peer: OPENED, nothing pending.
    static func opened(_ role: EngineRole, closeTimeout: UInt32 = 30_000) throws -> ScriptedPeer {
        var peer = try scriptedPeer(engineConfiguration(role, closeTimeout: closeTimeout))
        try peer.openConnection(peerOpen: peerOpen())
        try peer.expectNothingMore()
        return peer
    }

    @Test(arguments: EngineRole.both)
    func peerClosesCleanly(role: EngineRole) throws {
        var peer = try Self.opened(role)
        try peer.send(.close(Close()))
        try peer.expectClose(condition: nil)
        try peer.expectFinished(.end, condition: nil)
        #expect(peer.events.transitions.suffix(2) == ["OPENED->CLOSE_RCVD", "CLOSE_RCVD->END"])
        #expect(peer.events.remoteCloses == [nil])
        #expect(peer.events.closures == [nil])
        expectConsistentEvents(peer)
    }

    @Test(arguments: EngineRole.both)
    func peerClosesWithError(role: EngineRole) throws {
        var peer = try Self.opened(role)
        let error = AMQPError(condition: .connectionForced, description: "broker shutting down", info: ["node": .string("n1")])
        try peer.send(.close(Close(error: error)))
        try peer.expectClose(condition: nil)
        try peer.expectFinished(.end, condition: .connectionForced, origin: .remote, descriptionContains: "shutting down")
        #expect(peer.engine.failure?.error == error)
        #expect(peer.events.closures == [EngineError(error, origin: .remote)])
        expectConsistentEvents(peer)
    }

    @Test(arguments: EngineRole.both)
    func weCloseCleanly(role: EngineRole) throws {
        var peer = try Self.opened(role)
        try peer.perform { $0.close() }
        try peer.expectClose(condition: nil)
        try peer.expectState(.closeSent)
        try peer.send(.close(Close()))
        try peer.expectFinished(.end, condition: nil)
        expectConsistentEvents(peer)
    }

    @Test(arguments: EngineRole.both)
    func weCloseWithErrorAndDiscardUntilThePeersClose(role: EngineRole) throws {
        var peer = try Self.opened(role)
        let error = AMQPError(condition: .internalError, description: "application failed")
        try peer.perform { $0.close(error: error) }
        let close = try peer.expectClose(condition: .internalError)
        #expect(close.error == error)
        try peer.expectState(.discarding)
        // Everything but CLOSE is ignored now: session traffic, a second OPEN, a
        // malformed performative, heartbeats.
        try peer.send(.begin(Begin(nextOutgoingID: 0, incomingWindow: 10, outgoingWindow: 10)), channel: 0)
        try peer.send(.open(peerOpen()))
        try peer.send(bytes: FrameBytes.rawFrame(body: FrameBytes.body(.described(descriptor: .ulong(0x10), value: .list([.uint(1)])))))
        try peer.sendEmptyFrame()
        try peer.expectState(.discarding)
        try peer.expectNothingMore()
        try peer.send(.close(Close(error: AMQPError(condition: .notFound))))
        try peer.expectFinished(.end, condition: .internalError, origin: .local)
        try peer.expectNothingMore()
        #expect(peer.events.transitions.suffix(2) == ["OPENED->DISCARDING", "DISCARDING->END"])
        expectConsistentEvents(peer)
    }

    @Test(arguments: EngineRole.both)
    func silentPeerEndsDiscardingAfterCloseTimeout(role: EngineRole) throws {
        var peer = try Self.opened(role, closeTimeout: 2_000)
        let sentAt = peer.clock.now
        try peer.perform { $0.close(error: AMQPError(condition: .internalError)) }
        try peer.expectClose(condition: .internalError)
        #expect(peer.engine.nextDeadline == sentAt.advanced(byMilliseconds: 2_000))
        try peer.advance(to: sentAt.advanced(byMilliseconds: 2_000))
        try peer.expectFinished(.end, condition: .internalError)
        try peer.expectNothingMore()
        expectConsistentEvents(peer)
    }

    @Test(arguments: EngineRole.both)
    func closeTimeoutIsExact(role: EngineRole) throws {
        var peer = try Self.opened(role, closeTimeout: 2_000)
        let sentAt = peer.clock.now
        try peer.perform { $0.close() }
        try peer.expectClose(condition: nil)
        try peer.advance(to: sentAt.advanced(byMilliseconds: 2_000))
        try peer.expectFinished(.end, condition: .connectionForced, origin: .local, descriptionContains: "2000 ms")
        expectConsistentEvents(peer)
    }

    @Test(arguments: EngineRole.both)
    func closeTimeoutDoesNotFireEarly(role: EngineRole) throws {
        var peer = try Self.opened(role, closeTimeout: 2_000)
        let sentAt = peer.clock.now
        try peer.perform { $0.close() }
        try peer.expectClose(condition: nil)
        try peer.advance(to: sentAt.advanced(byMilliseconds: 1_999).advanced(byNanoseconds: 999_999))
        try peer.expectState(.closeSent)
        #expect(!peer.engine.isFinished)
        try peer.advance(by: .nanoseconds(1))
        try peer.expectFinished(.end, condition: .connectionForced)
        expectConsistentEvents(peer)
    }

    @Test(arguments: EngineRole.both)
    func protocolErrorDiscardsUntilPeerClose(role: EngineRole) throws {
        var peer = try Self.opened(role)
        try peer.send(.open(peerOpen()))
        try peer.expectClose(condition: .illegalState)
        try peer.expectState(.discarding)
        try peer.send(.close(Close()))
        try peer.expectFinished(.end, condition: .illegalState, origin: .local, descriptionContains: "second OPEN")
        expectConsistentEvents(peer)
    }

    @Test(arguments: EngineRole.both, [false, true])
    func protocolErrorClosesWithItsCondition(role: EngineRole, sasl: Bool) throws {
        var peer = try scriptedPeer(engineConfiguration(role, sasl: sasl ? (role == .client ? .client(.anonymous()) : standardServerSASL) : nil))
        if role == .client { try peer.perform { $0.open() } }
        if sasl {
            try peer.exchangeSASL(
                mechanisms: role == .client ? ["ANONYMOUS"] : ["PLAIN", "ANONYMOUS", "EXTERNAL"],
                initialResponse: [0] + Array("guest".utf8) + [0] + Array("secret".utf8))
        }
        try peer.exchangeHeaders()
        try peer.exchangeOpen(peerOpen())
        try peer.send(.open(peerOpen()), channel: 0)
        try peer.expectConnectionClosed(condition: .illegalState)
        expectConsistentEvents(peer)
    }

    @Test(arguments: EngineRole.both)
    func closeTwiceAndOpenAfterCloseAreIgnored(role: EngineRole) throws {
        var peer = try Self.opened(role)
        try peer.perform { $0.close(); $0.close(error: AMQPError(condition: .internalError)); $0.open() }
        try peer.expectClose(condition: nil)
        try peer.expectNothingMore()
        try peer.send(.close(Close()))
        try peer.expectFinished(.end, condition: nil)
        try peer.perform { $0.open(); $0.close() }
        try peer.expectNothingMore()
        expectConsistentEvents(peer)
    }

    @Test(arguments: EngineRole.both)
    func bytesAfterTheEndAreConsumedAndIgnored(role: EngineRole) throws {
        var peer = try Self.opened(role)
        try peer.send(.close(Close()))
        try peer.expectClose(condition: nil)
        try peer.send(bytes: FrameBytes.frame(.open(peerOpen())) + [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0])
        try peer.expectFinished(.end, condition: nil)
        try peer.expectNothingMore()
        #expect(peer.toEngine.unconsumedBytes == 0)
    }
}

@Suite struct FinishedTests {
    @Test func isFinishedOnlyOnceEverythingIsWritten() {
        var engine = ConnectionEngine(configuration: engineConfiguration(.client))
        #expect(!engine.isFinished)
        let now = VirtualClock.defaultStart
        engine.open()
        #expect(!engine.isFinished && engine.hasPendingOutput)
        _ = engine.produceAll(now: now)
        _ = engine.receive(ProtocolHeader.amqp.bytes + FrameBytes.frame(.open(peerOpen())), now: now)
        #expect(engine.state == .opened && !engine.isFinished)
        _ = engine.receive(FrameBytes.frame(.close(Close())), now: now)
        // END is reached as the reply is queued; the transport may not close before it
        // is written.
        #expect(engine.state == .end)
        #expect(engine.hasPendingOutput)
        #expect(!engine.isFinished)
        #expect(DecodedFrame.decodeAll(engine.produceAll(now: now)) == [.amqp(channel: 0, .close(Close()), payload: [])])
        #expect(engine.isFinished)
        #expect(engine.nextDeadline == nil)
    }

    @Test func discardingIsNotFinished() {
        var engine = ConnectionEngine(configuration: engineConfiguration(.client))
        let now = VirtualClock.defaultStart
        engine.open()
        _ = engine.receive(ProtocolHeader.amqp.bytes + FrameBytes.frame(.open(peerOpen())), now: now)
        engine.close(error: AMQPError(condition: .internalError))
        _ = engine.produceAll(now: now)
        #expect(engine.state == .discarding)
        #expect(!engine.isFinished)
        #expect(engine.nextDeadline != nil)
    }

    @Test func transportFailureFinishesAfterTheQueuedHeader() {
        var engine = ConnectionEngine(configuration: engineConfiguration(.server))
        engine.open()
        let now = VirtualClock.defaultStart
        _ = engine.receive(ProtocolHeader.sasl.bytes, now: now)
        // The server still owes the client its own header (part 2, section 2.2).
        #expect(!engine.isFinished)
        #expect(engine.state == .start)
        #expect(DecodedFrame.decodeAll(engine.produceAll(now: now)) == [.header(.amqp)])
        #expect(engine.isFinished)
        #expect(engine.state == .error)
    }
}
