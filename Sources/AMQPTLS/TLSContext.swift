import CAMQPTLS

/// A configured OpenSSL context (SSL_CTX): trust store, certificate and key loaded once,
/// then shared by every session made from it (on any thread: OpenSSL allows making
/// sessions from a configured context concurrently).
///
/// Loading the system store reads `/etc/ssl/certs`, which takes milliseconds: make one
/// context and reuse it for many connections.
public final class TLSContext: @unchecked Sendable {
    /// The configuration it was made from.
    public let configuration: TLSConfiguration
    /// True for a client that checks nothing about its server (`verification == .none`):
    /// a warning went to standard error when the context was made.
    public let skipsVerification: Bool
    let pointer: OpaquePointer

    /// Loads what `configuration` names.
    ///
    /// - Throws: `TLSError` with code `.invalidConfiguration` when a file is missing,
    ///   not PEM, or the key does not belong to the certificate.
    public convenience init(_ configuration: TLSConfiguration) throws(TLSError) {
        try self.init(configuration, warn: TLSWarning.emit)
    }

    /// Loads what `configuration` names; warnings go to `warn` (tests see them there
    /// instead of on the process's shared standard error).
    init(_ configuration: TLSConfiguration, warn: (String) -> Void) throws(TLSError) {
        self.configuration = configuration
        let server = configuration.role == .server
        skipsVerification = !server && configuration.verification == .none
        guard let ctx = camqp_tls_ctx_new(server ? 1 : 0) else {
            throw TLSError(.invalidConfiguration, detail: "OpenSSL could not make a context: \(TLSFailure.take().text)")
        }
        pointer = ctx
        if configuration.minimumVersion == .tls13 { _ = camqp_tls_ctx_set_min_version(ctx, 0x0304) }
        if let certificate = configuration.certificate {
            let r = camqp_tls_ctx_use_certificate(ctx, certificate.chainFile, certificate.keyFile)
            if r != 0 {
                let what = r == -1 ? "certificate chain \(certificate.chainFile)"
                    : r == -2 ? "private key \(certificate.keyFile)"
                    : "private key \(certificate.keyFile), which does not belong to \(certificate.chainFile)"
                throw TLSError(.invalidConfiguration, detail: "cannot use the \(what): \(TLSFailure.take().text)")
            }
        } else if server {
            throw TLSError(.invalidConfiguration, detail: "a TLS server needs a certificate and its private key")
        }
        let verifies: Bool
        switch (configuration.role, configuration.verification) {
        case (_, .none):
            verifies = false
            camqp_tls_ctx_set_verify(ctx, Int32(CAMQP_TLS_VERIFY_NONE))
        case (.server, .requiredClientCertificate):
            verifies = true
            camqp_tls_ctx_set_verify(ctx, Int32(CAMQP_TLS_VERIFY_REQUIRE_PEER))
        case (.server, .full), (.server, .chainOnly), (.server, .optionalClientCertificate):
            verifies = true
            camqp_tls_ctx_set_verify(ctx, Int32(CAMQP_TLS_VERIFY_PEER))
        case (.client, _):
            verifies = true
            camqp_tls_ctx_set_verify(ctx, Int32(CAMQP_TLS_VERIFY_PEER))
        }
        if verifies {
            switch configuration.trust {
            case .system:
                try Self.trustSystem(ctx)
            case .file(let path):
                try Self.trust(ctx, file: path)
            case .systemAndFile(let path):
                try Self.trustSystem(ctx)
                try Self.trust(ctx, file: path)
            }
        }
        // Here rather than where the configuration is made: `.none` can come from
        // `insecureSkipVerification()`, the public initializer or a changed
        // `verification`, and every one of them takes effect only through a context. A
        // connection makes one per configuration and reuses it across reconnects, so
        // this is said once per configuration, not once per connection attempt.
        if skipsVerification { warn(TLSWarning.verificationDisabled) }
    }

    deinit { camqp_tls_ctx_free(pointer) }

    private static func trustSystem(_ ctx: OpaquePointer) throws(TLSError) {
        if camqp_tls_ctx_trust_system(ctx) != 0 {
            throw TLSError(.invalidConfiguration, detail: "cannot load the system trust store: \(TLSFailure.take().text)")
        }
    }

    private static func trust(_ ctx: OpaquePointer, file: String) throws(TLSError) {
        if camqp_tls_ctx_trust_file(ctx, file) != 0 {
            throw TLSError(.invalidConfiguration, detail: "cannot load trusted certificates from \(file): \(TLSFailure.take().text)")
        }
    }
}

/// The first entry of OpenSSL's per-thread error queue (which is then cleared).
struct TLSFailure {
    var library: Int32 = 0
    var reason: Int32 = 0
    var text = ""

    static func take() -> TLSFailure {
        var f = TLSFailure()
        var buffer = [CChar](repeating: 0, count: 256)
        let code = buffer.withUnsafeMutableBufferPointer { b in
            camqp_tls_take_error(&f.library, &f.reason, b.baseAddress, b.count)
        }
        if code == 0 { return f }
        f.text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return f
    }
}
