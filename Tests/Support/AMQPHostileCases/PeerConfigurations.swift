package import AMQPCodec
package import AMQPEngine

// Configurations and authenticators the hostile cases use, shared with the scripted-peer
// suites of AMQPEngineTests.

package typealias EngineRole = ConnectionConfiguration.Role

extension EngineRole {
    package static let both: [EngineRole] = [.client, .server]
}

/// A configuration for the engine under test; every knob a suite turns is a parameter.
package func engineConfiguration(
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
package let standardServerSASL = SASLConfiguration.server(mechanisms: ["PLAIN", "ANONYMOUS", "EXTERNAL"], authenticator: Directory())

/// Knows one PLAIN user (guest/secret), lets ANONYMOUS in, and trusts EXTERNAL's
/// authorization id (a TLS layer would have checked the certificate).
package struct Directory: SASLAuthenticator {
    package init() {}

    package func authenticate(mechanism: Symbol, initialResponse: [UInt8]?, hostname: String?) -> SASLDecision {
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
package struct FixedDecision: SASLAuthenticator {
    package let decision: SASLDecision
    package init(decision: SASLDecision) { self.decision = decision }
    package func authenticate(mechanism: Symbol, initialResponse: [UInt8]?, hostname: String?) -> SASLDecision { decision }
    package func respond(mechanism: Symbol, response: [UInt8]) -> SASLDecision { decision }
}

/// Challenges `rounds` times, then accepts the response `"ok"`.
package struct Challenger: SASLAuthenticator {
    package let rounds: Int
    package init(rounds: Int) { self.rounds = rounds }
    package func authenticate(mechanism: Symbol, initialResponse: [UInt8]?, hostname: String?) -> SASLDecision {
        rounds > 0 ? .challenge([1]) : .accept(identity: "challenged")
    }
    package func respond(mechanism: Symbol, response: [UInt8]) -> SASLDecision {
        // The round number travels in the response so this stays stateless (Sendable).
        let round = Int(response.first ?? 0)
        if round < rounds { return .challenge([UInt8(round + 1)]) }
        return .accept(identity: "challenged")
    }
}

/// The peer's OPEN in most scripts.
package func peerOpen(
    _ containerID: String = "peer", maxFrameSize: UInt32 = .max, channelMax: UInt16 = .max, idleTimeOut: UInt32? = nil
) -> Open {
    Open(containerID: containerID, maxFrameSize: maxFrameSize, channelMax: channelMax, idleTimeOut: idleTimeOut)
}

