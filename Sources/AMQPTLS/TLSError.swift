/// Why TLS failed on a connection, named so that a person knows what to fix: an expired
/// or untrusted certificate, a host name the certificate does not list, a peer that does
/// not speak TLS, a failed handshake.
///
/// Codes are values, not enum cases, so new ones can be added without breaking users who
/// switch over them; compare with `==` (`error.code == .certificateExpired`).
public struct TLSError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// A short lower-case name, e.g. `certificate expired`.
        public let name: String
        private init(_ name: String) { self.name = name }
        /// The name.
        public var description: String { name }

        /// The peer's certificate (or one in its chain) has expired.
        public static let certificateExpired = Code("certificate expired")
        /// The peer's certificate is not valid yet.
        public static let certificateNotYetValid = Code("certificate not yet valid")
        /// The peer's chain does not lead to a trusted root (self-signed, unknown CA).
        public static let certificateUntrusted = Code("certificate untrusted")
        /// The server's certificate does not name the host connected to.
        public static let hostnameMismatch = Code("host name mismatch")
        /// The peer's certificate failed verification for another reason (revoked,
        /// wrong purpose, bad signature); the detail says which.
        public static let certificateInvalid = Code("certificate invalid")
        /// The server asked for a client certificate and none was configured, or it
        /// refused ours (the alert it sent says why).
        public static let peerRejectedCertificate = Code("peer rejected our certificate")
        /// The peer sent plaintext AMQP to a TLS endpoint, or answered TLS with
        /// plaintext AMQP: the other side does not use TLS on this port.
        public static let plaintextPeer = Code("plaintext peer")
        /// The mirror of `plaintextPeer`: a connection without TLS reached a TLS
        /// endpoint, which answered its AMQP protocol header with a TLS record or with
        /// the AMQP TLS header. No TLS layer was there to fail: the AMQP engine
        /// recognised it (`EngineError.headerMismatch`), and the public API reports it
        /// here (`AMQPClientError.tls`). Use `amqps://`.
        public static let peerRequiresTLS = Code("peer requires TLS")
        /// The peer answered the AMQP TLS protocol header with another header (it does
        /// not offer TLS that way).
        public static let protocolHeaderMismatch = Code("protocol header mismatch")
        /// The peer's bytes are neither TLS nor AMQP.
        public static let notTLS = Code("not TLS")
        /// The handshake failed otherwise (no common version or cipher, a malformed
        /// message, an alert); the detail carries OpenSSL's reason.
        public static let handshakeFailed = Code("handshake failed")
        /// The handshake did not complete within the configured time.
        public static let handshakeTimedOut = Code("handshake timed out")
        /// The transport ended before the handshake completed.
        public static let closedDuringHandshake = Code("closed during handshake")
        /// The TLS stream broke after the handshake (a bad record, a fatal alert).
        public static let protocolFailure = Code("protocol failure")
        /// A configured file (CA, certificate, key) cannot be used.
        public static let invalidConfiguration = Code("invalid configuration")
    }

    /// What went wrong.
    public var code: Code
    /// More, for people: OpenSSL's words, the verification result, the file at fault.
    public var detail: String
    /// The X.509 verification result (OpenSSL's `X509_V_ERR_*`), when verification failed.
    public var verifyResult: Int?

    /// Creates an error.
    public init(_ code: Code, detail: String, verifyResult: Int? = nil) {
        self.code = code
        self.detail = detail
        self.verifyResult = verifyResult
    }

    /// `TLS certificate expired: ...`.
    public var description: String { "TLS \(code): \(detail)" }
}
