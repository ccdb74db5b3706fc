import AMQPEngine
import AMQPPeer
import AMQPReactor
import AMQPTestCertificates
import AMQPTLS
import AMQPWebSocket
import Foundation
import Glibc
import Testing

/// An independent WebSocket implementation: Debian's websockify (a WebSocket-to-TCP
/// bridge, Python) in front of the embedded peer's plain AMQP listener, our client's
/// WebSocket layer talking to it. websockify selects only the subprotocols `binary` and
/// `base64` (it answers an offer of `amqp` alone with none, which our client refuses as
/// `.missingSubprotocol`), so the client here offers `binary`: raw bytes in binary
/// frames, exactly what the AMQP binding carries. Installed by Tools/install-deps.sh.
///
/// Over TLS too (`wss`): websockify serves TLS itself (`--cert`, `--key`, `--ssl-only`,
/// Python's `ssl` module over OpenSSL) with the test run's certificate for localhost, and
/// our client verifies it against the test CA; both cases on both backends.
@Suite struct WebsockifyInteropTests {
    static let websockify = "/usr/bin/websockify"
    static let available = FileManager.default.isExecutableFile(atPath: websockify)

    @Test(.enabled(if: available, "/usr/bin/websockify is missing (Debian package websockify; Tools/install-deps.sh installs it)"),
          arguments: WebSocketLoopbackTests.backends, [false, true])
    func messagesThereAndBackThroughWebsockify(backend: ReactorOptions.Backend, tls: Bool) throws {
        var options = ReactorOptions()
        options.backend = backend
        let reactor = try Reactor<EmbeddedPeer.Machine>(options: options)
        let peer = try EmbeddedPeer(reactor: reactor)
        let port = try Self.freePort()
        let bridge = Process()
        bridge.executableURL = URL(fileURLWithPath: Self.websockify)
        let certs = try TestCertificates.shared.get()
        // --ssl-only: a client that slipped into plaintext would be refused, not bridged.
        let tlsArguments = tls ? ["--cert", certs.server.chain, "--key", certs.server.key, "--ssl-only"] : []
        bridge.arguments = tlsArguments + ["127.0.0.1:\(port)", "127.0.0.1:\(peer.address.port)"]
        // Its log goes to a file: a pipe nobody drains would block it once full.
        let logPath = NSTemporaryDirectory() + "websockify-\(port).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let logFile = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        bridge.standardOutput = logFile
        bridge.standardError = logFile
        try bridge.run()
        defer {
            kill(bridge.processIdentifier, SIGKILL)
            bridge.waitUntilExit()
            try? logFile.close()
            try? FileManager.default.removeItem(atPath: logPath)
        }
        try Self.waitForListener(port: port, within: 10)

        var ws = WebSocketConfiguration.client(host: "127.0.0.1:\(port)", path: "/")
        ws.subprotocol = "binary"
        let session = try WebSocketSession(configuration: ws)
        var configuration = ConnectionConfiguration(role: .client, containerID: "ws-client", hostname: "localhost")
        configuration.sasl = .client(.anonymous())
        var engine = ConnectionEngine(configuration: configuration)
        engine.open()
        let payloads = (0..<20).map { i in (0..<(i == 7 ? 120_000 : 30 + i * 50)).map { UInt8(truncatingIfNeeded: $0 &+ i) } }
        let state = ClientState()
        let webSocket = WebSocketConnection(engine, session: session)
        let tlsSession = tls ? try TLSSession(context: TLSContext(.client(trust: .file(certs.caFile))), serverName: "localhost") : nil
        let machine = tlsSession.map { EmbeddedPeer.Machine(webSocket, session: $0) } ?? EmbeddedPeer.Machine(plaintext: webSocket)
        let id = try reactor.connect(to: .loopbackIPv4(port: port), connection: machine) { _, _, event in
            state.handle(event, payloads: payloads)
        }
        state.id = id
        state.reactor = reactor
        let deadline = Date().addingTimeInterval(30)
        while !state.finished && Date() < deadline {
            try reactor.runOnce(timeout: .milliseconds(20))
        }
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        #expect(state.finished, "websockify's log: \(log.suffix(2000))")
        #expect(session.failure == nil, "\(String(describing: session.failure))")
        #expect(tlsSession?.failure == nil, "\(String(describing: tlsSession?.failure))")
        if let tlsSession { #expect(tlsSession.peer?.version.hasPrefix("TLSv") == true, "the TLS handshake did not complete") }
        let same = state.received == payloads
        #expect(state.ending.hasPrefix("engine closed: nil"), "\(state.ending); websockify's log: \(log.suffix(2000))")
        #expect(same, "\(state.received.count) of \(payloads.count) messages came back, \(state.received.map(\.count)) bytes")
        #expect(state.accepted == payloads.count)
        _ = peer
    }

    /// The client's side: a sender and a receiver on queue `wsi`, closing once every
    /// message came back.
    final class ClientState {
        var id: ConnectionID? = nil
        /// Weak: the reactor holds this state through the connection's handler until the
        /// connection's record is freed, which with io_uring waits for its last request
        /// to complete, possibly after the test's last tick (a strong reference leaked
        /// the reactor then; LeakSanitizer in CI).
        weak var reactor: Reactor<EmbeddedPeer.Machine>? = nil
        var sent = 0
        var accepted = 0
        var received: [[UInt8]] = []
        var finished = false
        var sender: LinkID? = nil
        /// How the connection ended, for failure messages.
        var ending = ""

        func handle(_ event: ReactorEvent<ConnectionEvent>, payloads: [[UInt8]]) {
            guard let reactor, let id else { return }
            switch event {
            case .connection(.remoteOpen):
                reactor.withInner(id) { e in
                    guard let s = try? e.beginSession() else { return }
                    sender = try? e.attachLink(session: s, .sender(name: "out", to: "wsi"))
                    _ = try? e.attachLink(session: s, .receiver(name: "in", from: "wsi", credit: .prefetch(5)))
                }
            case .connection(.link(.credit(let l, _, _))) where l == sender:
                reactor.withInner(id) { e in
                    while sent < payloads.count && e.sendable(on: l) > 0 {
                        _ = try? e.send(on: l, payload: payloads[sent])
                        sent += 1
                    }
                }
            case .connection(.link(.outcomes(_, let handles, _, _))):
                accepted += handles.count
            case .connection(.link(.delivery(let l, let d))):
                received.append(d.payload.withUnsafeBytes { Array($0) })
                let done = received.count == payloads.count
                reactor.withInner(id) { e in
                    _ = try? e.settle(l, delivery: d.id, state: .accepted)
                    if done { e.close() }
                }
            case .connection(.closed(let e)):
                ending += "engine closed: \(String(describing: e)); "
            case .closed(let e):
                ending += "transport closed: \(String(describing: e))"
                finished = true
            default:
                break
            }
        }
    }

    /// A port nothing listens on now (bound to port 0, then released).
    static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &a) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw Failure(description: "bind: errno \(errno)") }
        return UInt16(bigEndian: a.sin_port)
    }

    /// Waits until something accepts TCP connections on `port`, at most `within` seconds.
    static func waitForListener(port: UInt16, within seconds: Double) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            a.sin_addr.s_addr = inet_addr("127.0.0.1")
            let ok = withUnsafePointer(to: &a) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            close(fd)
            if ok { return }
            usleep(50_000)
        }
        throw Failure(description: "websockify did not listen on \(port) within \(seconds) s")
    }

    struct Failure: Error, CustomStringConvertible { let description: String }
}
