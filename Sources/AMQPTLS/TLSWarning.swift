import Glibc

/// Loud warnings about weakened security, on standard error: they must reach a person
/// even when the application has configured no logging.
enum TLSWarning {
    /// Written when a client context that verifies nothing is made.
    static let verificationDisabled =
        "TLS peer verification is DISABLED (TLSConfiguration.verification == .none, e.g. insecureSkipVerification()): any server, including an attacker in the middle, will be accepted"

    static func emit(_ text: String) {
        let line = Array("swift-amqp WARNING: \(text)\n".utf8)
        // One write(2), so concurrent warnings do not interleave mid-line.
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}
