public import AMQPCodec

/// How a connection authenticates with SASL (part 5).
public enum SASLConfiguration: Sendable {
    /// We are the client and offer these credentials.
    case client(SASLCredentials)
    /// We are the client and hold credentials for several mechanisms, best first: the
    /// first whose mechanism the server's sasl-mechanisms lists is used (say
    /// `[.external(), .plain(username:password:), .anonymous()]` to send a password only
    /// when no client certificate will do). Our order decides, not the server's: it says
    /// which credentials the application would rather not send. When the server offers
    /// none of them the connection fails with `amqp:unauthorized-access` naming both
    /// lists (`info` keys `SASLCredentials.serverMechanismsInfoKey` and
    /// `clientMechanismsInfoKey`).
    /// Must not be empty (`ConnectionConfiguration.validate()`).
    case clientPreferring([SASLCredentials])
    /// We are the server: offer `mechanisms` and check clients with `authenticator`.
    case server(mechanisms: [Symbol], authenticator: any SASLAuthenticator)
}

extension SASLConfiguration {
    /// The client's credentials in the order it prefers them (empty for a server).
    public var clientPreferences: [SASLCredentials] {
        switch self {
        case .client(let credentials): [credentials]
        case .clientPreferring(let preferences): preferences
        case .server: []
        }
    }
}

/// A client's SASL credentials.
public enum SASLCredentials: Hashable, Sendable {
    /// `ANONYMOUS`, optionally with trace information (RFC 4505).
    case anonymous(trace: String? = nil)
    /// `PLAIN` (RFC 4616): authorization id (usually empty), user name and password.
    case plain(authzid: String? = nil, username: String, password: String)
    /// `EXTERNAL` (RFC 4422 appendix A): identity established outside SASL (TLS client
    /// certificate); optionally the authorization id to act as.
    case external(authzid: String? = nil)

    /// The mechanism's name.
    public var mechanism: Symbol {
        switch self {
        case .anonymous: "ANONYMOUS"
        case .plain: "PLAIN"
        case .external: "EXTERNAL"
        }
    }

    /// The initial response sent in sasl-init.
    public var initialResponse: [UInt8] {
        switch self {
        case .anonymous(let trace): Array((trace ?? "").utf8)
        case .plain(let authzid, let username, let password):
            Array((authzid ?? "").utf8) + [0] + Array(username.utf8) + [0] + Array(password.utf8)
        case .external(let authzid): Array((authzid ?? "").utf8)
        }
    }
}

extension SASLCredentials {
    /// The `info` key, in the error of a client that has credentials for none of the
    /// server's mechanisms, of the mechanisms the server offered (an array of symbols).
    public static let serverMechanismsInfoKey: Symbol = "sasl-server-mechanisms"
    /// The `info` key, in the same error, of the mechanisms the client had credentials
    /// for, in its order of preference (an array of symbols).
    public static let clientMechanismsInfoKey: Symbol = "sasl-client-mechanisms"
}

/// What a server's authenticator decides about one SASL step.
public enum SASLDecision: Hashable, Sendable {
    /// Authenticated as `identity`.
    case accept(identity: String)
    /// Refused, with the outcome code to send (`auth` for bad credentials).
    case reject(SASLCode)
    /// Needs another round: send this challenge.
    case challenge([UInt8])
}

/// Checks clients' credentials on the server side. Called on the engine's thread, in
/// the middle of a step: it must answer at once (look credentials up in memory).
public protocol SASLAuthenticator: Sendable {
    /// Decides on a client's sasl-init: `mechanism` is one of those offered.
    func authenticate(mechanism: Symbol, initialResponse: [UInt8]?, hostname: String?) -> SASLDecision
    /// Decides on a sasl-response to an earlier challenge.
    func respond(mechanism: Symbol, response: [UInt8]) -> SASLDecision
    /// Decides on EXTERNAL: `identity` is what the transport verified (the TLS client
    /// certificate's subject, RFC 2253), `authorizationID` what the client asked to act
    /// as (empty: as itself). Only called when the transport established an identity;
    /// otherwise EXTERNAL reaches `authenticate` like any other mechanism.
    func authenticateExternal(identity: String, authorizationID: String, hostname: String?) -> SASLDecision
}

extension SASLAuthenticator {
    /// By default a mechanism has no second round: refuse.
    public func respond(mechanism: Symbol, response: [UInt8]) -> SASLDecision { .reject(.auth) }

    /// By default the verified certificate is the identity: accepted when the client asks
    /// to act as itself (an empty authorization id, or its own subject), refused otherwise.
    public func authenticateExternal(identity: String, authorizationID: String, hostname: String?) -> SASLDecision {
        authorizationID.isEmpty || authorizationID == identity ? .accept(identity: identity) : .reject(.auth)
    }
}
