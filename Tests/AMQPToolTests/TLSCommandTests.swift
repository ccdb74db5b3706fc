import AMQP
import AMQPPeer
import AMQPTestCertificates
import AMQPTool
import ArgumentParser
import Testing

/// `amqp send` and `amqp receive` with `amqps://` and `amqpwss://` URLs and their TLS
/// options, in-process, against the embedded peer's TLS listener over loopback; and
/// `amqp peer --tls-cert/--tls-key/--tls-client-ca`.
@Suite struct TLSCommandTests {
    static func certs() throws -> TestCertificates { try TestCertificates.shared.get() }

    /// A TLS peer with `chain`, asking for client certificates when `clientCA`.
    static func peer(_ chain: (chain: String, key: String), clientCA: Bool = false, webSocket: Bool = false) throws -> PeerThread {
        let certs = try certs()
        return try PeerThread { c in
            c.tls = .server(
                certificate: .init(chainFile: chain.chain, keyFile: chain.key),
                clients: clientCA ? .requiredClientCertificate : .none, trust: .file(certs.caFile))
            if webSocket { c.webSocket = .server(path: "/amqp-ws") }
        }
    }

    @Test func sendAndReceiveOverAmqpsWithACAFile() throws {
        let certs = try Self.certs()
        let peer = try Self.peer(certs.server)
        defer { peer.stop() }
        let url = "amqps://127.0.0.1:\(peer.port)/tls-q"
        let sent = try send([url, "--ca-file", certs.caFile, "--count", "10", "--body", "over tls", "--timeout", "10"])
        #expect(sent.status == .success, "\(sent.output.errors)")
        #expect(sent.output.lines == [#"sent 10 messages to "tls-q": accepted 10, rejected 0, released 0, modified 0"#])
        let got = try receive([url, "--ca-file", certs.caFile, "--count", "10", "--print", "--timeout", "10"])
        #expect(got.status == .success, "\(got.output.errors)")
        #expect(got.output.lines.count == 10)
        #expect(got.output.lines.allSatisfy { $0.contains("over tls") })
    }

    /// The certificate lists `localhost` and 127.0.0.1: another name is refused, naming
    /// the name; `localhost` by `--server-name` passes.
    @Test func serverNameOverride() throws {
        let certs = try Self.certs()
        let peer = try Self.peer(certs.server)
        defer { peer.stop() }
        let url = "amqps://127.0.0.1:\(peer.port)/sni-q"
        let wrong = try send([url, "--ca-file", certs.caFile, "--server-name", "wrong-host.example", "--timeout", "10"])
        #expect(wrong.status == .tls, "\(wrong.output.errors)")
        #expect(wrong.output.errors.joined().contains("host name mismatch"), "\(wrong.output.errors)")
        #expect(wrong.output.errors.joined().contains("wrong-host.example"), "\(wrong.output.errors)")
        let right = try send([url, "--ca-file", certs.caFile, "--server-name", "localhost", "--timeout", "10"])
        #expect(right.status == .success, "\(right.output.errors)")
    }

    /// Without `--ca-file` the system's store is used, which does not know the test CA;
    /// `--insecure-no-verify` connects anyway.
    @Test func systemTrustRefusesAndInsecureNoVerifyConnects() throws {
        let certs = try Self.certs()
        let peer = try Self.peer(certs.server)
        defer { peer.stop() }
        let url = "amqps://127.0.0.1:\(peer.port)/insecure-q"
        let refused = try send([url, "--timeout", "10"])
        #expect(refused.status == .tls, "\(refused.output.errors)")
        #expect(refused.output.errors.joined().contains("certificate untrusted"), "\(refused.output.errors)")
        let insecure = try send([url, "--insecure-no-verify", "--timeout", "10"])
        #expect(insecure.status == .success, "\(insecure.output.errors)")
    }

    @Test func expiredCertificateIsATLSFailure() throws {
        let certs = try Self.certs()
        let peer = try Self.peer(certs.expired)
        defer { peer.stop() }
        let failed = try receive(["amqps://127.0.0.1:\(peer.port)/q", "--ca-file", certs.caFile, "--count", "1", "--timeout", "10"])
        #expect(failed.status == .tls, "\(failed.output.errors)")
        #expect(failed.output.errors.joined().contains("certificate expired"), "\(failed.output.errors)")
    }

    @Test func saslExternalWithAClientCertificate() throws {
        let certs = try Self.certs()
        let peer = try Self.peer(certs.server, clientCA: true)
        defer { peer.stop() }
        let url = "amqps://127.0.0.1:\(peer.port)/ext-q"
        let client = ["--cert", certs.client.chain, "--key", certs.client.key]
        let sent = try send([url, "--ca-file", certs.caFile, "--sasl-external", "--count", "3", "--timeout", "10"] + client)
        #expect(sent.status == .success, "\(sent.output.errors)")
        // No certificate: the peer's TLS listener refuses the handshake.
        let without = try send([url, "--ca-file", certs.caFile, "--timeout", "10"])
        #expect(without.status == .tls, "\(without.output.errors)")
        #expect(without.output.errors.joined().contains("peer rejected our certificate"), "\(without.output.errors)")
    }

    @Test func amqpwssWithAPath() throws {
        let certs = try Self.certs()
        let peer = try Self.peer(certs.server, webSocket: true)
        defer { peer.stop() }
        let url = "amqpwss://127.0.0.1:\(peer.port)/wss-q"
        let sent = try send([url, "--ca-file", certs.caFile, "--ws-path", "/amqp-ws", "--count", "5", "--timeout", "10"])
        #expect(sent.status == .success, "\(sent.output.errors)")
        let got = try receive([url, "--ca-file", certs.caFile, "--ws-path", "/amqp-ws", "--count", "5", "--timeout", "10"])
        #expect(got.status == .success, "\(got.output.errors)")
        // Another path: the listener refuses the upgrade.
        let other = try send([url, "--ca-file", certs.caFile, "--ws-path", "/elsewhere", "--timeout", "10"])
        #expect(other.status != .success)
    }

    @Test(arguments: [
        (["amqp://127.0.0.1/q", "--ca-file", "/etc/hostname"], "--ca-file applies to TLS"),
        (["amqpws://127.0.0.1/q", "--server-name", "x"], "--server-name applies to TLS"),
        (["amqp://127.0.0.1/q", "--ws-path", "/x"], "--ws-path applies to amqpws"),
        (["amqpwss://127.0.0.1/q", "--ws-path", "x"], "must start with /"),
        (["amqps://127.0.0.1/q", "--cert", "/etc/hostname"], "--cert and --key go together"),
        (["amqps://127.0.0.1/q", "--sasl-external"], "--sasl-external needs a client certificate"),
        (["amqps://127.0.0.1/q", "--insecure-no-verify", "--ca-file", "/etc/hostname"], "checks nothing"),
        (["amqps://127.0.0.1/q", "--ca-file", "/nonexistent/ca.pem"], "cannot be read"),
    ])
    func badTLSOptionsAreUsageErrors(_ arguments: [String], _ reason: String) {
        for command in ["send", "receive"] {
            do {
                if command == "send" { _ = try SendCommand.parse(arguments) } else { _ = try ReceiveCommand.parse(arguments) }
                Issue.record("\(command) \(arguments) was accepted")
            } catch {
                #expect(SendCommand.exitCode(for: error) == ExitCode(64))
                #expect(SendCommand.message(for: error).contains(reason), "\(SendCommand.message(for: error))")
            }
        }
    }

    @Test func amqpsDefaultsToPort5671AndSystemTrust() throws {
        let command = try SendCommand.parse(["amqps://broker.example/q"])
        let settings = try command.transport.apply(to: NodeURL(command.url).settings)
        #expect(settings.endpoint.port == 5671)
        #expect(settings.effectiveTLS?.trust == .system)
        #expect(settings.effectiveTLS?.verification == .full)
        #expect(settings.effectiveTLS?.serverName == "broker.example")
    }

    @Test func thePeerFlagsMakeATLSListener() throws {
        let certs = try Self.certs()
        let c = try PeerCommand.parse(["--tls-cert", certs.server.chain, "--tls-key", certs.server.key]).peerConfiguration()
        #expect(c.tls?.role == .server)
        #expect(c.tls?.verification == TLSConfiguration.Verification.none)
        let mutual = try PeerCommand.parse(["--tls-cert", certs.server.chain, "--tls-key", certs.server.key, "--tls-client-ca", certs.caFile])
            .peerConfiguration()
        #expect(mutual.tls?.verification == .optionalClientCertificate)
        #expect(mutual.tls?.trust == .file(certs.caFile))
        #expect(try PeerCommand.parse([]).peerConfiguration().tls == nil)
        #expect(throws: (any Error).self) { try PeerCommand.parse(["--tls-cert", certs.server.chain]) }
        #expect(throws: (any Error).self) { try PeerCommand.parse(["--tls-client-ca", certs.caFile]) }
        #expect(throws: (any Error).self) { try PeerCommand.parse(["--tls-cert", "/nonexistent", "--tls-key", certs.server.key]) }
        #expect(throws: (any Error).self) { try PeerCommand.parse(["--direct", "--tls-cert", certs.server.chain, "--tls-key", certs.server.key]) }
    }
}
