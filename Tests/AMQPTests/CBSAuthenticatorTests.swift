import AMQP
import Testing

@Suite("CBSAuthenticator")
struct CBSAuthenticatorTests {
    static let t0 = Timestamp(secondsSinceEpoch: 1_700_000_000)
    static let audience = "sb://ns.servicebus.windows.net/q"

    /// A fake wall clock.
    struct Clock {
        var now = CBSAuthenticatorTests.t0
        mutating func advance(_ d: Duration) { now = now.advanced(by: d) }
    }

    func token(expiring at: Timestamp, _ text: String = "tok") -> CBSToken {
        CBSToken(token: text, type: .sasToken, expiresAt: at)
    }

    func ok(_ id: UInt64, status: Int32 = 200) -> Message {
        Message(
            properties: MessageProperties(correlationID: .ulong(id)),
            applicationProperties: ["status-code": .int(status), "status-description": "OK"])
    }

    /// Runs an authenticator to its first accepted token (one hour, accepted 1 s after
    /// being sent) and returns it with the clock.
    func authenticated() throws -> (CBSAuthenticator, Clock) {
        var a = CBSAuthenticator(audience: Self.audience)
        var clock = Clock()
        guard case .requestToken = a.poll(now: clock.now) else { throw Failure("expected requestToken") }
        let m = try a.putToken(token(expiring: clock.now.advanced(by: .seconds(3600))), now: clock.now)
        #expect(m.properties?.messageID == .ulong(0))
        clock.advance(.seconds(1))
        guard case .accepted = a.receive(ok(0), now: clock.now) else { throw Failure("expected accepted") }
        return (a, clock)
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    @Test func firstPollAsksForATokenOnce() throws {
        var a = CBSAuthenticator(audience: Self.audience)
        #expect(a.state == .idle)
        #expect(!a.isAuthenticated)
        guard case .requestToken = a.poll(now: Self.t0) else { Issue.record("expected requestToken"); return }
        guard case .wait(let until) = a.poll(now: Self.t0), until == Self.t0.advanced(by: .seconds(60)) else { Issue.record("expected wait"); return }
        #expect(a.state == .awaitingToken(since: Self.t0, refreshing: false))
    }

    @Test func putTokenBuildsTheRequest() throws {
        var a = CBSAuthenticator(audience: Self.audience, replyTo: "cbs-1")
        _ = a.poll(now: Self.t0)
        let tok = token(expiring: Self.t0.advanced(by: .seconds(3600)), "SharedAccessSignature sr=x")
        let m = try a.putToken(tok, now: Self.t0)
        #expect(m == PutTokenRequest(token: tok, audience: Self.audience, messageID: .ulong(0), replyTo: "cbs-1").message)
        #expect(a.state == .awaitingResponse(messageID: .ulong(0), sentAt: Self.t0, refreshing: false))
        #expect(a.nextDeadline == Self.t0.advanced(by: .seconds(60)))
    }

    @Test func acceptedTokenIsRefreshedAtNinetyPercentOfItsLife() throws {
        var (a, clock) = try authenticated()
        let expires = Self.t0.advanced(by: .seconds(3600))
        // Accepted at t0 + 1 s with 3599 s left: refresh 359.9 s before expiry.
        let refreshAt = expires.advanced(by: .milliseconds(-359_900))
        #expect(a.state == .authenticated(expiresAt: expires, refreshAt: refreshAt))
        #expect(a.isAuthenticated)
        #expect(a.nextDeadline == refreshAt)
        #expect(a.current?.expiresAt == expires)

        clock.now = refreshAt.advanced(by: .milliseconds(-1))
        guard case .wait(let until) = a.poll(now: clock.now), until == refreshAt else { Issue.record("expected wait until refresh"); return }
        clock.now = refreshAt
        guard case .requestToken = a.poll(now: clock.now) else { Issue.record("expected requestToken at refreshAt"); return }
        // Still authenticated while the refresh is under way; the provider has a minute.
        #expect(a.isAuthenticated)
        #expect(a.nextDeadline == refreshAt.advanced(by: .seconds(60)))

        let next = clock.now.advanced(by: .seconds(3600))
        let m = try a.putToken(token(expiring: next, "tok2"), now: clock.now)
        #expect(m.properties?.messageID == .ulong(1))
        #expect(m.body == .value(.string("tok2")))
        clock.advance(.milliseconds(500))
        guard case .accepted(let e) = a.receive(ok(1, status: 202), now: clock.now) else { Issue.record("expected accepted"); return }
        #expect(e == next)
        let lifetime = next.millisecondsSinceEpoch - clock.now.millisecondsSinceEpoch
        #expect(a.state == .authenticated(expiresAt: next, refreshAt: Timestamp(millisecondsSinceEpoch: next.millisecondsSinceEpoch - lifetime / 10)))
    }

    @Test func refreshFractionIsConfigurable() throws {
        var a = CBSAuthenticator(audience: Self.audience, refreshFraction: 0.5)
        _ = a.poll(now: Self.t0)
        _ = try a.putToken(token(expiring: Self.t0.advanced(by: .seconds(100))), now: Self.t0)
        _ = a.receive(ok(0), now: Self.t0)
        #expect(a.nextDeadline == Self.t0.advanced(by: .seconds(50)))
    }

    @Test func noResponseWithinTheTimeoutFailsAndResetStartsOver() throws {
        var a = CBSAuthenticator(audience: Self.audience, responseTimeout: .seconds(30))
        var clock = Clock()
        _ = a.poll(now: clock.now)
        _ = try a.putToken(token(expiring: clock.now.advanced(by: .seconds(3600))), now: clock.now)
        clock.advance(.milliseconds(29_999))
        guard case .wait = a.poll(now: clock.now) else { Issue.record("expected wait"); return }
        clock.advance(.milliseconds(1))
        guard case .fail(let e) = a.poll(now: clock.now) else { Issue.record("expected fail"); return }
        #expect(e.kind == .timeout)
        #expect(e.action.retry)
        #expect(e.description.contains("no answer from the CBS node to put-token 0"))
        // Sticky until reset.
        guard case .fail = a.poll(now: clock.now) else { Issue.record("expected fail again"); return }
        #expect(a.state == .failed)
        // A late answer to the timed-out request is ignored.
        guard case .ignored = a.receive(ok(0), now: clock.now) else { Issue.record("expected ignored"); return }
        a.reset()
        guard case .requestToken = a.poll(now: clock.now) else { Issue.record("expected requestToken after reset"); return }
        let m = try a.putToken(token(expiring: clock.now.advanced(by: .seconds(60))), now: clock.now)
        #expect(m.properties?.messageID == .ulong(1))
    }

    @Test func rejectedTokenIsATypedErrorWithTheStatus() throws {
        var a = CBSAuthenticator(audience: Self.audience)
        _ = a.poll(now: Self.t0)
        _ = try a.putToken(token(expiring: Self.t0.advanced(by: .seconds(3600))), now: Self.t0)
        let response = Message(
            properties: MessageProperties(correlationID: .ulong(0)),
            applicationProperties: ["status-code": .int(401), "status-description": "InvalidSignature: The token has an invalid signature."])
        guard case .rejected(let e) = a.receive(response, now: Self.t0) else { Issue.record("expected rejected"); return }
        #expect(e.kind == .tokenAuthFailure)
        #expect(e.statusCode == 401)
        #expect(e.condition == .unauthorizedAccess)
        #expect(e.errorDescription == "InvalidSignature: The token has an invalid signature.")
        #expect(!e.action.retry)
        #expect(e.description == "TokenAuthFailure: the CBS node refused the token (status 401): amqp:unauthorized-access: \"InvalidSignature: The token has an invalid signature.\". The token does not grant access: check the key or credential, the audience (entity URI) and the claims (Send, Listen, Manage) (not retried)")
        guard case .fail(let again) = a.poll(now: Self.t0) else { Issue.record("expected fail"); return }
        #expect(again.statusCode == 401)
    }

    @Test func serverErrorsAreRetried() throws {
        var a = CBSAuthenticator(audience: Self.audience)
        _ = a.poll(now: Self.t0)
        _ = try a.putToken(token(expiring: Self.t0.advanced(by: .seconds(3600))), now: Self.t0)
        guard case .rejected(let e) = a.receive(ok(0, status: 503), now: Self.t0) else { Issue.record("expected rejected"); return }
        #expect(e.action.retry)
    }

    @Test func unrelatedMessagesAreIgnored() throws {
        var a = CBSAuthenticator(audience: Self.audience)
        guard case .ignored(let r0) = a.receive(ok(0), now: Self.t0) else { Issue.record("expected ignored"); return }
        #expect(r0 == "no put-token request is outstanding")
        _ = a.poll(now: Self.t0)
        _ = try a.putToken(token(expiring: Self.t0.advanced(by: .seconds(3600))), now: Self.t0)
        guard case .ignored(let r1) = a.receive(ok(5), now: Self.t0) else { Issue.record("expected ignored"); return }
        #expect(r1 == "correlation-id 5 does not match the outstanding request 0")
        let noCorrelation = Message(applicationProperties: ["status-code": .int(200)])
        guard case .ignored = a.receive(noCorrelation, now: Self.t0) else { Issue.record("expected ignored"); return }
        // Still waiting for the real answer.
        guard case .accepted = a.receive(ok(0), now: Self.t0) else { Issue.record("expected accepted"); return }
    }

    @Test func aSilentProviderIsAskedAgainUntilTheTokenExpires() throws {
        var (a, clock) = try authenticated()
        let expires = Self.t0.advanced(by: .seconds(3600))
        // Refresh at expires - 359.9 s; the provider never answers: asked again every
        // 60 s (6 times in all) until the token in force expires.
        var requests = 0
        var failure: AMQPClientError? = nil
        while failure == nil, let d = a.nextDeadline {
            clock.now = d
            switch a.poll(now: clock.now) {
            case .requestToken: requests += 1
            case .fail(let e): failure = e
            case .wait: break
            }
            #expect(a.isAuthenticated == (failure == nil))
        }
        #expect(requests == 6)
        #expect(clock.now == expires)
        let e = try #require(failure)
        #expect(e.kind == .tokenExpired)
        #expect(e.action.retry)
        #expect(e.errorDescription?.hasSuffix("; the last refresh failed: the token provider gave no token for \(Self.audience) within 60.0 seconds") == true)
        #expect(!a.isAuthenticated)
    }

    @Test func aRefreshAnsweredLateIsSentAgain() throws {
        var (a, clock) = try authenticated()
        clock.now = a.nextDeadline!
        _ = a.poll(now: clock.now)
        _ = try a.putToken(token(expiring: clock.now.advanced(by: .seconds(3600))), now: clock.now)
        clock.advance(.seconds(60))
        guard case .requestToken = a.poll(now: clock.now) else { Issue.record("expected a new requestToken"); return }
        // The answer to the abandoned request (id 1) is ignored; the new one (id 2) counts.
        let m = try a.putToken(token(expiring: clock.now.advanced(by: .seconds(3600))), now: clock.now)
        #expect(m.properties?.messageID == .ulong(2))
        guard case .ignored = a.receive(ok(1), now: clock.now) else { Issue.record("expected ignored"); return }
        guard case .accepted = a.receive(ok(2), now: clock.now) else { Issue.record("expected accepted"); return }
    }

    @Test func expiryIsCheckedWhileARefreshIsUnanswered() throws {
        var (a, clock) = try authenticated()
        let expires = Self.t0.advanced(by: .seconds(3600))
        // Refresh starts 30 s before expiry; the response time-out (60 s) would come later.
        clock.now = expires.advanced(by: .seconds(-30))
        _ = a.poll(now: clock.now)
        _ = try a.putToken(token(expiring: clock.now.advanced(by: .seconds(3600))), now: clock.now)
        #expect(a.nextDeadline == expires)
        clock.now = expires
        guard case .fail(let e) = a.poll(now: clock.now) else { Issue.record("expected fail"); return }
        #expect(e.kind == .tokenExpired)
    }

    @Test func putTokenOutOfTurnIsAClientError() {
        var a = CBSAuthenticator(audience: Self.audience)
        do {
            _ = try a.putToken(token(expiring: Self.t0.advanced(by: .seconds(10))), now: Self.t0)
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .clientError)
            #expect(!error.action.retry)
        }
        #expect(a.state == .idle)
    }

    @Test func anAlreadyExpiredTokenIsRefused() {
        var a = CBSAuthenticator(audience: Self.audience)
        _ = a.poll(now: Self.t0)
        do {
            _ = try a.putToken(token(expiring: Self.t0), now: Self.t0)
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .tokenExpired)
        }
        #expect(a.state == .failed)
    }

    @Test func aProviderThatNeverAnswersTimesOut() {
        var a = CBSAuthenticator(audience: Self.audience, responseTimeout: .seconds(10))
        _ = a.poll(now: Self.t0)
        guard case .wait = a.poll(now: Self.t0.advanced(by: .milliseconds(9_999))) else { Issue.record("expected wait"); return }
        guard case .fail(let e) = a.poll(now: Self.t0.advanced(by: .seconds(10))) else { Issue.record("expected fail"); return }
        #expect(e.kind == .timeout)
        #expect(e.errorDescription == "the token provider gave no token for \(Self.audience) within 10.0 seconds")
    }

    @Test func providerFailureIsReported() {
        var a = CBSAuthenticator(audience: Self.audience)
        _ = a.poll(now: Self.t0)
        a.tokenUnavailable("identity service returned 500")
        guard case .fail(let e) = a.poll(now: Self.t0) else { Issue.record("expected fail"); return }
        #expect(e.kind == .authentication)
        #expect(e.errorDescription == "the token provider failed: identity service returned 500")
    }

    @Test func drivesWithASASProviderEndToEnd() async throws {
        let clock = Clock()
        let provider = SASTokenProvider(keyName: "send", key: "secret", validity: .seconds(1200), clock: { CBSAuthenticatorTests.t0 })
        var a = CBSAuthenticator(audience: Self.audience)
        guard case .requestToken = a.poll(now: clock.now) else { Issue.record("expected requestToken"); return }
        let tok = try await provider.token(for: a.audience)
        let m = try a.putToken(tok, now: clock.now)
        #expect(m.applicationProperties?["expiration"] == .timestamp(Self.t0.advanced(by: .seconds(1200))))
        guard case .accepted = a.receive(ok(0), now: clock.now) else { Issue.record("expected accepted"); return }
        #expect(a.nextDeadline == Self.t0.advanced(by: .seconds(1080)))
    }
}
