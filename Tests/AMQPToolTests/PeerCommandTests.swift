import AMQPCodec
import AMQPEngine
import AMQPPeer
import AMQPReactor
import AMQPTool
import Foundation
import Glibc
import Testing

@Suite("amqp peer")
struct PeerCommandTests {
    @Test func optionsBecomeTheConfiguration() throws {
        let command = try PeerCommand.parse([
            "--listen", "[::1]:0", "--user", "alice:pa:ss", "--user", "bob:x", "--no-anonymous",
            "--redirect-address", "old=10.0.0.1:5673/new", "--redirect-connection", "10.0.0.2:5672",
            "--detach-address", "flaky=amqp:link:detach-forced@3", "--close-after", "7",
            "--cbs-token", "t1", "--cbs-protect", "secure", "--idle-timeout", "500", "--backend", "epoll",
        ])
        let c = try command.peerConfiguration()
        #expect(c.address == SocketAddress(ipv6: "::1", port: 0))
        #expect(c.users == ["alice": "pa:ss", "bob": "x"])
        #expect(!c.allowAnonymous)
        #expect(c.faults.linkRedirects["old"] == RedirectTarget(host: "10.0.0.1", port: 5673, address: "new"))
        #expect(c.faults.connectionRedirect == RedirectTarget(host: "10.0.0.2", port: 5672))
        #expect(c.faults.linkErrors["flaky"]?.error.condition == .detachForced)
        #expect(c.faults.linkErrors["flaky"]?.afterMessages == 3)
        #expect(c.faults.dropConnections?.afterMessages == 7)
        #expect(c.cbs.protects("secure") && !c.cbs.protects("open"))
        #expect(c.cbs.accepts(CBSRequest(token: "t1", type: "jwt", audience: "secure")))
        #expect(!c.cbs.accepts(CBSRequest(token: "t2", type: "jwt", audience: "secure")))
        #expect(c.idleTimeout == 500)
        #expect(c.reactor.backend == .epoll)
    }

    @Test func queuesAndNoAutoCreate() throws {
        let c = try PeerCommand.parse(["--queue", "a", "--queue", "b/c", "--no-auto-create"]).peerConfiguration()
        #expect(c.queues == ["a", "b/c"])
        #expect(!c.autoCreateQueues)
        let d = try PeerCommand.parse([]).peerConfiguration()
        #expect(d.queues.isEmpty && d.autoCreateQueues)
    }

    @Test(arguments: [
        ["--listen", "example.com:5672"], ["--listen", "127.0.0.1"], ["--user", "nopassword"],
        ["--no-anonymous"], ["--redirect-address", "a=host"], ["--redirect-connection", "h:1/addr"],
        ["--detach-address", "a=cond@x"], ["--close-after", "1", "--abort-after", "1"], ["--max-frame-size", "100"],
    ])
    func badOptionsAreRefused(arguments: [String]) {
        #expect(throws: (any Error).self) { try PeerCommand.parse(arguments) }
    }

    /// The built binary: says where it listens, serves a PLAIN client, and stops cleanly
    /// on SIGTERM.
    @Test func builtPeerServesAClientAndStopsOnSIGTERM() throws {
        let process = Process()
        process.executableURL = try builtTool()
        process.arguments = ["peer", "--listen", "127.0.0.1:0", "--user", "alice:secret"]
        let output = Pipe(), error = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = error
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let line = try readLine(output.fileHandleForReading.fileDescriptor, within: 10)
        let prefix = "amqp peer listening on 127.0.0.1:"
        #expect(line.hasPrefix(prefix))
        let port = try #require(UInt16(line.dropFirst(prefix.count)))

        let reactor = try Reactor<ConnectionEngine>()
        var c = ConnectionConfiguration(role: .client, containerID: "tool-test", hostname: "localhost")
        c.sasl = .client(.plain(username: "alice", password: "secret"))
        var engine = ConnectionEngine(configuration: c)
        engine.open()
        var opened = false, accepted = false, closed = false
        var link: LinkID? = nil
        let id = try reactor.connect(to: .loopbackIPv4(port: port), connection: engine) { reactor, id, event in
            switch event {
            case .connection(.remoteOpen): opened = true
            case .connection(.link(.outcomes(_, _, .accepted?, true))): accepted = true
            case .closed: closed = true
            default: break
            }
        }
        func pump(_ what: String, until condition: () -> Bool) throws {
            let deadline = Date().addingTimeInterval(10)
            while !condition() {
                guard Date() < deadline else { throw MissingPrerequisite("timed out waiting for \(what)") }
                try reactor.runOnce(timeout: .milliseconds(20))
            }
        }
        try pump("OPEN") { opened || closed }
        #expect(opened)
        try reactor.withConnection(id) { (e) throws(EngineError) in
            let session = try e.beginSession()
            link = try e.attachLink(session: session, .sender(name: "s", to: "q"))
            _ = try e.send(on: link!, payload: try! Message(body: [1, 2, 3]).encoded())
        }
        try pump("accepted") { accepted || closed }
        #expect(accepted)

        // SIGTERM: the peer closes our connection and exits 0.
        kill(process.processIdentifier, SIGTERM)
        try pump("closed by the peer") { closed }
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        #expect(!process.isRunning)
        #expect(process.terminationStatus == 0)
        let err = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(err == "amqp peer stopped\n")
    }
}

/// Reads one line from `fd`, waiting at most `seconds`.
func readLine(_ fd: Int32, within seconds: Double) throws -> String {
    var bytes: [UInt8] = []
    let deadline = Date().addingTimeInterval(seconds)
    while !bytes.contains(0x0A) {
        let left = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
        guard left > 0 else { throw MissingPrerequisite("no line within \(seconds) s (got \(bytes.count) bytes)") }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, left) > 0 else { continue }
        var byte: UInt8 = 0
        guard read(fd, &byte, 1) == 1 else { throw MissingPrerequisite("end of output before a line") }
        bytes.append(byte)
    }
    return String(decoding: bytes.dropLast(), as: UTF8.self)
}
