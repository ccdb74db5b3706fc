import AMQPTestCertificates
import AMQP
import AMQPReactor
import Foundation
import Testing

/// Our TLS client (the public `Connection` over `amqps://`) against Qpid Proton's TLS
/// listener (Tests/Interop/proton_tls_broker.py), on both backends; the same without TLS
/// for comparison.
@Suite struct ProtonTLSBrokerTests {
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Interop/proton_tls_broker.py")

    @Test(.enabled(if: PeerProtonTests.protonAvailable, "/usr/bin/python3 cannot import proton (python3-qpid-proton)"),
          arguments: PeerTLSTests.backends, [true, false])
    func messagesThroughProton(backend: ReactorOptions.Backend, tls: Bool) throws {
        let certs = try TestCertificates.shared.get()
        let portFile = certs.directory + "/proton-port-\(UUID().uuidString)"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [Self.script.path, "--cert", certs.server.chain, "--key", certs.server.key, "--port-file", portFile, "--timeout", "60"]
            + (tls ? [] : ["--plain"])
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let end = Date().addingTimeInterval(15)
        var port: UInt16? = nil
        while port == nil {
            guard Date() < end, process.isRunning else { throw PeerFailed(description: "the Proton broker did not start") }
            port = (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { UInt16($0) }
            if port == nil { usleep(10_000) }
        }

        let (connection, reactor) = try PeerTLSTests.connection(
            "\(tls ? "amqps" : "amqp")://127.0.0.1:\(port!)", backend: backend, tls: tls ? .client(trust: .file(certs.caFile)) : nil)
        defer { reactor.shutdown() }
        defer { connection.destroy() }
        let session = try Session(connection: connection)
        let sender = try MessageSender(session: session, target: "tls-q")
        let big = [UInt8]((0..<150_000).map { UInt8(truncatingIfNeeded: $0 &* 13) })
        for i in 0..<20 {
            let body = i % 10 == 9 ? big : Array("proton \(i)".utf8)
            #expect(try sender.send(Message(body: body), timeout: .seconds(10)) == .accepted)
        }
        let receiver = try MessageReceiver(session: session, source: "tls-q", prefetch: 10, autoAccept: true)
        var got: [[UInt8]] = []
        let until = Date().addingTimeInterval(15)
        while got.count < 20 && Date() < until {
            for m in try receiver.receive(maxCount: 20, timeout: .seconds(5)) {
                if case .data(let sections) = m.message.body, let d = sections.first { got.append(d) }
            }
        }
        #expect(got.count == 20, "\(got.map(\.count))")
        #expect(got.enumerated().allSatisfy { i, b in b == (i % 10 == 9 ? big : Array("proton \(i)".utf8)) })
    }
}
