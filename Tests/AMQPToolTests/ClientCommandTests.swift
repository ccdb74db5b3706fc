import AMQP
import AMQPPeer
import AMQPTool
import ArgumentParser
import Dispatch
import Foundation
import Testing

/// Runs `amqp send` in-process.
func send(_ arguments: [String]) throws -> (status: ClientExitStatus, output: CapturedOutput) {
    let output = CapturedOutput()
    return (try SendCommand.parse(arguments).execute(output: output), output)
}

/// Runs `amqp receive` in-process.
func receive(_ arguments: [String]) throws -> (status: ClientExitStatus, output: CapturedOutput) {
    let output = CapturedOutput()
    return (try ReceiveCommand.parse(arguments).execute(output: output), output)
}

/// A JSON line as a dictionary.
func object(_ line: String) throws -> [String: Any] {
    let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8))
    return try #require(parsed as? [String: Any], "not a JSON object: \(line)")
}

/// `root[k1][k2]…`, through objects (string keys) and arrays (integer keys).
func dig(_ root: Any?, _ path: Any...) -> Any? {
    var node = root
    for step in path {
        if let key = step as? String { node = (node as? [String: Any])?[key] }
        else if let index = step as? Int {
            guard let array = node as? [Any], index < array.count else { return nil }
            node = array[index]
        }
    }
    return node
}

/// Polls `condition` until it holds or `seconds` pass.
func eventually(within seconds: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(5_000)
    }
    return try condition()
}

@Suite("amqp send and receive, against the embedded peer over loopback")
struct ClientCommandTests {
    @Test(arguments: SendCommand.BodyType.allCases)
    func sendThenReceiveWithEveryBodyType(_ bodyType: SendCommand.BodyType) throws {
        let peer = try PeerThread()
        defer { peer.stop() }
        let text = "h\u{e9}llo \"q\"\n"
        // A window smaller than the count: the sender waits for outcomes to make room.
        let sent = try send([peer.url("q"), "--count", "20", "--window", "5", "--body-type", bodyType.rawValue,
                             "--body", text, "--property", "colour=blue", "--property", "n=1=2"])
        #expect(sent.status == .success, "\(sent.output.errors)")
        #expect(sent.output.lines == [#"sent 20 messages to "q": accepted 20, rejected 0, released 0, modified 0"#])
        #expect(try peer.depth(of: "q") == 20)

        let got = try receive([peer.url("q"), "--count", "20", "--print", "--timeout", "10"])
        #expect(got.status == .success, "\(got.output.errors)")
        #expect(got.output.errors == [#"received 20 messages from "q""#])
        #expect(got.output.lines.count == 20)
        for (i, line) in got.output.lines.enumerated() {
            let m = try object(line)
            #expect(dig(m, "properties", "message-id", "type") as? String == "ulong")
            #expect(dig(m, "properties", "message-id", "value") as? String == "\(i + 1)")
            #expect(dig(m, "application-properties", "colour", "value") as? String == "blue")
            #expect(dig(m, "application-properties", "n", "value") as? String == "1=2")
            #expect(dig(m, "body", "type") as? String == bodyType.rawValue)
            switch bodyType {
            case .data:
                #expect(dig(m, "body", "value", 0) as? String == Hex.encode(Array(text.utf8)))
                #expect(dig(m, "body", "text") as? String == text)
            case .value:
                #expect(dig(m, "body", "value", "type") as? String == "string")
                #expect(dig(m, "body", "value", "value") as? String == text)
            case .sequence:
                #expect(dig(m, "body", "value", 0, 0, "value") as? String == text)
            }
        }
        // Every message was accepted before the connection closed: none came back.
        #expect(try peer.depth(of: "q") == 0)
    }

    /// `--print` bounds its output like `amqp decode`: a message whose described array
    /// repeats a 4,000-byte descriptor in 4,000 elements (32 MB of JSON unbounded) is
    /// reported and skipped, and the receive goes on.
    @Test func aMessageTooLargeToPrintIsReportedAndSkipped() throws {
        let peer = try PeerThread()
        defer { peer.stop() }
        let client = try SendClient(target: peer.url("big"))
        defer { client.close() }
        let array = AMQPArray(.ubyte, descriptor: .binary([UInt8](repeating: 0x11, count: 4_000)), (0..<4_000).map { _ in .ubyte(7) })
        #expect(try client.send(Message(value: .array(array)), timeout: .seconds(10)) == .accepted)
        #expect(try client.send(Message(body: Array("fine".utf8)), timeout: .seconds(10)) == .accepted)
        let got = try receive([peer.url("big"), "--count", "2", "--print", "--timeout", "10"])
        #expect(got.status == .success, "\(got.output.errors)")
        #expect(got.output.lines.count == 1)
        #expect(try dig(object(got.output.lines[0]), "body", "text") as? String == "fine")
        #expect(got.output.errors.contains { $0.hasPrefix("error: message ") && $0.contains(" not printed: more elements than the limit") }, "\(got.output.errors)")
    }

    @Test func presettledMessagesOfAGivenSize() throws {
        let peer = try PeerThread()
        defer { peer.stop() }
        let sent = try send([peer.url("sized"), "--count", "50", "--size", "1000", "--settle"])
        #expect(sent.status == .success, "\(sent.output.errors)")
        #expect(sent.output.lines == [#"sent 50 messages to "sized": pre-settled 50 (no outcomes)"#])
        let got = try receive([peer.url("sized"), "--count", "50", "--prefetch", "7", "--print", "--timeout", "10"])
        #expect(got.status == .success, "\(got.output.errors)")
        #expect(got.output.lines.count == 50)
        let bodies = try got.output.lines.map { try #require(dig(try object($0), "body", "text") as? String) }
        #expect(bodies.allSatisfy { $0.count == 1000 && $0.hasPrefix("abcdefghijklmnopqrstuvwxyzabc") })
        #expect(try peer.depth(of: "sized") == 0)
    }

    @Test func messagesNotAcceptedExitWithOne() throws {
        let peer = try PeerThread { $0.limits.maxQueueMessages = 3 }
        defer { peer.stop() }
        let sent = try send([peer.url("small"), "--count", "5", "--window", "1"])
        #expect(sent.status == .notAccepted)
        #expect(sent.status.rawValue == 1)
        #expect(sent.output.lines == [#"sent 5 messages to "small": accepted 3, rejected 2, released 0, modified 0"#])
        #expect(sent.output.errors.count == 1)
        #expect(sent.output.errors.first?.contains("2 of 5 messages not accepted") == true)
        #expect(sent.output.errors.first?.contains("amqp:resource-limit-exceeded") == true)
    }

    @Test func refusedConnectionIsUnreachable() throws {
        let port = try deadPort()
        let sent = try send(["amqp://127.0.0.1:\(port)/q", "--timeout", "10"])
        #expect(sent.status == .unreachable)
        #expect(sent.status.rawValue == 69)
        #expect(sent.output.errors.count == 1)
        #expect(sent.output.errors.first?.contains("connection refused") == true, "\(sent.output.errors)")
        let got = try receive(["amqp://127.0.0.1:\(port)/q", "--count", "1", "--timeout", "10"])
        #expect(got.status == .unreachable)
    }

    @Test func wrongPasswordIsAnAuthenticationFailure() throws {
        let peer = try PeerThread {
            $0.users = ["alice": "s3cret:/@"]
            $0.allowAnonymous = false
        }
        defer { peer.stop() }
        let wrong = try send([peer.url("q", user: "alice:wrong")])
        #expect(wrong.status == .authentication)
        #expect(wrong.status.rawValue == 77)
        #expect(wrong.output.errors.first?.contains("SASL authentication failed") == true, "\(wrong.output.errors)")
        // No user: ANONYMOUS, which this peer does not offer.
        let anonymous = try send([peer.url("q")])
        #expect(anonymous.status == .authentication, "\(anonymous.output.errors)")
        let anonymousReceive = try receive([peer.url("q"), "--count", "1", "--timeout", "10"])
        #expect(anonymousReceive.status == .authentication, "\(anonymousReceive.output.errors)")
        // The right password, percent-encoded in the URL.
        let right = try send([peer.url("q", user: "alice:s3cret%3A%2F%40")])
        #expect(right.status == .success, "\(right.output.errors)")
    }

    @Test func unknownAddressIsARefusedLink() throws {
        let peer = try PeerThread {
            $0.autoCreateQueues = false
            $0.queues = ["known"]
        }
        defer { peer.stop() }
        let sent = try send([peer.url("missing"), "--count", "3"])
        #expect(sent.status == .linkRefused, "\(sent.output.lines) \(sent.output.errors)")
        #expect(sent.status.rawValue == 67)
        #expect(sent.output.errors.first?.contains("amqp:not-found") == true, "\(sent.output.errors)")
        let got = try receive([peer.url("missing"), "--count", "1", "--timeout", "10"])
        #expect(got.status == .linkRefused)
        #expect(got.output.errors.first?.contains("amqp:not-found") == true, "\(got.output.errors)")
        #expect(try send([peer.url("known")]).status == .success)
        #expect(try peer.depth(of: "known") == 1)
    }

    /// A peer that closes the connection with an error mid-stream is a protocol error
    /// (76); one whose socket just drops is a lost connection (69). Either way the
    /// summary counts what was accepted before.
    @Test(arguments: [(ConnectionFault.Mode.close(AMQPError(condition: .connectionForced, description: "bye")), ClientExitStatus.protocolError),
                      (.abort, .unreachable)])
    func connectionEndsMidStream(_ mode: ConnectionFault.Mode, _ expected: ClientExitStatus) throws {
        let peer = try PeerThread { $0.faults.dropConnections = ConnectionFault(afterMessages: 3, mode: mode) }
        defer { peer.stop() }
        let sent = try send([peer.url("q"), "--count", "10", "--window", "1"])
        #expect(sent.status == expected, "\(sent.output.errors)")
        #expect(sent.output.lines.first?.hasPrefix(#"sent 4 messages to "q": accepted 3, rejected 0, released 0, modified 0, failed 1"#) == true,
                "\(sent.output.lines)")
        #expect(sent.output.errors.count == 1)
        // The receiver's connection ends after 3 deliveries; whether its accepts got out
        // first is a race, so only the status is certain (what was not accepted stays).
        let got = try receive([peer.url("q"), "--count", "10", "--timeout", "10"])
        #expect(got.status == expected, "\(got.output.errors)")
        #expect(got.output.errors.count == 1)
    }

    @Test func receiveTimeouts() throws {
        let peer = try PeerThread()
        defer { peer.stop() }
        // A count not reached in time is a time-out…
        let short = try receive([peer.url("empty"), "--count", "1", "--timeout", "0.2"])
        #expect(short.status == .timeout)
        #expect(short.status.rawValue == 75)
        #expect(short.output.lines == [#"received 0 messages from "empty""#])
        // …without a count, it is the end of a drained node.
        #expect(try send([peer.url("drain"), "--count", "3"]).status == .success)
        let drained = try receive([peer.url("drain"), "--timeout", "0.2"])
        #expect(drained.status == .success)
        #expect(drained.output.lines == [#"received 3 messages from "drain""#])
    }

    /// Without `--count`, receive runs until stopped (what SIGINT and SIGTERM do), then
    /// closes cleanly: exit 0, every message written was accepted.
    @Test func receiveRunsUntilStopped() throws {
        let peer = try PeerThread()
        defer { peer.stop() }
        let output = LockedOutput()
        let stop = StopRequest()
        let arguments = [peer.url("live"), "--print"]
        _ = try ReceiveCommand.parse(arguments)
        let done = DispatchSemaphore(value: 0)
        let result = StatusBox()
        Thread {
            // Parsed here: commands are not Sendable.
            result.status = (try? ReceiveCommand.parse(arguments))?.execute(output: output, stop: stop)
            done.signal()
        }.start()
        #expect(try send([peer.url("live"), "--count", "3"]).status == .success)
        #expect(eventually { output.lines.count == 3 })
        stop.stop()
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(result.status == .success)
        #expect(output.errors == [#"received 3 messages from "live""#])
        #expect(try peer.depth(of: "live") == 0)
    }

    /// The built binary: SIGTERM ends `amqp receive` with status 0 after what it printed.
    @Test func builtReceiveStopsOnSIGTERM() throws {
        let peer = try PeerThread()
        defer { peer.stop() }
        #expect(try send([peer.url("sig"), "--count", "2"]).status == .success)
        let process = Process()
        process.executableURL = try builtTool()
        process.arguments = ["receive", peer.url("sig"), "--print"]
        let output = Pipe(), error = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = error
        try process.run()
        defer { if process.isRunning { process.interrupt() } }
        let fd = output.fileHandleForReading.fileDescriptor
        let first = try object(try readLine(fd, within: 10))
        let second = try object(try readLine(fd, within: 10))
        #expect(dig(first, "body", "text") as? String == "message 1")
        #expect(dig(second, "body", "text") as? String == "message 2")
        process.terminate()
        #expect(eventually { !process.isRunning })
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
        let stderr = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(stderr == "received 2 messages from \"sig\"\n")
    }
}

private final class StatusBox: @unchecked Sendable {
    // Written by the command's thread before it signals, read after the wait.
    var status: ClientExitStatus? = nil
}
