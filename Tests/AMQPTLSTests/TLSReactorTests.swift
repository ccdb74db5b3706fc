import AMQPCodec
import AMQPEngine
import AMQPReactor
import AMQPTLS
import Testing

/// Client and listener engines over TLS on a real reactor (loopback), both backends.
@Suite struct TLSReactorTests {
    func serverContext(_ chain: (chain: String, key: String), clients: TLSConfiguration.Verification = .none) throws -> TLSContext {
        let certs = try certificates()
        return try TLSContext(.server(certificate: .init(chainFile: chain.chain, keyFile: chain.key), clients: clients, trust: .file(certs.caFile)))
    }

    func clientContext(start: TLSConfiguration.Start = .immediately, certificate: Bool = false) throws -> TLSContext {
        let certs = try certificates()
        var c = TLSConfiguration.client(trust: .file(certs.caFile))
        c.start = start
        if certificate { c.certificate = .init(chainFile: certs.client.chain, keyFile: certs.client.key) }
        return try TLSContext(c)
    }

    @Test(arguments: tlsBackends, [TLSConfiguration.Start.immediately, .afterProtocolHeader])
    func messagesFlowOverTLS(backend: ReactorOptions.Backend, start: TLSConfiguration.Start) throws {
        let h = try TLSHarness(backend: backend)
        h.messages = 300
        h.payload = (0..<3000).map { UInt8(truncatingIfNeeded: $0) }
        let address = try h.listen(tls: try serverContext(try certificates().server))
        let id = try h.connect(to: address, tls: try clientContext(start: start))
        try h.pump("300 outcomes and a clean close") { h.log(id).isClosed && h.serverLogs.allSatisfy(\.isClosed) && !h.serverLogs.isEmpty }
        let client = h.log(id)
        #expect(client.outcomes == 300)
        #expect(client.closed! == nil)
        #expect(client.engineClosed! == nil)
        let server = try #require(h.serverLogs.first)
        #expect(server.delivered == 300)
        #expect(server.deliveredBytes == 300 * 3000)
        // One-frame deliveries are parsed where OpenSSL decrypted them (those the sender
        // split at the end of a write are reassembled, as without TLS).
        #expect(server.deliveredInPlace > 150)
        #expect(server.closed! == nil)
        let session = try #require(h.clientSessions[id])
        #expect(session.failure == nil)
        #expect(session.peer?.version == "TLSv1.3")
        #expect(session.peer?.verifiedSubject == "CN=localhost")
        #expect(h.serverSessions.first?.peer?.verifiedSubject == nil)
        // SNI: the client named the host it verifies.
        #expect(h.serverSessions.first?.peer?.requestedServerName == "localhost")
    }

    @Test(arguments: tlsBackends)
    func largeMessagesSpanRecordsAndFrames(backend: ReactorOptions.Backend) throws {
        let h = try TLSHarness(backend: backend)
        h.messages = 8
        h.payload = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let address = try h.listen(tls: try serverContext(try certificates().server))
        let id = try h.connect(to: address, tls: try clientContext())
        try h.pump("8 large outcomes") { h.log(id).isClosed }
        #expect(h.log(id).outcomes == 8)
        #expect(h.log(id).closed! == nil)
        #expect(h.serverLogs.first?.deliveredBytes == 8 * 200_000)
    }

    /// The listener sends large messages to a TLS client with little credit: the middle
    /// frames of each make no events, so the client's decrypted ring fills without any
    /// (the reactor must deliver anyway, `isWaitingForDelivery`, to free it; the Proton
    /// broker test is the one whose timing broke that before the fix).
    @Test(arguments: tlsBackends)
    func largeMessagesToATLSClient(backend: ReactorOptions.Backend) throws {
        let h = try TLSHarness(backend: backend)
        h.clientReceives = true
        h.messages = 12
        h.payload = (0..<180_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let address = try h.listen(tls: try serverContext(try certificates().server))
        let id = try h.connect(to: address, tls: try clientContext())
        try h.pump("12 large messages received", within: 20) { h.log(id).isClosed }
        #expect(h.log(id).delivered == 12)
        #expect(h.log(id).corrupted == 0)
        #expect(h.log(id).closed! == nil)
    }

    @Test(arguments: tlsBackends)
    func saslExternalAuthenticatesTheClientCertificate(backend: ReactorOptions.Backend) throws {
        let h = try TLSHarness(backend: backend)
        h.messages = 3
        let sasl = SASLConfiguration.server(mechanisms: ["EXTERNAL"], authenticator: RejectEverythingElse())
        let address = try h.listen(tls: try serverContext(try certificates().server, clients: .requiredClientCertificate), sasl: sasl)
        let id = try h.connect(to: address, tls: try clientContext(certificate: true), sasl: .external())
        try h.pump("an authenticated exchange") { h.log(id).isClosed }
        #expect(h.log(id).outcomes == 3)
        #expect(h.serverLogs.first?.identity == (try certificates().clientSubject))
        #expect(h.serverSessions.first?.peer?.verifiedSubject == (try certificates().clientSubject))
    }

    @Test(arguments: tlsBackends)
    func saslExternalWithoutACertificateIsRefused(backend: ReactorOptions.Backend) throws {
        let h = try TLSHarness(backend: backend)
        h.messages = 1
        let sasl = SASLConfiguration.server(mechanisms: ["EXTERNAL"], authenticator: RejectEverythingElse())
        let address = try h.listen(tls: try serverContext(try certificates().server), sasl: sasl)
        let id = try h.connect(to: address, tls: try clientContext(), sasl: .external())
        try h.pump("the client's end") { h.log(id).isClosed }
        let error = try #require(h.log(id).engineClosed ?? nil)
        #expect(error.condition == .unauthorizedAccess)
        #expect(h.log(id).remoteOpen == false)
    }

    /// Each bad set-up ends the client with the TLS error that names it, within the
    /// wait's bound, and the listener's side ends too.
    @Test(arguments: tlsBackends, BadSetup.allCases)
    func badSetupsFailWithTheirError(backend: ReactorOptions.Backend, setup: BadSetup) throws {
        let certs = try certificates()
        let h = try TLSHarness(backend: backend)
        let server: TLSContext?
        switch setup {
        case .expiredCertificate: server = try serverContext(certs.expired)
        case .untrustedCertificate: server = try serverContext(certs.untrusted)
        case .wrongHost: server = try serverContext(certs.wrongHost)
        case .plaintextServer: server = nil
        case .plaintextClient, .clientWithoutCertificate, .clientCertificateUntrusted:
            server = try serverContext(certs.server, clients: .requiredClientCertificate)
        case .serverWithoutTLSHeader: server = nil
        }
        let address = try h.listen(tls: server)
        let client: TLSContext?
        switch setup {
        case .plaintextClient: client = nil
        case .serverWithoutTLSHeader: client = try clientContext(start: .afterProtocolHeader)
        case .clientCertificateUntrusted:
            client = try TLSContext(.client(
                trust: .file(certs.caFile), certificate: .init(chainFile: certs.untrusted.chain, keyFile: certs.untrusted.key)))
        default: client = try clientContext()
        }
        let id = try h.connect(to: address, tls: client)
        try h.pump("both ends closed") { h.log(id).isClosed && !h.serverLogs.isEmpty && h.serverLogs.allSatisfy(\.isClosed) }
        let log = h.log(id)
        #expect(log.remoteOpen == false)
        let engineError = try #require(log.engineClosed ?? nil)
        if setup == .plaintextClient {
            // A client without TLS sees the listener's AMQP TLS header: the engine names it.
            #expect(engineError.origin == .transport)
            let serverFailure = try #require(h.serverSessions.first?.failure)
            #expect(serverFailure.code == .plaintextPeer)
            return
        }
        let failure = try #require(h.clientSessions[id]?.failure)
        #expect(failure.code == setup.expected, "\(failure)")
        #expect(engineError.description.contains(failure.description), "\(engineError)")
    }

    enum BadSetup: CaseIterable, Sendable {
        case expiredCertificate, untrustedCertificate, wrongHost, plaintextServer, plaintextClient
        case clientWithoutCertificate, clientCertificateUntrusted, serverWithoutTLSHeader

        var expected: TLSError.Code {
            switch self {
            case .expiredCertificate: .certificateExpired
            case .untrustedCertificate: .certificateUntrusted
            case .wrongHost: .hostnameMismatch
            case .plaintextServer: .plaintextPeer
            case .plaintextClient: .plaintextPeer
            case .clientWithoutCertificate, .clientCertificateUntrusted: .peerRejectedCertificate
            case .serverWithoutTLSHeader: .protocolHeaderMismatch
            }
        }
    }
}

/// Offers only EXTERNAL; anything else is refused.
struct RejectEverythingElse: SASLAuthenticator {
    func authenticate(mechanism: Symbol, initialResponse: [UInt8]?, hostname: String?) -> SASLDecision { .reject(.auth) }
}
