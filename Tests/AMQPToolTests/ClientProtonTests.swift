import AMQPTool
import Foundation
import Testing

/// `amqp send` and `amqp receive` against a Qpid Proton broker
/// (Tests/Interop/proton_cli_broker.py): the client side meets an independent listener.
@Suite("amqp send and receive against a Qpid Proton broker")
struct ClientProtonTests {
    @Test func everyBodyTypeBothSettleModes() throws {
        let check = try runProcess("/usr/bin/python3", ["-c", "import proton"])
        guard check.status == 0 else {
            throw MissingPrerequisite("/usr/bin/python3 cannot import proton: `make test` installs python3-qpid-proton (Tools/install-deps.sh)")
        }
        // A free port: Proton's listen cannot report the one the kernel would pick.
        let port = try deadPort()
        let broker = Process()
        broker.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        broker.arguments = [packageRoot.appendingPathComponent("Tests/Interop/proton_cli_broker.py").path,
                            "--listen", "127.0.0.1:\(port)", "--timeout", "60"]
        let output = Pipe()
        broker.standardInput = FileHandle.nullDevice
        broker.standardOutput = output
        broker.standardError = FileHandle.nullDevice
        try broker.run()
        defer { if broker.isRunning { broker.terminate() } }
        #expect(try readLine(output.fileHandleForReading.fileDescriptor, within: 10) == "listening 127.0.0.1:\(port)")

        let url = "amqp://127.0.0.1:\(port)/interop"
        let value = try send([url, "--count", "10", "--body-type", "value", "--body", "v", "--timeout", "10"])
        #expect(value.status == .success, "\(value.output.errors)")
        #expect(value.output.lines == [#"sent 10 messages to "interop": accepted 10, rejected 0, released 0, modified 0"#])
        let data = try send([url, "--count", "5", "--size", "100", "--settle", "--timeout", "10"])
        #expect(data.status == .success, "\(data.output.errors)")
        #expect(data.output.lines == [#"sent 5 messages to "interop": pre-settled 5 (no outcomes)"#])
        let sequence = try send([url, "--count", "3", "--body-type", "sequence", "--body", "s", "--timeout", "10"])
        #expect(sequence.status == .success, "\(sequence.output.errors)")

        let got = try receive([url, "--count", "18", "--prefetch", "4", "--print", "--timeout", "10"])
        #expect(got.status == .success, "\(got.output.errors)")
        let messages = try got.output.lines.map(object)
        #expect(messages.count == 18)
        let types: [String] = messages.map { dig($0, "body", "type") as? String ?? "?" }
        let expectedTypes: [String] = Array(repeating: "value", count: 10) + Array(repeating: "data", count: 5) + Array(repeating: "sequence", count: 3)
        #expect(types == expectedTypes)
        #expect(messages.prefix(10).allSatisfy { dig($0, "body", "value", "value") as? String == "v" })
        #expect(messages.dropFirst(10).prefix(5).allSatisfy { (dig($0, "body", "text") as? String)?.count == 100 })
        #expect(messages.suffix(3).allSatisfy { dig($0, "body", "value", 0, 0, "value") as? String == "s" })
        let ids: [String] = messages.map { dig($0, "properties", "message-id", "value") as? String ?? "?" }
        let expectedIDs: [String] = Array(1...10).map { "\($0)" } + Array(1...5).map { "\($0)" } + Array(1...3).map { "\($0)" }
        #expect(ids == expectedIDs)
        // Everything was accepted: nothing comes again.
        let drained = try receive([url, "--timeout", "0.3"])
        #expect(drained.output.lines == [#"received 0 messages from "interop""#])
    }
}
