import AMQPEngine
public import AMQPReactor
import CAMQPTLS

/// What the handshake established: for logs, and for SASL EXTERNAL (the peer's subject).
public struct TLSPeerInfo: Hashable, Sendable {
    /// The negotiated protocol, e.g. `TLSv1.3`.
    public var version: String
    /// The negotiated cipher suite, e.g. `TLS_AES_256_GCM_SHA384`.
    public var cipher: String
    /// The subject (RFC 2253) of the peer's certificate when it was sent and verified;
    /// `nil` otherwise (a client without one, or verification off).
    public var verifiedSubject: String?
    /// Server: the host name the client asked for with SNI (`nil` when it sent none).
    public var requestedServerName: String?
}

/// One connection's TLS state: the OpenSSL session with its two memory BIOs, the
/// decrypted bytes waiting for the protocol above, and how the connection ended.
///
/// A class, so a `TLSConnection` (a value the reactor stores) stays small and whoever
/// made the connection can keep a reference to read `failure` and `peer` after the
/// reactor has let the connection go. Made on any thread and handed to the thread that
/// drives the reactor, which is then the only one to touch it (hence unchecked).
public final class TLSSession: @unchecked Sendable {
    enum Phase {
        /// Server: the first bytes decide (a TLS record, or an AMQP header).
        case detecting
        /// Client: our AMQP TLS header is out; the peer's must come back.
        case awaitingHeader
        case handshaking
        case established
        case failed
    }

    /// Why TLS failed, once it has.
    public internal(set) var failure: TLSError? = nil
    /// What the handshake established, once it has.
    public internal(set) var peer: TLSPeerInfo? = nil
    /// The configuration in use.
    public let configuration: TLSConfiguration

    let ssl: OpaquePointer
    var phase: Phase
    /// Bytes of the AMQP TLS header (`AMQP` 2 1 0 0) still to send.
    var headerToSend = 0
    /// The handshake must be stepped once before any input (a client's ClientHello).
    var needsStep: Bool
    var handshakeDeadline: EngineInstant? = nil
    var sentCloseNotify = false
    var receivedCloseNotify = false
    /// Input waited for room (decrypted bytes or ciphertext beyond the bound): offer
    /// `receive` again once delivery frees room.
    var inputStalled = false

    /// Decrypted bytes: parsed in place by the protocol above, released after delivery.
    var plain: ByteRing? = nil
    /// Bytes of `plain` the protocol above has consumed but whose events may still
    /// borrow them.
    var parsed = 0
    /// Plaintext the protocol above produces before it is encrypted.
    var staging = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    /// The AMQP TLS protocol header (part 5.2.1): `AMQP`, id 2, version 1.0.0.
    static let tlsHeader: [UInt8] = [0x41, 0x4D, 0x51, 0x50, 2, 1, 0, 0]
    /// Ciphertext held in the read BIO at most; more waits in the reactor's ring.
    static let maxBufferedCiphertext = 64 << 10
    /// The largest plaintext produced at once (bounds the staging buffer and the
    /// ciphertext it turns into).
    static let maxStaging = 1 << 20

    /// Makes a session from `context`. `serverName` (clients) overrides the
    /// configuration's, for SNI and the host name check.
    ///
    /// - Throws: `TLSError` (`.invalidConfiguration`) when OpenSSL refuses: out of
    ///   memory, or a server name it cannot check.
    public init(context: TLSContext, serverName: String? = nil) throws(TLSError) {
        let configuration = context.configuration
        self.configuration = configuration
        let server = configuration.role == .server
        let name = serverName ?? configuration.serverName
        let checksName = !server && configuration.verification == .full
        if checksName && (name ?? "").isEmpty {
            throw TLSError(.invalidConfiguration, detail: "host name verification needs a server name (TLSConfiguration.serverName)")
        }
        guard let ssl = camqp_tls_new(context.pointer, server ? 1 : 0, name, checksName ? 1 : 0) else {
            throw TLSError(.invalidConfiguration, detail: "OpenSSL could not make a session for \(name ?? "a server"): \(TLSFailure.take().text)")
        }
        self.ssl = ssl
        serverNameInUse = name
        if server {
            phase = .detecting
            needsStep = false
        } else if configuration.start == .afterProtocolHeader {
            phase = .awaitingHeader
            headerToSend = Self.tlsHeader.count
            needsStep = false
        } else {
            phase = .handshaking
            needsStep = true
        }
    }

    deinit {
        camqp_tls_free(ssl)
        staging.deallocate()
    }

    /// True once the handshake completed and nothing has failed.
    public var isEstablished: Bool { phase == .established }

    // MARK: Failing

    /// Ends TLS with `error`: whatever alert OpenSSL queued still goes out, nothing else.
    func fail(_ error: TLSError) {
        guard phase != .failed else { return }
        phase = .failed
        failure = error
        inputStalled = false
    }

    /// Classifies a failed handshake or record: verification first (it says exactly
    /// what was wrong with the certificate), then alerts the peer sent, then OpenSSL's
    /// reason.
    func classify(during handshake: Bool) -> TLSError {
        let reason = TLSFailure.take()
        let verify = Int(camqp_tls_verify_result(ssl))
        if verify != 0 && configuration.verification != .none {
            let text = String(cString: camqp_tls_verify_string(verify))
            let code: TLSError.Code
            switch verify {
            case 10: code = .certificateExpired  // X509_V_ERR_CERT_HAS_EXPIRED
            case 9: code = .certificateNotYetValid  // X509_V_ERR_CERT_NOT_YET_VALID
            // Unable to get the issuer (locally), self-signed leaf or chain, unable to
            // verify the leaf's signature: no trusted root.
            case 2, 18, 19, 20, 21: code = .certificateUntrusted
            case 62, 64: code = .hostnameMismatch  // X509_V_ERR_HOSTNAME_MISMATCH, _IP_ADDRESS_MISMATCH
            default: code = .certificateInvalid
            }
            let who = configuration.role == .client ? "the server's certificate" : "the client's certificate"
            var detail = "\(who) failed verification: \(text)"
            if code == .hostnameMismatch, let name = configuration.serverName ?? serverNameInUse {
                detail += " (it does not name \(name))"
            }
            return TLSError(code, detail: detail, verifyResult: verify)
        }
        // Alerts arrive as reasons 1000 + the alert's number (SSL_AD_REASON_OFFSET).
        if reason.reason >= 1000 && reason.reason < 1256 {
            let alert = reason.reason - 1000
            switch alert {
            case 42, 43, 44, 45, 46, 48, 116:
                // bad_certificate, unsupported, revoked, expired, unknown, unknown_ca,
                // certificate_required: the peer refused what we presented (or its absence).
                let ours = configuration.certificate == nil ? "no certificate (none is configured)" : "our certificate"
                return TLSError(.peerRejectedCertificate, detail: "the peer refused \(ours) with alert \(alert): \(reason.text)")
            default:
                return TLSError(handshake ? .handshakeFailed : .protocolFailure, detail: "the peer sent alert \(alert): \(reason.text)")
            }
        }
        let text = reason.text.isEmpty ? "no reason given by OpenSSL" : reason.text
        return TLSError(handshake ? .handshakeFailed : .protocolFailure, detail: text)
    }

    /// The server name given to OpenSSL (kept for messages).
    var serverNameInUse: String? = nil
    /// Client: some byte of the server's has been taken as TLS.
    var receivedAny = false
    /// The decrypted-bytes ring's size: a whole unit of the protocol above must fit.
    var plainCapacity = 64 << 10
    /// The decrypted-bytes ring's storage (as the reactor's rings: mirrored while the
    /// process's budget allows, compacting past it). Set before the first byte arrives.
    public var plainStorage: ByteRing.StoragePreference = .automatic
}
