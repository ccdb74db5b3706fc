import AMQPCodec
import AMQPEngine
import Testing

@Suite struct LinkTests {
    @Test func attachAndDetachFromClient() throws {
        var l = try linkedPipe(.sender(name: "s1", to: "queue"))
        #expect(l.p.server.remoteAttach(of: l.server)?.name == "s1")
        #expect(l.p.client.remoteAttach(of: l.client)?.role == .receiver)
        l.p.client.detachLink(l.client)
        l.p.run()
        #expect(l.p.serverEvents == ["detached:0/0:closed:-"])
        #expect(l.p.clientEvents == ["detached:0/0:closed:-"])
        #expect(!l.p.client.isAttached(l.client))
        // The handle is free again and the old id is stale.
        let again = try l.p.client.attachLink(session: l.session, .sender(name: "s2", to: "queue"))
        #expect(again.handle == 0)
        #expect(again != l.client)
    }

    @Test func manualAcceptAndDetachFromServerWithRedirect() throws {
        var p = openedPipe()
        var detachError: EngineError? = nil
        p.onClient = { _, e in
            if case .link(.detached(_, _, let error)) = e { detachError = error }
        }
        p.onServer = { server, e in
            if case .session(.remoteBegin(let id, _)) = e { try? server.acceptSession(id) }
        }
        let sid = try p.client.beginSession()
        let lid = try p.client.attachLink(session: sid, .receiver(name: "r1", from: "q", credit: .manual))
        p.run()
        #expect(p.serverEvents.contains("remoteAttach:0/0:r1"))
        #expect(!p.client.isAttached(lid))
        let server = try #require(p.serverSeen.link)
        try p.server.acceptLink(server)
        p.run()
        #expect(p.clientEvents.contains("attached:0/0:r1"))
        #expect(p.client.isAttached(lid))
        let redirect = AMQPError(
            condition: .linkRedirect, description: "moved",
            info: ["network-host": .string("other.example"), "port": .int(5671), "address": .string("q2")])
        p.server.detachLink(server, error: redirect)
        p.run()
        #expect(p.clientEvents.last == "detached:0/0:closed:remote:amqp:link:redirect")
        #expect(detachError?.error.info?["address"] == .string("q2"))
        #expect(p.serverEvents.last == "detached:0/0:closed:local:amqp:link:redirect")
    }

    @Test func creditGrantedBeforeAcceptIsKept() throws {
        var p = openedPipe()
        p.onServer = { server, e in
            if case .session(.remoteBegin(let id, _)) = e { try? server.acceptSession(id) }
        }
        let sid = try p.client.beginSession()
        // A prefetching receiver sends its FLOW right behind its ATTACH.
        _ = try p.client.attachLink(session: sid, .receiver(name: "r", from: "q", credit: .prefetch(10)))
        p.run()
        let server = try #require(p.serverSeen.link)
        #expect(p.server.credit(on: server) == 10)
        #expect(!p.serverEvents.contains { $0.hasPrefix("credit:") })
        try p.server.acceptLink(server)
        p.drainEvents()
        #expect(p.serverEvents.suffix(2) == ["attached:0/0:r", "credit:0/0:10"])
        _ = try p.server.send(on: server, payload: [1])
        p.run()
        #expect(p.clientEvents.contains("delivery:0/0:0:1"))
    }

    @Test func refusingALinkSendsANullTerminusThenDetach() throws {
        var p = openedPipe { _, s in s.autoAccept = nil }
        var refusedTarget: AttachTarget?? = nil
        p.onClient = { _, e in
            if case .link(.attached(_, let a)) = e { refusedTarget = .some(a.target) }
        }
        p.onServer = { server, e in
            if case .session(.remoteBegin(let id, _)) = e { try? server.acceptSession(id) }
            if case .link(.remoteAttach(let id, _)) = e {
                server.detachLink(id, error: AMQPError(condition: .notFound, description: "no such node"))
            }
        }
        let sid = try p.client.beginSession()
        _ = try p.client.attachLink(session: sid, .sender(name: "s", to: "missing"))
        p.run()
        #expect(p.clientEvents == ["begun:0", "attached:0/0:s", "detached:0/0:closed:remote:amqp:not-found"])
        #expect(refusedTarget == .some(nil))
    }

    @Test func creditArrivesAtTheSender() throws {
        var l = try linkedPipe(.receiver(name: "r", from: "q", credit: .manual))
        #expect(l.p.server.credit(on: l.server) == 0)
        try l.p.client.flow(on: l.client, credit: 5)
        l.p.run()
        #expect(l.p.serverEvents == ["credit:0/0:5"])
        #expect(l.p.server.sendable(on: l.server) == 5)
        for i in 0..<3 { _ = try l.p.server.send(on: l.server, payload: pattern(10, seed: UInt8(i)), settled: true) }
        #expect(l.p.server.sendable(on: l.server) == 2)
        l.p.run()
        #expect(l.p.clientEvents == ["delivery:0/0:0:10:settled", "delivery:0/0:1:10:settled", "delivery:0/0:2:10:settled"])
        #expect(l.p.server.credit(on: l.server) == 2)
        #expect(l.p.client.credit(on: l.client) == 2)
        // Without credit, deliveries wait.
        for _ in 0..<4 { _ = try l.p.server.send(on: l.server, payload: [1], settled: true) }
        l.p.run()
        #expect(l.p.clientEvents.count == 5)
        #expect(l.p.server.queuedDeliveries(on: l.server) == 2)
        try l.p.client.flow(on: l.client, credit: 10)
        l.p.run()
        #expect(l.p.clientEvents.count == 7)
    }

    @Test func aQueuedDeliveryIsWithdrawnUntilItsFirstFrameIsWritten() throws {
        var l = try linkedPipe(.receiver(name: "r", from: "q", credit: .manual))
        // No credit: three deliveries wait on the server's sender.
        var handles: [DeliveryHandle] = []
        for i in 0..<3 { handles.append(try l.p.server.send(on: l.server, payload: pattern(10, seed: UInt8(i)), settled: true)) }
        do {
            let withdrawn = l.p.server.withdraw(handles[1], on: l.server)
            #expect(withdrawn)
        }
        do {
            let withdrawn = l.p.server.withdraw(handles[1], on: l.server)
            #expect(!withdrawn, "withdrawn already")
        }
        #expect(l.p.server.queuedDeliveries(on: l.server) == 2)
        #expect(l.p.server.sendable(on: l.server) == 0)
        try l.p.client.flow(on: l.client, credit: 10)
        l.p.run()
        // The other two, in order; the withdrawn one used no delivery-id.
        #expect(l.p.clientEvents == ["delivery:0/0:0:10:settled", "delivery:0/0:1:10:settled"])
        do {
            let withdrawn = l.p.server.withdraw(handles[0], on: l.server)
            #expect(!withdrawn, "sent")
        }

        // A delivery whose first frame is written stays; one behind it may go.
        l.p.clientEvents = []
        let large = try l.p.server.send(on: l.server, payload: pattern(5_000), settled: true)
        let behind = try l.p.server.send(on: l.server, payload: pattern(10), settled: true)
        l.p.outputRoom = 1_000
        l.p.step()
        #expect(l.p.server.queuedDeliveries(on: l.server) == 2, "the large delivery is half written")
        do {
            let withdrawn = l.p.server.withdraw(large, on: l.server)
            #expect(!withdrawn)
        }
        do {
            let withdrawn = l.p.server.withdraw(behind, on: l.server)
            #expect(withdrawn)
        }
        l.p.outputRoom = 65_536
        l.p.run()
        #expect(l.p.clientEvents == ["delivery:0/0:2:5000:settled"])
        #expect(l.p.server.queuedDeliveries(on: l.server) == 0)
    }

    @Test func aWithdrawalAnswersTheDrainThatWaitedForIt() throws {
        var l = try linkedPipe(.receiver(name: "r", from: "q", credit: .manual))
        try l.p.client.flow(on: l.client, credit: 1)
        l.p.run()
        // Credit 1, two queued: the first goes, the second waits for credit.
        let first = try l.p.server.send(on: l.server, payload: [1], settled: true)
        let second = try l.p.server.send(on: l.server, payload: [2], settled: true)
        l.p.run()
        _ = first
        #expect(l.p.server.queuedDeliveries(on: l.server) == 1)
        // A drain with new credit: the sender would use it for `second`; withdrawn before
        // the sender writes it, the credit is given back instead.
        try l.p.client.flow(on: l.client, credit: 5, drain: true)
        l.p.flushClient()
        l.p.deliverToServer()
        do {
            let withdrawn = l.p.server.withdraw(second, on: l.server)
            #expect(withdrawn)
        }
        l.p.run()
        #expect(l.p.serverEvents.contains("drained:0/0"), "\(l.p.serverEvents)")
        #expect(l.p.clientEvents.last == "drained:0/0", "\(l.p.clientEvents)")
        #expect(l.p.client.credit(on: l.client) == 0)
    }

    @Test func drainUsesUpOrReturnsCredit() throws {
        var l = try linkedPipe(.receiver(name: "r", from: "q", credit: .manual))
        for _ in 0..<2 { _ = try l.p.server.send(on: l.server, payload: [7, 7], settled: true) }
        try l.p.client.flow(on: l.client, credit: 10, drain: true)
        l.p.run()
        #expect(l.p.clientEvents == ["delivery:0/0:0:2:settled", "delivery:0/0:1:2:settled", "drained:0/0"])
        #expect(l.p.serverEvents == ["credit:0/0:10:drain", "drained:0/0"])
        #expect(l.p.client.credit(on: l.client) == 0)
        #expect(l.p.server.credit(on: l.server) == 0)
        // Nothing queued at all: the sender gives everything back at once.
        try l.p.client.flow(on: l.client, credit: 3, drain: true)
        l.p.run()
        #expect(l.p.clientEvents.last == "drained:0/0")
        #expect(l.p.server.credit(on: l.server) == 0)
        // Credit after a drain counts from the advanced delivery-count.
        try l.p.client.flow(on: l.client, credit: 4)
        l.p.run()
        #expect(l.p.server.credit(on: l.server) == 4)
    }

    @Test func prefetchTopsCreditUpAtHalf() throws {
        var l = try linkedPipe(.receiver(name: "r", from: "q", credit: .prefetch(4)))
        #expect(l.p.server.credit(on: l.server) == 4)
        for _ in 0..<20 { _ = try l.p.server.send(on: l.server, payload: [1, 2, 3], settled: true) }
        l.p.run()
        #expect(l.p.clientEvents.filter { $0.hasPrefix("delivery:") }.count == 20)
        #expect(l.p.client.credit(on: l.client)! >= 2)
    }

    @Test func echoIsAnswered() throws {
        var l = try linkedPipe(.receiver(name: "r", from: "q", credit: .manual)) { c, _ in c.trace = true }
        let serverHandle = l.server.handle
        l.p.inject(toClient: .flow(Flow(
            nextIncomingID: 0, incomingWindow: 100, nextOutgoingID: 0, outgoingWindow: 100,
            handle: serverHandle, deliveryCount: 0, linkCredit: 0, echo: true)), channel: l.server.session.channel)
        l.p.run()
        #expect(framesWritten(l.p.clientEvents, "FLOW") == 1)
    }

    // MARK: Errors

    @Test func attachOnAHandleInUseEndsTheSession() throws {
        var l = try linkedPipe(.sender(name: "s", to: "q"))
        l.p.inject(toServer: .attach(Attach(name: "other", handle: l.client.handle, role: .sender, initialDeliveryCount: 0)))
        l.p.run()
        #expect(l.p.serverEvents.contains("ended:0:local:amqp:session:handle-in-use"))
        #expect(l.p.clientEvents.contains("ended:0:remote:amqp:session:handle-in-use"))
        #expect(l.p.clientEvents.contains("detached:0/0:detached:remote:amqp:session:handle-in-use"))
    }

    @Test func attachAboveHandleMaxClosesTheConnection() throws {
        var policy = AutoAcceptPolicy()
        policy.session.handleMax = 3
        var l = try linkedPipe(.sender(name: "s", to: "q"), policy: policy)
        l.p.inject(toServer: .attach(Attach(name: "far", handle: 4, role: .sender, initialDeliveryCount: 0)))
        l.p.run()
        #expect(l.p.server.failure?.condition == .framingError)
        #expect(l.p.clientEvents.contains("close:amqp:connection:framing-error"))
    }

    @Test(arguments: ["transfer", "flow", "detach"])
    func framesOnAnUnattachedHandleEndTheSession(kind: String) throws {
        var l = try linkedPipe(.sender(name: "s", to: "q"))
        let p: Performative
        switch kind {
        case "transfer": p = .transfer(Transfer(handle: 9, deliveryID: 0, deliveryTag: DeliveryTag(0), messageFormat: 0))
        case "flow": p = .flow(Flow(nextIncomingID: 0, incomingWindow: 1, nextOutgoingID: 0, outgoingWindow: 1, handle: 9, linkCredit: 1))
        default: p = .detach(Detach(handle: 9, closed: true))
        }
        l.p.inject(toServer: p)
        l.p.run()
        #expect(l.p.serverEvents.contains("ended:0:local:amqp:session:unattached-handle"))
        #expect(l.p.clientEvents.contains("ended:0:remote:amqp:session:unattached-handle"))
    }

    @Test func framesForAnEndingSessionAreIgnored() throws {
        var l = try linkedPipe(.receiver(name: "r", from: "q"))
        l.p.client.endSession(l.session)
        // The server's END has not arrived yet; a stray frame for an unknown handle meanwhile
        // is ignored rather than answered with another END.
        l.p.flushClient()
        l.p.inject(toClient: .flow(Flow(nextIncomingID: 0, incomingWindow: 1, nextOutgoingID: 0, outgoingWindow: 1, handle: 42, linkCredit: 1)))
        l.p.run()
        #expect(l.p.clientEvents == ["detached:0/0:detached:-", "ended:0:-"])
        #expect(l.p.client.state == .opened)
    }
}
