import AMQPCodec
import AMQPEngine
import AMQPTesting
import Testing

@Suite struct TransferTests {
    @Test func singleFrameDeliveryBorrowsTheReceiveBuffer() throws {
        var l = try linkedPipe(.sender(name: "s", to: "q"))
        var borrowed = false
        var bytes: [UInt8] = []
        var tag: DeliveryTag? = nil
        l.p.onServer = { _, e in
            if case .link(.delivery(_, let d)) = e {
                if case .borrowed = d.payload { borrowed = true }
                bytes = d.payload.bytes
                tag = d.tag
            }
        }
        _ = try l.p.client.send(on: l.client, payload: pattern(100))
        l.p.run()
        #expect(borrowed)
        #expect(bytes == pattern(100))
        #expect(tag == DeliveryTag(0))
    }

    @Test(arguments: [false, true])
    func multiFrameAtMaxFrameSize512(serverToClient: Bool) throws {
        let role: LinkConfiguration = serverToClient ? .receiver(name: "r", from: "q") : .sender(name: "s", to: "q")
        var l = try linkedPipe(role) { c, s in
            c.maxFrameSize = 512
            s.maxFrameSize = 512
            c.trace = true
            s.trace = true
        }
        var got: [[UInt8]] = []
        var owned = 0
        let collect: (inout ConnectionEngine, ConnectionEvent) -> Void = { _, e in
            if case .link(.delivery(_, let d)) = e {
                got.append(d.payload.bytes)
                if case .owned = d.payload { owned += 1 }
            }
        }
        let sizes = [0, 1, 400, 480, 481, 1_000, 5_000, 70_000]
        if serverToClient {
            l.p.onClient = collect
            for (i, n) in sizes.enumerated() { _ = try l.p.server.send(on: l.server, payload: pattern(n, seed: UInt8(i))) }
        } else {
            l.p.onServer = collect
            for (i, n) in sizes.enumerated() { _ = try l.p.client.send(on: l.client, payload: pattern(n, seed: UInt8(i))) }
        }
        l.p.run(rounds: 500)
        #expect(got == sizes.enumerated().map { pattern($1, seed: UInt8($0)) })
        #expect(owned >= 3)
        let senderEvents = serverToClient ? l.p.serverEvents : l.p.clientEvents
        // 70,000 bytes in ≤ 512-byte frames take more than 136 transfers.
        #expect(framesWritten(senderEvents, "TRANSFER") > 150)
    }

    @Test func preSettledDeliveriesNeedNoDisposition() throws {
        var link = LinkConfiguration.sender(name: "s", to: "q")
        link.sndSettleMode = .settled
        var l = try linkedPipe(link) { c, s in
            c.trace = true
            s.trace = true
        }
        for _ in 0..<5 { _ = try l.p.client.send(on: l.client, payload: [1]) }
        l.p.run()
        #expect(l.p.serverEvents.filter { $0.hasPrefix("delivery:") }.allSatisfy { $0.hasSuffix(":settled") })
        #expect(framesWritten(l.p.serverEvents, "DISPOSITION") == 0)
        #expect(!l.p.clientEvents.contains { $0.hasPrefix("outcome:") })
    }

    @Test func settleFirst() throws {
        var l = try linkedPipe(.sender(name: "s", to: "q")) { c, s in
            c.trace = true
            s.trace = true
        }
        l.p.onServer = { server, e in
            if case .link(.delivery(let link, let d)) = e { try? server.settle(link, delivery: d.id, state: .accepted) }
        }
        let h1 = try l.p.client.send(on: l.client, payload: [1])
        let h2 = try l.p.client.send(on: l.client, payload: [2])
        l.p.run()
        #expect(l.p.clientEvents.filter { $0.hasPrefix("outcome:") } == [
            "outcome:0/0:\(h1.rawValue):accepted:settled", "outcome:0/0:\(h2.rawValue):accepted:settled",
        ])
        // The receiver settled first: the sender has nothing to say back.
        #expect(framesWritten(l.p.clientEvents, "DISPOSITION") == 0)
        #expect(framesWritten(l.p.serverEvents, "DISPOSITION") == 1)
    }

    @Test func settleSecond() throws {
        var link = LinkConfiguration.sender(name: "s", to: "q")
        link.rcvSettleMode = .second
        var l = try linkedPipe(link) { c, s in
            c.trace = true
            s.trace = true
        }
        #expect(l.p.server.remoteAttach(of: l.server)?.rcvSettleMode == .second)
        l.p.onServer = { server, e in
            if case .link(.delivery(let link, let d)) = e { try? server.settle(link, delivery: d.id, state: .accepted) }
        }
        let h = try l.p.client.send(on: l.client, payload: [1, 2, 3])
        l.p.run()
        // Receiver: accepted, unsettled. Sender: settles. Receiver: settled.
        #expect(framesWritten(l.p.serverEvents, "DISPOSITION") == 1)
        #expect(framesWritten(l.p.clientEvents, "DISPOSITION") == 1)
        #expect(l.p.clientEvents.contains("outcome:0/0:\(h.rawValue):accepted:settled"))
        #expect(l.p.serverEvents.contains("remoteSettled:0/0:0:-"))
    }

    @Test func nonFinalStateLeavesTheDeliveryUnsettled() throws {
        var l = try linkedPipe(.sender(name: "s", to: "q"))
        l.p.onServer = { server, e in
            if case .link(.delivery(let link, let d)) = e {
                try? server.settle(link, delivery: d.id, state: .received(sectionNumber: 0, sectionOffset: 1), settled: false)
            }
        }
        let h = try l.p.client.send(on: l.client, payload: [1, 2, 3])
        l.p.run()
        #expect(l.p.clientEvents.contains("outcome:0/0:\(h.rawValue):received"))
        l.p.client.detachLink(l.client)
        l.p.run()
        #expect(l.p.clientEvents.contains("lost:0/0:\(h.rawValue):sent"))
    }

    @Test func settlementsCoalesceIntoRanges() throws {
        var l = try linkedPipe(.sender(name: "s", to: "q")) { _, s in s.trace = true }
        var ids: [DeliveryNumber] = []
        l.p.onServer = { _, e in
            if case .link(.delivery(_, let d)) = e { ids.append(d.id) }
        }
        for _ in 0..<100 { _ = try l.p.client.send(on: l.client, payload: [9]) }
        l.p.run()
        #expect(ids == Array(0..<100))
        // One call for the whole range: one frame.
        try l.p.server.settle(l.server, deliveries: 0...49, state: .accepted)
        l.p.run()
        #expect(framesWritten(l.p.serverEvents, "DISPOSITION") == 1)
        // Fifty calls in one step, one per delivery: still one frame.
        for id in DeliveryNumber(50)..<100 { try l.p.server.settle(l.server, delivery: id, state: .accepted) }
        l.p.run()
        #expect(framesWritten(l.p.serverEvents, "DISPOSITION") == 2)
        #expect(l.p.clientEvents.filter { $0.hasSuffix(":accepted:settled") }.count == 100)
        // Each DISPOSITION reaches the sender as one event for its whole range.
        #expect(l.p.clientEvents.filter { $0.hasPrefix("outcomes(") } == [
            "outcomes(0/0, 1...50, accepted, settled)", "outcomes(0/0, 51...100, accepted, settled)",
        ])
        // A different outcome in the middle splits the range.
        for _ in 0..<3 { _ = try l.p.client.send(on: l.client, payload: [9]) }
        l.p.run()
        try l.p.server.settle(l.server, delivery: 100, state: .accepted)
        try l.p.server.settle(l.server, delivery: 101, state: .rejected(nil))
        try l.p.server.settle(l.server, delivery: 102, state: .accepted)
        l.p.run()
        #expect(framesWritten(l.p.serverEvents, "DISPOSITION") == 5)
        #expect(l.p.clientEvents.filter { $0.hasSuffix(":rejected:settled") }.count == 1)
    }

    @Test func messageSizeExceededDetachesTheLink() throws {
        var policy = AutoAcceptPolicy()
        policy.maxMessageSize = 1_000
        var p = openedPipe { c, s in
            s.autoAccept = policy
            s.maxFrameSize = 512
            _ = c
        }
        let sid = try p.client.beginSession()
        let link = try p.client.attachLink(session: sid, .sender(name: "s", to: "q"))
        // Queued before the peer's ATTACH (and its max-message-size) arrives.
        let ok = try p.client.send(on: link, payload: pattern(1_000))
        let big = try p.client.send(on: link, payload: pattern(3_000))
        p.run()
        #expect(p.serverEvents.contains { $0.hasPrefix("delivery:0/0:0:1000") })
        #expect(p.serverEvents.contains("detached:0/0:closed:local:amqp:link:message-size-exceeded"))
        #expect(p.clientEvents.contains("detached:0/0:closed:remote:amqp:link:message-size-exceeded"))
        #expect(p.clientEvents.contains("lost:0/0:\(ok.rawValue):sent"))
        #expect(p.clientEvents.contains("lost:0/0:\(big.rawValue):sent"))
    }

    @Test func senderRefusesMessagesAboveThePeersMaximum() throws {
        var policy = AutoAcceptPolicy()
        policy.maxMessageSize = 1_000
        var l = try linkedPipe(.sender(name: "s", to: "q"), policy: policy)
        #expect(throws: EngineError.self) { _ = try l.p.client.send(on: l.client, payload: pattern(1_001)) }
    }

    @Test func bufferedBytesCapClosesTheConnection() throws {
        var l = try linkedPipe(.sender(name: "s", to: "q")) { _, s in
            s.maxFrameSize = 512
            s.limits.maxBufferedDeliveryBytes = 2_000
        }
        let small = try l.p.client.send(on: l.client, payload: pattern(1_900))
        l.p.run()
        #expect(l.p.serverEvents.contains { $0.hasPrefix("delivery:0/0:0:1900") })
        let big = try l.p.client.send(on: l.client, payload: pattern(5_000))
        l.p.run()
        #expect(l.p.server.failure?.condition == .resourceLimitExceeded)
        #expect(l.p.clientEvents.contains("close:amqp:resource-limit-exceeded"))
        #expect(l.p.clientEvents.contains("lost:0/0:\(small.rawValue):sent"))
        #expect(l.p.clientEvents.contains("lost:0/0:\(big.rawValue):sent"))
        #expect(l.p.clientEvents.contains("detached:0/0:detached:remote:amqp:resource-limit-exceeded"))
    }

    @Test func abortedTransferIsDiscarded() throws {
        var l = try linkedPipe(.receiver(name: "r", from: "q", credit: .manual))
        try l.p.client.flow(on: l.client, credit: 10)
        l.p.run()
        let h = l.server.handle
        let ch = l.server.session.channel
        l.p.inject(toClient: .transfer(Transfer(handle: h, deliveryID: 0, deliveryTag: DeliveryTag(1), messageFormat: 0, more: true)), channel: ch, payload: pattern(300))
        l.p.inject(toClient: .transfer(Transfer(handle: h, deliveryID: 0, more: true)), channel: ch, payload: pattern(300))
        l.p.inject(toClient: .transfer(Transfer(handle: h, aborted: true)), channel: ch)
        l.p.inject(toClient: .transfer(Transfer(handle: h, deliveryID: 1, deliveryTag: DeliveryTag(2), messageFormat: 0, settled: true)), channel: ch, payload: [5])
        l.p.run()
        #expect(l.p.clientEvents == ["aborted:0/0:0", "delivery:0/0:1:1:settled"])
        // The aborted delivery used its credit.
        #expect(l.p.client.credit(on: l.client) == 8)
    }

    @Test func streamingHandsOverEveryFrame() throws {
        var link = LinkConfiguration.receiver(name: "r", from: "q")
        link.streaming = true
        var l = try linkedPipe(link) { c, _ in c.maxFrameSize = 512 }
        var assembled: [UInt8] = []
        var lasts = 0
        var chunks = 0
        l.p.onClient = { _, e in
            if case .link(.deliveryChunk(_, let d, let last)) = e {
                if case .borrowed = d.payload { chunks += 1 }
                assembled += d.payload.bytes
                if last { lasts += 1 }
            }
        }
        _ = try l.p.server.send(on: l.server, payload: pattern(3_000))
        l.p.run()
        #expect(assembled == pattern(3_000))
        #expect(lasts == 1)
        #expect(chunks >= 6)
    }

    @Test func transferBeyondTheWindowEndsTheSession() throws {
        var session = SessionConfiguration()
        session.incomingWindow = 4
        var l = try linkedPipe(.receiver(name: "r", from: "q", credit: .manual), session: session)
        try l.p.client.flow(on: l.client, credit: 100)
        l.p.run()
        for i in 0..<5 {
            l.injectSettledTransfer(id: DeliveryNumber(i))
        }
        l.p.run()
        #expect(l.p.clientEvents.filter { $0.hasPrefix("delivery:") }.count == 4)
        #expect(l.p.clientEvents.contains("ended:0:local:amqp:session:window-violation"))
        #expect(l.p.serverEvents.contains("ended:0:remote:amqp:session:window-violation"))
    }

    @Test func honestSendersNeverBreakASmallWindow() throws {
        var session = SessionConfiguration()
        session.incomingWindow = 2
        var l = try linkedPipe(.receiver(name: "r", from: "q"), session: session) { c, _ in c.maxFrameSize = 512 }
        for _ in 0..<20 { _ = try l.p.server.send(on: l.server, payload: pattern(2_000), settled: true) }
        l.p.run(rounds: 500)
        #expect(l.p.clientEvents.filter { $0.hasPrefix("delivery:") }.count == 20)
        #expect(l.p.client.isAttached(l.client))
    }

    @Test func transferWithoutCreditDetachesTheLink() throws {
        var l = try linkedPipe(.receiver(name: "r", from: "q", credit: .manual))
        try l.p.client.flow(on: l.client, credit: 1)
        l.p.run()
        for i in 0..<2 {
            l.injectSettledTransfer(id: DeliveryNumber(i))
        }
        l.p.run()
        #expect(l.p.clientEvents.filter { $0.hasPrefix("delivery:") }.count == 1)
        #expect(l.p.clientEvents.contains("detached:0/0:closed:local:amqp:link:transfer-limit-exceeded"))
        #expect(l.p.serverEvents.contains("detached:0/0:closed:remote:amqp:link:transfer-limit-exceeded"))
    }

    @Test func outOfSequenceDeliveryIDEndsTheSession() throws {
        var l = try linkedPipe(.receiver(name: "r", from: "q"))
        for id: DeliveryNumber in [0, 2] {
            l.injectSettledTransfer(id: id)
        }
        l.p.run()
        #expect(l.p.clientEvents.contains("ended:0:local:amqp:invalid-field"))
    }

    @Test func endingTheSessionReportsUnsettledDeliveriesLost() throws {
        var policy = AutoAcceptPolicy()
        policy.credit = .manual
        var l = try linkedPipe(.sender(name: "s", to: "q"), policy: policy)
        try l.p.server.flow(on: l.server, credit: 1)
        l.p.run()
        let sent = try l.p.client.send(on: l.client, payload: [1])
        let waiting = try l.p.client.send(on: l.client, payload: [2])
        l.p.run()
        l.p.client.endSession(l.session, error: AMQPError(condition: .internalError))
        l.p.drainEvents()
        #expect(l.p.clientEvents.suffix(3) == [
            "lost:0/0:\(sent.rawValue):sent", "lost:0/0:\(waiting.rawValue):unsent", "detached:0/0:detached:local:amqp:internal-error",
        ])
        l.p.run()
        #expect(l.p.clientEvents.last == "ended:0:local:amqp:internal-error")
        #expect(l.p.serverEvents.suffix(2) == ["detached:0/0:detached:remote:amqp:internal-error", "ended:0:remote:amqp:internal-error"])
        #expect(throws: EngineError.self) { _ = try l.p.client.send(on: l.client, payload: [3]) }
    }

    @Test func deliveryCountWrapsAround() throws {
        var link = LinkConfiguration.receiver(name: "r", from: "q", credit: .manual)
        link.initialDeliveryCount = 0
        var policy = AutoAcceptPolicy()
        policy.credit = .manual
        var p = openedPipe { _, s in s.autoAccept = nil }
        p.onServer = { server, e in
            if case .session(.remoteBegin(let id, _)) = e { try? server.acceptSession(id) }
            if case .link(.remoteAttach(let id, let a)) = e {
                var c = LinkConfiguration.accepting(a)
                c.initialDeliveryCount = UInt32.max - 2
                try? server.acceptLink(id, configuration: c)
            }
        }
        let sid = try p.client.beginSession()
        let client = try p.client.attachLink(session: sid, link)
        p.run()
        let server = try #require(p.serverSeen.link)
        try p.client.flow(on: client, credit: 4)
        p.run()
        for _ in 0..<6 { _ = try p.server.send(on: server, payload: [1], settled: true) }
        p.run()
        #expect(p.clientEvents.filter { $0.hasPrefix("delivery:") }.count == 4)
        try p.client.flow(on: client, credit: 5, drain: true)
        p.run()
        #expect(p.clientEvents.filter { $0.hasPrefix("delivery:") }.count == 6)
        #expect(p.clientEvents.last == "drained:0/0")
        #expect(p.server.credit(on: server) == 0)
        try p.client.flow(on: client, credit: 2)
        p.run()
        #expect(p.server.credit(on: server) == 2)
    }

    @Test func connectionCloseReportsUnsettledDeliveriesLost() throws {
        var policy = AutoAcceptPolicy()
        policy.credit = .prefetch(3)
        var l = try linkedPipe(.sender(name: "s", to: "q"), policy: policy)
        var handles: [DeliveryHandle] = []
        for _ in 0..<3 { handles.append(try l.p.client.send(on: l.client, payload: [1])) }
        l.p.run()
        // The three went out unsettled. The server detaches, but its DETACH is still on the
        // way when the client queues two more and closes: those two never leave.
        l.p.server.detachLink(l.server, closed: false)
        l.p.flushServer()
        for _ in 0..<2 { handles.append(try l.p.client.send(on: l.client, payload: [2])) }
        l.p.client.close()
        l.p.run()
        let lost = l.p.clientEvents.filter { $0.hasPrefix("lost:") }
        #expect(lost == handles.enumerated().map { "lost:0/0:\($1.rawValue):\($0 < 3 ? "sent" : "unsent")" })
        let tail = l.p.clientEvents.filter { $0.hasPrefix("detached:") || $0.hasPrefix("ended:") }
        #expect(tail == ["detached:0/0:detached:-", "ended:0:-"])
    }
}

/// A transport that dies under an open connection: the engine ends in ERROR with a
/// retryable transport error and reports every unsettled delivery as lost.
@Test func transportClosedReportsUnsettledDeliveriesLost() throws {
    var pair = EnginePair(client: ConnectionConfiguration(role: .client, containerID: "c"),
                          server: { var s = ConnectionConfiguration(role: .server, containerID: "s"); s.autoAccept = AutoAcceptPolicy(); return s }())
    pair.client.open()
    pair.server.open()
    let session = try pair.client.beginSession()
    let link = try pair.client.attachLink(session: session, .sender(name: "out", to: "q"))
    try pair.pump(until: "the link has credit") { ($0.client.credit(on: link) ?? 0) > 0 }
    for i in 0..<5 { _ = try pair.client.send(on: link, payload: [UInt8(i)]) }
    _ = try pair.step()  // the transfers leave; no disposition has come back yet
    var lost = 0
    var sawError: EngineError? = nil
    pair.client.transportClosed("connection reset by peer")
    while let e = pair.client.nextEvent() {
        if case .link(.lost) = e { lost += 1 }
        if case .closed(let error) = e { sawError = error }
    }
    #expect(pair.client.state == .error)
    #expect(pair.client.isFinished)
    #expect(sawError?.origin == .transport)
    #expect(sawError?.condition == .connectionForced)
    #expect(lost == 5)
}
