@testable import AMQP
import AMQPPeer
import Testing

/// CBS over a live `$cbs` link pair: a connection with token authentication against an
/// embedded peer whose `$cbs` node checks the tokens and guards an address.
@Suite struct CBSSessionTests {
    /// A peer that guards `secure` and accepts the token text `good`.
    func securePeer(seen: Locked<[String]>? = nil) throws -> PeerHost {
        try PeerHost {
            $0.cbs.protectedAddresses = ["secure"]
            $0.cbs.accepts = { request in
                seen?.withLock { $0.append(request.type) }
                return request.token == "good" || request.token.hasPrefix("SharedAccessSignature ")
            }
        }
    }

    @Test func sasTokenOpensTheProtectedAddress() async throws {
        let types = Locked<[String]>([])
        let peer = try securePeer(seen: types)
        defer { peer.stop() }
        let auth = TokenAuthentication.sas(audience: "amqp://127.0.0.1/secure", keyName: "send", key: "secret")
        let connection = try Connection(hostname: peer.hostname, tokenAuthentication: auth)
        defer { connection.destroy() }
        #expect(connection.authenticationStatus.description == "not started")

        let expiry = try await connection.authenticate()
        #expect(expiry > Timestamp.now())
        guard case .authenticated = connection.authenticationStatus else {
            Issue.record("status is \(connection.authenticationStatus)")
            return
        }
        #expect(types.withLock { $0 } == [CBSTokenType.sasToken.rawValue])
        let session = try Session(connection: connection)
        let sender = try MessageSender(session: session, target: "secure")
        #expect(try await sender.send(textMessage("for your eyes only")) == .accepted)
        #expect(peer.statistics?.tokensAccepted == 1)
    }

    @Test func withoutATokenTheAddressIsRefused() throws {
        let peer = try securePeer()
        defer { peer.stop() }
        let connection = try Connection(hostname: peer.hostname)
        defer { connection.destroy() }
        let session = try Session(connection: connection)
        let sender = try MessageSender(session: session, target: "secure")
        do {
            _ = try sender.send(textMessage("x"), timeout: .seconds(10))
            Issue.record("the send should fail")
        } catch {
            #expect(error.condition == .unauthorizedAccess)
        }
        // And asking a connection without token authentication to wait for it is misuse.
        #expect(throws: AMQPClientError.self) { try connection.waitUntilAuthenticated(timeout: .seconds(1)) }
    }

    @Test func refusedTokenIsATypedNonRetriedError() throws {
        let peer = try securePeer()
        defer { peer.stop() }
        let auth = TokenAuthentication(
            audience: "secure", provider: StaticTokenProvider(token("forged", validFor: 3600)))
        let connection = try Connection(hostname: peer.hostname, tokenAuthentication: auth)
        defer { connection.destroy() }
        do {
            try connection.waitUntilAuthenticated(timeout: .seconds(10))
            Issue.record("a forged token was accepted")
        } catch {
            #expect(error.kind == .tokenAuthFailure)
            #expect(error.statusCode == 401)
            #expect(error.condition == .unauthorizedAccess)
            #expect(!error.action.retry)
        }
        // The failure is the connection's error too, as the reference raises it from work().
        #expect(connection.error?.kind == .tokenAuthFailure)
        #expect(throws: AMQPClientError.self) { try connection.work() }
        #expect(peer.statistics?.tokensRefused == 1)
    }

    @Test func expiredTokenFromTheProviderIsTokenExpired() throws {
        let peer = try securePeer()
        defer { peer.stop() }
        let calls = Locked(0)
        let auth = TokenAuthentication.jwt(audience: "secure") { (_) throws -> CBSToken in
            calls.withLock { $0 += 1 }
            return token("good", validFor: -60)
        }
        // No retries: the first failure is final.
        let connection = try Connection(hostname: peer.hostname, errorPolicy: ErrorPolicy(maxRetries: 0), tokenAuthentication: auth)
        defer { connection.destroy() }
        do {
            try connection.waitUntilAuthenticated(timeout: .seconds(10))
            Issue.record("an expired token was put")
        } catch {
            #expect(error.kind == .tokenExpired)
        }
        #expect(calls.withLock { $0 } == 1)
        #expect(peer.statistics?.tokensAccepted == 0)
    }

    @Test func shortLivedTokenIsRefreshedBeforeItExpires() throws {
        let peer = try securePeer()
        defer { peer.stop() }
        let calls = Locked(0)
        // Three seconds of life, refreshed with half of it left.
        var auth = TokenAuthentication.jwt(audience: "amqp://127.0.0.1/secure") { (_) throws -> CBSToken in
            calls.withLock { $0 += 1 }
            return token("good", validFor: 3)
        }
        auth.refreshFraction = 0.5
        let connection = try Connection(hostname: peer.hostname, tokenAuthentication: auth)
        defer { connection.destroy() }
        let firstExpiry = try connection.waitUntilAuthenticated(timeout: .seconds(10))
        #expect(connection.acceptedTokenCount == 1)
        // The refresh is due about 1.5 s after the first token was accepted.
        #expect(eventually(within: 10) { connection.acceptedTokenCount >= 2 })
        // A deadline, not a poll loop: one provider call per token.
        #expect(calls.withLock { $0 } == connection.acceptedTokenCount)
        guard case .authenticated(let secondExpiry) = connection.authenticationStatus else {
            Issue.record("status is \(connection.authenticationStatus)")
            return
        }
        #expect(secondExpiry > firstExpiry)
        #expect((peer.statistics?.tokensAccepted ?? 0) >= 2)
        // The address stays usable after the refresh.
        let session = try Session(connection: connection)
        let sender = try MessageSender(session: session, target: "secure/orders")
        #expect(try sender.send(textMessage("after refresh"), timeout: .seconds(10)) == .accepted)
    }

    @Test func destroyEndsTheCBSSession() throws {
        let peer = try securePeer()
        defer { peer.stop() }
        let auth = TokenAuthentication(audience: "secure", provider: StaticTokenProvider(token("good", validFor: 3600)))
        let connection = try Connection(hostname: peer.hostname, tokenAuthentication: auth)
        try connection.waitUntilAuthenticated(timeout: .seconds(10))
        #expect(eventually { peer.withPeer { $0.connectionCount } == 1 })
        connection.destroy()
        #expect(connection.authenticationStatus.description == "not started")
        #expect(connection.error == nil)
        #expect(eventually { peer.withPeer { $0.connectionCount } == 0 })
    }

    @Test func manualReactorIsSteppedWhileWaiting() throws {
        let peer = try securePeer()
        defer { peer.stop() }
        let reactor = try ConnectionReactor.manual()
        let auth = TokenAuthentication.jwt(audience: "secure") { (_) throws -> CBSToken in token("good", validFor: 3600) }
        let connection = try Connection(hostname: peer.hostname, tokenAuthentication: auth, reactor: reactor)
        defer { connection.destroy() }
        // Nothing runs this reactor but the wait itself.
        let expiry = try connection.waitUntilAuthenticated(timeout: .seconds(10))
        #expect(expiry > Timestamp.now())
        #expect(connection.acceptedTokenCount == 1)
    }

    /// An async provider runs in a task; the async wait leaves the pool free for it (a
    /// blocking wait on a pool thread could starve it when the pool is busy).
    @Test func asyncProviderWithAsyncWait() async throws {
        let peer = try securePeer()
        defer { peer.stop() }
        let auth = TokenAuthentication.jwt(audience: "secure", fetchAsync: { _ in
            await Task.yield()
            return token("good", validFor: 3600)
        })
        let connection = try Connection(hostname: peer.hostname, tokenAuthentication: auth)
        defer { connection.destroy() }
        let expiry = try await connection.authenticate()
        #expect(expiry > Timestamp.now())
        #expect(connection.acceptedTokenCount == 1)
    }
}
