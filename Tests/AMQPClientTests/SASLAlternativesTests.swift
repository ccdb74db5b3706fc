@testable import AMQP
import AMQPCodec
import AMQPEngine
import Testing

/// `ConnectionSettings.saslAlternatives` over real sockets, against the embedded peer
/// (PLAIN for its users, no ANONYMOUS, no EXTERNAL without TLS).
@Suite(.serialized) struct SASLAlternativesTests {
    static func plainOnlyPeer() throws -> PeerHost {
        try PeerHost { c in
            c.users = ["alice": "secret"]
            c.allowAnonymous = false
        }
    }

    @Test func theFirstOfferedCredentialsAreUsed() throws {
        let peer = try Self.plainOnlyPeer()
        defer { peer.stop() }
        var settings = try ConnectionSettings(hostname: peer.hostname, sasl: .external())
        settings.saslAlternatives = [.anonymous(), .plain(username: "alice", password: "secret")]
        let connection = Connection(settings: settings)
        defer { connection.destroy() }
        try connection.waitUntilOpened(timeout: .seconds(10))
        #expect(connection.state == .opened)
    }

    @Test func noneOfferedIsAnAuthenticationErrorNamingBothLists() throws {
        let peer = try Self.plainOnlyPeer()
        defer { peer.stop() }
        var settings = try ConnectionSettings(hostname: peer.hostname, sasl: .external())
        settings.saslAlternatives = [.anonymous()]
        let connection = Connection(settings: settings)
        defer { connection.destroy() }
        let error = #expect(throws: AMQPClientError.self) { try connection.waitUntilOpened(timeout: .seconds(10)) }
        #expect(error?.kind == .authentication)
        #expect(error?.condition == .unauthorizedAccess)
        #expect(error?.saslCode == nil)
        #expect(error?.info?[SASLCredentials.serverMechanismsInfoKey] == .array(.symbols(["PLAIN"])))
        #expect(error?.info?[SASLCredentials.clientMechanismsInfoKey] == .array(.symbols(["EXTERNAL", "ANONYMOUS"])))
        #expect(error?.errorDescription?.contains("the server offers [PLAIN], we have credentials for [EXTERNAL, ANONYMOUS]") == true)
    }
}
