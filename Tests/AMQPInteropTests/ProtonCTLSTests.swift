import AMQP
import AMQPReactor
import Foundation
import Testing

/// The Qpid Proton C example broker's own TLS (`Tools/interop/proton-c-broker.sh`:
/// Proton's SSL layer over OpenSSL, certificates made at the broker's start, TLS and
/// plaintext autodetected on one port), through the public API on both backends: a
/// verified round trip with a private CA, by address and by DNS name, TLS and plaintext
/// side by side on the port, and the bad set-ups each ending with its typed error well
/// before the wait's bound.
@Suite("Interop: Qpid Proton C broker over TLS", .serialized, .timeLimit(.minutes(3)))
struct ProtonCTLSInterop {
    /// `127.0.0.1:PORT` of the broker (TLS and plaintext alike), and the folder with
    /// `ca.pem` and `untrusted-ca.pem` (printed by `proton-c-broker.sh start`).
    struct Service: Sendable {
        let hostPort: String
        let certificates: String
        var caFile: String { certificates + "/ca.pem" }
        var untrustedCAFile: String { certificates + "/untrusted-ca.pem" }

        static let current: Service? = {
            let env = ProcessInfo.processInfo.environment
            guard let hostPort = env["AMQP_INTEROP_PROTON_C_TLS"], !hostPort.isEmpty,
                let certificates = env["AMQP_INTEROP_PROTON_C_TLS_CERTS"], !certificates.isEmpty
            else { return nil }
            return Service(hostPort: hostPort, certificates: certificates)
        }()
    }

    static let skipReason: Comment =
        "AMQP_INTEROP_PROTON_C_TLS and AMQP_INTEROP_PROTON_C_TLS_CERTS are not set: `make test` starts the Proton C broker with TLS (Tools/interop/services.sh start prints them)"

    static let backends = TLSInterop.backends

    static func service() throws -> Service { try #require(Service.current, skipReason) }

    /// Verified by the certificate's IP SAN (no SNI for an address); the broker takes
    /// ANONYMOUS only, the URL's default without a user.
    @Test(.enabled(if: Service.current != nil, skipReason), arguments: backends)
    func verifiedRoundTripWithAPrivateCA(backend: ReactorOptions.Backend) throws {
        let service = try Self.service()
        let (connection, reactor) = try TLSInterop.connection(
            "amqps://\(service.hostPort)", backend: backend, tls: .client(trust: .file(service.caFile)))
        defer { reactor.shutdown() }
        defer { connection.destroy() }
        try TLSInterop.roundTrip(connection, address: "tls-\(UUID().uuidString)", label: "proton c over tls")
    }

    /// The certificate names `localhost` as a DNS name too: verified and sent as SNI
    /// while the socket goes to 127.0.0.1.
    @Test(.enabled(if: Service.current != nil, skipReason), arguments: backends)
    func verifiedByDNSName(backend: ReactorOptions.Backend) throws {
        let service = try Self.service()
        let (connection, reactor) = try TLSInterop.connection(
            "amqps://\(service.hostPort)", backend: backend, tls: .client(serverName: "localhost", trust: .file(service.caFile)))
        defer { reactor.shutdown() }
        defer { connection.destroy() }
        try connection.waitUntilOpened(timeout: .seconds(20))
        let sender = try MessageSender(session: try Session(connection: connection), target: "tls-sni-\(UUID().uuidString)")
        #expect(try sender.send(Message(body: [1, 2, 3]), timeout: .seconds(20)) == .accepted)
    }

    /// The broker tells TLS from plaintext by the first bytes: a message sent over TLS
    /// is taken by a plaintext receiver on the same port, and one sent in plaintext by a
    /// TLS receiver.
    @Test(.enabled(if: Service.current != nil, skipReason), arguments: backends)
    func tlsAndPlaintextShareThePort(backend: ReactorOptions.Backend) throws {
        let service = try Self.service()
        let (secure, r1) = try TLSInterop.connection(
            "amqps://\(service.hostPort)", backend: backend, tls: .client(trust: .file(service.caFile)))
        defer { r1.shutdown() }
        defer { secure.destroy() }
        let (plain, r2) = try TLSInterop.connection("amqp://\(service.hostPort)", backend: backend, tls: nil)
        defer { r2.shutdown() }
        defer { plain.destroy() }
        let address = "shared-\(UUID().uuidString)"
        for (from, to, body) in [(secure, plain, "over TLS"), (plain, secure, "in plaintext")] {
            let sender = try MessageSender(session: try Session(connection: from), target: address)
            #expect(try sender.send(Message(body: Array(body.utf8)), timeout: .seconds(20)) == .accepted)
            let receiver = try MessageReceiver(session: try Session(connection: to), source: address, prefetch: 1, autoAccept: true)
            let got = try receiver.receive(maxCount: 1, timeout: .seconds(20))
            #expect(got.count == 1, "\(body)")
            if case .data(let sections)? = got.first?.message.body { #expect(sections.first == Array(body.utf8)) }
            else { Issue.record("\(body): no data body: \(got)") }
            receiver.close()
            sender.close()
        }
    }

    enum Bad: CaseIterable, Sendable, CustomStringConvertible {
        case wrongHost, untrustedCA
        var description: String {
            switch self {
            case .wrongHost: "wrong host name"
            case .untrustedCA: "untrusted CA"
            }
        }
    }

    @Test(.enabled(if: Service.current != nil, skipReason), arguments: backends, Bad.allCases)
    func badSetupsEndWithATypedError(backend: ReactorOptions.Backend, bad: Bad) throws {
        let service = try Self.service()
        let tls: TLSConfiguration =
            switch bad {
            case .wrongHost: .client(serverName: "wrong-host.example", trust: .file(service.caFile))
            case .untrustedCA: .client(trust: .file(service.untrustedCAFile))
            }
        let (connection, reactor) = try TLSInterop.connection("amqps://\(service.hostPort)", backend: backend, tls: tls)
        defer { reactor.shutdown() }
        defer { connection.destroy() }
        TLSInterop.expectOpenFails(connection, "\(bad)", wrongHost: bad == .wrongHost) { error in
            if bad == .untrustedCA { #expect(error.tls?.code == .certificateUntrusted, "\(error)") }
        }
    }

    /// Under `make test` and on CI the broker's TLS must be on too.
    @Test(.enabled(if: InteropEnvironmentTests.required, "interop services are optional outside `make test` and CI"))
    func tlsIsOnWhenRequired() throws {
        let service = try #require(Service.current, Self.skipReason)
        #expect(service.hostPort.hasPrefix("127.0.0.1:"), "\(service.hostPort)")
        #expect(service.hostPort == InteropPeerKind.protonC.hostPort, "TLS and plaintext share the broker's port")
        for file in [service.caFile, service.untrustedCAFile] {
            #expect(FileManager.default.isReadableFile(atPath: file), "\(file)")
        }
    }
}
