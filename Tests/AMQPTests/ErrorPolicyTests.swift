import AMQP
import AMQPEngine
import Synchronization
import Testing

@Suite("ErrorPolicy and AMQPClientError")
struct ErrorPolicyTests {
    static let noRetry: [ErrorCondition] = [
        "amqp:decode-error", "amqp:link:message-size-exceeded", "amqp:not-found", "amqp:not-implemented",
        "amqp:link:redirect", "amqp:not-allowed", "amqp:unauthorized-access", "amqp:link:stolen",
        "amqp:resource-limit-exceeded", "amqp:connection:redirect", "amqp:precondition-failed",
        "amqp:invalid-field", "amqp:resource-deleted", "amqp:illegal-state", "amqp:frame-size-too-small",
        "amqp:connection:framing-error", "amqp:session:unattached-handle", "amqp:session:handle-in-use",
        "amqp:session:errant-link", "amqp:session:window-violation",
    ].map { ErrorCondition(Symbol($0)) }

    @Test func theNoRetrySetIsTheReferences() {
        #expect(ErrorPolicy.noRetryConditions == Set(Self.noRetry))
    }

    @Test(arguments: noRetry)
    func noRetryConditionsAreNotRetried(condition: ErrorCondition) {
        let p = ErrorPolicy()
        let remote = EngineError(condition, "from the peer", origin: .remote)
        #expect(p.connectionError(remote).action.retry == false)
        #expect(p.linkError(remote).action.retry == false)
        #expect(p.sessionError(remote).action.retry == false)
        #expect(p.sendError(remote.error).action.retry == false)
        #expect(p.connectionError(remote).description.hasSuffix("(not retried)"))
    }

    @Test(arguments: ["amqp:connection:forced", "amqp:internal-error", "amqp:link:detach-forced", "amqp:resource-locked", "amqp:unknown-error"])
    func otherStandardConditionsAreRetried(name: String) {
        let p = ErrorPolicy()
        let e = EngineError(ErrorCondition(Symbol(name)), "x", origin: .remote)
        #expect(p.connectionError(e).kind == .connectionClose)
        #expect(p.connectionError(e).action == .retry)
        #expect(p.linkError(e).kind == .linkDetach)
        #expect(p.linkError(e).action == .retry)
        #expect(p.sendError(e.error).kind == .messageSendFailed)
        #expect(p.sendError(e.error).action == .retry)
    }

    @Test func vendorConditionsMapToVendorKindsAndRetry() {
        let p = ErrorPolicy()
        let busy = EngineError(ErrorCondition("com.microsoft:server-busy"), "The server is busy.", origin: .remote)
        let c = p.connectionError(busy)
        #expect(c.kind == .vendorConnectionClose)
        #expect(c.isVendor)
        #expect(c.action.retry)
        #expect(p.linkError(busy).kind == .vendorLinkDetach)
        #expect(p.sendError(busy.error).kind == .messageException)
        #expect(c.description == "VendorConnectionClose: the peer closed the connection: com.microsoft:server-busy: \"The server is busy.\". This is a broker-specific condition: see the broker's documentation for com.microsoft:server-busy (retrying: retry)")
    }

    @Test func errorsCarryConditionDescriptionInfoAndOrigin() {
        let info: Fields = ["com.microsoft:tracking-id": "abc"]
        let e = ErrorPolicy().linkError(EngineError(.notFound, "The messaging entity 'sb://ns/q' could not be found.", origin: .remote, info: info))
        #expect(e.kind == .linkDetach)
        #expect(e.condition == .notFound)
        #expect(e.errorDescription == "The messaging entity 'sb://ns/q' could not be found.")
        #expect(e.info == info)
        #expect(e.origin == .remote)
        #expect(e.amqpError == AMQPError(condition: .notFound, description: "The messaging entity 'sb://ns/q' could not be found.", info: info))
        #expect(e.description == "LinkDetach: the peer detached the link: amqp:not-found: \"The messaging entity 'sb://ns/q' could not be found.\". The addressed node does not exist: check the address (queue, topic or entity path) and that it was created (not retried)")
    }

    @Test func noErrorMessageSaysUnexpectedErrorState() {
        let p = ErrorPolicy()
        var all: [AMQPClientError] = [p.connectionClosedByPeer(), p.timeoutError("x"), p.clientError("x"), p.tokenError(statusCode: 401, description: nil)]
        for c in Self.noRetry + [.connectionForced, .internalError, ErrorCondition("x:y")] {
            all.append(p.connectionError(EngineError(c, "d", origin: .local)))
            all.append(p.linkError(EngineError(c, "d", origin: .remote)))
        }
        for e in all {
            #expect(!e.description.contains("unexpected error state"))
            #expect(!e.advice.isEmpty)
        }
    }

    @Test func aCloseWithoutErrorIsRetriedAndSaysSo() {
        let e = ErrorPolicy().connectionClosedByPeer()
        #expect(e.kind == .connectionClose)
        #expect(e.condition == .connectionForced)
        #expect(e.action.retry)
        #expect(e.description.contains("without giving a reason"))
    }

    @Test func localResourceLimitOnAConnectionIsRetriedButTheRemoteOneIsNot() {
        let p = ErrorPolicy()
        let local = p.connectionError(EngineError(.resourceLimitExceeded, "local idle time-out expired: no frame received for 1000 ms", origin: .local))
        #expect(local.action.retry)
        let quota = p.connectionError(EngineError(.resourceLimitExceeded, "quota exceeded", origin: .remote))
        #expect(!quota.action.retry)
        // On a link the reference's rule holds whoever raised it.
        #expect(!p.linkError(EngineError(.resourceLimitExceeded, "x", origin: .local)).action.retry)
    }

    @Test func redirectsCarryTheirTarget() throws {
        let info: Fields = ["hostname": "h.example.com", "network-host": "10.0.0.1", "port": .int(5671)]
        let c = ErrorPolicy().connectionError(EngineError(AMQPError(condition: .connectionRedirect, info: info), origin: .remote))
        #expect(c.kind == .connectionRedirect)
        #expect(!c.action.retry)
        let r = try #require(c.redirect)
        #expect(r.connectHost == "10.0.0.1")
        #expect(r.port == 5671)
        #expect(c.advice == "connect to 10.0.0.1:5671 instead (Connection.redirect)")

        let l = ErrorPolicy().linkError(EngineError(AMQPError(condition: .linkRedirect), origin: .remote))
        #expect(l.kind == .linkRedirect)
        #expect(l.redirect == nil)
        #expect(l.redirectProblem?.code == .missingInfo)
        #expect(l.description.contains("could not be read"))
    }

    @Test func saslOutcomesDecideRetry() {
        let p = ErrorPolicy()
        #expect(p.authenticationError(code: .auth).action.retry == false)
        #expect(p.authenticationError(code: .sysPerm).action.retry == false)
        #expect(p.authenticationError(code: .sys).action.retry)
        #expect(p.authenticationError(code: .sysTemp).action.retry)
        let e = p.authenticationError(code: .auth, EngineError(.unauthorizedAccess, "SASL authentication failed: bad credentials (sasl-code auth)", origin: .remote))
        #expect(e.kind == .authentication)
        #expect(e.saslCode == .auth)
        #expect(e.condition == .unauthorizedAccess)
        #expect(e.advice == "check the SASL mechanism, user name and password")
    }

    @Test func tokenStatusCodesDecideConditionAndRetry() {
        let p = ErrorPolicy()
        let cases: [(Int, ErrorCondition, Bool)] = [
            (400, .invalidField, false), (401, .unauthorizedAccess, false), (403, .unauthorizedAccess, false),
            (404, .notFound, false), (500, .internalError, true), (503, .internalError, true), (429, .internalError, true),
        ]
        for (status, condition, retry) in cases {
            let e = p.tokenError(statusCode: status, description: "d")
            #expect(e.kind == .tokenAuthFailure)
            #expect(e.statusCode == status)
            #expect(e.condition == condition)
            #expect(e.action.retry == retry, "status \(status)")
        }
    }

    @Test func timeoutsAndExpiryRetryConfigurationAndMisuseDoNot() throws {
        let p = ErrorPolicy()
        #expect(p.timeoutError("x").action.retry)
        #expect(p.timeoutError("x").kind == .timeout)
        #expect(!p.clientError("x").action.retry)
        let config = ConfigurationError(.maxFrameSizeTooSmall, setting: "maxFrameSize", detail: "100 is below 512")
        let e = p.configurationError(config)
        #expect(e.kind == .configuration)
        #expect(!e.action.retry)
        #expect(e.errorDescription == "maxFrameSize: 100 is below 512")
    }

    @Test func onErrorSeesEveryErrorWithItsDefaultAction() {
        let seen = Mutex<[String]>([])
        let p = ErrorPolicy(maxRetries: 5) { error in
            seen.withLock { $0.append("\(error.kind):\(error.condition):\(error.action.retry)") }
            if error.condition == .notFound { return ErrorAction(retry: true, backoff: .seconds(2), incrementRetries: false) }
            return error.action
        }
        let nf = p.linkError(EngineError(.notFound, "x", origin: .remote))
        #expect(nf.action == ErrorAction(retry: true, backoff: .seconds(2), incrementRetries: false))
        #expect(nf.description.hasSuffix("(retrying: retry after 2.0 seconds (uncounted))"))
        let forced = p.connectionError(EngineError(.connectionForced, "x", origin: .remote))
        #expect(forced.action == .retry)
        // Unlike the reference, onError is asked about standard conditions too.
        #expect(seen.withLock { $0 } == ["LinkDetach:amqp:not-found:false", "ConnectionClose:amqp:connection:forced:true"])
        #expect(p.defaultAction(for: nf) == .fail)
    }

    @Test func maxRetriesBoundsCountedRetries() {
        let p = ErrorPolicy()
        let forced = p.connectionError(EngineError(.connectionForced, "x", origin: .remote))
        var retries = 0
        var attempts = 1
        while p.nextRetry(after: forced, retries: &retries) != nil { attempts += 1 }
        #expect(retries == 3)
        #expect(attempts == 4)  // the first try and three retries, as the reference

        let fatal = p.linkError(EngineError(.notFound, "x", origin: .remote))
        retries = 0
        #expect(p.nextRetry(after: fatal, retries: &retries) == nil)
        #expect(retries == 0)

        let zero = ErrorPolicy(maxRetries: 0)
        retries = 0
        #expect(zero.nextRetry(after: zero.classified(forced), retries: &retries) == nil)
    }

    @Test func uncountedRetriesDoNotUseUpTheBudgetAndBackoffIsReturned() {
        let p = ErrorPolicy(maxRetries: 1) { _ in ErrorAction(retry: true, backoff: .milliseconds(250), incrementRetries: false) }
        let e = p.connectionError(EngineError(.connectionForced, "x", origin: .remote))
        var retries = 0
        for _ in 0..<10 { #expect(p.nextRetry(after: e, retries: &retries) == .milliseconds(250)) }
        #expect(retries == 0)
    }

    @Test func errorActionDefaults() {
        let a = ErrorAction(retry: true)
        #expect(a.backoff == .zero)
        #expect(a.incrementRetries)
        #expect(ErrorAction.fail.retry == false)
        #expect(ErrorAction.fail.description == "fail")
    }
}
