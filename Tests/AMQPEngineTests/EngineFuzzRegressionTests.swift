import AMQPCodec
import AMQPEngine
import AMQPHostileCases
import AMQPTesting
import Testing

/// Inputs that Tools/Fuzz's engine targets found breaking an oracle (see
/// Tools/Fuzz/EngineSupport/EngineDriver.swift), kept so the bug stays fixed.
@Suite("Engine fuzz regressions")
struct EngineFuzzRegressionTests {
    /// FuzzSASLClient, oracle "nothing held after the transport closed": a client that
    /// pipelined a session, links and a delivery behind SASL kept them all when the
    /// server refused the login. The delivery was never reported, so its sender could
    /// not learn that the message went nowhere. Fixed in receiveSASLFrame (`.failed`).
    @Test(arguments: [SASLCode.auth, .sys, .sysPerm, .sysTemp])
    func refusedLoginEndsPipelinedWork(code: SASLCode) throws {
        var peer = try scriptedPeer(engineConfiguration(.client, sasl: .client(.plain(username: "user", password: "wrong"))))
        var sender = LinkID?.none
        var receiver = LinkID?.none
        try peer.perform { engine in
            engine.open()
            guard let session = try? engine.beginSession() else { return }
            sender = try? engine.attachLink(session: session, .sender(name: "s", to: "q"))
            receiver = try? engine.attachLink(session: session, .receiver(name: "r", from: "q"))
            if let sender { _ = try? engine.send(on: sender, payload: [0x00, 0x53, 0x77, 0x40]) }
        }
        let (s, r) = try (#require(sender), #require(receiver))
        #expect(peer.engine.footprint.queuedDeliveries == 1)
        try peer.send(header: .sasl)
        try peer.send(.saslMechanisms(SASLMechanisms(saslServerMechanisms: ["PLAIN"])))
        try peer.send(.saslOutcome(SASLOutcome(code: code)))

        #expect(peer.engine.state == .error)
        let f = peer.engine.footprint
        #expect(f.sessions == 0 && f.links == 0 && f.queuedDeliveries == 0 && f.unsettledOutgoing == 0, "\(f)")
        var lost: [LinkID] = []
        var detached: Set<LinkID> = []
        var ended = 0
        for e in peer.events.events {
            switch e {
            case .link(.lost(let id, _, let sent)):
                lost.append(id)
                #expect(!sent, "the delivery never left: it is safe to send again")
            case .link(.detached(let id, _, let error)):
                detached.insert(id)
                #expect(error != nil)
            case .session(.ended(_, let error)):
                ended += 1
                #expect(error != nil)
            default: break
            }
        }
        #expect(lost == [s])
        #expect(detached == [s, r])
        #expect(ended == 1)
        #expect(peer.events.closures.count == 1)
    }
}
