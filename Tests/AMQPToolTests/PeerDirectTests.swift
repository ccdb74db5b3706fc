import AMQPReactor
import AMQPTool
import Dispatch
import Foundation
import Synchronization
import Testing

/// Output shared between the thread running `amqp peer --direct` and the test.
final class SharedOutput: CommandOutput, Sendable {
    let state = Mutex<(lines: [String], errors: [String])>(([], []))
    /// What the command threw, if anything.
    let thrown = Mutex<String?>(nil)
    func printLine(_ line: String) { state.withLock { $0.lines.append(line) } }
    func printError(_ line: String) { state.withLock { $0.errors.append(line) } }
    func flush() {}
}

/// `amqp peer --direct`: a receiver, not a broker. Another program's sender (here `amqp
/// send`) sends to it; once --count messages have arrived and the sender has closed its
/// connection, it exits.
@Suite("amqp peer --direct")
struct PeerDirectTests {
    @Test(arguments: [false, true], SocketBenchTests.backends)
    func takesCountMessagesAndExits(presettled: Bool, backend: ReactorOptions.Backend) throws {
        let peerArguments = ["--direct", "--listen", "127.0.0.1:0", "--count", "120", "--backend", backend.rawValue]
        _ = try PeerCommand.parse(peerArguments)
        let output = SharedOutput()
        let finished = DispatchSemaphore(value: 0)
        Thread {
            do { try PeerCommand.parse(peerArguments).run(output: output) } catch { output.thrown.withLock { $0 = "\(error)" } }
            finished.signal()
        }.start()
        // Bounded wait for the "listening on" line.
        var port: UInt16? = nil
        for _ in 0..<1_000 where port == nil {
            port = output.state.withLock { $0.lines.first }.flatMap { line in
                line.split(separator: ":").last.flatMap { UInt16($0) }
            }
            if port == nil { usleep(10_000) }
        }
        let listening = try #require(port, "no listening line: \(output.state.withLock { $0 })")
        var arguments = ["amqp://127.0.0.1:\(listening)/anywhere", "--count", "120", "--size", "100"]
        if presettled { arguments.append("--settle") }
        let (status, sent) = try send(arguments)
        #expect(status == .success, "\(sent.lines) \(sent.errors)")
        #expect(finished.wait(timeout: .now() + 30) == .success, "amqp peer --direct did not exit after its count")
        #expect(output.thrown.withLock { $0 } == nil)
        #expect(output.state.withLock { $0.errors } == ["amqp peer: received 120 messages"])
    }

    @Test(arguments: [
        ["--count", "5"], ["--direct", "--count", "0"], ["--direct", "--user", "a:b"], ["--direct", "--queue", "q"],
        ["--direct", "--close-after", "3"],
    ])
    func badCombinationsAreUsageErrors(arguments: [String]) {
        do {
            _ = try PeerCommand.parse(arguments)
            Issue.record("\(arguments) parsed")
        } catch {
            #expect(PeerCommand.exitCode(for: error).rawValue == 64, "\(error)")
        }
    }
}
