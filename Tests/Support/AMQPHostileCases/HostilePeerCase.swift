package import AMQPCodec
package import AMQPEngine
package import AMQPTesting
import Testing

// The shape of a hostile-peer case, shared by the connection cases (HostileConnectionCases)
// and the session and link cases (HostileSessionCases). The runner is HostilePeerTests.

/// How far the conversation gets before the hostile peer strikes.
package enum HostileStage: Int, Sendable, Comparable {
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

    package static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// What the engine must do with the hostile input.
package enum HostileOutcome: Sendable {
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
    /// End the session of the setup with END carrying `condition` and a description
    /// containing the text; when the peer answers, report it ended with that (local)
    /// error. The connection stays open and closes cleanly afterwards.
    case endsSession(ErrorCondition, String)
    /// Detach the link of the setup (closed) with `condition` and a description
    /// containing the text; when the peer answers, report it detached with that (local)
    /// error. Session and connection stay up and close cleanly afterwards.
    case detachesLink(ErrorCondition, String)
    /// Take it and keep working: `check` consumes and checks what the engine wrote and
    /// reported (it may act further), then the engine must still be OPENED without a
    /// failure and close cleanly.
    case recovers(@Sendable (inout ScriptedPeer, HostileContext) throws -> Void)
}

/// What the engine holds before a session or link case strikes: a session it began on
/// channel 0, which the peer answered on channel `peerChannel`, and optionally one link
/// it attached on handle 0, which the peer answered on handle `peerHandle`.
package struct HostileSetup: Sendable {
    /// The peer's channel for the session (not 0, so that local and remote channels
    /// cannot be confused).
    package static let peerChannel: UInt16 = 5
    /// The peer's handle for the link (not 0, for the same reason).
    package static let peerHandle: UInt32 = 3

    /// The engine's session, or `nil` for no session.
    package var session: SessionConfiguration? = nil
    /// The peer's answer to the engine's BEGIN.
    package var peerBegin = Begin(remoteChannel: 0, nextOutgoingID: 0, incomingWindow: 1_000, outgoingWindow: 1_000)
    /// The engine's link on that session, if any.
    package var link: LinkConfiguration? = nil
    /// How many such links (the second is named `<name>-1` and so on, on the engine's
    /// handles 0, 1, … and the peer's 3, 4, …).
    package var linkCount = 1
    /// Credit the peer grants the engine's sender.
    package var credit: UInt32 = 0
    /// Unsettled deliveries the engine's sender sends (ids 0…n-1) before the strike.
    package var deliveries = 0

    /// Nothing beyond OPEN.
    package static let none = HostileSetup()

    /// A session, begun by the engine.
    package static func session(_ c: SessionConfiguration = .init(), peerBegin: Begin? = nil) -> HostileSetup {
        var s = HostileSetup(session: c)
        if let peerBegin { s.peerBegin = peerBegin }
        return s
    }

    /// A session and a receiving link (the peer sends), attached by the engine.
    package static func receiver(
        credit policy: CreditPolicy = .manual, maxMessageSize: UInt64? = nil, overrunAllowance: UInt32 = 0,
        session: SessionConfiguration = .init()
    ) -> HostileSetup {
        var link = LinkConfiguration.receiver(name: "r", from: "q", credit: policy)
        link.maxMessageSize = maxMessageSize
        link.creditOverrunAllowance = overrunAllowance
        return HostileSetup(session: session, link: link)
    }

    /// A session and a sending link, attached by the engine; the peer grants `credit`
    /// and the engine sends `deliveries` unsettled deliveries.
    package static func sender(credit: UInt32 = 0, deliveries: Int = 0, session: SessionConfiguration = .init()) -> HostileSetup {
        HostileSetup(session: session, link: .sender(name: "s", to: "q"), credit: credit, deliveries: deliveries)
    }
}

/// What a session or link case's check gets besides the peer.
package struct HostileContext {
    /// The engine's footprint after the setup, before the strike.
    package var baseline: EngineFootprint
    /// The session of the setup.
    package var session: SessionID?
    /// The link of the setup (the first, when there are several).
    package var link: LinkID? { links.first }
    /// The links of the setup.
    package var links: [LinkID] = []
    /// Bytes the peer sent in the strike.
    package var inputBytes: Int
    /// The delivery handles the setup's sender sent.
    package var sent: [DeliveryHandle]

    package init(baseline: EngineFootprint, session: SessionID? = nil, links: [LinkID] = [], inputBytes: Int, sent: [DeliveryHandle]) {
        self.baseline = baseline
        self.session = session
        self.links = links
        self.inputBytes = inputBytes
        self.sent = sent
    }
}

/// One hostile input, run against each role it lists under several cut policies.
package struct HostileCase: Sendable {
    /// What the peer does wrong, in words.
    package let name: String
    /// The engine roles the case applies to.
    package var roles: [EngineRole] = EngineRole.both
    /// Run SASL before AMQP.
    package var sasl = false
    /// Where the peer strikes.
    package let stage: HostileStage
    /// The engine's max-frame-size.
    package var maxFrameSize: UInt32 = 4_096
    /// The server engine's authenticator (SASL cases).
    package var authenticator: any SASLAuthenticator = Directory()
    /// Sessions and links in place before the strike (only at `.opened`).
    package var setup: HostileSetup = .none
    /// Changes to the engine's configuration (limits, channel-max).
    package var configure: @Sendable (inout ConnectionConfiguration) -> Void = { _ in }
    /// The most events the strike may produce.
    package var maxEvents = 16
    /// The most bytes the engine may write in reply to the strike.
    package var maxReplyBytes = 4_096
    /// The bytes the peer sends, given the engine's role.
    package let input: @Sendable (EngineRole) -> [UInt8]
    /// What the engine must do, given its role.
    package let outcome: @Sendable (EngineRole) -> HostileOutcome

    package init(
        _ name: String, roles: [EngineRole] = EngineRole.both, sasl: Bool = false, at stage: HostileStage,
        maxFrameSize: UInt32 = 4_096, authenticator: any SASLAuthenticator = Directory(), setup: HostileSetup = .none,
        configure: @escaping @Sendable (inout ConnectionConfiguration) -> Void = { _ in }, maxEvents: Int = 16,
        maxReplyBytes: Int = 4_096,
        send input: @escaping @Sendable (EngineRole) -> [UInt8], expect outcome: @escaping @Sendable (EngineRole) -> HostileOutcome
    ) {
        self.name = name
        self.roles = roles
        self.sasl = sasl
        self.stage = stage
        self.maxFrameSize = maxFrameSize
        self.authenticator = authenticator
        self.setup = setup
        self.configure = configure
        self.maxEvents = maxEvents
        self.maxReplyBytes = maxReplyBytes
        self.input = input
        self.outcome = outcome
    }

    /// A case whose input and outcome do not depend on the role.
    package init(
        _ name: String, roles: [EngineRole] = EngineRole.both, sasl: Bool = false, at stage: HostileStage,
        maxFrameSize: UInt32 = 4_096, authenticator: any SASLAuthenticator = Directory(), setup: HostileSetup = .none,
        configure: @escaping @Sendable (inout ConnectionConfiguration) -> Void = { _ in }, maxEvents: Int = 16,
        maxReplyBytes: Int = 4_096,
        send bytes: [UInt8], expect outcome: HostileOutcome
    ) {
        self.init(
            name, roles: roles, sasl: sasl, at: stage, maxFrameSize: maxFrameSize, authenticator: authenticator,
            setup: setup, configure: configure, maxEvents: maxEvents, maxReplyBytes: maxReplyBytes,
            send: { _ in bytes }, expect: { _ in outcome })
    }

    package func configuration(_ role: EngineRole) -> ConnectionConfiguration {
        var c = engineConfiguration(role, maxFrameSize: maxFrameSize, closeTimeout: 1_000)
        if sasl {
            c.sasl = role == .client
                ? .client(.plain(username: "guest", password: "secret"))
                : .server(mechanisms: ["PLAIN", "ANONYMOUS", "EXTERNAL"], authenticator: authenticator)
        }
        configure(&c)
        return c
    }
}
