/// How one side of a connection speaks TLS (OpenSSL 3): whom it trusts, what it proves,
/// what it checks, and how TLS starts.
///
/// ```swift
/// var tls = TLSConfiguration.client()                           // system trust store, host name checked
/// tls.trust = .file("/etc/myca.pem")                            // or a private CA
/// tls.certificate = .init(chainFile: "client.pem", keyFile: "client.key")   // for SASL EXTERNAL
/// let server = TLSConfiguration.server(certificate: .init(chainFile: "server.pem", keyFile: "server.key"))
/// ```
///
/// Verification is on by default for clients: the server's chain must lead to a trusted
/// root and its certificate must name the host. Turning it off is spelled
/// `insecureSkipVerification()`; however a client gets `verification = .none` (that,
/// the initializer, or setting the property), the `TLSContext` made from it writes a
/// warning to standard error.
public struct TLSConfiguration: Sendable, Hashable {
    /// Which side of the handshake.
    public enum Role: Sendable, Hashable {
        /// Sends ClientHello; checks the server's certificate.
        case client
        /// Answers; may ask for client certificates.
        case server
    }

    /// Where trusted root certificates come from.
    public enum Trust: Sendable, Hashable {
        /// The system's store (`/etc/ssl/certs`; `SSL_CERT_FILE` / `SSL_CERT_DIR` override).
        case system
        /// Only the PEM certificates in this file (a private CA).
        case file(String)
        /// The system's store and the certificates in this file.
        case systemAndFile(String)
    }

    /// What is checked about the peer.
    public enum Verification: Sendable, Hashable {
        /// Nothing. For a client this accepts any server (a man in the middle included):
        /// `insecureSkipVerification()` says so by name, and a client context made with
        /// it, from wherever, warns on standard error. For a server: no client
        /// certificate is asked for (the default, no warning).
        case none
        /// The certificate chain must verify against `trust`; for a client, the server's
        /// certificate must also name `serverName` (the default for clients).
        case full
        /// The chain must verify, but the name is not checked (a client connecting by an
        /// address its server's certificate does not list).
        case chainOnly
        /// Server: asks for a client certificate and verifies it when one is sent.
        case optionalClientCertificate
        /// Server: a client without a verifiable certificate is refused in the handshake.
        case requiredClientCertificate
    }

    /// How TLS begins on the connection.
    public enum Start: Sendable, Hashable {
        /// TLS from the first byte (`amqps://`, port 5671).
        case immediately
        /// First the AMQP TLS protocol header (`AMQP` 2 1 0 0) in each direction, then
        /// TLS (AMQP 1.0 part 5.2.1). A server accepts both forms whatever this says.
        case afterProtocolHeader
    }

    /// A certificate chain and its private key, as PEM files.
    public struct Certificate: Sendable, Hashable {
        /// The certificate first, then any intermediates.
        public var chainFile: String
        /// The private key of the first certificate.
        public var keyFile: String

        /// Names the files.
        public init(chainFile: String, keyFile: String) {
            self.chainFile = chainFile
            self.keyFile = keyFile
        }
    }

    /// Lowest protocol version accepted.
    public enum MinimumVersion: Sendable, Hashable {
        /// TLS 1.2 (the default).
        case tls12
        /// TLS 1.3.
        case tls13
    }

    /// Which side of the handshake.
    public var role: Role
    /// Where trusted roots come from (for verifying the peer).
    public var trust: Trust = .system
    /// What we present: a client certificate (for SASL EXTERNAL), or the server's.
    public var certificate: Certificate?
    /// What is checked about the peer. `.none` on a client turns checking off: its
    /// context warns on standard error when made (`TLSContext.skipsVerification`).
    public var verification: Verification
    /// Client: the name sent as SNI and checked against the server's certificate. `nil`:
    /// the host connected to (a `Connection` fills it in from its URL).
    public var serverName: String?
    /// How TLS begins.
    public var start: Start = .immediately
    /// Lowest protocol version.
    public var minimumVersion: MinimumVersion = .tls12
    /// A handshake that has not completed after this long fails (a peer that stops
    /// answering halfway must not hold the connection for ever).
    public var handshakeTimeout: Duration = .seconds(30)

    /// A client configuration: `trust` for the server's chain, its host name checked,
    /// optionally a client certificate.
    public static func client(
        serverName: String? = nil, trust: Trust = .system, certificate: Certificate? = nil
    ) -> TLSConfiguration {
        TLSConfiguration(role: .client, trust: trust, certificate: certificate, verification: .full, serverName: serverName)
    }

    /// A client that accepts any server certificate: expired, self-signed, for another
    /// host, or a man in the middle's. Never use it outside tests; every `TLSContext`
    /// made from it (one per connection's configuration) writes a warning to standard
    /// error.
    public static func insecureSkipVerification(serverName: String? = nil, certificate: Certificate? = nil) -> TLSConfiguration {
        TLSConfiguration(role: .client, trust: .system, certificate: certificate, verification: .none, serverName: serverName)
    }

    /// A server configuration presenting `certificate`; client certificates as `clients`
    /// says, verified against `trust`.
    public static func server(
        certificate: Certificate, clients: Verification = .none, trust: Trust = .system
    ) -> TLSConfiguration {
        TLSConfiguration(role: .server, trust: trust, certificate: certificate, verification: clients, serverName: nil)
    }

    /// Creates a configuration; prefer `client`, `server` or `insecureSkipVerification`.
    /// A client with `verification: .none` checks nothing: its context warns on standard
    /// error, as `insecureSkipVerification()`'s does.
    public init(role: Role, trust: Trust = .system, certificate: Certificate? = nil, verification: Verification, serverName: String? = nil) {
        self.role = role
        self.trust = trust
        self.certificate = certificate
        self.verification = verification
        self.serverName = serverName
    }
}
