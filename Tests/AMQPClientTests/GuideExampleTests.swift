@testable import AMQP
import AMQPPeer
import Foundation
import Testing

/// The examples of Docs/guide.md, run against embedded peers. Each code block of the
/// guide appears here line for line (`guideBlocksAreTheseExamples` checks it), so the
/// guide cannot drift from code that compiles and works.
@Suite struct GuideExampleTests {
    @Test func sending() async throws {
        let peer = try PeerHost()
        defer { peer.stop() }
        let broker = "amqp://\(peer.hostname)"

        let sender = try SendClient(target: "\(broker)/orders")
        defer { sender.close() }
        sender.queueMessage(Message(body: Array("first".utf8)), Message(body: Array("second".utf8)))
        for result in await sender.sendAllMessages(timeout: .seconds(30)) {
            switch result {
            case .success(let outcome): print("settled:", outcome)
            case .failure(let error): print("failed:", error, "may have arrived:", error.messageMayHaveReachedPeer ?? false)
            }
        }
        let outcome = try await sender.send(Message(body: Array("third".utf8)))

        #expect(outcome == .accepted)
        #expect(peer.withPeer { $0.depth(of: "orders") } == 3)
    }

    @Test func receiving() async throws {
        let peer = try PeerHost()
        defer { peer.stop() }
        let broker = "amqp://\(peer.hostname)"
        let feeder = try SendClient(target: "\(broker)/orders")
        defer { feeder.close() }
        for i in 0..<3 { _ = try await feeder.send(Message(body: Array("order \(i)".utf8))) }

        let receiver = try ReceiveClient(source: "\(broker)/orders", timeout: .seconds(1))
        defer { receiver.close() }
        let batch = try await receiver.receiveMessageBatch(maxBatchSize: 10)
        print("batch of", batch.count)
        for try await received in receiver.receiveMessagesIter() {
            print("received:", received.message.body.map { "\($0)" } ?? "no body")
        }

        #expect(batch.count >= 1)
        #expect(peer.withPeer { $0.depth(of: "orders") } == 0)
    }

    @Test func connectionSessionAndLinks() async throws {
        let peer = try PeerHost()
        defer { peer.stop() }
        let broker = "amqp://\(peer.hostname)"

        let connection = try Connection(hostname: broker)
        defer { connection.destroy() }
        let session = try Session(connection: connection)
        let orders = try MessageSender(session: session, target: "orders")
        _ = try await orders.send(Message(body: Array("direct".utf8)))
        let inbox = try MessageReceiver(session: session, source: "orders", prefetch: 50)
        for received in try inbox.receive(maxCount: 10, timeout: .seconds(5)) {
            try received.accept()
        }

        #expect(eventually { peer.withPeer { $0.statistics.messagesAccepted } == 1 })
    }

    @Test func cbs() throws {
        let peer = try PeerHost { $0.cbs.protectedAddresses = ["telemetry"] }
        defer { peer.stop() }
        let broker = "amqp://\(peer.hostname)"
        let sharedKey = "c2VjcmV0"
        let fetchedToken = "eyJhbGciOi.example.jwt"

        let sas = TokenAuthentication.sas(audience: "\(broker)/telemetry", keyName: "device", key: sharedKey)
        let client = try SendClient(target: "\(broker)/telemetry", auth: .token(sas))
        defer { client.close() }
        _ = try client.send(Message(body: Array("21.5".utf8)), timeout: .seconds(30))

        let jwt = TokenAuthentication.jwt(audience: "\(broker)/telemetry") { audience in
            CBSToken(token: fetchedToken, type: .jwt, expiresAt: Timestamp.now().advanced(by: .seconds(3600)))
        }
        let connection = try Connection(hostname: broker, tokenAuthentication: jwt)
        defer { connection.destroy() }
        let expiry = try connection.waitUntilAuthenticated(timeout: .seconds(30))
        print("token in force until", expiry.secondsSinceEpoch, connection.authenticationStatus)

        #expect(peer.withPeer { $0.depth(of: "telemetry") } == 1)
        #expect(peer.statistics?.tokensAccepted == 2)
    }

    @Test func redirectsAndReconnecting() throws {
        let backup = try PeerHost()
        defer { backup.stop() }
        let backupPort = backup.port
        let peer = try PeerHost { $0.faults.linkRedirects["orders"] = RedirectTarget(host: "127.0.0.1", port: backupPort, address: "orders") }
        let broker = "amqp://\(peer.hostname)"
        let standby = backup.hostname

        var options = ClientOptions()
        options.maxRedirects = 3
        options.reconnect = ReconnectPolicy(alternateHosts: [standby], maxAttempts: 5, initialBackoff: .milliseconds(100))
        let resilient = try SendClient(target: "\(broker)/orders", options: options)
        defer { resilient.close() }
        _ = try resilient.send(Message(body: Array("survives failover".utf8)), timeout: .seconds(30))
        print("redirects:", resilient.redirectsFollowed, "reconnects:", resilient.reconnects, "now at", resilient.endpoint)

        #expect(resilient.redirectsFollowed == 1)
        #expect(backup.withPeer { $0.depth(of: "orders") } == 1)
        peer.stop()
    }

    @Test func redirectByHand() throws {
        let backup = try PeerHost()
        defer { backup.stop() }
        let backupPort = backup.port
        let peer = try PeerHost { $0.faults.connectionRedirect = RedirectTarget(host: "127.0.0.1", port: backupPort) }
        defer { peer.stop() }
        let broker = "amqp://\(peer.hostname)"

        let plain = try Connection(hostname: broker)
        defer { plain.destroy() }
        var orderSender = try MessageSender(session: Session(connection: plain), target: "orders")
        do {
            _ = try orderSender.send(Message(body: Array("first try".utf8)), timeout: .seconds(10))
        } catch {
            guard let target = (plain.error ?? error).redirect else { throw error }
            plain.redirect(target)
            orderSender = try MessageSender(session: Session(connection: plain), target: target.address ?? "orders")
            _ = try orderSender.send(Message(body: Array("second try".utf8)), timeout: .seconds(10))
        }

        #expect(backup.withPeer { $0.depth(of: "orders") } == 1)
        #expect(plain.settings.endpoint.port == backupPort)
    }

    @Test func steppingByHand() throws {
        let peer = try PeerHost()
        defer { peer.stop() }
        let broker = "amqp://\(peer.hostname)"

        let reactor = try ConnectionReactor.manual()
        let stepped = try Connection(hostname: broker, reactor: reactor)
        defer { stepped.destroy() }
        let steppedSession = try Session(connection: stepped)
        let steppedSender = try MessageSender(session: steppedSession, target: "stepped")
        while !steppedSender.isAttached {
            try reactor.runOnce(timeout: .milliseconds(50))
            try stepped.work()
        }
        let stepOutcome = try steppedSender.send(Message(body: Array("by hand".utf8)), timeout: .seconds(5))
        print("stepped send:", stepOutcome)

        #expect(stepOutcome == .accepted)
    }

    /// The README's client example: compiled here (it needs a broker on port 5672 to run,
    /// which tests cannot count on; the guide's examples above run).
    func readmeExample() async throws {
        let sender = try SendClient(target: "amqp://guest:guest@localhost:5672/orders")
        let outcome = try await sender.send(Message(body: Array("hello".utf8)))   // .accepted, .rejected(…), …

        let receiver = try ReceiveClient(source: "amqp://guest:guest@localhost:5672/orders", timeout: .seconds(1))
        for try await received in receiver.receiveMessagesIter() { print(received.message) }
        _ = outcome
    }

    /// Every ```swift block of the guide, and the README's client block, each line
    /// trimmed, appears as consecutive trimmed lines of this file.
    @Test func guideBlocksAreTheseExamples() throws {
        let here = URL(fileURLWithPath: #filePath)
        let root = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let guide = try String(contentsOf: root.appendingPathComponent("Docs/guide.md"), encoding: .utf8)
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: here, encoding: .utf8)
        let sourceLines = source.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var blocks: [[String]] = []
        var current: [String]? = nil
        for line in guide.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```swift") { current = [] } else if line.hasPrefix("```"), let c = current {
                blocks.append(c)
                current = nil
            } else if current != nil {
                current!.append(line.trimmingCharacters(in: .whitespaces))
            }
        }
        #expect(blocks.count == 7)
        let readmeBlocks = readme.components(separatedBy: "```swift\n").dropFirst()
            .map { $0.components(separatedBy: "\n```")[0] }
            .filter { $0.contains("SendClient") }
            .map { $0.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) } }
            .map { Array($0.drop { $0.hasPrefix("import ") || $0.isEmpty }) }  // the import line sits at file scope
        #expect(readmeBlocks.count == 1)
        blocks += readmeBlocks
        for block in blocks {
            let found = sourceLines.indices.contains { start in
                start + block.count <= sourceLines.count && Array(sourceLines[start..<start + block.count]) == block
            }
            #expect(found, "this guide block is not in GuideExampleTests.swift:\n\(block.joined(separator: "\n"))")
        }
    }
}
