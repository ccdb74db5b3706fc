import AMQP
import AMQPReactor
import Foundation
import Testing

/// RabbitMQ's TLS listener (`Tools/interop/rabbitmq.sh`: `listeners.ssl`, certificates
/// made at the node's start, client certificates asked for but optional, SASL EXTERNAL
/// through `rabbitmq_auth_mechanism_ssl`), through the public API on both backends:
/// a verified round trip with a private CA, each bad set-up ending with its typed error
/// well before the wait's bound, and EXTERNAL with a client certificate.
@Suite("Interop: RabbitMQ over TLS", .serialized, .timeLimit(.minutes(3)))
struct RabbitMQTLSInterop {
    /// `127.0.0.1:PORT` of the TLS listener, and the folder with `ca.pem`, `client.pem`,
    /// `client.key` and `untrusted-ca.pem` (printed by `rabbitmq.sh start`).
    struct Service: Sendable {
        let hostPort: String
        let certificates: String
        var caFile: String { certificates + "/ca.pem" }
        var untrustedCAFile: String { certificates + "/untrusted-ca.pem" }
        var client: TLSConfiguration.Certificate {
            .init(chainFile: certificates + "/client.pem", keyFile: certificates + "/client.key")
        }

        static let current: Service? = {
            let env = ProcessInfo.processInfo.environment
            guard let hostPort = env["AMQP_INTEROP_RABBITMQ_TLS"], !hostPort.isEmpty,
                let certificates = env["AMQP_INTEROP_RABBITMQ_TLS_CERTS"], !certificates.isEmpty
            else { return nil }
            return Service(hostPort: hostPort, certificates: certificates)
        }()
    }

    static let skipReason: Comment =
        "AMQP_INTEROP_RABBITMQ_TLS and AMQP_INTEROP_RABBITMQ_TLS_CERTS are not set: `make test` starts RabbitMQ with its TLS listener (Tools/interop/services.sh start prints them)"

    static let backends = TLSInterop.backends

    static func service() throws -> Service { try #require(Service.current, skipReason) }

    static func connection(
        _ url: String, backend: ReactorOptions.Backend, sasl: SASLCredentials? = nil, tls: TLSConfiguration?
    ) throws -> (Connection, ConnectionReactor) {
        try TLSInterop.connection(url, backend: backend, sasl: sasl, tls: tls)
    }

    /// 20 messages there and back through a queue of its own (`/queue/…` declares it).
    static func roundTrip(_ connection: Connection) throws {
        try TLSInterop.roundTrip(connection, address: "/queue/tls-\(UUID().uuidString)", label: "rabbit over tls")
    }

    @Test(.enabled(if: Service.current != nil, skipReason), arguments: backends)
    func verifiedRoundTripWithAPrivateCA(backend: ReactorOptions.Backend) throws {
        let service = try Self.service()
        let (connection, reactor) = try Self.connection(
            "amqps://guest:guest@\(service.hostPort)", backend: backend, tls: .client(trust: .file(service.caFile)))
        defer { reactor.shutdown() }
        defer { connection.destroy() }
        try Self.roundTrip(connection)
    }

    /// The certificate names `localhost` as a DNS name too: verified and sent as SNI
    /// while the socket goes to 127.0.0.1.
    @Test(.enabled(if: Service.current != nil, skipReason), arguments: backends)
    func verifiedByDNSName(backend: ReactorOptions.Backend) throws {
        let service = try Self.service()
        let (connection, reactor) = try Self.connection(
            "amqps://guest:guest@\(service.hostPort)", backend: backend,
            tls: .client(serverName: "localhost", trust: .file(service.caFile)))
        defer { reactor.shutdown() }
        defer { connection.destroy() }
        try connection.waitUntilOpened(timeout: .seconds(20))
        let sender = try MessageSender(session: try Session(connection: connection), target: "/queue/tls-sni-\(UUID().uuidString)")
        #expect(try sender.send(Message(body: [1, 2, 3]), timeout: .seconds(20)) == .accepted)
    }

    /// SASL EXTERNAL: the broker maps the client certificate's CN (`test-client`) to its
    /// user of that name, which has no password, so only EXTERNAL can log it in.
    @Test(.enabled(if: Service.current != nil, skipReason), arguments: backends)
    func saslExternalWithAClientCertificate(backend: ReactorOptions.Backend) throws {
        let service = try Self.service()
        let (connection, reactor) = try Self.connection(
            "amqps://\(service.hostPort)", backend: backend, sasl: .external(),
            tls: .client(trust: .file(service.caFile), certificate: service.client))
        defer { reactor.shutdown() }
        defer { connection.destroy() }
        try Self.roundTrip(connection)
    }

    /// Without a client certificate RabbitMQ 3.10 still offers EXTERNAL, then answers
    /// it with `sasl-code auth`: a typed authentication error, not retried.
    @Test(.enabled(if: Service.current != nil, skipReason), arguments: backends)
    func externalWithoutACertificateIsRefused(backend: ReactorOptions.Backend) throws {
        let service = try Self.service()
        let (connection, reactor) = try Self.connection(
            "amqps://\(service.hostPort)", backend: backend, sasl: .external(), tls: .client(trust: .file(service.caFile)))
        defer { reactor.shutdown() }
        defer { connection.destroy() }
        do {
            try connection.waitUntilOpened(timeout: .seconds(20))
            Issue.record("EXTERNAL without a client certificate: the connection opened")
        } catch {
            #expect(error.tls == nil, "\(error)")
            #expect(error.kind == .authentication, "\(error)")
            #expect(error.saslCode == .auth, "\(error)")
            #expect(error.action.retry == false, "\(error)")
        }
    }

    enum Bad: CaseIterable, Sendable, CustomStringConvertible {
        case wrongHost, untrustedCA, plaintextClient
        var description: String {
            switch self {
            case .wrongHost: "wrong host name"
            case .untrustedCA: "untrusted CA"
            case .plaintextClient: "plaintext client on the TLS port"
            }
        }
    }

    @Test(.enabled(if: Service.current != nil, skipReason), arguments: backends, Bad.allCases)
    func badSetupsEndWithATypedError(backend: ReactorOptions.Backend, bad: Bad) throws {
        let service = try Self.service()
        let url: String
        let tls: TLSConfiguration?
        switch bad {
        case .wrongHost:
            url = "amqps://guest:guest@\(service.hostPort)"
            tls = .client(serverName: "wrong-host.example", trust: .file(service.caFile))
        case .untrustedCA:
            url = "amqps://guest:guest@\(service.hostPort)"
            tls = .client(trust: .file(service.untrustedCAFile))
        case .plaintextClient:
            url = "amqp://guest:guest@\(service.hostPort)"
            tls = nil
        }
        let (connection, reactor) = try Self.connection(url, backend: backend, tls: tls)
        defer { reactor.shutdown() }
        defer { connection.destroy() }
        TLSInterop.expectOpenFails(connection, "\(bad)", wrongHost: bad == .wrongHost) { error in
            let text = error.errorDescription ?? ""
            switch bad {
            case .wrongHost:
                break
            case .untrustedCA:
                #expect(error.tls?.code == .certificateUntrusted, "\(error)")
            case .plaintextClient:
                // RabbitMQ's TLS listener answers an AMQP header with a TLS alert record
                // and closes: the engine recognises the record and says to use amqps://.
                #expect(error.origin == .transport, "\(error)")
                #expect(error.tls?.code == .peerRequiresTLS, "\(error)")
                #expect(text.contains("the peer speaks TLS") && text.contains("alert record"), "\(text)")
                #expect(text.contains("amqps://"), "\(text)")
            }
        }
    }

    /// Under `make test` and on CI the TLS listener must be there too.
    @Test(.enabled(if: InteropEnvironmentTests.required, "interop services are optional outside `make test` and CI"))
    func listenerIsThereWhenRequired() throws {
        let service = try #require(Service.current, Self.skipReason)
        #expect(service.hostPort.hasPrefix("127.0.0.1:"), "\(service.hostPort)")
        for file in [service.caFile, service.untrustedCAFile, service.client.chainFile, service.client.keyFile] {
            #expect(FileManager.default.isReadableFile(atPath: file), "\(file)")
        }
    }
}
