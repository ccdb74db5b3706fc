import AMQPEngine

/// Where a peer sends us instead: the `info` of a DETACH with `amqp:link:redirect` or a
/// CLOSE with `amqp:connection:redirect` (part 2, sections 2.8.16 and 2.8.18).
///
/// Azure Service Bus, Event Hubs and IoT Hub send, for example:
///
/// ```
/// {hostname: "iothub-ns-x.servicebus.windows.net", network-host: "iothub-ns-x.servicebus.windows.net",
///  port: 5671, address: "amqps://iothub-ns-x.servicebus.windows.net:5671/x/"}
/// ```
///
/// The fields are those the reference reads (`hostname`, `network-host`, `port`,
/// `address`, `scheme`, `path`). Brokers rarely send `scheme` and `path`; when absent
/// they, and a missing port, are taken from `address` when it is a URL.
public struct RedirectInfo: Hashable, Sendable, CustomStringConvertible {
    /// `amqp:link:redirect` or `amqp:connection:redirect`.
    public var condition: ErrorCondition
    /// The container's host name: what to send as OPEN's `hostname` (virtual host).
    public var hostname: String?
    /// The DNS name or IP address of the machine to connect to.
    public var networkHost: String?
    /// The port to connect to.
    public var port: UInt16?
    /// Link redirect: the terminus address at the new location.
    public var address: String?
    /// `amqp` or `amqps`, when given or found in `address`.
    public var scheme: String?
    /// The path, when given or found in `address`.
    public var path: String?

    /// Creates a redirect from parts.
    public init(
        condition: ErrorCondition, hostname: String? = nil, networkHost: String? = nil, port: UInt16? = nil,
        address: String? = nil, scheme: String? = nil, path: String? = nil
    ) {
        self.condition = condition
        self.hostname = hostname
        self.networkHost = networkHost
        self.port = port
        self.address = address
        self.scheme = scheme
        self.path = path
    }

    /// Reads a redirect from an error's `condition` and `info`.
    ///
    /// Keys may be symbols (as the specification's `fields` type requires) or strings
    /// (as some brokers send); text values may be strings or symbols; the port any
    /// integer type. Throws when the condition is not a redirect, the info is missing, a
    /// field has the wrong type, the port is outside 1...65535, or no host is named.
    public init(condition: ErrorCondition, info: Fields?) throws(RedirectError) {
        guard condition == .linkRedirect || condition == .connectionRedirect else {
            throw RedirectError(.notARedirect, "condition \(condition) is not amqp:link:redirect or amqp:connection:redirect")
        }
        guard let info, !info.isEmpty else {
            throw RedirectError(.missingInfo, "the \(condition) error carries no info map, so there is nowhere to go")
        }
        self.init(condition: condition)
        hostname = try Self.text(info, "hostname")
        networkHost = try Self.text(info, "network-host")
        address = try Self.text(info, "address")
        scheme = try Self.text(info, "scheme")
        path = try Self.text(info, "path")
        port = try Self.port(info)
        if let address, let url = try? AMQPEndpoint(parsing: address), address.contains("://") {
            if scheme == nil { scheme = url.scheme.name }
            if path == nil { path = url.path }
            if port == nil { port = url.port }
            if hostname == nil && networkHost == nil { networkHost = url.host }
        }
        guard hostname != nil || networkHost != nil else {
            throw RedirectError(.missingHost, "the \(condition) info names no hostname, network-host or address URL")
        }
    }

    /// The machine to connect to: `network-host`, else `hostname`.
    public var connectHost: String { networkHost ?? hostname ?? "" }

    /// The virtual host for OPEN: `hostname`, else `network-host`.
    public var virtualHost: String { hostname ?? networkHost ?? "" }

    /// The endpoint to connect to, filling what the redirect leaves out from `current`
    /// (its scheme; the port only when the scheme stays the same).
    public func endpoint(from current: AMQPEndpoint) -> AMQPEndpoint {
        var s = current.scheme
        switch scheme?.lowercased() {
        case "amqps": s = .amqps
        case "amqp": s = .amqp
        default: break
        }
        let p = port ?? (s == current.scheme ? current.port : s.defaultPort)
        return AMQPEndpoint(scheme: s, host: connectHost, port: p, username: current.username, password: current.password, path: path)
    }

    /// `redirect to host:port (address)`.
    public var description: String {
        var s = "\(condition) to \(connectHost)"
        if let port { s += ":\(port)" }
        if let hostname, hostname != connectHost { s += " (virtual host \(hostname))" }
        if let address { s += ", address \(address)" }
        return s
    }

    static func lookup(_ info: Fields, _ key: String) -> AMQPValue? {
        for entry in info.entries where entry.key.rawValue == key { return entry.value }
        return nil
    }

    static func text(_ info: Fields, _ key: String) throws(RedirectError) -> String? {
        switch lookup(info, key) {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case .symbol(let s)?: return s.rawValue
        case let other?:
            throw RedirectError(.invalidField, "redirect info \"\(key)\" is \(FrameTraceFormatter.render(other)) (\(typeName(other))), expected a string")
        }
    }

    static func port(_ info: Fields) throws(RedirectError) -> UInt16? {
        let value = lookup(info, "port")
        let n: Int64?
        switch value {
        case nil, .null?: return nil
        case .ubyte(let v)?: n = Int64(v)
        case .ushort(let v)?: n = Int64(v)
        case .uint(let v)?: n = Int64(v)
        case .ulong(let v)?: n = v <= UInt64(Int64.max) ? Int64(v) : -1
        case .byte(let v)?: n = Int64(v)
        case .short(let v)?: n = Int64(v)
        case .int(let v)?: n = Int64(v)
        case .long(let v)?: n = v
        case .string(let s)?: n = Int64(s) ?? -1
        default: n = nil
        }
        guard let n else {
            throw RedirectError(.invalidField, "redirect info \"port\" is \(typeName(value!)), expected an integer")
        }
        guard n >= 1 && n <= 65_535 else {
            throw RedirectError(.invalidPort, "redirect info \"port\" is \(FrameTraceFormatter.render(value!)), not a port from 1 to 65535")
        }
        return UInt16(n)
    }

    static func typeName(_ v: AMQPValue) -> String {
        v.type?.rawValue ?? "a described value"
    }
}

/// A redirect whose target cannot be read.
public struct RedirectError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// A short name.
        public let name: String
        init(_ name: String) { self.name = name }
        /// The name.
        public var description: String { name }
        /// The condition is not a redirect.
        public static let notARedirect = Code("not a redirect")
        /// The error has no info map.
        public static let missingInfo = Code("missing info")
        /// No hostname, network-host or address URL.
        public static let missingHost = Code("missing host")
        /// The port is outside 1...65535.
        public static let invalidPort = Code("invalid port")
        /// A field has the wrong type.
        public static let invalidField = Code("invalid field")
    }
    /// What is wrong.
    public var code: Code
    /// Details.
    public var detail: String
    /// Creates an error.
    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }
    /// The detail.
    public var description: String { detail }
}
