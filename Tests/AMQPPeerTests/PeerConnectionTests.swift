import AMQP
import AMQPCodec
import AMQPEngine
import AMQPPeer
import AMQPReactor
import Testing

/// Connections to the embedded peer over loopback sockets: SASL, idle time-outs,
/// connection faults and shutdown.
@Suite struct PeerConnectionTests {
    @Test func anonymousOpenAndClose() throws {
        let bed = try PeerTestBed()
        #expect(bed.peer.address.port != 0)
        let client = try bed.openClient()
        #expect(bed.peer.connectionCount == 1)
        try client.close()
        #expect(client.ended == .some(nil))
        #expect(client.socketClosed == .some(nil))
        try bed.pump("the peer forgets the connection") { bed.peer.connectionCount == 0 }
        #expect(bed.peer.statistics.authenticated == 1)
    }

    @Test func plainWithAUserTable() throws {
        let bed = try PeerTestBed { $0.users = ["alice": "secret", "bob": "hunter2"] }
        let client = try bed.openClient(.plain(username: "alice", password: "secret"))
        #expect(bed.peerLog.contains { $0.contains("authenticated alice with PLAIN") })
        try client.close()
        #expect(client.ended == .some(nil))
    }

    @Test func wrongPasswordIsATypedAuthError() throws {
        let bed = try PeerTestBed { $0.users = ["alice": "secret"] }
        let client = try bed.connect(.plain(username: "alice", password: "wrong"))
        try bed.pump("the connection fails") { client.isClosed }
        #expect(!client.opened)
        let error = try #require(client.ended ?? nil)
        #expect(error.condition == .unauthorizedAccess)
        #expect(error.origin == .remote)
        #expect(error.error.info?["sasl-code"] == .ubyte(SASLCode.auth.rawValue))
        #expect(bed.peer.statistics.authenticated == 0)
    }

    @Test func anonymousCanBeTurnedOff() throws {
        let bed = try PeerTestBed {
            $0.allowAnonymous = false
            $0.users = ["alice": "secret"]
        }
        let client = try bed.connect(.anonymous())
        try bed.pump("the connection fails") { client.isClosed }
        let error = try #require(client.ended ?? nil)
        #expect(error.condition == .unauthorizedAccess)
    }

    @Test func shortIdleTimeOutIsKeptAliveByHeartbeats() throws {
        let bed = try PeerTestBed { $0.idleTimeout = 200 }
        let client = try bed.openClient()
        // Our engine sends an empty frame every half of the peer's idle time-out.
        try bed.run(for: 0.7)
        #expect(!client.isClosed)
        #expect(bed.peer.connectionCount == 1)
        // And the connection still works.
        let sender = try client.sender(to: "q")
        let h = try client.send(sender, message("alive"))
        try bed.pump("accepted") { client.outcomes[h] != nil }
        try client.close()
        #expect(client.ended == .some(nil))
    }

    @Test func connectionRedirectReachesTheClientIntact() throws {
        let bed = try PeerTestBed { $0.faults.connectionRedirect = RedirectTarget(host: "10.1.2.3", port: 5673) }
        let client = try bed.connect()
        try bed.pump("redirected") { client.isClosed }
        // OPEN first, then CLOSE with the redirect (part 2, section 2.4.1).
        #expect(client.opened)
        let error = try #require(client.ended ?? nil)
        #expect(error.condition == .connectionRedirect)
        #expect(error.origin == .remote)
        let redirect = try RedirectInfo(condition: error.condition, info: error.error.info)
        #expect(redirect.networkHost == "10.1.2.3")
        #expect(redirect.hostname == "10.1.2.3")
        #expect(redirect.port == 5673)
    }

    @Test func closeAfterMessages() throws {
        let bed = try PeerTestBed {
            $0.faults.dropConnections = ConnectionFault(
                afterMessages: 3, mode: .close(AMQPError(condition: .connectionForced, description: "enough")))
        }
        let client = try bed.openClient()
        let sender = try client.sender(to: "q")
        let handles = try (0..<10).map { i in try client.send(sender, message("m\(i)")) }
        try bed.pump("closed by the peer") { client.isClosed }
        #expect(client.remoteClose??.condition == .connectionForced)
        #expect(handles.prefix(3).allSatisfy { client.outcomes[$0] == .some(.accepted) })
        // Nothing silently lost: whatever was not accepted was reported.
        for h in handles.dropFirst(3) { #expect(client.outcomes[h] == nil && client.lost.contains(h)) }
        #expect(bed.peer.depth(of: "q") == 3)
    }

    @Test func abortAfterMessagesDropsTheSocket() throws {
        let bed = try PeerTestBed { $0.faults.dropConnections = ConnectionFault(afterMessages: 2, mode: .abort) }
        let client = try bed.openClient()
        let sender = try client.sender(to: "q")
        for i in 0..<5 { try client.send(sender, message("m\(i)")) }
        try bed.pump("dropped") { client.isClosed }
        let error = try #require(client.socketClosed ?? nil)
        #expect(error.code == .endOfStream || error.code == .connectionReset)
        #expect(client.remoteClose == nil)
    }

    @Test func shutdownClosesEveryConnection() throws {
        let bed = try PeerTestBed()
        let clients = try (0..<3).map { _ in try bed.openClient() }
        try bed.peer.shutdown(within: .seconds(5))
        #expect(bed.peer.connectionCount == 0)
        try bed.pump("clients closed") { clients.allSatisfy(\.isClosed) }
        for c in clients { #expect(c.remoteClose??.condition == .connectionForced) }
        // Not listening any more.
        let late = try bed.connect()
        try bed.pump("refused") { late.isClosed }
        #expect((late.socketClosed ?? nil)?.code == .connectionRefused)
    }
}
