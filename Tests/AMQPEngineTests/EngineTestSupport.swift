import AMQPCodec
import AMQPEngine
import AMQPTesting
import Testing

// Configurations and authenticators shared by the scripted-peer suites.

typealias EngineRole = ConnectionConfiguration.Role

extension EngineRole {
    static let both: [EngineRole] = [.client, .server]
}

/// A configuration for the engine under test; every knob a suite turns is a parameter.
func engineConfiguration(
    _ role: EngineRole, sasl: SASLConfiguration? = nil, idleTimeout: UInt32? = nil, ratio: Double = 0.5,
    maxFrameSize: UInt32 = 63_488, channelMax: UInt16 = 65_535, closeTimeout: UInt32 = 30_000
) -> ConnectionConfiguration {
    var c = ConnectionConfiguration(
        role: role, containerID: role == .client ? "engine-client" : "engine-server",
        hostname: role == .client ? "broker.example" : nil)
    c.sasl = sasl
    c.idleTimeout = idleTimeout
    c.emptyFrameSendRatio = ratio
    c.maxFrameSize = maxFrameSize
    c.channelMax = channelMax
    c.closeTimeout = closeTimeout
    return c
}

/// The server side of SASL as most suites want it: PLAIN, ANONYMOUS and EXTERNAL.
let standardServerSASL = SASLConfiguration.server(mechanisms: ["PLAIN", "ANONYMOUS", "EXTERNAL"], authenticator: Directory())

/// Knows one PLAIN user (guest/secret), lets ANONYMOUS in, and trusts EXTERNAL's
/// authorization id (a TLS layer would have checked the certificate).
struct Directory: SASLAuthenticator {
    func authenticate(mechanism: Symbol, initialResponse: [UInt8]?, hostname: String?) -> SASLDecision {
        switch mechanism {
        case "ANONYMOUS": return .accept(identity: "anonymous")
        case "EXTERNAL":
            let authzid = String(decoding: initialResponse ?? [], as: UTF8.self)
            return .accept(identity: authzid.isEmpty ? "certificate-subject" : authzid)
        case "PLAIN":
            let parts = (initialResponse ?? []).split(separator: 0, omittingEmptySubsequences: false)
                .map { String(decoding: $0, as: UTF8.self) }
            return parts.count == 3 && parts[1] == "guest" && parts[2] == "secret" ? .accept(identity: "guest") : .reject(.auth)
        default: return .reject(.auth)
        }
    }
}

/// Always answers the same.
struct FixedDecision: SASLAuthenticator {
    let decision: SASLDecision
    func authenticate(mechanism: Symbol, initialResponse: [UInt8]?, hostname: String?) -> SASLDecision { decision }
    func respond(mechanism: Symbol, response: [UInt8]) -> SASLDecision { decision }
}

/// Challenges `rounds` times, then accepts the response `"ok"`.
struct Challenger: SASLAuthenticator {
    let rounds: Int
    func authenticate(mechanism: Symbol, initialResponse: [UInt8]?, hostname: String?) -> SASLDecision {
        rounds > 0 ? .challenge([1]) : .accept(identity: "challenged")
    }
    func respond(mechanism: Symbol, response: [UInt8]) -> SASLDecision {
        // The round number travels in the response so this stays stateless (Sendable).
        let round = Int(response.first ?? 0)
        if round < rounds { return .challenge([UInt8(round + 1)]) }
        return .accept(identity: "challenged")
    }
}

/// The peer's OPEN in most scripts.
func peerOpen(
    _ containerID: String = "peer", maxFrameSize: UInt32 = .max, channelMax: UInt16 = .max, idleTimeOut: UInt32? = nil
) -> Open {
    Open(containerID: containerID, maxFrameSize: maxFrameSize, channelMax: channelMax, idleTimeOut: idleTimeOut)
}

/// A scripted peer for an engine in `role`; a server engine has `open()` called already
/// (so it answers OPEN at once), a client engine does not.
func scriptedPeer(
    _ configuration: ConnectionConfiguration, cutPolicy: CutPolicy = .whole, outputBufferSize: Int = 65_536
) throws -> ScriptedPeer {
    var peer = ScriptedPeer(configuration: configuration, cutPolicy: cutPolicy, outputBufferSize: outputBufferSize)
    if configuration.role == .server { try peer.perform { $0.open() } }
    return peer
}

/// The checks every script ends with: the state changes form one chain, and the
/// engine reported `closed` exactly once if it reached a final state.
func expectConsistentEvents(_ peer: ScriptedPeer, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(peer.events.transitionsAreChained, "state changes skip a step: \(peer.events.transitions)", sourceLocation: sourceLocation)
    let closures = peer.events.closures.count
    #expect(closures == (peer.engine.state.isFinal ? 1 : 0), "closed reported \(closures) times in \(peer.engine.state)", sourceLocation: sourceLocation)
}
