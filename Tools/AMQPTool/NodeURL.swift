public import AMQP
public import ArgumentParser

/// The URL `amqp send` and `amqp receive` take: where to connect, how to log in, and
/// which node to use, `amqp[s]://[USER:PASSWORD@]HOST[:PORT]/ADDRESS`, or the same with
/// `amqpws://` (AMQP over WebSocket, port 80) and `amqpwss://` (over WebSocket and TLS,
/// port 443), at WebSocket path `/$servicebus/websocket/`. TLS (`amqps://`, port 5671,
/// and `amqpwss://`) is verified against the system's trust store and the URL's host
/// unless `ClientTLSOptions` say otherwise.
///
/// Parsing is `AMQPEndpoint`'s (port 5672, or 5671 for `amqps`; user and password
/// percent-decoded; IPv6 in brackets), and the credentials `ConnectionSettings`' default
/// (no user: SASL ANONYMOUS; a user: PLAIN). The path, percent-decoded, is the address.
public struct NodeURL: Sendable {
    /// The connection's settings, credentials included.
    public var settings: ConnectionSettings
    /// The node's address (the URL's path without its leading `/`).
    public var address: String

    /// Parses `text`; a URL the commands cannot use is a usage error (exit status 64),
    /// with the reason on one line.
    public init(_ text: String) throws(ValidationError) {
        do throws(ConfigurationError) {
            settings = try ConnectionSettings(hostname: text)
        } catch {
            // The detail may quote the URL: never with its password.
            let detail = error.detail.replacing(text, with: text.redactingPassword)
            throw ValidationError("\(text.redactingPassword): \(error.code): \(detail)")
        }
        guard text.contains("://") else {
            throw ValidationError("\(text.redactingPassword): expected a URL, amqp[s|ws|wss]://[USER:PASSWORD@]HOST[:PORT]/ADDRESS")
        }
        guard let address = settings.endpoint.address, !address.isEmpty else {
            throw ValidationError("\(text.redactingPassword): the URL names no address: add it as the path, amqp://HOST[:PORT]/ADDRESS")
        }
        self.address = address
    }

    /// `amqp://host:port/address`, without user or password.
    public var description: String { "\(settings.endpoint)/\(address)" }
}

extension String {
    /// The URL with the password (between `user:` and `@`) replaced by `***`, so error
    /// messages never print it.
    var redactingPassword: String {
        guard let scheme = range(of: "://") else { return self }
        let authorityEnd = self[scheme.upperBound...].firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? endIndex
        let authority = self[scheme.upperBound..<authorityEnd]
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return self }
        return String(self[..<authority.index(after: colon)]) + "***" + String(self[at...])
    }
}
