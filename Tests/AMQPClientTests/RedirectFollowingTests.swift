@testable import AMQP
import AMQPPeer
import Testing

/// Clients follow `amqp:link:redirect` (DETACH) and `amqp:connection:redirect` (CLOSE) to
/// a second peer, a bounded number of times.
@Suite struct RedirectFollowingTests {
    @Test func linkRedirectMovesTheLinkToTheOtherPeerAndAddress() throws {
        let b = try PeerHost()
        defer { b.stop() }
        let bPort = b.port
        let a = try PeerHost { $0.faults.linkRedirects["old"] = RedirectTarget(host: "127.0.0.1", port: bPort, address: "new") }
        defer { a.stop() }
        let sender = try SendClient(target: "amqp://127.0.0.1:\(a.port)/old")
        defer { sender.close() }
        #expect(try sender.send(textMessage("moved"), timeout: .seconds(10)) == .accepted)
        #expect(sender.redirectsFollowed == 1)
        #expect(sender.target == "new")
        #expect(sender.endpoint.port == b.port)
        #expect(b.withPeer { $0.depth(of: "new") } == 1)
        #expect(a.withPeer { $0.depth(of: "old") } == 0)
    }

    @Test func connectionRedirectReconnectsToTheOtherPeer() async throws {
        let b = try PeerHost()
        defer { b.stop() }
        let bPort = b.port
        let a = try PeerHost { $0.faults.connectionRedirect = RedirectTarget(host: "127.0.0.1", port: bPort) }
        defer { a.stop() }
        let sender = try SendClient(target: "amqp://127.0.0.1:\(a.port)/q")
        defer { sender.close() }
        #expect(try await sender.send(textMessage("via b")) == .accepted)
        #expect(sender.redirectsFollowed == 1)
        #expect(sender.endpoint.port == b.port)
        #expect(sender.target == "q")
        #expect(b.withPeer { $0.depth(of: "q") } == 1)
    }

    @Test func redirectChainsEndInATypedErrorAfterTheLimit() throws {
        // B redirects to "looping", which redirects to A, which serves: two hops.
        let a = try PeerHost()
        defer { a.stop() }
        let port = a.port
        let looping = try PeerHost { $0.faults.connectionRedirect = RedirectTarget(host: "127.0.0.1", port: port) }
        defer { looping.stop() }
        let loopingPort = looping.port
        let b = try PeerHost { $0.faults.connectionRedirect = RedirectTarget(host: "127.0.0.1", port: loopingPort) }
        defer { b.stop() }
        var options = ClientOptions()
        options.maxRedirects = 1
        let sender = try SendClient(target: "amqp://127.0.0.1:\(b.port)/q", options: options)
        defer { sender.close() }
        do {
            _ = try sender.send(textMessage("x"), timeout: .seconds(10))
            Issue.record("two redirects were followed with a limit of one")
        } catch {
            #expect(error.kind == .connectionRedirect)
            #expect(error.redirect?.port == port)
            #expect(error.errorDescription?.contains("gave up after following 1 redirect") == true)
            #expect(!error.action.retry)
        }
        #expect(sender.redirectsFollowed == 1)

        // The same chain with the default limit (3) arrives.
        let patient = try SendClient(target: "amqp://127.0.0.1:\(b.port)/q")
        defer { patient.close() }
        #expect(try patient.send(textMessage("y"), timeout: .seconds(10)) == .accepted)
        #expect(patient.redirectsFollowed == 2)
        #expect(a.withPeer { $0.depth(of: "q") } == 1)
    }

    @Test func linkRedirectToItselfIsBounded() throws {
        let peer = try PeerHost { $0.faults.linkRedirects["spin"] = RedirectTarget(host: "127.0.0.1", port: 9, address: "spin") }
        defer { peer.stop() }
        var options = ClientOptions()
        options.maxRedirects = 0
        let receiver = try ReceiveClient(source: "amqp://127.0.0.1:\(peer.port)/spin", timeout: .seconds(1), options: options)
        defer { receiver.close() }
        #expect(throws: AMQPClientError.self) { try receiver.open(timeout: .seconds(10)) }
        do {
            try receiver.open(timeout: .seconds(10))
        } catch {
            #expect(error.kind == .linkRedirect)
            #expect(error.redirect?.address == "spin")
        }
        #expect(receiver.redirectsFollowed == 0)
    }
}
