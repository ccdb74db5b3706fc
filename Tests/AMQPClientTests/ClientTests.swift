@testable import AMQP
import AMQPPeer
import Glibc
import Testing

/// `SendClient` and `ReceiveClient` against an embedded peer: queueing, batches,
/// iteration, auto-complete, message time-outs, token authentication.
@Suite struct ClientTests {
    func url(_ peer: PeerHost, _ address: String) -> String { "amqp://127.0.0.1:\(peer.port)/\(address)" }

    @Test func queuedMessagesGoOutAndComeBackInOrder() throws {
        let peer = try PeerHost()
        defer { peer.stop() }
        let sender = try SendClient(target: url(peer, "orders"), clientName: "sender-test")
        defer { sender.close() }
        for i in 0..<20 { sender.queueMessage(textMessage("order \(i)")) }
        #expect(sender.messagesPending)
        #expect(sender.pendingMessages.count == 20)
        let results = sender.sendAllMessages(timeout: .seconds(10))
        #expect(results.count == 20)
        #expect(results.allSatisfy { (try? $0.get()) == .accepted })
        #expect(!sender.messagesPending)
        #expect(sender.connection?.containerID == "sender-test")
        #expect(peer.withPeer { $0.depth(of: "orders") } == 20)

        let receiver = try ReceiveClient(source: url(peer, "orders"), timeout: .seconds(2), prefetch: 8)
        var got: [String] = []
        while got.count < 20 {
            let batch = try receiver.receiveMessageBatch(maxBatchSize: 5)
            if batch.isEmpty { break }
            #expect(batch.count <= 5)
            #expect(batch.allSatisfy { $0.isSettled })  // auto-complete accepted them
            got += batch.compactMap { text(of: $0.message) }
        }
        #expect(got == (0..<20).map { "order \($0)" })
        receiver.close()
        // Accepted, so nothing returns to the queue when the link goes.
        #expect(eventually { peer.withPeer { $0.connectionCount } == 1 })
        #expect(peer.withPeer { $0.depth(of: "orders") } == 0)
    }

    @Test func asyncSendAndIterationThatEndsWhenIdle() async throws {
        let peer = try PeerHost()
        defer { peer.stop() }
        let sender = try SendClient(target: url(peer, "events"))
        defer { sender.close() }
        try await sender.open()
        for i in 0..<5 { #expect(try await sender.send(textMessage("event \(i)")) == .accepted) }
        let receiver = try ReceiveClient(source: url(peer, "events"), timeout: .milliseconds(300))
        defer { receiver.close() }
        var got: [String] = []
        for try await m in receiver.receiveMessagesIter() { got.append(text(of: m.message) ?? "?") }
        #expect(got == (0..<5).map { "event \($0)" })
        // Idle now: an async batch comes back empty after the time-out.
        #expect(try await receiver.receiveMessageBatch(timeout: .milliseconds(50)).isEmpty)
    }

    @Test func withoutAutoCompleteTheApplicationSettles() throws {
        let peer = try PeerHost()
        defer { peer.stop() }
        let sender = try SendClient(target: url(peer, "jobs"))
        defer { sender.close() }
        #expect(try sender.send(textMessage("job"), timeout: .seconds(10)) == .accepted)
        let receiver = try ReceiveClient(source: url(peer, "jobs"), timeout: .seconds(5), autoComplete: false)
        defer { receiver.close() }
        let first = try receiver.receiveMessageBatch(maxBatchSize: 1)
        #expect(first.count == 1 && !first[0].isSettled)
        #expect(try first[0].release())
        // Released: delivered again.
        let again = try receiver.receiveMessageBatch(maxBatchSize: 1)
        #expect(again.map { text(of: $0.message) } == ["job"])
        #expect(try again[0].accept())
        var handled = 0
        let idle = try ReceiveClient(source: url(peer, "jobs"), timeout: .milliseconds(100))
        try idle.receiveMessages { _ in handled += 1 }
        #expect(handled == 0)
    }

    @Test func messagesThatWaitedPastTheirTimeOutAreNotSent() throws {
        let peer = try PeerHost()
        defer { peer.stop() }
        let sender = try SendClient(target: url(peer, "late"), messageTimeout: .milliseconds(1))
        defer { sender.close() }
        sender.queueMessage(textMessage("stale"))
        usleep(20_000)
        let results = sender.sendAllMessages(timeout: .seconds(10))
        guard case .failure(let e) = results.first else {
            Issue.record("a stale message was sent: \(results)")
            return
        }
        #expect(e.kind == .timeout)
        #expect(e.messageMayHaveReachedPeer == false)
        #expect(peer.withPeer { $0.depth(of: "late") } == 0)
    }

    @Test func targetMustNameAnAddress() {
        #expect(throws: ConfigurationError.self) { try SendClient(target: "amqp://127.0.0.1:5672") }
        #expect(throws: ConfigurationError.self) { try ReceiveClient(source: "amqps://example.com/q") }
        do {
            _ = try SendClient(target: "127.0.0.1:5672")
        } catch {
            #expect(error.code == .missingAddress)
        }
    }

    @Test func tokenAuthenticatedClientsReachAProtectedAddress() throws {
        let peer = try PeerHost {
            $0.cbs.protectedAddresses = ["vault"]
            $0.cbs.accepts = { $0.token == "good" }
        }
        defer { peer.stop() }
        let auth = ClientAuthentication.token(TokenAuthentication(
            audience: "amqp://127.0.0.1/vault", provider: StaticTokenProvider(token("good", validFor: 3600))))
        let sender = try SendClient(target: url(peer, "vault"), auth: auth)
        defer { sender.close() }
        #expect(try sender.send(textMessage("gold"), timeout: .seconds(10)) == .accepted)
        let receiver = try ReceiveClient(source: url(peer, "vault"), auth: auth, timeout: .seconds(5))
        defer { receiver.close() }
        #expect(try receiver.receiveMessageBatch().map { text(of: $0.message) } == ["gold"])

        let forged = ClientAuthentication.token(TokenAuthentication(
            audience: "amqp://127.0.0.1/vault", provider: StaticTokenProvider(token("forged", validFor: 3600))))
        let intruder = try SendClient(target: url(peer, "vault"), auth: forged)
        defer { intruder.close() }
        do {
            _ = try intruder.send(textMessage("x"), timeout: .seconds(10))
            Issue.record("a forged token got through")
        } catch {
            #expect(error.kind == .tokenAuthFailure)
            #expect(error.statusCode == 401)
        }
    }

    @Test func threadsAndTasksShareOneClientAndOneConnection() async throws {
        let peer = try PeerHost()
        defer { peer.stop() }
        let sender = try SendClient(target: url(peer, "shared"))
        defer { sender.close() }
        // Four threads block in send while four tasks await it, all opening at once.
        let accepted = await withTaskGroup(of: Int.self) { group in
            for t in 0..<4 {
                group.addTask {
                    await onOwnThread {
                        (0..<25).filter { i in (try? sender.send(textMessage("thread \(t) #\(i)"), timeout: .seconds(10))) == .accepted }.count
                    }
                }
                group.addTask {
                    var n = 0
                    for i in 0..<25 where (try? await sender.send(textMessage("task \(t) #\(i)"))) == .accepted { n += 1 }
                    return n
                }
            }
            return await group.reduce(0, +)
        }
        #expect(accepted == 200)
        #expect(peer.withPeer { $0.depth(of: "shared") } == 200)
        #expect(peer.statistics?.connectionsAccepted == 1)
    }

    /// On a manual reactor nobody steps while the application is busy: the peer's idle
    /// time-out (1 s) closes the connection, unless the keep-alive thread steps it.
    @Test(arguments: [true, false])
    func keepAliveStepsAManualReactorWhileTheApplicationIsBusy(keepAlive: Bool) async throws {
        let peer = try PeerHost { $0.idleTimeout = 1_000 }
        defer { peer.stop() }
        var options = ClientOptions()
        options.reactor = try ConnectionReactor.manual()
        options.keepAliveInterval = keepAlive ? .milliseconds(100) : nil
        let sender = try SendClient(target: url(peer, "alive"), options: options)
        defer { sender.close() }
        #expect(try sender.send(textMessage("before"), timeout: .seconds(10)) == .accepted)
        try await Task.sleep(for: .milliseconds(2_500))  // busy elsewhere: two and a half idle time-outs
        if keepAlive {
            #expect(try sender.send(textMessage("after"), timeout: .seconds(10)) == .accepted)
            #expect(sender.reconnects == 0)
        } else {
            #expect(throws: AMQPClientError.self) { try sender.send(textMessage("after"), timeout: .seconds(10)) }
        }
    }
}
