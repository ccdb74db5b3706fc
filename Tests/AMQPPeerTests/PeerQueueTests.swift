import AMQPCodec
import AMQPEngine
import AMQPPeer
import AMQPReactor
import Testing

/// Queues and at-least-once delivery through the embedded peer, over loopback sockets.
@Suite struct PeerQueueTests {
    @Test(arguments: [ReactorOptions.Backend.epoll, .automatic])
    func tenThousandMessagesComeBackInOrder(backend: ReactorOptions.Backend) throws {
        let bed = try PeerTestBed(backend: backend)
        let client = try bed.openClient()
        let sender = try client.sender(to: "q")
        let sent = (0..<10_000).map { message("message \($0)") }
        let handles = try sent.map { try client.send(sender, $0) }
        try bed.pump("10,000 accepted", within: 20) { client.outcomes.count == handles.count || client.isClosed }
        #expect(handles.allSatisfy { client.outcomes[$0] == .some(.accepted) })
        #expect(bed.peer.depth(of: "q") == 10_000)

        let receiver = try client.receiver(from: "q", credit: .prefetch(500))
        try bed.pump("10,000 received", within: 20) { client.received(receiver).count == 10_000 || client.isClosed }
        let got = client.received(receiver)
        #expect(got.count == 10_000)
        #expect(got.map(\.payload) == sent)
        #expect(got.allSatisfy { !$0.settled })
        try bed.pump("all settled at the peer") { bed.peer.heldBytes == 0 }
        #expect(bed.peer.statistics.messagesAccepted == 10_000)
        try client.close()
    }

    @Test func oneMebibyteMessagesInManyFrames() throws {
        let bed = try PeerTestBed()
        let client = try bed.openClient()
        let sender = try client.sender(to: "big")
        let sent = (0..<3).map { bigMessage(1 << 20, seed: UInt8($0)) }
        let handles = try sent.map { try client.send(sender, $0) }
        try bed.pump("accepted") { client.outcomes.count == 3 || client.isClosed }
        #expect(handles.allSatisfy { client.outcomes[$0] == .some(.accepted) })
        let receiver = try client.receiver(from: "big", credit: .prefetch(2))
        try bed.pump("received") { client.received(receiver).count == 3 || client.isClosed }
        #expect(client.received(receiver).map(\.payload) == sent)
        try client.close()
    }

    @Test func creditExhaustionAndDrain() throws {
        let bed = try PeerTestBed()
        let client = try bed.openClient()
        let sender = try client.sender(to: "q")
        for i in 0..<5 { try client.send(sender, message("m\(i)")) }
        try bed.pump("stored") { bed.peer.depth(of: "q") == 5 }
        let receiver = try client.receiver(from: "q", credit: .manual)
        try client.engine { (e) throws(EngineError) in try e.flow(on: receiver, credit: 3) }
        try bed.pump("three") { client.received(receiver).count == 3 }
        // Credit used up: nothing more comes.
        try bed.run(for: 0.1)
        #expect(client.received(receiver).count == 3)
        #expect(bed.peer.depth(of: "q") == 2)
        // Drain: what is there comes, the rest of the credit comes back.
        try client.engine { (e) throws(EngineError) in try e.flow(on: receiver, credit: 10, drain: true) }
        try bed.pump("drained") { client.drained.contains(receiver) }
        #expect(client.received(receiver).map(\.payload) == (0..<5).map { message("m\($0)") })
        #expect(try client.engine { $0.credit(on: receiver) } == 0)
        // A drain on an empty queue is answered at once.
        try client.engine { (e) throws(EngineError) in try e.flow(on: receiver, credit: 4, drain: true) }
        try bed.pump("drained again") { client.drained.count == 2 }
        #expect(client.received(receiver).count == 5)
        try client.close()
    }

    @Test func releasedAndModifiedAreRedelivered() throws {
        let bed = try PeerTestBed()
        let client = try bed.openClient()
        let sender = try client.sender(to: "q")
        for i in 0..<3 { try client.send(sender, message("m\(i)")) }
        try bed.pump("stored") { bed.peer.depth(of: "q") == 3 }
        client.autoSettle = nil
        let receiver = try client.receiver(from: "q", credit: .manual)
        try client.engine { (e) throws(EngineError) in try e.flow(on: receiver, credit: 3) }
        try bed.pump("three") { client.received(receiver).count == 3 }
        let first = client.received(receiver)
        try client.engine { (e) throws(EngineError) in
            try e.settle(receiver, delivery: first[0].id, state: .released)
            try e.settle(receiver, delivery: first[1].id, state: .accepted)
            try e.settle(receiver, delivery: first[2].id, state: .modified(deliveryFailed: true, messageAnnotations: ["x-why": .string("busy")]))
        }
        try bed.pump("back in the queue") { bed.peer.depth(of: "q") == 2 }
        try client.engine { (e) throws(EngineError) in try e.flow(on: receiver, credit: 5) }
        try bed.pump("redelivered") { client.received(receiver).count == 5 }
        let again = client.received(receiver).suffix(2).map(\.payload)
        #expect(again[0] == message("m0"))
        let modified = try Message(decoding: again[1])
        #expect(modified.header?.deliveryCount == 1)
        #expect(modified.messageAnnotations?["x-why"] == .string("busy"))
        #expect(modified.body == .data([Array("m2".utf8)]))
        #expect(bed.peer.statistics.messagesReturned == 2)
        try client.close()
    }

    @Test func rejectedGoToTheDeadLetterQueue() throws {
        let bed = try PeerTestBed()
        let client = try bed.openClient()
        let sender = try client.sender(to: "q")
        try client.send(sender, message("poison"))
        try bed.pump("stored") { bed.peer.depth(of: "q") == 1 }
        client.autoSettle = .rejected(AMQPError(condition: .decodeError, description: "cannot read it"))
        _ = try client.receiver(from: "q")
        try bed.pump("dead-lettered") { bed.peer.depth(of: "$dlq") == 1 }
        #expect(bed.peer.messages(at: "$dlq") == [message("poison")])
        #expect(bed.peer.depth(of: "q") == 0)
        try client.close()
    }

    @Test func unsettledComeBackWhenTheLinkDetaches() throws {
        let bed = try PeerTestBed()
        let client = try bed.openClient()
        let sender = try client.sender(to: "q")
        let sent = (0..<5).map { message("m\($0)") }
        for m in sent { try client.send(sender, m) }
        client.autoSettle = nil
        let first = try client.receiver(from: "q", name: "first", credit: .prefetch(10))
        try bed.pump("five, unsettled") { client.received(first).count == 5 }
        #expect(bed.peer.depth(of: "q") == 0)
        client.bed.reactor.withConnection(client.id) { $0.detachLink(first) }
        try bed.pump("returned") { bed.peer.depth(of: "q") == 5 }
        client.autoSettle = .accepted
        let second = try client.receiver(from: "q", name: "second")
        try bed.pump("redelivered") { client.received(second).count == 5 }
        #expect(client.received(second).map(\.payload) == sent)
        try client.close()
    }

    @Test func unsettledComeBackWhenTheConnectionDrops() throws {
        let bed = try PeerTestBed()
        let producer = try bed.openClient()
        let sender = try producer.sender(to: "q")
        let sent = (0..<5).map { message("m\($0)") }
        for m in sent { try producer.send(sender, m) }
        let crashing = try bed.openClient()
        crashing.autoSettle = nil
        let first = try crashing.receiver(from: "q", credit: .prefetch(3))
        try bed.pump("three, unsettled") { crashing.received(first).count == 3 }
        // The socket goes without CLOSE, DETACH or anything.
        bed.reactor.abort(crashing.id)
        try bed.pump("returned") { bed.peer.depth(of: "q") == 5 && bed.peer.connectionCount == 1 }
        let survivor = try bed.openClient()
        let second = try survivor.receiver(from: "q")
        try bed.pump("all five") { survivor.received(second).count == 5 }
        #expect(survivor.received(second).map(\.payload) == sent)
        try producer.close()
        try survivor.close()
    }

    @Test func receiversTakeTurns() throws {
        let bed = try PeerTestBed()
        let client = try bed.openClient()
        let a = try client.receiver(from: "shared", name: "a", credit: .prefetch(1_000))
        let b = try client.receiver(from: "shared", name: "b", credit: .prefetch(1_000))
        let sender = try client.sender(to: "shared")
        for i in 0..<400 { try client.send(sender, message("m\(i)")) }
        try bed.pump("all delivered") { client.received(a).count + client.received(b).count == 400 }
        #expect(client.received(a).count > 0 && client.received(b).count > 0)
        try client.close()
    }

    @Test func fullQueueRefusesWithResourceLimitExceeded() throws {
        let bed = try PeerTestBed { $0.limits.maxQueueMessages = 3 }
        let client = try bed.openClient()
        let sender = try client.sender(to: "q")
        let handles = try (0..<5).map { try client.send(sender, message("m\($0)")) }
        try bed.pump("answered") { client.outcomes.count == 5 }
        #expect(handles.prefix(3).allSatisfy { client.outcomes[$0] == .some(.accepted) })
        for h in handles.suffix(2) {
            guard case .rejected(let error)?? = client.outcomes[h] else {
                Issue.record("expected rejected, got \(String(describing: client.outcomes[h]))")
                continue
            }
            #expect(error?.condition == .resourceLimitExceeded)
        }
        #expect(bed.peer.statistics.messagesRefused == 2)
        try client.close()
    }

    @Test func totalBytesAreBoundedAcrossQueues() throws {
        let bed = try PeerTestBed { $0.limits.maxTotalBytes = 10_000 }
        let client = try bed.openClient()
        let a = try client.sender(to: "a", name: "to-a")
        let b = try client.sender(to: "b", name: "to-b")
        let first = try client.send(a, bigMessage(6_000, seed: 1))
        let second = try client.send(b, bigMessage(6_000, seed: 2))
        try bed.pump("answered") { client.outcomes.count == 2 }
        #expect(client.outcomes[first] == .some(.accepted))
        guard case .rejected(let error)?? = client.outcomes[second] else {
            Issue.record("expected rejected")
            return
        }
        #expect(error?.condition == .resourceLimitExceeded)
        try client.close()
    }

    @Test func linksPerConnectionAreBounded() throws {
        let bed = try PeerTestBed { $0.limits.maxLinksPerConnection = 2 }
        let client = try bed.openClient()
        let a = try client.sender(to: "a", name: "a")
        let b = try client.receiver(from: "b", name: "b")
        let c = try client.sender(to: "c", name: "c")
        #expect(client.detached[a] == nil && client.detached[b] == nil)
        #expect((client.detached[c] ?? nil)?.condition == .resourceLimitExceeded)
        try client.close()
    }

    @Test func linkRedirectReachesTheClientIntact() throws {
        let bed = try PeerTestBed { $0.faults.linkRedirects["old"] = RedirectTarget(host: "10.0.0.7", port: 5673, address: "new") }
        let client = try bed.openClient()
        let link = try client.sender(to: "old")
        try bed.pump("detached") { client.detached[link] != nil }
        let error = try #require(client.detached[link] ?? nil)
        #expect(error.condition == .linkRedirect)
        #expect(error.origin == .remote)
        #expect(error.error.info == ["hostname": .string("10.0.0.7"), "network-host": .string("10.0.0.7"), "port": .int(5673), "address": .string("new")])
        // Other addresses are not affected.
        let fine = try client.sender(to: "other", name: "fine")
        #expect(client.detached[fine] == nil && client.attached[fine] != nil)
        try client.close()
    }

    @Test func detachWithAnErrorAfterSomeMessages() throws {
        let bed = try PeerTestBed {
            $0.faults.linkErrors["flaky"] = LinkFault(error: AMQPError(condition: .detachForced, description: "go away"), afterMessages: 2)
        }
        let client = try bed.openClient()
        let sender = try client.sender(to: "flaky")
        let handles = try (0..<5).map { try client.send(sender, message("m\($0)")) }
        try bed.pump("detached") { client.detached[sender] != nil }
        #expect((client.detached[sender] ?? nil)?.condition == .detachForced)
        #expect(handles.prefix(2).allSatisfy { client.outcomes[$0] == .some(.accepted) })
        // The rest was reported, not dropped silently.
        #expect(Set(handles.suffix(3)) == Set(client.lost))
        #expect(bed.peer.depth(of: "flaky") == 2)
        try client.close()
    }

    @Test func anonymousRelayRoutesByTo() throws {
        let bed = try PeerTestBed()
        let client = try bed.openClient()
        let relay = try client.sender(to: nil)
        let routed = try Message(properties: MessageProperties(to: "elsewhere"), body: .value(.string("hi"))).encoded()
        let h1 = try client.send(relay, routed)
        let h2 = try client.send(relay, message("nowhere"))
        try bed.pump("answered") { client.outcomes.count == 2 }
        #expect(client.outcomes[h1] == .some(.accepted))
        guard case .rejected(let error)?? = client.outcomes[h2] else {
            Issue.record("expected rejected")
            return
        }
        #expect(error?.condition == .notFound)
        #expect(bed.peer.messages(at: "elsewhere") == [routed])
        try client.close()
    }

    /// With `autoCreateQueues` off, only the configured queues (and the dead-letter and
    /// dynamic addresses) exist: other links are refused and relayed messages rejected
    /// with `amqp:not-found`; the configured queues stay when empty.
    @Test func unknownAddressesAreRefusedWithoutAutoCreation() throws {
        let bed = try PeerTestBed {
            $0.autoCreateQueues = false
            $0.queues = ["known"]
        }
        #expect(bed.peer.addresses == ["known"])
        let client = try bed.openClient()
        let stranger = try client.sender(to: "unknown", name: "to-unknown")
        #expect((client.detached[stranger] ?? nil)?.condition == .notFound)
        let reader = try client.receiver(from: "unknown", name: "from-unknown")
        #expect((client.detached[reader] ?? nil)?.condition == .notFound)
        let deadLetters = try client.receiver(from: "$dlq", name: "dead-letters")
        #expect(client.detached[deadLetters] == nil)
        var dynamic = LinkConfiguration.sender(name: "dynamic", to: nil)
        dynamic.target = .target(Target(dynamic: true))
        let temporary = try client.attach(dynamic)
        #expect(client.detached[temporary] == nil)

        let relay = try client.sender(to: nil, name: "relay")
        let toKnown = try Message(properties: MessageProperties(to: "known"), body: .value(.string("in"))).encoded()
        let toUnknown = try Message(properties: MessageProperties(to: "unknown"), body: .value(.string("out"))).encoded()
        let h1 = try client.send(relay, toKnown)
        let h2 = try client.send(relay, toUnknown)
        try bed.pump("answered") { client.outcomes.count == 2 }
        #expect(client.outcomes[h1] == .some(.accepted))
        guard case .rejected(let error)?? = client.outcomes[h2] else {
            Issue.record("expected rejected")
            return
        }
        #expect(error?.condition == .notFound)
        #expect(bed.peer.messages(at: "known") == [toKnown])
        #expect(!bed.peer.addresses.contains("unknown"))

        // Emptied and unused, a configured queue stays.
        let consumer = try client.receiver(from: "known", name: "consumer")
        try bed.pump("delivered") { client.received(consumer).count == 1 }
        try client.close()
        try bed.pump("the peer saw the close") { bed.peer.connectionCount == 0 }
        #expect(bed.peer.addresses.contains("known"))
    }
}
