import Glibc

/// Loud warnings about weakened security, on standard error: they must reach a person
/// even when the application has configured no logging.
enum TLSWarning {
    static func emit(_ text: String) {
        let line = Array("swift-amqp WARNING: \(text)\n".utf8)
        // One write(2), so concurrent warnings do not interleave mid-line.
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}
