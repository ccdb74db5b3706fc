import AMQPCodec

/// The server side of SASL: offer mechanisms, hand the client's sasl-init (and any
/// responses) to the authenticator, send the outcome.
struct SASLServer {
    let mechanisms: [Symbol]
    let authenticator: any SASLAuthenticator
    let maxRounds: Int
    private(set) var chosen: Symbol? = nil
    private(set) var rounds = 0
    /// The identity the transport established (a verified TLS client certificate's
    /// subject), which EXTERNAL authenticates as; `nil` without one.
    var externalIdentity: String? = nil

    init(mechanisms: [Symbol], authenticator: any SASLAuthenticator, maxRounds: Int) {
        self.mechanisms = mechanisms
        self.authenticator = authenticator
        self.maxRounds = maxRounds
    }

    /// The first frame: the mechanisms we accept.
    var greeting: SASLPerformative { .saslMechanisms(SASLMechanisms(saslServerMechanisms: mechanisms)) }

    mutating func receive(_ p: SASLPerformative) -> SASLStep {
        switch p {
        case .saslInit(let i) where chosen == nil:
            guard mechanisms.contains(i.mechanism) else {
                return reject(.auth, "the client chose \(i.mechanism), which was not offered")
            }
            chosen = i.mechanism
            if i.mechanism == "EXTERNAL", let identity = externalIdentity {
                // The credentials are the transport's (RFC 4422 appendix A): the verified
                // certificate, not the client's say-so. Without one, EXTERNAL goes to
                // `authenticate` like any mechanism (which refuses it unless it knows the
                // transport some other way).
                let authzid = i.initialResponse.flatMap { String(validating: $0, as: UTF8.self) } ?? ""
                return decide(authenticator.authenticateExternal(identity: identity, authorizationID: authzid, hostname: i.hostname))
            }
            return decide(authenticator.authenticate(mechanism: i.mechanism, initialResponse: i.initialResponse, hostname: i.hostname))
        case .saslResponse(let r) where chosen != nil:
            return decide(authenticator.respond(mechanism: chosen!, response: r.response))
        default:
            return reject(.auth, "unexpected \(p.name) during SASL negotiation", condition: .illegalState)
        }
    }

    private mutating func decide(_ d: SASLDecision) -> SASLStep {
        switch d {
        case .accept(let identity):
            return .succeeded(send: .saslOutcome(SASLOutcome(code: .ok)), mechanism: chosen!, identity: identity)
        case .reject(let code):
            return reject(code == .ok ? .auth : code, "authentication with \(chosen!) failed")
        case .challenge(let bytes):
            rounds += 1
            guard rounds <= maxRounds else { return reject(.auth, "more than \(maxRounds) SASL rounds") }
            return .send(.saslChallenge(SASLChallenge(challenge: bytes)))
        }
    }

    private func reject(_ code: SASLCode, _ why: String, condition: ErrorCondition = .unauthorizedAccess) -> SASLStep {
        .failed(send: .saslOutcome(SASLOutcome(code: code)), error: EngineError(condition, why, origin: .local))
    }
}
