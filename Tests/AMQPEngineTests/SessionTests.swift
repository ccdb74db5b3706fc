import AMQPCodec
import AMQPEngine
import Testing

@Suite struct SessionTests {
    @Test func beginAndEndFromClient() throws {
        var p = openedPipe()
        let id = try p.client.beginSession()
        #expect(id.channel == 0)
        p.run()
        #expect(p.serverEvents == ["remoteBegin:0"])
        #expect(p.clientEvents.isEmpty)
        let serverID = try #require(p.serverSeen.session)
        try p.server.acceptSession(serverID)
        p.run()
        #expect(p.serverEvents.last == "begun:0")
        #expect(p.clientEvents == ["begun:0"])
        #expect(p.client.remoteBegin(of: id)?.remoteChannel == 0)
        p.client.endSession(id)
        p.run()
        #expect(p.serverEvents.last == "ended:0:-")
        #expect(p.clientEvents.last == "ended:0:-")
        #expect(!p.client.isActive(id))
        // The channel is free again.
        #expect(try p.client.beginSession().channel == 0)
    }

    @Test func beginAndEndFromServerWithError() throws {
        var p = openedPipe { c, _ in c.autoAccept = AutoAcceptPolicy() }
        let id = try p.server.beginSession()
        p.run()
        #expect(p.clientEvents == ["begun:0"])
        #expect(p.serverEvents == ["begun:0"])
        p.server.endSession(id, error: AMQPError(condition: .internalError, description: "bye"))
        p.run()
        #expect(p.clientEvents.last == "ended:0:remote:amqp:internal-error")
        #expect(p.serverEvents.last == "ended:0:local:amqp:internal-error")
    }

    @Test func refusingASessionSendsBeginThenEnd() throws {
        var p = openedPipe()
        _ = try p.client.beginSession()
        p.run()
        let serverID = try #require(p.serverSeen.session)
        p.server.endSession(serverID, error: AMQPError(condition: .notAllowed))
        p.run()
        #expect(p.clientEvents == ["begun:0", "ended:0:remote:amqp:not-allowed"])
        #expect(p.serverEvents.last == "ended:0:local:amqp:not-allowed")
    }

    @Test func sessionsTakeTheLowestFreeChannel() throws {
        var p = openedPipe { _, s in s.autoAccept = AutoAcceptPolicy() }
        let a = try p.client.beginSession()
        let b = try p.client.beginSession()
        let c = try p.client.beginSession()
        #expect([a.channel, b.channel, c.channel] == [0, 1, 2])
        p.run()
        p.client.endSession(b)
        p.run()
        let d = try p.client.beginSession()
        #expect(d.channel == 1)
        #expect(d != b)
        // The old name no longer reaches the new session.
        #expect(!p.client.isActive(b))
        #expect(p.client.isActive(d))
    }

    @Test func channelMaxBoundsLocalSessions() throws {
        var p = openedPipe { c, s in
            c.channelMax = 1
            s.autoAccept = AutoAcceptPolicy()
        }
        _ = try p.client.beginSession()
        _ = try p.client.beginSession()
        #expect(throws: EngineError.self) { try p.client.beginSession() }
        do {
            _ = try p.client.beginSession()
        } catch {
            #expect(error.condition == .resourceLimitExceeded)
        }
    }

    @Test func beginBeforeOpenWaitsBehindOpen() throws {
        var p = makePipe { _, s in s.autoAccept = AutoAcceptPolicy() }
        let id = try p.client.beginSession()
        p.client.open()
        p.run()
        #expect(p.client.state == .opened)
        #expect(p.clientEvents.contains("begun:0"))
        #expect(p.client.isActive(id))
    }

    @Test func noSessionsOnAClosingConnection() throws {
        var p = openedPipe()
        p.client.close()
        #expect(throws: EngineError.self) { try p.client.beginSession() }
    }

    @Test func beginOnAChannelInUseClosesTheConnection() throws {
        var p = openedPipe { _, s in s.autoAccept = AutoAcceptPolicy() }
        _ = try p.client.beginSession()
        p.run()
        p.inject(toServer: .begin(Begin(nextOutgoingID: 0, incomingWindow: 10, outgoingWindow: 10)), channel: 0)
        p.run()
        #expect(p.server.failure?.condition == .notAllowed)
        #expect(p.clientEvents.contains("close:amqp:not-allowed"))
        #expect(p.clientEvents.contains("ended:0:remote:amqp:not-allowed"))
    }

    @Test func beginAboveChannelMaxClosesTheConnection() throws {
        var p = openedPipe { _, s in s.channelMax = 3 }
        p.inject(toServer: .begin(Begin(nextOutgoingID: 0, incomingWindow: 10, outgoingWindow: 10)), channel: 4)
        p.run()
        #expect(p.server.failure?.condition == .framingError)
        #expect(p.clientEvents.contains("close:amqp:connection:framing-error"))
    }

    @Test func frameOnAChannelWithoutSessionClosesTheConnection() throws {
        var p = openedPipe()
        p.inject(toServer: .flow(Flow(incomingWindow: 1, nextOutgoingID: 0, outgoingWindow: 1)), channel: 7)
        p.run()
        #expect(p.server.failure?.condition == .notAllowed)
    }

    @Test func beginAnsweringAnUnknownChannelClosesTheConnection() throws {
        var p = openedPipe()
        p.inject(toServer: .begin(Begin(remoteChannel: 5, nextOutgoingID: 0, incomingWindow: 10, outgoingWindow: 10)), channel: 0)
        p.run()
        #expect(p.server.failure?.condition == .invalidField)
    }

    @Test func connectionCloseEndsEverySession() throws {
        var p = openedPipe { _, s in s.autoAccept = AutoAcceptPolicy() }
        _ = try p.client.beginSession()
        _ = try p.client.beginSession()
        p.run()
        p.client.close()
        p.run()
        #expect(p.clientEvents.filter { $0.hasPrefix("ended:") } == ["ended:0:-", "ended:1:-"])
        #expect(p.serverEvents.filter { $0.hasPrefix("ended:") } == ["ended:0:-", "ended:1:-"])
        #expect(p.client.state == .end)
    }
}


/// A peer may pipeline ATTACH (and FLOW) right after its BEGIN (Qpid Proton does). While
/// the application has not accepted the session, those frames must wait with it, not be
/// dropped; once it accepts, our BEGIN goes out before the answers to them.
@Test func framesPipelinedAfterBeginWaitForTheSessionsAcceptance() throws {
    var p = openedPipe()
    // What Proton sends for a new receiver, in one burst: BEGIN, ATTACH, FLOW.
    p.inject(toServer: .begin(Begin(nextOutgoingID: 0, incomingWindow: 100, outgoingWindow: 100)), channel: 3)
    p.inject(toServer: .attach(Attach(
        name: "in", handle: 0, role: .receiver, source: Source(address: "q"), target: .target(Target()))), channel: 3)
    p.inject(toServer: .flow(Flow(
        nextIncomingID: 0, incomingWindow: 100, nextOutgoingID: 0, outgoingWindow: 100,
        handle: 0, linkCredit: 10)), channel: 3)
    p.deliverToServer()
    p.drainEvents()
    #expect(p.serverEvents == ["remoteBegin:0", "remoteAttach:0/0:in"])
    let serverSession = try #require(p.serverSeen.session)
    let serverLink = try #require(p.serverSeen.link)
    var out: [UInt8] = []
    Pipe.flush(&p.server, into: &out, now: .zero)
    #expect(out.isEmpty, "nothing may go out for the session before our BEGIN")
    // Accepting the link first is fine: its answer waits behind our BEGIN.
    try p.server.acceptLink(serverLink)
    try p.server.acceptSession(serverSession)
    Pipe.flush(&p.server, into: &out, now: .zero)
    var names: [String] = []
    try out.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count, case .frame(let f) = try FrameDecoder().decode(UnsafeRawBufferPointer(rebasing: raw[offset...])) {
            if let performative = try f.performativeValue() { names.append(performative.name) }
            offset += f.length
        }
    }
    #expect(names.prefix(2) == ["begin", "attach"])
    // The receiver's pipelined FLOW was kept: the server's sender has its credit.
    #expect(p.server.credit(on: serverLink) == 10)
}
