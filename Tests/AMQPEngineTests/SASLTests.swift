import AMQPCodec
import AMQPEngine
import AMQPHostileCases
import AMQPTesting
import Testing

// SASL (part 5) before AMQP, for both roles: every mechanism we ship, every outcome
// code, and the ways a peer can get the exchange wrong.

struct MechanismCase: Sendable, CustomTestStringConvertible {
    let credentials: SASLCredentials
    let initialResponse: [UInt8]
    let identity: String
    var testDescription: String { "\(credentials.mechanism) \(identity)" }

    static let all: [MechanismCase] = [
        MechanismCase(credentials: .anonymous(), initialResponse: [], identity: "anonymous"),
        MechanismCase(credentials: .anonymous(trace: "me@example"), initialResponse: Array("me@example".utf8), identity: "anonymous"),
        MechanismCase(
            credentials: .plain(username: "guest", password: "secret"), initialResponse: [0] + Array("guest".utf8) + [0] + Array("secret".utf8),
            identity: "guest"),
        MechanismCase(
            credentials: .plain(authzid: "admin", username: "guest", password: "secret"),
            initialResponse: Array("admin".utf8) + [0] + Array("guest".utf8) + [0] + Array("secret".utf8), identity: "guest"),
        MechanismCase(credentials: .external(), initialResponse: [], identity: "certificate-subject"),
        MechanismCase(credentials: .external(authzid: "svc"), initialResponse: Array("svc".utf8), identity: "svc"),
    ]
}

struct OutcomeCase: Sendable, CustomTestStringConvertible {
    let code: SASLCode
    let condition: ErrorCondition
    let text: String
    var testDescription: String { FrameDescription.describe(code) }

    static let failures: [OutcomeCase] = [
        OutcomeCase(code: .auth, condition: .unauthorizedAccess, text: "SASL authentication failed: bad credentials (sasl-code auth)"),
        OutcomeCase(code: .sys, condition: .internalError, text: "SASL failed: system error on the server (sasl-code sys)"),
        OutcomeCase(
            code: .sysPerm, condition: .internalError,
            text: "SASL failed: permanent system error on the server; do not retry (sasl-code sys-perm)"),
        OutcomeCase(
            code: .sysTemp, condition: .internalError,
            text: "SASL failed: temporary system error on the server; retry later (sasl-code sys-temp)"),
    ]
}

/// A server's mechanism list and which of `preferences` a client must pick from it.
struct PreferenceCase: Sendable, CustomTestStringConvertible {
    let offered: [Symbol]
    let chosen: SASLCredentials
    var testDescription: String { "[\(offered.map(\.rawValue).joined(separator: ", "))] -> \(chosen.mechanism)" }

    static let preferences: [SASLCredentials] = [.external(authzid: "svc"), .plain(username: "guest", password: "secret"), .anonymous()]

    static let all: [PreferenceCase] = [
        // Every one offered, in the server's own (opposite) order: ours decides.
        PreferenceCase(offered: ["ANONYMOUS", "PLAIN", "EXTERNAL"], chosen: .external(authzid: "svc")),
        PreferenceCase(offered: ["EXTERNAL"], chosen: .external(authzid: "svc")),
        PreferenceCase(offered: ["ANONYMOUS", "PLAIN"], chosen: .plain(username: "guest", password: "secret")),
        PreferenceCase(offered: ["SCRAM-SHA-256", "PLAIN"], chosen: .plain(username: "guest", password: "secret")),
        PreferenceCase(offered: ["ANONYMOUS"], chosen: .anonymous()),
        PreferenceCase(offered: ["GSSAPI", "SCRAM-SHA-1", "ANONYMOUS"], chosen: .anonymous()),
    ]
}

@Suite struct SASLClientTests {
    @Test(arguments: MechanismCase.all)
    func mechanismThenOpen(c: MechanismCase) throws {
        var peer = try scriptedPeer(engineConfiguration(.client, sasl: .client(c.credentials)))
        try peer.perform { $0.open() }
        try peer.expectHeader(.sasl)
        try peer.expectNothingMore()
        try peer.expectState(.start)
        try peer.send(header: .sasl)
        try peer.send(.saslMechanisms(SASLMechanisms(saslServerMechanisms: ["SCRAM-SHA-256", "EXTERNAL", "PLAIN", "ANONYMOUS"])))
        let initFrame = try peer.expectSASLInit()
        #expect(initFrame.mechanism == c.credentials.mechanism)
        #expect((initFrame.initialResponse ?? []) == c.initialResponse)
        #expect(initFrame.hostname == "broker.example")
        try peer.expectNothingMore()
        try peer.send(.saslOutcome(SASLOutcome(code: .ok)))
        #expect(peer.events.saslOutcomes == [SASLOutcome(code: .ok)])
        // The AMQP layer starts at once: header and OPEN pipelined.
        try peer.expectHeader(.amqp)
        try peer.expectOpen()
        try peer.expectState(.openPipe)
        try peer.send(header: .amqp)
        try peer.send(.open(peerOpen()))
        try peer.expectState(.opened)
        #expect(peer.events.transitions == ["START->HDR_SENT", "HDR_SENT->OPEN_PIPE", "OPEN_PIPE->OPEN_SENT", "OPEN_SENT->OPENED"])
        expectConsistentEvents(peer)
    }

    @Test(arguments: OutcomeCase.failures)
    func failedOutcomeIsATypedError(c: OutcomeCase) throws {
        var peer = try scriptedPeer(engineConfiguration(.client, sasl: .client(.plain(username: "u", password: "p"))))
        try peer.perform { $0.open() }
        try peer.exchangeSASL(mechanisms: ["PLAIN"], outcome: c.code)
        try peer.expectTransportFailureFromSASL(c)
        #expect(peer.events.saslOutcomes == [SASLOutcome(code: c.code)])
        #expect(peer.engine.failure?.error.info == ["sasl-code": .ubyte(c.code.rawValue)])
        #expect(peer.events.summaries == ["sasl-outcome(\(FrameDescription.describe(c.code)))", "START->ERROR", "closed(remote: \(c.condition))"])
        expectConsistentEvents(peer)
    }

    @Test(arguments: CutPolicy.all)
    func outcomeAndHeaderInOneWrite(cut: CutPolicy) throws {
        var peer = try scriptedPeer(engineConfiguration(.client, sasl: .client(.anonymous())), cutPolicy: cut)
        try peer.perform { $0.open() }
        try peer.expectHeader(.sasl)
        try peer.send(bytes: ProtocolHeader.sasl.bytes + FrameBytes.frame(.saslMechanisms(SASLMechanisms(saslServerMechanisms: ["ANONYMOUS"]))))
        try peer.expectSASLInit()
        try peer.send(bytes: FrameBytes.frame(.saslOutcome(SASLOutcome(code: .ok))) + ProtocolHeader.amqp.bytes + FrameBytes.frame(.open(peerOpen())))
        try peer.expectHeader(.amqp)
        try peer.expectOpen()
        try peer.expectState(.opened)
        expectConsistentEvents(peer)
    }

    @Test func mechanismNotOffered() throws {
        var peer = try scriptedPeer(engineConfiguration(.client, sasl: .client(.plain(username: "u", password: "p"))))
        try peer.perform { $0.open() }
        try peer.exchangeHeaders(.sasl)
        try peer.send(.saslMechanisms(SASLMechanisms(saslServerMechanisms: ["ANONYMOUS", "EXTERNAL"])))
        try peer.expectNothingMore()
        try peer.expectFinished(
            .error, condition: .unauthorizedAccess, origin: .remote,
            descriptionContains: "no SASL mechanism in common: the server offers [ANONYMOUS, EXTERNAL], we have credentials for [PLAIN]")
        #expect(peer.engine.failure?.error.info == [
            SASLCredentials.serverMechanismsInfoKey: .array(.symbols(["ANONYMOUS", "EXTERNAL"])),
            SASLCredentials.clientMechanismsInfoKey: .array(.symbols(["PLAIN"])),
        ])
        expectConsistentEvents(peer)
    }

    @Test(arguments: PreferenceCase.all)
    func preferenceListPicksOurFirstOfferedMechanism(c: PreferenceCase) throws {
        var peer = try scriptedPeer(engineConfiguration(.client, sasl: .clientPreferring(PreferenceCase.preferences)))
        try peer.perform { $0.open() }
        try peer.exchangeHeaders(.sasl)
        try peer.send(.saslMechanisms(SASLMechanisms(saslServerMechanisms: c.offered)))
        let initFrame = try peer.expectSASLInit()
        #expect(initFrame.mechanism == c.chosen.mechanism)
        #expect((initFrame.initialResponse ?? []) == c.chosen.initialResponse)
        #expect(initFrame.hostname == "broker.example")
        try peer.expectNothingMore()
        try peer.send(.saslOutcome(SASLOutcome(code: .ok)))
        try peer.expectHeader(.amqp)
        try peer.expectOpen()
        try peer.send(header: .amqp)
        try peer.send(.open(peerOpen()))
        try peer.expectState(.opened)
        expectConsistentEvents(peer)
    }

    @Test func preferenceListWithNoneOffered() throws {
        var peer = try scriptedPeer(engineConfiguration(.client, sasl: .clientPreferring(PreferenceCase.preferences)))
        try peer.perform { $0.open() }
        try peer.exchangeHeaders(.sasl)
        try peer.send(.saslMechanisms(SASLMechanisms(saslServerMechanisms: ["SCRAM-SHA-256", "GSSAPI"])))
        // No sasl-init goes out: nothing we hold fits, and guessing would leak credentials.
        try peer.expectNothingMore()
        try peer.expectFinished(
            .error, condition: .unauthorizedAccess, origin: .remote,
            descriptionContains: "the server offers [SCRAM-SHA-256, GSSAPI], we have credentials for [EXTERNAL, PLAIN, ANONYMOUS]")
        #expect(peer.engine.failure?.error.info?[SASLCredentials.serverMechanismsInfoKey] == .array(.symbols(["SCRAM-SHA-256", "GSSAPI"])))
        #expect(peer.engine.failure?.error.info?[SASLCredentials.clientMechanismsInfoKey] == .array(.symbols(["EXTERNAL", "PLAIN", "ANONYMOUS"])))
        #expect(peer.events.saslOutcomes.isEmpty)
        expectConsistentEvents(peer)
    }

    @Test func preferenceListAnswersTheOutcomeOfTheChosenMechanism() throws {
        // The chosen mechanism's failure is final: the client does not fall back to the
        // next credentials after a refused login (the server judged the ones it got).
        var peer = try scriptedPeer(engineConfiguration(.client, sasl: .clientPreferring(PreferenceCase.preferences)))
        try peer.perform { $0.open() }
        try peer.exchangeHeaders(.sasl)
        try peer.send(.saslMechanisms(SASLMechanisms(saslServerMechanisms: ["PLAIN", "ANONYMOUS"])))
        let initFrame = try peer.expectSASLInit()
        #expect(initFrame.mechanism == "PLAIN")
        try peer.send(.saslOutcome(SASLOutcome(code: .auth)))
        try peer.expectNothingMore()
        try peer.expectFinished(.error, condition: .unauthorizedAccess, origin: .remote, descriptionContains: "sasl-code auth")
        expectConsistentEvents(peer)
    }

    @Test func aSecondMechanismListIsIllegal() throws {
        var peer = try scriptedPeer(engineConfiguration(.client, sasl: .clientPreferring(PreferenceCase.preferences)))
        try peer.perform { $0.open() }
        try peer.exchangeHeaders(.sasl)
        try peer.send(.saslMechanisms(SASLMechanisms(saslServerMechanisms: ["ANONYMOUS"])))
        try peer.expectSASLInit()
        try peer.send(.saslMechanisms(SASLMechanisms(saslServerMechanisms: ["PLAIN"])))
        try peer.expectNothingMore()
        try peer.expectFinished(.error, condition: .illegalState, descriptionContains: "sasl-mechanisms")
        expectConsistentEvents(peer)
    }

    @Test func challengeToAOneRoundMechanism() throws {
        var peer = try scriptedPeer(engineConfiguration(.client, sasl: .client(.plain(username: "u", password: "p"))))
        try peer.perform { $0.open() }
        try peer.exchangeHeaders(.sasl)
        try peer.send(.saslMechanisms(SASLMechanisms(saslServerMechanisms: ["PLAIN"])))
        try peer.expectSASLInit()
        try peer.send(.saslChallenge(SASLChallenge(challenge: [1, 2, 3])))
        try peer.expectNothingMore()
        try peer.expectFinished(.error, condition: .unauthorizedAccess, descriptionContains: "challenge")
        expectConsistentEvents(peer)
    }

    @Test func outcomeBeforeInit() throws {
        var peer = try scriptedPeer(engineConfiguration(.client, sasl: .client(.anonymous())))
        try peer.perform { $0.open() }
        try peer.exchangeHeaders(.sasl)
        try peer.send(.saslOutcome(SASLOutcome(code: .ok)))
        try peer.expectNothingMore()
        try peer.expectFinished(.error, condition: .illegalState, descriptionContains: "sasl-outcome")
        expectConsistentEvents(peer)
    }
}

extension ScriptedPeer {
    func expectTransportFailureFromSASL(_ c: OutcomeCase, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try expectNothingMore()
        try expectFinished(.error, condition: c.condition, origin: .remote)
        #expect(engine.failure?.error.errorDescription == c.text, sourceLocation: sourceLocation)
    }
}

@Suite struct SASLServerTests {
    @Test(arguments: MechanismCase.all)
    func acceptsMechanism(c: MechanismCase) throws {
        var peer = try scriptedPeer(engineConfiguration(.server, sasl: standardServerSASL))
        try peer.send(header: .sasl)
        try peer.expectHeader(.sasl)
        try peer.expectSASLMechanisms(["PLAIN", "ANONYMOUS", "EXTERNAL"])
        try peer.send(.saslInit(SASLInit(mechanism: c.credentials.mechanism, initialResponse: c.initialResponse, hostname: "vhost")))
        try peer.expectSASLOutcome(.ok)
        #expect(peer.events.summaries.contains("authenticated(\(c.credentials.mechanism), \(c.identity))"))
        try peer.expectNothingMore()
        try peer.exchangeHeaders(.amqp)
        try peer.exchangeOpen(peerOpen("client"))
        expectConsistentEvents(peer)
    }

    @Test(arguments: CutPolicy.all)
    func pipelinedClientGetsEveryAnswer(cut: CutPolicy) throws {
        // An optimistic client writes everything up to OPEN before hearing back.
        var peer = try scriptedPeer(engineConfiguration(.server, sasl: standardServerSASL), cutPolicy: cut)
        try peer.send(bytes:
            ProtocolHeader.sasl.bytes + FrameBytes.frame(.saslInit(SASLInit(mechanism: "ANONYMOUS")))
            + ProtocolHeader.amqp.bytes + FrameBytes.frame(.open(peerOpen("client"))))
        try peer.expectHeader(.sasl)
        try peer.expectSASLMechanisms(["PLAIN", "ANONYMOUS", "EXTERNAL"])
        try peer.expectSASLOutcome(.ok)
        try peer.expectHeader(.amqp)
        try peer.expectOpen()
        try peer.expectState(.opened)
        expectConsistentEvents(peer)
    }

    @Test func wrongPassword() throws {
        var peer = try scriptedPeer(engineConfiguration(.server, sasl: standardServerSASL))
        try peer.exchangeSASL(mechanisms: ["PLAIN", "ANONYMOUS", "EXTERNAL"], initialResponse: [0] + Array("guest".utf8) + [0] + Array("nope".utf8), outcome: .auth)
        try peer.expectNothingMore()
        try peer.expectFinished(.error, condition: .unauthorizedAccess, origin: .local, descriptionContains: "PLAIN")
        expectConsistentEvents(peer)
    }

    @Test(arguments: [SASLCode.auth, .sys, .sysPerm, .sysTemp])
    func authenticatorChoosesTheOutcomeCode(code: SASLCode) throws {
        var peer = try scriptedPeer(engineConfiguration(.server, sasl: .server(mechanisms: ["PLAIN"], authenticator: FixedDecision(decision: .reject(code)))))
        try peer.exchangeSASL(mechanisms: ["PLAIN"], initialResponse: [0, 0], outcome: code)
        try peer.expectNothingMore()
        try peer.expectFinished(.error, condition: .unauthorizedAccess, origin: .local)
        expectConsistentEvents(peer)
    }

    @Test func unofferedMechanism() throws {
        var peer = try scriptedPeer(engineConfiguration(.server, sasl: standardServerSASL))
        try peer.exchangeHeaders(.sasl)
        try peer.expectSASLMechanisms(["PLAIN", "ANONYMOUS", "EXTERNAL"])
        try peer.send(.saslInit(SASLInit(mechanism: "GSSAPI")))
        try peer.expectSASLOutcome(.auth)
        try peer.expectFinished(.error, condition: .unauthorizedAccess, descriptionContains: "GSSAPI, which was not offered")
        expectConsistentEvents(peer)
    }

    @Test(arguments: [0, 1, 3, 8])
    func challengeRounds(rounds: Int) throws {
        var peer = try scriptedPeer(engineConfiguration(.server, sasl: .server(mechanisms: ["X-ROUNDS"], authenticator: Challenger(rounds: rounds))))
        try peer.exchangeHeaders(.sasl)
        try peer.expectSASLMechanisms(["X-ROUNDS"])
        try peer.send(.saslInit(SASLInit(mechanism: "X-ROUNDS")))
        for round in 1...max(1, rounds) where rounds > 0 {
            try peer.expectSASL("SASL-CHALLENGE [\(round)]") { $0 == .saslChallenge(SASLChallenge(challenge: [UInt8(round)])) }
            try peer.send(.saslResponse(SASLResponse(response: [UInt8(round)])))
        }
        try peer.expectSASLOutcome(.ok)
        #expect(peer.events.summaries.contains("authenticated(X-ROUNDS, challenged)"))
        expectConsistentEvents(peer)
    }

    @Test func responseBeforeInit() throws {
        var peer = try scriptedPeer(engineConfiguration(.server, sasl: standardServerSASL))
        try peer.exchangeHeaders(.sasl)
        try peer.expectSASLMechanisms(["PLAIN", "ANONYMOUS", "EXTERNAL"])
        try peer.send(.saslResponse(SASLResponse(response: [1])))
        try peer.expectSASLOutcome(.auth)
        try peer.expectFinished(.error, condition: .illegalState)
        expectConsistentEvents(peer)
    }
}

@Suite struct SASLPairTests {
    @Test(arguments: MechanismCase.all, [CutPolicy.whole, .oneByte, .random(seed: 42, maxChunk: 13)])
    func clientAndServerEnginesAgree(c: MechanismCase, cut: CutPolicy) throws {
        var pair = EnginePair(
            client: engineConfiguration(.client, sasl: .client(c.credentials)), server: engineConfiguration(.server, sasl: standardServerSASL),
            cutPolicy: cut)
        pair.server.open()
        pair.client.open()
        try pair.pump(until: "both opened") { $0.client.state == .opened && $0.server.state == .opened }
        #expect(pair.clientEvents.saslOutcomes == [SASLOutcome(code: .ok)])
        #expect(pair.serverEvents.summaries.contains("authenticated(\(c.credentials.mechanism), \(c.identity))"))
        #expect(pair.clientFrames.prefix(2).map(\.frame) == [
            .header(.sasl),
            .sasl(.saslInit(SASLInit(mechanism: c.credentials.mechanism, initialResponse: c.initialResponse, hostname: "broker.example"))),
        ])
    }

    @Test(arguments: PreferenceCase.all.filter { c in c.offered.allSatisfy { ["PLAIN", "ANONYMOUS", "EXTERNAL"].contains($0) } })
    func serverEngineAuthenticatesThePreferredMechanism(c: PreferenceCase) throws {
        var pair = EnginePair(
            client: engineConfiguration(.client, sasl: .clientPreferring(PreferenceCase.preferences)),
            server: engineConfiguration(.server, sasl: .server(mechanisms: c.offered, authenticator: Directory())),
            cutPolicy: .random(seed: 7, maxChunk: 11))
        pair.server.open()
        pair.client.open()
        try pair.pump(until: "both opened") { $0.client.state == .opened && $0.server.state == .opened }
        let identity = switch c.chosen {
        case .external(let authzid): authzid ?? "certificate-subject"
        case .plain(_, let username, _): username
        case .anonymous: "anonymous"
        }
        #expect(pair.serverEvents.summaries.contains("authenticated(\(c.chosen.mechanism), \(identity))"))
    }
}
