import Foundation

// Shared by the TLS and peer test targets (a regular target under Tests/, in no product):
// test targets cannot share sources, and AMQPTesting, which ships, stays free of
// Foundation.

/// Certificates made for this test run with the `openssl` command, in a temporary
/// directory: a CA, a server certificate for localhost / 127.0.0.1 and a client
/// certificate signed by it, plus the bad ones (expired, for another host, from a CA
/// nobody trusts). Made once per process; EC P-256 keys, so making them takes
/// milliseconds.
package struct TestCertificates: Sendable {
    package let directory: String
    package var caFile: String { directory + "/ca.pem" }
    package var server: (chain: String, key: String) { (directory + "/server.pem", directory + "/server.key") }
    package var client: (chain: String, key: String) { (directory + "/client.pem", directory + "/client.key") }
    package var expired: (chain: String, key: String) { (directory + "/expired.pem", directory + "/server.key") }
    package var wrongHost: (chain: String, key: String) { (directory + "/wronghost.pem", directory + "/server.key") }
    package var untrusted: (chain: String, key: String) { (directory + "/untrusted.pem", directory + "/untrusted.key") }
    /// The client certificate's subject as the server reports it (RFC 2253).
    package let clientSubject = "CN=test-client,O=swift-amqp"

    package static let shared: Result<TestCertificates, CertificateSetupError> = Result { () throws(CertificateSetupError) in try make() }

    package static func make() throws(CertificateSetupError) -> TestCertificates {
        let dir = NSTemporaryDirectory() + "swift-amqp-tls-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw CertificateSetupError(step: "mkdir \(dir)", output: "\(error)")
        }
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try run(dir, ["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=swift-amqp test CA"])
        try run(dir, ["req", "-x509"] + ec + ["-keyout", "untrusted-ca.key", "-out", "untrusted-ca.pem", "-days", "2", "-subj", "/CN=nobody trusts this CA"])
        try write(dir + "/localhost.ext", "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        try write(dir + "/other.ext", "subjectAltName=DNS:other.example\n")
        try write(dir + "/client.ext", "extendedKeyUsage=clientAuth\n")
        try run(dir, ["req"] + ec + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"])
        try run(dir, ["req"] + ec + ["-keyout", "client.key", "-out", "client.csr", "-subj", "/O=swift-amqp/CN=test-client"])
        try run(dir, ["req"] + ec + ["-keyout", "untrusted.key", "-out", "untrusted.csr", "-subj", "/CN=localhost"])
        func sign(_ csr: String, _ out: String, ca: String = "ca", days: String = "2", ext: String) throws(CertificateSetupError) {
            try run(dir, ["x509", "-req", "-in", csr, "-CA", "\(ca).pem", "-CAkey", "\(ca).key", "-CAcreateserial",
                          "-out", out, "-days", days, "-extfile", ext])
        }
        try sign("server.csr", "server.pem", ext: "localhost.ext")
        try sign("client.csr", "client.pem", ext: "client.ext")
        // notAfter a day before notBefore: expired from the moment it is made.
        try sign("server.csr", "expired.pem", days: "-1", ext: "localhost.ext")
        try sign("server.csr", "wronghost.pem", ext: "other.ext")
        try sign("untrusted.csr", "untrusted.pem", ca: "untrusted-ca", ext: "localhost.ext")
        return TestCertificates(directory: dir)
    }

    private static func write(_ path: String, _ text: String) throws(CertificateSetupError) {
        do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw CertificateSetupError(step: "write \(path)", output: "\(error)")
        }
    }

    private static func run(_ dir: String, _ arguments: [String]) throws(CertificateSetupError) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = arguments
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch {
            throw CertificateSetupError(step: "openssl \(arguments.joined(separator: " "))", output: "\(error)")
        }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw CertificateSetupError(
                step: "openssl \(arguments.joined(separator: " "))", output: String(decoding: output, as: UTF8.self))
        }
    }
}

package struct CertificateSetupError: Error, CustomStringConvertible {
    package let step: String
    package let output: String
    package var description: String { "\(step) failed: \(output)" }
}
