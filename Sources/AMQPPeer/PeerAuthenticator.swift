import AMQPCodec
import AMQPEngine

/// SASL for the peer: ANONYMOUS when allowed, PLAIN against a user table.
struct PeerAuthenticator: SASLAuthenticator {
    let allowAnonymous: Bool
    let users: [String: String]

    /// The mechanisms to offer, strongest first.
    var mechanisms: [Symbol] {
        var m: [Symbol] = []
        if !users.isEmpty { m.append("PLAIN") }
        if allowAnonymous { m.append("ANONYMOUS") }
        return m
    }

    func authenticate(mechanism: Symbol, initialResponse: [UInt8]?, hostname: String?) -> SASLDecision {
        switch mechanism {
        case "ANONYMOUS" where allowAnonymous:
            return .accept(identity: "anonymous")
        case "PLAIN":
            // RFC 4616: [authzid] NUL authcid NUL passwd.
            let parts = (initialResponse ?? []).split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { return .reject(.auth) }
            let user = String(decoding: parts[1], as: UTF8.self)
            let password = String(decoding: parts[2], as: UTF8.self)
            guard let expected = users[user], expected == password else { return .reject(.auth) }
            return .accept(identity: user)
        default:
            return .reject(.auth)
        }
    }
}
