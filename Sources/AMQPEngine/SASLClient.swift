import AMQPCodec

/// What one SASL step asks the connection to do.
enum SASLStep {
    /// Nothing to do yet.
    case none
    /// Send this SASL frame and keep going.
    case send(SASLPerformative)
    /// Authentication finished well; send the frame if any, then start AMQP.
    case succeeded(send: SASLPerformative?, mechanism: Symbol, identity: String?)
    /// Authentication failed; send the frame if any, then end with `error`.
    case failed(send: SASLPerformative?, error: EngineError)
}

/// The client side of SASL: pick a mechanism from the server's list, send sasl-init,
/// answer challenges (none of our mechanisms has one), and read the outcome.
struct SASLClient {
    /// The credentials we hold, best first; never empty (`ConnectionConfiguration.validate()`).
    let preferences: [SASLCredentials]
    let hostname: String?
    /// The credentials sent in sasl-init, once the server's list arrived.
    private(set) var chosen: SASLCredentials? = nil

    init(preferences: [SASLCredentials], hostname: String?) {
        self.preferences = preferences
        self.hostname = hostname
    }

    mutating func receive(_ p: SASLPerformative) -> SASLStep {
        switch (p, chosen) {
        case (.saslMechanisms(let m), nil):
            // Our order decides: it is the application's say on what it would rather not
            // send (a password when a certificate would do).
            guard let credentials = preferences.first(where: { m.saslServerMechanisms.contains($0.mechanism) }) else {
                return .failed(send: nil, error: Self.noMechanismInCommon(offered: m.saslServerMechanisms, ours: preferences.map(\.mechanism)))
            }
            chosen = credentials
            return .send(.saslInit(SASLInit(
                mechanism: credentials.mechanism, initialResponse: credentials.initialResponse, hostname: hostname)))
        case (.saslChallenge, let credentials?):
            // ANONYMOUS, PLAIN and EXTERNAL complete in one round; a challenge means the
            // server expects a mechanism we did not choose.
            return .failed(send: nil, error: EngineError(
                .unauthorizedAccess, "the server sent a SASL challenge to \(credentials.mechanism), which has none",
                origin: .remote))
        case (.saslOutcome(let o), let credentials?):
            if o.code == .ok {
                return .succeeded(send: nil, mechanism: credentials.mechanism, identity: nil)
            }
            return .failed(send: nil, error: Self.error(for: o))
        default:
            return .failed(send: nil, error: EngineError(
                .illegalState, "unexpected \(p.name) during SASL negotiation", origin: .remote))
        }
    }

    /// The error for a server that offers none of the mechanisms we hold credentials for:
    /// `unauthorized-access` (the application's credentials do not fit this server, which
    /// retrying will not change), with both lists in the description and, for programs,
    /// in `info`.
    static func noMechanismInCommon(offered: [Symbol], ours: [Symbol]) -> EngineError {
        func list(_ s: [Symbol]) -> String { "[" + s.map(\.rawValue).joined(separator: ", ") + "]" }
        return EngineError(
            .unauthorizedAccess,
            "no SASL mechanism in common: the server offers \(list(offered)), we have credentials for \(list(ours))",
            origin: .remote,
            info: [
                SASLCredentials.serverMechanismsInfoKey: .array(.symbols(offered)),
                SASLCredentials.clientMechanismsInfoKey: .array(.symbols(ours)),
            ])
    }

    /// The typed error for a failed outcome: bad credentials are `unauthorized-access`;
    /// system errors say whether retrying can help.
    static func error(for outcome: SASLOutcome) -> EngineError {
        let info: Fields = ["sasl-code": .ubyte(outcome.code.rawValue)]
        switch outcome.code {
        case .ok: return EngineError(.internalError, "SASL outcome ok treated as failure", origin: .local)
        case .auth:
            return EngineError(.unauthorizedAccess, "SASL authentication failed: bad credentials (sasl-code auth)", origin: .remote, info: info)
        case .sys:
            return EngineError(.internalError, "SASL failed: system error on the server (sasl-code sys)", origin: .remote, info: info)
        case .sysPerm:
            return EngineError(.internalError, "SASL failed: permanent system error on the server; do not retry (sasl-code sys-perm)", origin: .remote, info: info)
        case .sysTemp:
            return EngineError(.internalError, "SASL failed: temporary system error on the server; retry later (sasl-code sys-temp)", origin: .remote, info: info)
        }
    }
}
