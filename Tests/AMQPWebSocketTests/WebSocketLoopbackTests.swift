import AMQP
import AMQPPeer
import AMQPReactor
import AMQPTestCertificates
import AMQPWebSocket
import Foundation
import Testing

/// The public `Connection` over `amqpws://` and `amqpwss://` against the embedded peer's
/// WebSocket listener, on both backends: messages there and back (some larger than a
/// frame and than 64 KiB WebSocket frames), and refusals ending with typed errors well
/// before the waits' bounds.
@Suite struct WebSocketLoopbackTests {
    static let backends: [ReactorOptions.Backend] = {
        var o = ReactorOptions()
        o.backend = .uring
        return (try? Reactor<EmbeddedPeer.Machine>(options: o)) != nil ? [.epoll, .uring] : [.epoll]
    }()

    static func peer(tls: Bool, path: String? = nil) throws -> PeerThread {
        var c = PeerConfiguration()
        c.webSocket = .server(path: path)
        if tls {
            let certs = try TestCertificates.shared.get()
            c.tls = .server(certificate: .init(chainFile: certs.server.chain, keyFile: certs.server.key))
        }
        return try PeerThread(c)
    }

    static func connection(_ url: String, backend: ReactorOptions.Backend, transport: Transport = .amqp) throws -> (Connection, ConnectionReactor) {
        var o = ReactorOptions()
        o.backend = backend
        let reactor = try ConnectionReactor(driving: .ownThread, options: o)
        var tls: TLSConfiguration? = nil
        if url.hasPrefix("amqpwss") { tls = .client(trust: .file(try TestCertificates.shared.get().caFile)) }
        let settings = try ConnectionSettings(hostname: url, tls: tls, transport: transport)
        return (Connection(settings: settings, reactor: reactor), reactor)
    }

    @Test(arguments: backends, [false, true])
    func messagesThereAndBack(backend: ReactorOptions.Backend, tls: Bool) throws {
        let peer = try Self.peer(tls: tls, path: "/$servicebus/websocket/")
        defer { peer.stop() }
        let scheme = tls ? "amqpwss" : "amqpws"
        let (connection, reactor) = try Self.connection("\(scheme)://localhost:\(peer.port)", backend: backend)
        defer { reactor.shutdown() }
        defer { connection.destroy() }
        let session = try Session(connection: connection)
        let sender = try MessageSender(session: session, target: "q")
        let bodies = (0..<30).map { i in (0..<(i % 10 == 9 ? 150_000 + i : 50 + i)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i) } }
        for body in bodies {
            #expect(try sender.send(Message(body: body), timeout: .seconds(10)) == .accepted)
        }
        let receiver = try MessageReceiver(session: session, source: "q", prefetch: 10, autoAccept: true)
        var got: [[UInt8]] = []
        let end = Date().addingTimeInterval(15)
        while got.count < bodies.count && Date() < end {
            for m in try receiver.receive(maxCount: 30, timeout: .seconds(5)) {
                if case .data(let sections) = m.message.body, let d = sections.first { got.append(d) }
            }
        }
        #expect(got == bodies)
        #expect(connection.state == .opened)
        #expect(peer.lines.contains { $0.contains("opened") || $0.contains("connect") })
    }

    @Test(arguments: backends)
    func aWrongPathIsRefusedWith404AndNotRetried(backend: ReactorOptions.Backend) throws {
        let peer = try Self.peer(tls: false, path: "/only-here")
        defer { peer.stop() }
        let (connection, reactor) = try Self.connection("amqpws://127.0.0.1:\(peer.port)", backend: backend, transport: .webSocket(path: "/elsewhere"))
        defer { reactor.shutdown() }
        defer { connection.destroy() }
        let started = Date()
        do {
            try connection.waitUntilOpened(timeout: .seconds(10))
            Issue.record("the connection opened")
        } catch {
            #expect(Date().timeIntervalSince(started) < 9, "ended by the wait's bound: \(error)")
            #expect(error.webSocket?.code == .unexpectedStatus, "\(error)")
            #expect(error.webSocket?.httpStatus == 404)
            #expect(error.action.retry == false)
        }
    }

    @Test(arguments: backends)
    func aPlainAMQPListenerIsNotAWebSocketServer(backend: ReactorOptions.Backend) throws {
        let peer = try PeerThread(PeerConfiguration())
        defer { peer.stop() }
        let (connection, reactor) = try Self.connection("amqpws://127.0.0.1:\(peer.port)", backend: backend)
        defer { reactor.shutdown() }
        defer { connection.destroy() }
        let started = Date()
        do {
            try connection.waitUntilOpened(timeout: .seconds(10))
            Issue.record("the connection opened")
        } catch {
            #expect(Date().timeIntervalSince(started) < 9, "ended by the wait's bound: \(error)")
            // The AMQP listener answers the GET with its protocol header.
            #expect(error.webSocket?.code == .malformedHandshake, "\(error)")
            #expect(error.webSocket?.detail.contains("plain AMQP listener") == true, "\(error)")
        }
    }

    @Test func urlsAndSettingsMeanWebSocket() throws {
        let ws = try ConnectionSettings(hostname: "amqpws://broker/q")
        #expect(ws.endpoint.port == 80)
        #expect(ws.effectiveTLS == nil)
        #expect(ws.effectiveWebSocket == .client(host: "broker", path: "/$servicebus/websocket/"))
        let wss = try ConnectionSettings(hostname: "amqpwss://ns.example.com:8443")
        #expect(wss.endpoint.port == 8443)
        #expect(wss.effectiveTLS?.serverName == "ns.example.com")
        #expect(wss.effectiveWebSocket?.host == "ns.example.com:8443")
        let viaTransport = try ConnectionSettings(hostname: "amqps://ns.example.com", transport: .webSocket(path: "/ws", headers: [.init(name: "X-Key", value: "1")]))
        #expect(viaTransport.effectiveWebSocket?.path == "/ws")
        #expect(viaTransport.effectiveWebSocket?.host == "ns.example.com:5671")
        #expect(try ConnectionSettings(hostname: "amqp://h").effectiveWebSocket == nil)
        #expect(throws: ConfigurationError.self) { try ConnectionSettings(hostname: "amqpws://h", transport: .webSocket(path: "no-slash")) }
        #expect(throws: ConfigurationError.self) { try ConnectionSettings(hostname: "ws://h") }
    }
}

/// An embedded peer serving on a thread of its own until `stop()`; its log lines kept.
final class PeerThread: @unchecked Sendable {
    private let box = TestLocked<(port: UInt16, handle: ReactorHandle<EmbeddedPeer.Machine>)?>(nil)
    private let logBox = TestLocked<[String]>([])
    private let done = TestLocked(false)
    private let failure = TestLocked<String?>(nil)

    init(_ configuration: PeerConfiguration) throws {
        let box = self.box
        let logBox = self.logBox
        let done = self.done
        let failure = self.failure
        let thread = Thread {
            do {
                try EmbeddedPeer.serve(configuration, drainTime: .milliseconds(200)) { peer in
                    peer.log = { line in logBox.withLock { $0.append(line) } }
                    box.withLock { $0 = (peer.address.port, peer.reactor.handle) }
                }
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
            done.withLock { $0 = true }
        }
        thread.start()
        let end = Date().addingTimeInterval(10)
        while box.withLock({ $0 == nil }) {
            if let f = failure.withLock({ $0 }) { throw PeerFailed(description: f) }
            guard Date() < end else { throw PeerFailed(description: "the peer did not start within 10 s") }
            usleep(1000)
        }
    }

    var port: UInt16 { box.withLock { $0!.port } }
    var lines: [String] { logBox.withLock { $0 } }

    func stop() {
        box.withLock { $0?.handle.stop() }
        let end = Date().addingTimeInterval(5)
        while !done.withLock({ $0 }) && Date() < end { usleep(1000) }
    }
}

struct PeerFailed: Error, CustomStringConvertible { let description: String }

/// A value behind a lock, for the peer's thread and the test's.
final class TestLocked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
