import AMQPCodec
import AMQPEngine
import AMQPHostileCases
import AMQPTesting
import Testing

/// EXTERNAL with an identity the transport established (`setExternalIdentity`, which a TLS
/// layer calls with the verified client certificate's subject).
@Suite struct SASLExternalTests {
    /// Accepts nothing through `authenticate`: anything accepted here came from the
    /// transport's identity.
    struct Refuser: SASLAuthenticator {
        func authenticate(mechanism: Symbol, initialResponse: [UInt8]?, hostname: String?) -> SASLDecision { .reject(.auth) }
    }

    func pair(authzid: String?, identity: String?) -> EnginePair {
        var pair = EnginePair(
            client: engineConfiguration(.client, sasl: .client(.external(authzid: authzid))),
            server: engineConfiguration(.server, sasl: .server(mechanisms: ["EXTERNAL"], authenticator: Refuser())),
            cutPolicy: .random(seed: 5, maxChunk: 11))
        pair.server.setExternalIdentity(identity)
        pair.server.open()
        pair.client.open()
        return pair
    }

    @Test(arguments: [nil, "", "CN=svc,O=x"])
    func theTransportIdentityIsAccepted(authzid: String?) throws {
        var p = pair(authzid: authzid, identity: "CN=svc,O=x")
        try p.pump(until: "both opened") { $0.client.state == .opened && $0.server.state == .opened }
        #expect(p.serverEvents.summaries.contains("authenticated(EXTERNAL, CN=svc,O=x)"))
    }

    @Test func anotherAuthorizationIDIsRefused() throws {
        var p = pair(authzid: "CN=admin", identity: "CN=svc,O=x")
        try p.pump(until: "both ended") { $0.client.isFinished && $0.server.isFinished }
        #expect(p.clientEvents.saslOutcomes == [SASLOutcome(code: .auth)])
    }

    @Test func withoutAnIdentityTheAuthenticatorDecides() throws {
        var p = pair(authzid: nil, identity: nil)
        try p.pump(until: "both ended") { $0.client.isFinished && $0.server.isFinished }
        #expect(p.clientEvents.saslOutcomes == [SASLOutcome(code: .auth)])
    }
}
