/// Where a connection goes: scheme, host and port, parsed from what users write.
///
/// Accepted forms:
/// - `host` and `host:port` (plain AMQP, port 5672 unless given);
/// - `[::1]`, `[::1]:5672`, and a bare IPv6 address such as `::1`;
/// - `amqp://[user[:password]@]host[:port][/path]` (port 5672) and the same with
///   `amqps://` (port 5671), `amqpws://` (AMQP over WebSocket, port 80) and `amqpwss://`
///   (over WebSocket and TLS, port 443). User and password are percent-decoded, and so is the path
///   when read as a node `address`.
///
/// Parsing checks the form only; `ConnectionSettings` turns `amqps` and `amqpwss` into
/// TLS, and `amqpws` and `amqpwss` into WebSocket.
public struct AMQPEndpoint: Hashable, Sendable, CustomStringConvertible {
    /// The transport.
    public struct Scheme: Hashable, Sendable, CustomStringConvertible {
        /// `amqp`, `amqps`, `amqpws` or `amqpwss`.
        public let name: String
        /// The port used when none is given.
        public let defaultPort: UInt16
        /// Plain AMQP over TCP, port 5672.
        public static let amqp = Scheme(name: "amqp", defaultPort: 5672)
        /// AMQP over TLS, port 5671.
        public static let amqps = Scheme(name: "amqps", defaultPort: 5671)
        /// AMQP over WebSocket (RFC 6455, subprotocol `amqp`), port 80.
        public static let amqpws = Scheme(name: "amqpws", defaultPort: 80)
        /// AMQP over WebSocket over TLS, port 443 (uamqp's `AmqpOverWebsocket`).
        public static let amqpwss = Scheme(name: "amqpwss", defaultPort: 443)
        /// True for the schemes that carry AMQP inside WebSocket.
        public var isWebSocket: Bool { self == .amqpws || self == .amqpwss }
        /// The name.
        public var description: String { name }
    }

    /// `amqp`, `amqps`, `amqpws` or `amqpwss`.
    public var scheme: Scheme
    /// The host name or IP address, without IPv6 brackets. Also sent as OPEN's and
    /// sasl-init's `hostname`, which brokers use for virtual hosting.
    public var host: String
    /// The TCP port.
    public var port: UInt16
    /// The user name from the URL, percent-decoded.
    public var username: String?
    /// The password from the URL, percent-decoded.
    public var password: String?
    /// The URL's path (with its leading `/`), if any; not used by the connection itself.
    public var path: String?

    /// The node the URL's path names: the path without its leading `/`, percent-decoded
    /// (`amqp://host/orders%2Feu` → `orders/eu`); `nil` without a path. The connection
    /// does not use it; tools and applications take it as a link's address (`amqp send
    /// URL`). Parsing has checked the escapes; a path set by hand with a malformed one
    /// is returned as written.
    public var address: String? {
        guard let path else { return nil }
        let p = path.hasPrefix("/") ? path.dropFirst() : Substring(path)
        return (try? Self.percentDecoded(p, in: "path")) ?? String(p)
    }

    /// Creates an endpoint from parts.
    public init(scheme: Scheme = .amqp, host: String, port: UInt16? = nil, username: String? = nil, password: String? = nil, path: String? = nil) {
        self.scheme = scheme
        self.host = host
        self.port = port ?? scheme.defaultPort
        self.username = username
        self.password = password
        self.path = path
    }

    /// Parses a `host`, `host:port` or `amqp(s)://` URL.
    public init(parsing text: String) throws(ConfigurationError) {
        func fail(_ code: ConfigurationError.Code, _ detail: String) -> ConfigurationError {
            ConfigurationError(code, setting: "hostname", detail: detail)
        }
        guard !text.isEmpty else {
            throw fail(.invalidHostname, "empty: give a host name, host:port, or an amqp:// or amqps:// URL")
        }
        guard !text.contains(where: { $0.isWhitespace }) else {
            throw fail(.invalidHostname, "\"\(text)\" contains white space")
        }
        var rest = Substring(text)
        var scheme = Scheme.amqp
        var username: String? = nil
        var password: String? = nil
        var path: String? = nil
        if let sep = rest.firstRange(of: "://") {
            let name = rest[..<sep.lowerBound].lowercased()
            switch name {
            case "amqp": scheme = .amqp
            case "amqps": scheme = .amqps
            case "amqpws": scheme = .amqpws
            case "amqpwss": scheme = .amqpwss
            default:
                throw fail(.unsupportedScheme, "scheme \"\(rest[..<sep.lowerBound])\" in \"\(text)\" is not amqp, amqps, amqpws or amqpwss")
            }
            rest = rest[sep.upperBound...]
            // The authority ends at the first '/', '?' or '#'.
            if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) {
                let tail = rest[end...]
                if tail.first == "/" {
                    let p = tail.prefix { $0 != "?" && $0 != "#" }
                    if p.count > 1 {
                        // Checked now so that a bad escape is a parse error, not an
                        // address quietly taken as written.
                        _ = try Self.percentDecoded(p.dropFirst(), in: "path")
                        path = String(p)
                    }
                }
                rest = rest[..<end]
            }
            if let at = rest.lastIndex(of: "@") {
                let userinfo = rest[..<at]
                rest = rest[rest.index(after: at)...]
                if let colon = userinfo.firstIndex(of: ":") {
                    username = try Self.percentDecoded(userinfo[..<colon])
                    password = try Self.percentDecoded(userinfo[userinfo.index(after: colon)...])
                } else {
                    username = try Self.percentDecoded(userinfo)
                }
            }
        } else if rest.contains(where: { $0 == "/" || $0 == "@" || $0 == "?" || $0 == "#" }) {
            throw fail(.invalidHostname, "\"\(text)\" is neither host[:port] nor an amqp:// or amqps:// URL")
        }

        let host: Substring
        var portText: Substring? = nil
        if rest.first == "[" {
            guard let close = rest.firstIndex(of: "]") else {
                throw fail(.invalidHostname, "\"\(text)\" opens an IPv6 address with '[' but never closes it")
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.first == ":" else {
                    throw fail(.invalidHostname, "\"\(text)\" has \"\(after)\" after the IPv6 address; expected :port")
                }
                portText = after.dropFirst()
            }
        } else if rest.filter({ $0 == ":" }).count > 1 {
            // Several colons without brackets: a bare IPv6 address, which cannot carry a
            // port (write [addr]:port for that).
            host = rest
        } else if let colon = rest.firstIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty else {
            throw fail(.invalidHostname, "\"\(text)\" names no host")
        }
        if let bad = host.first(where: { $0 == "[" || $0 == "]" || $0 == "@" || $0 == "/" || $0 == "\\" }) {
            throw fail(.invalidHostname, "host \"\(host)\" in \"\(text)\" contains '\(bad)'")
        }
        var port: UInt16? = nil
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let p = UInt32(portText), p >= 1, p <= 65_535
            else {
                throw ConfigurationError(.invalidPort, setting: "hostname", detail: "port \"\(portText)\" in \"\(text)\" is not a number from 1 to 65535")
            }
            port = UInt16(p)
        }
        self.init(scheme: scheme, host: String(host), port: port, username: username, password: password, path: path)
    }

    /// `scheme://host:port` (IPv6 hosts in brackets); never shows user or password.
    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "\(scheme.name)://\(h):\(port)"
    }

    /// Decodes `%XX` escapes as UTF-8 (a `+` stays a `+`, as in URL user info).
    static func percentDecoded(_ s: Substring, in part: String = "user info") throws(ConfigurationError) -> String {
        guard s.contains("%") else { return String(s) }
        var bytes: [UInt8] = []
        let utf8 = Array(s.utf8)
        var i = 0
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "%") {
                guard i + 2 < utf8.count, let hi = hexValue(utf8[i + 1]), let lo = hexValue(utf8[i + 2]) else {
                    throw ConfigurationError(.invalidEscape, setting: "hostname", detail: "malformed percent-escape in the URL's \(part)")
                }
                bytes.append(hi << 4 | lo)
                i += 3
            } else {
                bytes.append(utf8[i])
                i += 1
            }
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw ConfigurationError(.invalidEscape, setting: "hostname", detail: "the URL's \(part) decodes to bytes that are not UTF-8")
        }
        return decoded
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
