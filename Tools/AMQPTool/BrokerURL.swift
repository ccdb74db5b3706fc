import AMQP

/// A broker to run against, from `amqp://[user:password@]host[:port]/address`: where to
/// connect, who to be, and the node to use.
///
/// Parsing is `AMQPEndpoint`'s (the public API's own, so the tool and `Connection` accept
/// the same URLs); this adds the address, which a command needs and a connection does not.
public struct BrokerURL: Hashable, Sendable, CustomStringConvertible {
    /// Host name or address (IPv6 without brackets).
    public var host: String
    /// TCP port (5672 unless the URL says otherwise).
    public var port: UInt16
    /// SASL PLAIN user; `nil` for ANONYMOUS.
    public var username: String?
    /// SASL PLAIN password.
    public var password: String?
    /// The node: the URL's path without its leading `/`; `nil` when the URL has none.
    public var address: String?

    /// Parses `text`.
    ///
    /// - Throws: `BrokerURLError` with a one-line reason: not a URL of the form above, or
    ///   `amqps` (TLS is not available yet).
    public init(parsing text: String) throws(BrokerURLError) {
        let endpoint: AMQPEndpoint
        do {
            endpoint = try AMQPEndpoint(parsing: text)
        } catch {
            throw BrokerURLError(description: "\(text): \(error)")
        }
        guard endpoint.scheme == .amqp else {
            throw BrokerURLError(description: "\(text): amqps:// needs TLS, which is not available yet; use amqp://")
        }
        host = endpoint.host
        port = endpoint.port
        username = endpoint.username
        password = endpoint.password
        if let path = endpoint.path, path.count > 1 { address = String(path.dropFirst()) } else { address = nil }
    }

    /// `amqp://host:port/address`, without user or password.
    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "amqp://\(h):\(port)/\(address ?? "")"
    }
}

/// A URL `BrokerURL` cannot use.
public struct BrokerURLError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Why, in one line.
    public var description: String
}
