import AMQP
import AMQPEngine
import Testing

@Suite("ConnectionSettings")
struct ConnectionSettingsTests {
    @Test func defaultsAreTheReferences() throws {
        let s = try ConnectionSettings(hostname: "broker.example.com")
        #expect(s.endpoint == AMQPEndpoint(scheme: .amqp, host: "broker.example.com", port: 5672))
        #expect(s.hostname == "broker.example.com")
        #expect(s.sasl == .anonymous())
        #expect(s.usesSASL)
        #expect(s.maxFrameSize == 63_488)
        #expect(s.channelMax == 65_535)
        #expect(s.idleTimeout == nil)
        #expect(s.properties == nil)
        #expect(s.remoteIdleTimeoutEmptyFrameSendRatio == 0.5)
        #expect(s.errorPolicy.maxRetries == 3)
        #expect(s.errorPolicy.onError == nil)
        #expect(!s.debug)
        #expect(s.encoding == "UTF-8")
    }

    @Test func containerIDDefaultsToARandomUUID() throws {
        let a = try ConnectionSettings(hostname: "h").containerID
        let b = try ConnectionSettings(hostname: "h").containerID
        #expect(a != b)
        for id in [a, b] {
            let parts = id.split(separator: "-").map(\.count)
            #expect(parts == [8, 4, 4, 4, 12], "\(id) is not a UUID string")
            #expect(Array(id.utf8)[14] == UInt8(ascii: "4"), "\(id) is not version 4")
        }
        // The reference treats a falsy container id as absent.
        #expect(try ConnectionSettings(hostname: "h", containerID: "").containerID.count == 36)
        #expect(try ConnectionSettings(hostname: "h", containerID: "my-app").containerID == "my-app")
    }

    @Test func everyParameterIsKept() throws {
        let policy = ErrorPolicy(maxRetries: 7)
        let s = try ConnectionSettings(
            hostname: "amqp://h:6000", sasl: .plain(username: "u", password: "p"), containerID: "c",
            maxFrameSize: 512, channelMax: 9, idleTimeout: 120_000, properties: ["product": "swift-amqp"],
            remoteIdleTimeoutEmptyFrameSendRatio: 1, errorPolicy: policy, debug: true, encoding: "utf8")
        #expect(s.endpoint.port == 6000)
        #expect(s.sasl == .plain(username: "u", password: "p"))
        #expect(s.containerID == "c")
        #expect(s.maxFrameSize == 512)
        #expect(s.channelMax == 9)
        #expect(s.idleTimeout == 120_000)
        #expect(s.properties == ["product": "swift-amqp"])
        #expect(s.remoteIdleTimeoutEmptyFrameSendRatio == 1)
        #expect(s.errorPolicy.maxRetries == 7)
        #expect(s.debug)
        #expect(s.encoding == "UTF-8")
    }

    @Test func zeroIdleTimeoutMeansNone() throws {
        #expect(try ConnectionSettings(hostname: "h", idleTimeout: 0).idleTimeout == nil)
    }

    @Test(arguments: [UInt32(0), 1, 511])
    func maxFrameSizeBelow512IsRefused(size: UInt32) {
        #expect(throws: ConfigurationError.self) { try ConnectionSettings(hostname: "h", maxFrameSize: size) }
        let e = settingsError { () throws(ConfigurationError) in try ConnectionSettings(hostname: "h", maxFrameSize: size) }
        #expect(e?.code == .maxFrameSizeTooSmall)
        #expect(e?.setting == "maxFrameSize")
    }

    @Test(arguments: [0.0, -0.5, 1.0001, 2, .nan, .infinity])
    func emptyFrameRatioOutsideZeroToOneIsRefused(ratio: Double) {
        let e = settingsError { () throws(ConfigurationError) in try ConnectionSettings(hostname: "h", remoteIdleTimeoutEmptyFrameSendRatio: ratio) }
        #expect(e?.code == .invalidEmptyFrameSendRatio)
    }

    @Test(arguments: [0.001, 0.5, 1.0])
    func emptyFrameRatioInsideIsKept(ratio: Double) throws {
        #expect(try ConnectionSettings(hostname: "h", remoteIdleTimeoutEmptyFrameSendRatio: ratio).remoteIdleTimeoutEmptyFrameSendRatio == ratio)
    }

    @Test(arguments: ["UTF-8", "utf-8", "utf8", "Utf8"])
    func utf8IsAccepted(name: String) throws {
        #expect(try ConnectionSettings(hostname: "h", encoding: name).encoding == "UTF-8")
    }

    @Test(arguments: ["latin-1", "UTF-16", "ascii", ""])
    func otherEncodingsAreRefused(name: String) {
        let e = settingsError { () throws(ConfigurationError) in try ConnectionSettings(hostname: "h", encoding: name) }
        #expect(e?.code == .unsupportedEncoding)
        #expect(e?.description.contains("AMQP strings are UTF-8") == true)
    }

    @Test func amqpsMeansVerifiedTLSOnPort5671() throws {
        let s = try ConnectionSettings(hostname: "amqps://ns.servicebus.windows.net")
        #expect(s.endpoint.port == 5671)
        let tls = try #require(s.effectiveTLS)
        #expect(tls.role == .client)
        #expect(tls.verification == .full)
        #expect(tls.trust == .system)
        #expect(tls.serverName == "ns.servicebus.windows.net")
        #expect(try ConnectionSettings(hostname: "amqp://h").effectiveTLS == nil)
        // An explicit configuration wins, also over amqp:// (the AMQP TLS header on 5672).
        var header = TLSConfiguration.client(trust: .file("/ca.pem"))
        header.start = .afterProtocolHeader
        let explicit = try ConnectionSettings(hostname: "amqp://h", tls: header)
        #expect(explicit.effectiveTLS?.start == .afterProtocolHeader)
        #expect(explicit.effectiveTLS?.serverName == "h")
    }

    @Test func aServerTLSConfigurationIsRefused() {
        let server = TLSConfiguration.server(certificate: .init(chainFile: "s.pem", keyFile: "s.key"))
        let e = settingsError { () throws(ConfigurationError) in try ConnectionSettings(hostname: "amqps://h", tls: server) }
        #expect(e?.code == .invalidTLS)
        #expect(e?.setting == "tls")
    }

    @Test func propertyKeysMustBeASCIISymbols() {
        let e = settingsError { () throws(ConfigurationError) in try ConnectionSettings(hostname: "h", properties: [Symbol("clé"): "v"]) }
        #expect(e?.code == .invalidProperties)
    }

    @Test func stringKeyedPropertiesBecomeSymbols() throws {
        let f = Fields(stringKeys: ["version": "1.0", "product": "swift-amqp"])
        #expect(f.entries.map(\.key) == [Symbol("product"), Symbol("version")])
        let open = Open(containerID: "c", properties: f)
        let bytes = try AMQPEncoder.encode { (e) throws(EncodeError) in try open.encode(into: &e) }
        // The keys go out as symbols (0xa3), not strings (0xa1) as the reference sent them.
        let product = Array("product".utf8)
        let at = try #require(bytes.indices.first { Array(bytes[$0..<min($0 + product.count, bytes.count)]) == product })
        #expect(bytes[at - 2] == 0xa3)
    }

    @Test func urlUserInfoBecomesPlainCredentials() throws {
        let s = try ConnectionSettings(hostname: "amqp://alice:s%40cret@broker:5672")
        #expect(s.sasl == .plain(username: "alice", password: "s@cret"))
        // Explicit credentials win.
        let t = try ConnectionSettings(hostname: "amqp://alice:x@broker", sasl: .external())
        #expect(t.sasl == .external())
    }

    @Test func settingsChangedLaterAreCheckedAgain() throws {
        var s = try ConnectionSettings(hostname: "h")
        s.maxFrameSize = 100
        #expect(settingsError { () throws(ConfigurationError) in try s.validate() }?.code == .maxFrameSizeTooSmall)
        #expect(settingsError { () throws(ConfigurationError) in _ = try s.engineConfiguration() }?.code == .maxFrameSizeTooSmall)
    }

    @Test func engineConfigurationCarriesEverySetting() throws {
        var s = try ConnectionSettings(
            hostname: "amqp://u:p@broker.example.com:5673", containerID: "c1", maxFrameSize: 4096, channelMax: 7,
            idleTimeout: 30_000, properties: ["product": "x"], remoteIdleTimeoutEmptyFrameSendRatio: 0.25, debug: true)
        var c = try s.engineConfiguration()
        #expect(c.role == .client)
        #expect(c.containerID == "c1")
        #expect(c.hostname == "broker.example.com")
        #expect(c.maxFrameSize == 4096)
        #expect(c.channelMax == 7)
        #expect(c.idleTimeout == 30_000)
        #expect(c.emptyFrameSendRatio == 0.25)
        #expect(c.properties == ["product": "x"])
        #expect(c.trace)
        guard case .client(let creds)? = c.sasl else {
            Issue.record("expected client SASL, got \(String(describing: c.sasl))")
            return
        }
        #expect(creds == .plain(username: "u", password: "p"))
        #expect(c.validate() == nil)
        s.usesSASL = false
        c = try s.engineConfiguration()
        #expect(c.sasl == nil)
    }

    @Test func saslAlternativesFollowTheCredentialsInOrder() throws {
        var s = try ConnectionSettings(hostname: "amqps://broker.example.com", sasl: .external())
        s.saslAlternatives = [.plain(username: "u", password: "p"), .anonymous()]
        let c = try s.engineConfiguration()
        guard case .clientPreferring(let preferences)? = c.sasl else {
            Issue.record("expected a client preference list, got \(String(describing: c.sasl))")
            return
        }
        #expect(preferences == [.external(), .plain(username: "u", password: "p"), .anonymous()])
        #expect(c.validate() == nil)
        // Credentials given with a redirect were chosen for the new host: the old
        // alternatives do not follow them there; without new credentials they do.
        let r = RedirectInfo(condition: .connectionRedirect, hostname: "other.example.com", networkHost: "other.example.com", port: 5671)
        #expect(s.redirected(to: r).saslAlternatives == s.saslAlternatives)
        let t = s.redirected(to: r, sasl: .plain(username: "v", password: "q"))
        #expect(t.saslAlternatives.isEmpty)
        guard case .client(let creds)? = try t.engineConfiguration().sasl else {
            Issue.record("expected single client credentials after the redirect")
            return
        }
        #expect(creds == .plain(username: "v", password: "q"))
    }

    @Test func anEmptyClientPreferenceListIsRefused() {
        var c = ConnectionConfiguration(role: .client, containerID: "c")
        c.sasl = .clientPreferring([])
        #expect(c.validate() == "a SASL client needs credentials for at least one mechanism")
        c.sasl = .clientPreferring([.anonymous()])
        #expect(c.validate() == nil)
    }

    @Test func redirectedSettingsKeepEverythingButTheTarget() throws {
        let s = try ConnectionSettings(hostname: "amqp://broker:5672", containerID: "c", maxFrameSize: 1024, idleTimeout: 5000)
        let r = RedirectInfo(condition: .connectionRedirect, hostname: "vhost.example.com", networkHost: "10.1.2.3", port: 5680)
        let t = s.redirected(to: r)
        #expect(t.endpoint == AMQPEndpoint(scheme: .amqp, host: "10.1.2.3", port: 5680))
        #expect(t.hostname == "vhost.example.com")
        #expect(t.containerID == "c")
        #expect(t.maxFrameSize == 1024)
        #expect(t.idleTimeout == 5000)
        #expect(try t.engineConfiguration().hostname == "vhost.example.com")
    }

    @Test func connectionStateKeepsTheReferencesNumbers() {
        let expected: [(ConnectionState, Int, String)] = [
            (.start, 0, "START"), (.headerReceived, 1, "HDR_RCVD"), (.headerSent, 2, "HDR_SENT"),
            (.headerExchanged, 3, "HDR_EXCH"), (.openPipe, 4, "OPEN_PIPE"), (.openClosePipe, 5, "OC_PIPE"),
            (.openReceived, 6, "OPEN_RCVD"), (.openSent, 7, "OPEN_SENT"), (.closePipe, 8, "CLOSE_PIPE"),
            (.opened, 9, "OPENED"), (.closeReceived, 10, "CLOSE_RCVD"), (.closeSent, 11, "CLOSE_SENT"),
            (.discarding, 12, "DISCARDING"), (.end, 13, "END"), (.error, 14, "ERROR"),
        ]
        #expect(ConnectionState.allCases.count == expected.count)
        for (state, value, name) in expected {
            #expect(state.rawValue == value)
            #expect(state.description == name)
            #expect(ConnectionState(rawValue: value) == state)
        }
    }
}

/// The `ConfigurationError` `body` throws, or nil.
func settingsError<T>(_ body: () throws(ConfigurationError) -> T) -> ConfigurationError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}
