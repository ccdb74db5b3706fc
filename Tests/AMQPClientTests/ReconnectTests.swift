@testable import AMQP
import AMQPPeer
import Testing

/// Opt-in reconnect: a lost connection is opened again (with back-off, across hosts),
/// and unsettled sends are reported, never silently sent twice.
@Suite struct ReconnectTests {
    func policy(to hosts: [PeerHost], attempts: Int = 5, resend: Bool = false) -> ClientOptions {
        var options = ClientOptions()
        options.reconnect = ReconnectPolicy(
            alternateHosts: hosts.map(\.hostname), maxAttempts: attempts, initialBackoff: .milliseconds(10),
            maxBackoff: .milliseconds(100), resendUnsettled: resend)
        return options
    }

    @Test func senderMovesToTheNextHostWhenItsPeerDies() throws {
        let a = try PeerHost()
        defer { a.stop() }
        let b = try PeerHost()
        defer { b.stop() }
        let sender = try SendClient(target: "amqp://\(a.hostname)/q", options: policy(to: [b]))
        defer { sender.close() }
        #expect(try sender.send(textMessage("one"), timeout: .seconds(10)) == .accepted)
        let first = try #require(sender.connection)
        a.crash()
        #expect(eventually { first.error != nil })
        // The next send finds the link gone (nothing in flight), reconnects to B, sends.
        #expect(try sender.send(textMessage("two"), timeout: .seconds(10)) == .accepted)
        #expect(sender.reconnects == 1)
        #expect(sender.endpoint.port == b.port)
        #expect(sender.connection !== first)
        #expect(b.withPeer { $0.depth(of: "q") } == 1)
    }

    @Test func unsettledSendsAreReportedNotResent() throws {
        // A drops the socket once 3 messages crossed it; the rest of a batch of 10 is in
        // flight or still queued in the engine at that moment.
        let a = try PeerHost { $0.faults.dropConnections = ConnectionFault(afterMessages: 3, mode: .abort) }
        defer { a.stop() }
        let b = try PeerHost()
        defer { b.stop() }
        let sender = try SendClient(target: "amqp://\(a.hostname)/q", options: policy(to: [b]))
        defer { sender.close() }
        try sender.open(timeout: .seconds(10))
        sender.queueMessages((0..<10).map { textMessage("m\($0)") })
        let results = sender.sendAllMessages(timeout: .seconds(20))
        #expect(results.count == 10)
        var accepted: [String] = []
        var unknown: [String] = []
        for (i, r) in results.enumerated() {
            switch r {
            case .success(let o):
                #expect(o == .accepted)
                accepted.append("m\(i)")
            case .failure(let e):
                #expect(e.kind == .messageFateUnknown, "m\(i): \(e)")
                #expect(e.messageMayHaveReachedPeer == true)
                unknown.append("m\(i)")
            }
        }
        // A accepted what it counted before dropping; everything after is unknown or,
        // if it never left, went to B.
        #expect(accepted.count >= 3)
        let atB = b.withPeer { peer in peer.messages(at: "q") } ?? []
        let textsAtB = atB.compactMap { try? Message(decoding: $0) }.compactMap { text(of: $0) }
        // Nothing whose fate is unknown was sent again, and nothing reached B twice.
        #expect(Set(textsAtB).isDisjoint(with: unknown))
        #expect(Set(textsAtB).count == textsAtB.count)
        #expect(Set(accepted).count + unknown.count == 10)
        // The client works on: after the loss it moves to B, which takes the next batch.
        sender.queueMessage(textMessage("after"))
        #expect(sender.sendAllMessages(timeout: .seconds(10)).allSatisfy { (try? $0.get()) == .accepted })
        #expect(sender.endpoint.port == b.port)
        #expect(sender.reconnects == 1)
        #expect(b.withPeer { $0.messages(at: "q") }?.last.flatMap { try? Message(decoding: $0) }.flatMap { text(of: $0) } == "after")
    }

    @Test func resendUnsettledDeliversEveryMessageAtLeastOnce() throws {
        let a = try PeerHost { $0.faults.dropConnections = ConnectionFault(afterMessages: 3, mode: .abort) }
        defer { a.stop() }
        let b = try PeerHost()
        defer { b.stop() }
        let sender = try SendClient(target: "amqp://\(a.hostname)/q", options: policy(to: [b], resend: true))
        defer { sender.close() }
        try sender.open(timeout: .seconds(10))
        sender.queueMessages((0..<10).map { textMessage("m\($0)") })
        let results = sender.sendAllMessages(timeout: .seconds(20))
        #expect(results.allSatisfy { (try? $0.get()) == .accepted }, "\(results)")
        let stored = (a.withPeer { $0.messages(at: "q") } ?? []) + (b.withPeer { $0.messages(at: "q") } ?? [])
        let texts = Set(stored.compactMap { try? Message(decoding: $0) }.compactMap { text(of: $0) })
        // Every message is at A (stored before it dropped the connection) or at B (sent
        // again there); some may be at both.
        #expect(texts.isSuperset(of: (0..<10).map { "m\($0)" }))
        #expect(sender.reconnects >= 1)
    }

    @Test func givesUpAfterMaxAttemptsWithTheConnectionError() throws {
        let a = try PeerHost()
        let port = a.port
        a.stop()  // nothing listens there any more
        let sender = try SendClient(target: "amqp://127.0.0.1:\(port)/q", options: policy(to: [], attempts: 3))
        defer { sender.close() }
        let start = secondsNow()
        do {
            _ = try sender.send(textMessage("x"), timeout: .seconds(10))
            Issue.record("sent to a dead host")
        } catch {
            #expect(error.kind == .connectionClose)
            #expect(error.origin == .transport)
            #expect(error.errorDescription?.contains("gave up after 3 reconnect attempt(s)") == true, "\(error)")
        }
        #expect(sender.reconnects == 3)
        // Back-offs of at most 100 ms each: bounded.
        #expect(secondsNow() - start < 5)
    }

    @Test func withoutAPolicyALostConnectionIsAnError() throws {
        let a = try PeerHost()
        defer { a.stop() }
        let sender = try SendClient(target: "amqp://\(a.hostname)/q")
        defer { sender.close() }
        #expect(try sender.send(textMessage("one"), timeout: .seconds(10)) == .accepted)
        let first = try #require(sender.connection)
        a.crash()
        #expect(eventually { first.error != nil })
        #expect(throws: AMQPClientError.self) { try sender.send(textMessage("two"), timeout: .seconds(10)) }
        #expect(sender.reconnects == 0)
    }

    @Test func receiverReconnectsAndGetsTheOtherPeersMessages() async throws {
        let a = try PeerHost()
        defer { a.stop() }
        let b = try PeerHost()
        defer { b.stop() }
        let toB = try SendClient(target: "amqp://\(b.hostname)/feed")
        defer { toB.close() }
        #expect(try toB.send(textMessage("from b"), timeout: .seconds(10)) == .accepted)
        let toA = try SendClient(target: "amqp://\(a.hostname)/feed")
        #expect(try toA.send(textMessage("from a"), timeout: .seconds(10)) == .accepted)
        toA.close()

        let receiver = try ReceiveClient(source: "amqp://\(a.hostname)/feed", timeout: .seconds(5), options: policy(to: [b]))
        defer { receiver.close() }
        #expect(try await receiver.receiveMessageBatch().map { text(of: $0.message) } == ["from a"])
        let first = try #require(receiver.connection)
        a.crash()
        #expect(eventually { first.error != nil })
        #expect(try await receiver.receiveMessageBatch().map { text(of: $0.message) } == ["from b"])
        #expect(receiver.reconnects == 1)
    }

    @Test func backoffGrowsAndStaysWithinItsBounds() {
        let p = ReconnectPolicy(initialBackoff: .milliseconds(100), maxBackoff: .seconds(1), multiplier: 2, jitter: 0.2)
        #expect(p.backoff(attempt: 1, unit: 0.5) == .milliseconds(100))
        #expect(p.backoff(attempt: 2, unit: 0.5) == .milliseconds(200))
        #expect(p.backoff(attempt: 3, unit: 0) == .milliseconds(320))
        #expect(p.backoff(attempt: 3, unit: 0.999_999) <= .milliseconds(480))
        #expect(p.backoff(attempt: 30, unit: 0.999_999) == .seconds(1))
        let noJitter = ReconnectPolicy(initialBackoff: .milliseconds(50), jitter: 0)
        #expect(noJitter.backoff(attempt: 1, unit: 0) == noJitter.backoff(attempt: 1, unit: 0.9))
    }
}
