/// A connection setting that cannot be used, found before anything is sent.
///
/// `code` says what kind of problem it is and `setting` which parameter; the description
/// says what was wrong and what to use instead. Codes are open (static members of a
/// struct), so new ones can be added without breaking a `switch` in user code.
public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of problem.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// A short name, e.g. `invalid hostname`.
        public let name: String
        init(_ name: String) { self.name = name }
        /// The name.
        public var description: String { name }

        /// The hostname or URL cannot be parsed, or names no host.
        public static let invalidHostname = Code("invalid hostname")
        /// The port is not a number from 1 to 65535.
        public static let invalidPort = Code("invalid port")
        /// The URL scheme is none of `amqp`, `amqps`, `amqpws`, `amqpwss`.
        public static let unsupportedScheme = Code("unsupported scheme")
        /// Raised by no release since TLS arrived; kept so code that names it compiles.
        public static let tlsUnavailable = Code("TLS is not available yet")
        /// The TLS configuration cannot be used: a CA, certificate or key file is missing
        /// or invalid, or the configuration is a server's.
        public static let invalidTLS = Code("invalid TLS configuration")
        /// The WebSocket transport cannot be used: a path or header that would corrupt
        /// the upgrade request.
        public static let invalidWebSocket = Code("invalid WebSocket configuration")
        /// `maxFrameSize` is below AMQP's minimum of 512 bytes.
        public static let maxFrameSizeTooSmall = Code("max frame size too small")
        /// `remoteIdleTimeoutEmptyFrameSendRatio` is not in (0, 1].
        public static let invalidEmptyFrameSendRatio = Code("invalid empty-frame send ratio")
        /// `encoding` is not UTF-8.
        public static let unsupportedEncoding = Code("unsupported encoding")
        /// A connection property key is not a valid symbol (symbols are ASCII).
        public static let invalidProperties = Code("invalid properties")
        /// A percent-escape in the URL is malformed or not UTF-8.
        public static let invalidEscape = Code("invalid percent-escape")
        /// A setting was changed after the connection started.
        public static let settingsLocked = Code("settings locked")
        /// A client's target or source URL names no node address (its path).
        public static let missingAddress = Code("missing address")
    }

    /// What kind of problem.
    public var code: Code
    /// The parameter at fault, as the constructor names it (e.g. `hostname`).
    public var setting: String
    /// What was wrong and what to do instead.
    public var detail: String

    /// Creates an error.
    public init(_ code: Code, setting: String, detail: String) {
        self.code = code
        self.setting = setting
        self.detail = detail
    }

    /// `<setting>: <detail>`.
    public var description: String { "\(setting): \(detail)" }
}
