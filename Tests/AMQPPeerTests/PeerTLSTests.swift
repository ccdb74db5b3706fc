import AMQPTestCertificates
@testable import AMQP
import AMQPPeer
import AMQPReactor
import Foundation
import Testing

/// The public `Connection` over `amqps://` against the embedded peer's TLS listener, on
/// both backends: messages there and back, SASL EXTERNAL, and each bad set-up ending
/// with an error that names it (bounded waits throughout).
@Suite struct PeerTLSTests {
    static let backends: [ReactorOptions.Backend] = {
        var o = ReactorOptions()
        o.backend = .uring
        return (try? Reactor<EmbeddedPeer.Machine>(options: o)) != nil ? [.epoll, .uring] : [.epoll]
    }()

    static func certs() throws -> TestCertificates { try TestCertificates.shared.get() }

    static func peer(_ chain: (chain: String, key: String)?, clients: TLSConfiguration.Verification = .none) throws -> PeerThread {
        var c = PeerConfiguration()
        if let chain {
            c.tls = .server(certificate: .init(chainFile: chain.chain, keyFile: chain.key), clients: clients, trust: .file(try certs().caFile))
        }
        return try PeerThread(c)
    }

    static func connection(
        _ url: String, backend: ReactorOptions.Backend, tls: TLSConfiguration? = nil, sasl: SASLCredentials? = nil
    ) throws -> (Connection, ConnectionReactor) {
        var o = ReactorOptions()
        o.backend = backend
        let reactor = try ConnectionReactor(driving: .ownThread, options: o)
        let settings = try ConnectionSettings(hostname: url, sasl: sasl, tls: tls)
        return (Connection(settings: settings, reactor: reactor), reactor)
    }

    @Test(arguments: backends)
    func messagesThereAndBackOverAmqps(backend: ReactorOptions.Backend) throws {
        let peer = try Self.peer(try Self.certs().server)
        defer { peer.stop() }
        let (connection, reactor) = try Self.connection(
            "amqps://127.0.0.1:\(peer.port)", backend: backend, tls: .client(trust: .file(try Self.certs().caFile)))
        defer { reactor.shutdown() }
        defer { connection.destroy() }
        let session = try Session(connection: connection)
        let sender = try MessageSender(session: session, target: "q")
        for i in 0..<50 {
            #expect(try sender.send(Message(body: Array("tls \(i)".utf8)), timeout: .seconds(10)) == .accepted)
        }
        let receiver = try MessageReceiver(session: session, source: "q", prefetch: 20, autoAccept: true)
        var bodies: [String] = []
        let end = Date().addingTimeInterval(10)
        while bodies.count < 50 && Date() < end {
            for m in try receiver.receive(maxCount: 50, timeout: .seconds(5)) {
                if case .data(let sections) = m.message.body, let d = sections.first { bodies.append(String(decoding: d, as: UTF8.self)) }
            }
        }
        #expect(bodies == (0..<50).map { "tls \($0)" })
        #expect(connection.state == .opened)
    }

    @Test(arguments: backends)
    func saslExternalWithAClientCertificate(backend: ReactorOptions.Backend) throws {
        let certs = try Self.certs()
        let peer = try Self.peer(certs.server, clients: .requiredClientCertificate)
        defer { peer.stop() }
        let tls = TLSConfiguration.client(trust: .file(certs.caFile), certificate: .init(chainFile: certs.client.chain, keyFile: certs.client.key))
        let (connection, reactor) = try Self.connection("amqps://127.0.0.1:\(peer.port)", backend: backend, tls: tls, sasl: .external())
        defer { reactor.shutdown() }
        defer { connection.destroy() }
        try connection.waitUntilOpened(timeout: .seconds(10))
        let sender = try MessageSender(session: try Session(connection: connection), target: "ext")
        #expect(try sender.send(Message(body: [1, 2, 3]), timeout: .seconds(10)) == .accepted)
        #expect(peer.lines.contains { $0.contains("authenticated \(certs.clientSubject) with EXTERNAL") })
    }

    enum Bad: CaseIterable, Sendable {
        case expired, untrusted, wrongHost, plaintextPeer, plaintextClient, noClientCertificate
    }

    @Test(arguments: backends, Bad.allCases)
    func badSetupsEndWithATypedError(backend: ReactorOptions.Backend, bad: Bad) throws {
        let certs = try Self.certs()
        let peer: PeerThread
        switch bad {
        case .expired: peer = try Self.peer(certs.expired)
        case .untrusted: peer = try Self.peer(certs.untrusted)
        case .wrongHost: peer = try Self.peer(certs.wrongHost)
        case .plaintextPeer: peer = try Self.peer(nil)
        case .plaintextClient: peer = try Self.peer(certs.server)
        case .noClientCertificate: peer = try Self.peer(certs.server, clients: .requiredClientCertificate)
        }
        defer { peer.stop() }
        let scheme = bad == .plaintextClient ? "amqp" : "amqps"
        let (connection, reactor) = try Self.connection(
            "\(scheme)://127.0.0.1:\(peer.port)", backend: backend,
            tls: bad == .plaintextClient ? nil : .client(trust: .file(certs.caFile)))
        defer { reactor.shutdown() }
        defer { connection.destroy() }
        // A send made before the connection failed ends with the same typed error, and
        // is not retried either (it once said "retrying" after a refused certificate).
        let session = try Session(connection: connection)
        let sender = try MessageSender(session: session, target: "queue", name: "bad-\(bad)")
        let sendResult = TestLocked<Result<Outcome, AMQPClientError>?>(nil)
        sender.send(Message(body: [1, 2, 3])) { r in sendResult.withLock { $0 = r } }
        let started = Date()
        defer {
            let deadline = Date().addingTimeInterval(10)
            while sendResult.withLock({ $0 }) == nil && Date() < deadline { usleep(10_000) }
            switch sendResult.withLock({ $0 }) {
            case .failure(let e)?:
                #expect(e.tls?.code == expectedTLSCode(bad), "\(bad): the send failed with \(e)")
                #expect(e.action.retry == false, "\(bad): \(e)")
            case .success(let o)?: Issue.record("\(bad): the send succeeded: \(o)")
            case nil: Issue.record("\(bad): the send did not end")
            }
        }
        do {
            try connection.waitUntilOpened(timeout: .seconds(10))
            Issue.record("\(bad): the connection opened")
        } catch {
            #expect(Date().timeIntervalSince(started) < 9, "\(bad) ended by the wait's time-out, not by its error: \(error)")
            let expected = expectedTLSCode(bad)
            #expect(error.tls?.code == expected, "\(error)")
            #expect(error.action.retry == false)
            if bad == .plaintextClient {
                // A plaintext client hears the listener's AMQP TLS header: no TLS layer
                // failed, the engine recognised the header and says to use amqps://.
                #expect(error.origin == .transport, "\(error)")
                #expect(error.errorDescription?.contains("AMQP 2 1.0.0") == true, "\(error)")
                #expect(error.errorDescription?.contains("amqps://") == true, "\(error)")
                #expect(error.advice.contains("amqps://"), "\(error)")
            } else {
                #expect(error.errorDescription?.contains("TLS \(expected)") == true, "\(error)")
                // The advice is about TLS, not "the peer closed the connection".
                #expect(error.advice == AMQPClientError.tlsAdvice[expected], "\(error)")
            }
        }
    }
}

/// The TLS error each bad set-up ends with.
private func expectedTLSCode(_ bad: PeerTLSTests.Bad) -> TLSError.Code {
    switch bad {
    case .expired: .certificateExpired
    case .untrusted: .certificateUntrusted
    case .wrongHost: .hostnameMismatch
    case .plaintextPeer: .plaintextPeer
    case .noClientCertificate: .peerRejectedCertificate
    case .plaintextClient: .peerRequiresTLS
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
