import AMQPCodec
import AMQPEngine
import AMQPTesting
import Testing

// The shape of a hostile-peer case, shared by the connection cases (HostileConnectionCases)
// and the session and link cases (HostileSessionCases). The runner is HostilePeerTests.

/// How far the conversation gets before the hostile peer strikes.
enum HostileStage: Int, Sendable, Comparable {
    /// Nothing received (a client engine has written its first header).
    case start
    /// SASL headers exchanged; a client engine awaits sasl-mechanisms, a server engine
    /// has offered them and awaits sasl-init.
    case saslHeaders
    /// Client engine only: it chose a mechanism (sasl-init written) and awaits the outcome.
    case saslInitSent
    /// SASL succeeded; the AMQP headers are not exchanged yet.
    case saslDone
    /// AMQP headers exchanged; a client engine has written OPEN, a server engine has not.
    case headers
    /// OPEN exchanged both ways.
    case opened

    static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// What the engine must do with the hostile input.
enum HostileOutcome: Sendable {
    /// Fail below AMQP: no CLOSE, finish in ERROR with `condition`, the description
    /// containing the text. (Only protocol headers or a SASL outcome may be written.)
    case fails(ErrorCondition, String)
    /// Refuse SASL (server engine): write sasl-outcome with the code, finish in ERROR.
    case refusesSASL(SASLCode, ErrorCondition, String)
    /// Close with `condition` (OPEN first if it had not sent one), the description
    /// containing the text, and end: at once, or when the peer answers, or at the
    /// close time-out when it does not.
    case closes(ErrorCondition, String)
    /// Take it: no CLOSE, the engine ends up in `state` (`nil`: where it was) and still
    /// closes cleanly afterwards.
    case tolerates(ConnectionState?)
    /// Answer the peer's CLOSE (OPEN first if needed) and end cleanly.
    case closesCleanly
    /// Hold the incomplete frame (without consuming or allocating it) and keep going:
    /// the application can still close.
    case waitsForMore
}

/// One hostile input, run against each role it lists under several cut policies.
struct HostileCase: Sendable {
    /// What the peer does wrong, in words.
    let name: String
    /// The engine roles the case applies to.
    var roles: [EngineRole] = EngineRole.both
    /// Run SASL before AMQP.
    var sasl = false
    /// Where the peer strikes.
    let stage: HostileStage
    /// The engine's max-frame-size.
    var maxFrameSize: UInt32 = 4_096
    /// The server engine's authenticator (SASL cases).
    var authenticator: any SASLAuthenticator = Directory()
    /// The bytes the peer sends, given the engine's role.
    let input: @Sendable (EngineRole) -> [UInt8]
    /// What the engine must do, given its role.
    let outcome: @Sendable (EngineRole) -> HostileOutcome

    init(
        _ name: String, roles: [EngineRole] = EngineRole.both, sasl: Bool = false, at stage: HostileStage,
        maxFrameSize: UInt32 = 4_096, authenticator: any SASLAuthenticator = Directory(),
        send input: @escaping @Sendable (EngineRole) -> [UInt8], expect outcome: @escaping @Sendable (EngineRole) -> HostileOutcome
    ) {
        self.name = name
        self.roles = roles
        self.sasl = sasl
        self.stage = stage
        self.maxFrameSize = maxFrameSize
        self.authenticator = authenticator
        self.input = input
        self.outcome = outcome
    }

    /// A case whose input and outcome do not depend on the role.
    init(
        _ name: String, roles: [EngineRole] = EngineRole.both, sasl: Bool = false, at stage: HostileStage,
        maxFrameSize: UInt32 = 4_096, authenticator: any SASLAuthenticator = Directory(),
        send bytes: [UInt8], expect outcome: HostileOutcome
    ) {
        self.init(
            name, roles: roles, sasl: sasl, at: stage, maxFrameSize: maxFrameSize, authenticator: authenticator,
            send: { _ in bytes }, expect: { _ in outcome })
    }

    func configuration(_ role: EngineRole) -> ConnectionConfiguration {
        var c = engineConfiguration(role, maxFrameSize: maxFrameSize, closeTimeout: 1_000)
        if sasl {
            c.sasl = role == .client
                ? .client(.plain(username: "guest", password: "secret"))
                : .server(mechanisms: ["PLAIN", "ANONYMOUS", "EXTERNAL"], authenticator: authenticator)
        }
        return c
    }
}

/// One case against one role: the unit the runner is parameterized over.
struct HostileRun: Sendable, CustomTestStringConvertible {
    let hostile: HostileCase
    let role: EngineRole
    var testDescription: String { "\(hostile.name) [\(role)]" }

    /// Every run: the connection cases, then the session and link cases.
    static let all: [HostileRun] = (HostileCase.connection + HostileCase.sessions).flatMap { c in
        c.roles.map { HostileRun(hostile: c, role: $0) }
    }
}
