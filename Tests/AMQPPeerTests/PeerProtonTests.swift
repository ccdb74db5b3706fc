import AMQPTestCertificates
import AMQPPeer
import AMQPReactor
import Foundation
import Testing

/// Qpid Proton (python3-qpid-proton) as the client, over a loopback socket, against the
/// embedded peer: our listening role meets an independent implementation.
/// Tests/Interop/proton_client.py says what the client does.
@Suite struct PeerProtonTests {
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Interop/proton_client.py")

    static let protonAvailable: Bool = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", "import proton"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()

    /// Runs the Proton client against `bed`'s peer, driving the peer's reactor meanwhile.
    func runProton(_ bed: PeerTestBed, _ arguments: [String]) throws -> (status: Int32, summary: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [Self.script.path, "--url", "amqp://127.0.0.1:\(bed.peer.address.port)", "--timeout", "20"] + arguments
        let output = Pipe(), error = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = error
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        // The client prints one line at the end, so the pipes cannot fill meanwhile.
        try bed.pump("the Proton client to finish", within: 30) { !process.isRunning }
        process.waitUntilExit()
        let out = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.terminationStatus, out, err)
    }

    /// Proton's client TLS (OpenSSL under Proton-C) against the peer's TLS listener.
    @Test(.enabled(if: protonAvailable, "/usr/bin/python3 cannot import proton (python3-qpid-proton)"))
    func protonOverTLS() throws {
        let certs = try TestCertificates.shared.get()
        let bed = try PeerTestBed { c in
            c.tls = .server(certificate: .init(chainFile: certs.server.chain, keyFile: certs.server.key))
        }
        let run = try runProton(bed, [
            "--url", "amqps://127.0.0.1:\(bed.peer.address.port)", "--ca", certs.caFile,
            "--count", "300", "--credit", "50", "--big-every", "100", "--big-size", "100000",
        ])
        #expect(run.status == 0, "\(run.summary) \(run.stderr)")
        #expect(run.summary.contains(#""ok": true"#))
        try bed.pump("the peer sees the client go") { bed.peer.connectionCount == 0 }
        #expect(bed.peer.depth(of: "q") == 0)
    }

    @Test(.enabled(if: protonAvailable, "/usr/bin/python3 cannot import proton (python3-qpid-proton)"))
    func protonSendsAndReceivesThroughThePeer() throws {
        let bed = try PeerTestBed()
        let run = try runProton(bed, ["--count", "2000", "--credit", "50", "--big-every", "500", "--big-size", "300000"])
        #expect(run.status == 0, "\(run.summary) \(run.stderr)")
        #expect(run.summary.contains(#""ok": true"#))
        #expect(run.summary.contains(#""redelivered": true"#))
        try bed.pump("the peer sees the client go") { bed.peer.connectionCount == 0 }
        #expect(bed.peer.depth(of: "q") == 0)
        #expect(bed.peer.heldBytes == 0)
        #expect(bed.peer.statistics.messagesStored == 2000)
        #expect(bed.peer.statistics.messagesReturned == 1)
    }

    @Test(.enabled(if: protonAvailable, "/usr/bin/python3 cannot import proton (python3-qpid-proton)"))
    func protonAuthenticatesWithPlain() throws {
        let bed = try PeerTestBed {
            $0.users = ["alice": "secret"]
            $0.allowAnonymous = false
        }
        let good = try runProton(bed, ["--count", "10", "--user", "alice", "--password", "secret"])
        #expect(good.status == 0, "\(good.summary) \(good.stderr)")
        let bad = try runProton(bed, ["--count", "10", "--user", "alice", "--password", "wrong"])
        #expect(bad.status == 1)
        #expect(bad.summary.contains("amqp:unauthorized-access"), "\(bad.summary)")
    }
}
