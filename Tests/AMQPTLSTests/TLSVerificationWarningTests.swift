@testable import AMQPTLS
import Testing

/// Turning a client's verification off is loud whichever way it was spelled: the
/// context made from it warns (the warnings are taken from the context's sink here, not
/// from the process's shared standard error, so parallel tests cannot disturb them).
@Suite struct TLSVerificationWarningTests {
    /// The warnings making a context for `configuration` gives, and the context.
    static func warnings(_ configuration: TLSConfiguration) throws -> (lines: [String], context: TLSContext) {
        var lines: [String] = []
        let context = try TLSContext(configuration) { lines.append($0) }
        return (lines, context)
    }

    static var unverifiedClients: [(String, TLSConfiguration)] {
        var changed = TLSConfiguration.client(serverName: "broker.example")
        changed.verification = .none
        return [
            ("insecureSkipVerification()", .insecureSkipVerification()),
            ("the initializer", TLSConfiguration(role: .client, verification: .none)),
            ("verification set later", changed),
        ]
    }

    @Test func everyUnverifiedClientContextWarnsOnce() throws {
        for (how, configuration) in Self.unverifiedClients {
            let (lines, context) = try Self.warnings(configuration)
            #expect(lines == [TLSWarning.verificationDisabled], "\(how): \(lines)")
            #expect(context.skipsVerification, "\(how)")
        }
        #expect(TLSWarning.verificationDisabled.contains("DISABLED"))
    }

    @Test func verifyingClientsAndServersDoNotWarn() throws {
        let certs = try certificates()
        let server = TLSConfiguration.server(certificate: .init(chainFile: certs.server.chain, keyFile: certs.server.key))
        // A server's `.none` is its default (no client certificate asked for), not a risk.
        #expect(server.verification == .none)
        var chainOnly = TLSConfiguration.client(trust: .file(certs.caFile))
        chainOnly.verification = .chainOnly
        for configuration in [server, .client(trust: .file(certs.caFile)), chainOnly] {
            let (lines, context) = try Self.warnings(configuration)
            #expect(lines.isEmpty, "\(configuration.role) \(configuration.verification): \(lines)")
            #expect(!context.skipsVerification)
        }
    }

    /// A configuration that cannot be loaded makes no context, and so no warning.
    @Test func aFailedContextDoesNotWarn() {
        var configuration = TLSConfiguration.insecureSkipVerification(certificate: .init(chainFile: "/nonexistent.pem", keyFile: "/nonexistent.key"))
        configuration.serverName = "x"
        var lines: [String] = []
        do {
            _ = try TLSContext(configuration) { lines.append($0) }
            Issue.record("a missing certificate was accepted")
        } catch {
            #expect(error.code == .invalidConfiguration)
        }
        #expect(lines.isEmpty)
    }
}
