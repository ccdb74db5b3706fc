public import AMQP
public import ArgumentParser
import Glibc

/// The TLS and transport options of `amqp send` and `amqp receive`, mirroring the
/// library's `TLSConfiguration` (Docs/tls.md): a CA file instead of the system's store,
/// a client certificate and key, the name to verify and send as SNI, SASL EXTERNAL, the
/// WebSocket path, and verification off under a name nobody types by accident.
///
/// TLS itself comes from the URL's scheme (`amqps://`, `amqpwss://`); these options only
/// shape it, so they are refused with `amqp://` and `amqpws://` rather than ignored.
public struct ClientTLSOptions: ParsableArguments, Sendable {
    /// Trusted CA certificates (PEM) instead of the system's store.
    @Option(name: .customLong("ca-file"), help: "TLS: trust the CA certificates in this PEM file instead of the system's store.")
    public var caFile: String?

    /// The client certificate chain (PEM).
    @Option(name: .customLong("cert"), help: "TLS: our certificate chain (PEM), for servers that ask for one; needs --key.")
    public var certificate: String?

    /// The client certificate's private key (PEM, unencrypted).
    @Option(name: .customLong("key"), help: "TLS: the private key (PEM, not encrypted) of --cert.")
    public var key: String?

    /// The name verified and sent as SNI, instead of the URL's host.
    @Option(name: .customLong("server-name"), help: "TLS: the name the server's certificate must list, also sent as SNI (default: the URL's host).")
    public var serverName: String?

    /// No certificate or host-name verification.
    @Flag(name: .customLong("insecure-no-verify"), help: "TLS: DANGEROUS: do not verify the server's certificate or name (anyone on the path can read and change the traffic); a warning goes to standard error.")
    public var insecureNoVerify = false

    /// SASL EXTERNAL (the identity the client certificate establishes).
    @Flag(name: .customLong("sasl-external"), help: "Log in with SASL EXTERNAL: the identity of the client certificate (needs --cert).")
    public var saslExternal = false

    /// The WebSocket path for `amqpws://` and `amqpwss://`.
    @Option(name: .customLong("ws-path"), help: "amqpws:// and amqpwss://: the WebSocket path (default /$servicebus/websocket/).")
    public var webSocketPath: String?

    /// Creates the options (ArgumentParser fills them in).
    public init() {}

    /// True when any option is given.
    var isEmpty: Bool {
        caFile == nil && certificate == nil && key == nil && serverName == nil && !insecureNoVerify && !saslExternal
            && webSocketPath == nil
    }

    /// `settings` with these options applied; each combination that cannot work is a
    /// usage error naming the option.
    public func apply(to settings: ConnectionSettings) throws(ValidationError) -> ConnectionSettings {
        var settings = settings
        let scheme = settings.endpoint.scheme
        let usesTLS = scheme == .amqps || scheme == .amqpwss
        let tlsOptions = [
            caFile.map { _ in "--ca-file" }, certificate.map { _ in "--cert" }, key.map { _ in "--key" },
            serverName.map { _ in "--server-name" }, insecureNoVerify ? "--insecure-no-verify" : nil,
        ].compactMap { $0 }
        if !usesTLS, let first = tlsOptions.first {
            throw ValidationError("\(first) applies to TLS: use an amqps:// (port 5671) or amqpwss:// URL")
        }
        if webSocketPath != nil && !scheme.isWebSocket {
            throw ValidationError("--ws-path applies to amqpws:// and amqpwss:// URLs")
        }
        if (certificate == nil) != (key == nil) {
            throw ValidationError("--cert and --key go together: the certificate chain and its private key")
        }
        if insecureNoVerify && (caFile != nil || serverName != nil) {
            throw ValidationError("--insecure-no-verify checks nothing: --ca-file and --server-name would have no effect")
        }
        if saslExternal && certificate == nil {
            throw ValidationError("--sasl-external needs a client certificate: --cert and --key (over amqps:// or amqpwss://)")
        }
        for (option, path) in [("--ca-file", caFile), ("--cert", certificate), ("--key", key)] {
            if let path, access(path, R_OK) != 0 {
                throw ValidationError("\(option) \(path): cannot be read")
            }
        }
        if usesTLS {
            let client = certificate.map { TLSConfiguration.Certificate(chainFile: $0, keyFile: key ?? "") }
            if insecureNoVerify {
                settings.tls = .insecureSkipVerification(serverName: serverName, certificate: client)
            } else if caFile != nil || client != nil || serverName != nil {
                settings.tls = .client(serverName: serverName, trust: caFile.map { .file($0) } ?? .system, certificate: client)
            }
        }
        if saslExternal { settings.sasl = .external() }
        if let webSocketPath {
            guard webSocketPath.hasPrefix("/") else { throw ValidationError("--ws-path must start with /") }
            settings.transport = .webSocket(path: webSocketPath)
        }
        do throws(ConfigurationError) {
            try settings.validate()
        } catch {
            throw ValidationError("\(error.code): \(error.detail)")
        }
        return settings
    }
}
