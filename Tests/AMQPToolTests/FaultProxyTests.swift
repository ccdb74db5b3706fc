import AMQP
import AMQPEngine
import AMQPPeer
import AMQPReactor
import AMQPTool
import Foundation
import Glibc
import Synchronization
import Testing

// The public API (Connection, Session, MessageSender) against the embedded peer, through
// `FaultProxy` on loopback: the proxy delays, resets, truncates, corrupts or silences the
// stream at several offsets (the SASL exchange, OPEN, ATTACH, the transfers). Every case
// must end within a bounded time with each send completed: accepted, or failed with an
// `AMQPClientError` (a message whose outcome never came is reported failed, never left
// waiting); a connection that broke carries a typed error. No socket is left open: the
// proxy sees the client let go of every connection it made, and closes its own.

/// The embedded peer on a thread of its own, until `stop()`.
final class PeerOnThread: Sendable {
    let address: SocketAddress
    private let handle: ReactorHandle<EmbeddedPeer.Machine>
    private let finished = DispatchSemaphore(value: 0)

    init(idleTimeout: UInt32? = nil) throws {
        var configuration = PeerConfiguration()
        configuration.idleTimeout = idleTimeout
        let ready = Mutex<(SocketAddress, ReactorHandle<EmbeddedPeer.Machine>)?>(nil)
        let started = DispatchSemaphore(value: 0)
        let finished = self.finished
        let settings = configuration
        Thread.detachNewThread {
            try? EmbeddedPeer.serve(settings, drainTime: .milliseconds(200)) { peer in
                ready.withLock { $0 = (peer.address, peer.reactor.handle) }
                started.signal()
            }
            finished.signal()
        }
        guard started.wait(timeout: .now() + 10) == .success, let (address, handle) = ready.withLock({ $0 }) else {
            throw WaitTimedOut(what: "the embedded peer to listen", seconds: 10)
        }
        self.address = address
        self.handle = handle
    }

    func stop() {
        handle.stop()
        _ = finished.wait(timeout: .now() + 10)
    }
}

struct WaitTimedOut: Error, CustomStringConvertible {
    let what: String
    let seconds: Double
    var description: String { "gave up after \(seconds) s waiting for: \(what)" }
}

struct ProxyCase: Sendable, CustomTestStringConvertible {
    let name: String
    let faults: FaultProxy.Faults
    /// The exchange must succeed whole (faults that only slow it down).
    var intact = false
    /// Reset every live connection once the first outcome is in (the runtime command).
    var resetMidway = false
    var testDescription: String { name }

    static let all: [ProxyCase] =
        [
            ProxyCase(name: "no faults", faults: .init(), intact: true),
            ProxyCase(name: "delay 5 ms", faults: .init(delayMilliseconds: 5), intact: true),
            ProxyCase(name: "reset by command after the first outcome", faults: .init(), resetMidway: true),
        ]
        // A whole exchange is about 1,100 bytes to the peer and 300 back: offsets land
        // in the SASL exchange, OPEN, BEGIN and ATTACH, and among the transfers.
        + [40, 200, 400, 700, 1000].flatMap { (n: Int) -> [ProxyCase] in
            [
                ProxyCase(name: "reset after \(n) B", faults: .init(resetAfter: n)),
                ProxyCase(name: "truncate after \(n) B", faults: .init(truncateAfter: n)),
            ]
        }
        + [8, 60, 300, 900].map { (n: Int) in ProxyCase(name: "corrupt byte \(n) to the peer", faults: .init(corruptAt: n, directions: .toTarget)) }
        + [8, 60, 200].map { (n: Int) in ProxyCase(name: "corrupt byte \(n) to the client", faults: .init(corruptAt: n, directions: .toClient)) }
        + [
            ProxyCase(name: "silence to the client after 150 B", faults: .init(dropAfter: 150, directions: .toClient)),
            ProxyCase(name: "silence to the peer after 300 B", faults: .init(dropAfter: 300, directions: .toTarget)),
        ]
}

@Suite("amqp fault-proxy", .serialized)
struct FaultProxyTests {
    static let messages = 20

    @Test func optionsBecomeFaults() throws {
        let command = try FaultProxyCommand.parse([
            "--listen", "127.0.0.1:0", "--target", "127.0.0.1:5672", "--delay", "3", "--reset-after", "100",
            "--corrupt", "9", "--direction", "to-client",
        ])
        #expect(command.faults == FaultProxy.Faults(delayMilliseconds: 3, corruptAt: 9, resetAfter: 100, directions: .toClient))
        #expect(throws: (any Error).self) { try FaultProxyCommand.parse(["--target", "nowhere"]) }
        #expect(throws: (any Error).self) { try FaultProxyCommand.parse(["--target", "127.0.0.1:1", "--drop", "-1"]) }
    }

    @Test(arguments: ProxyCase.all)
    func sendsThroughAFaultyNetwork(c: ProxyCase) throws {
        // Idle time-outs on both sides, so a silent stream is noticed within a second.
        let peer = try PeerOnThread(idleTimeout: 600)
        defer { peer.stop() }
        let proxy = try FaultProxy(listen: .loopbackIPv4(), target: peer.address, faults: c.faults)
        defer { proxy.stop() }
        let reactor = try ConnectionReactor(driving: .ownThread)
        defer { reactor.shutdown() }

        let results = Mutex<[Int: Result<Outcome, AMQPClientError>]>([:])
        var setupError: AMQPClientError? = nil
        var connectionError: AMQPClientError? = nil
        // A corrupted ATTACH or DETACH breaks the link, not the connection.
        var linkError: AMQPClientError? = nil
        do {
            let connection = try Connection(hostname: "amqp://127.0.0.1:\(proxy.address.port)", idleTimeout: 600, reactor: reactor)
            defer { connection.destroy(grace: .milliseconds(200)) }
            do {
                let session = try Session(connection: connection)
                let sender = try MessageSender(session: session, target: "q")
                for i in 0..<Self.messages {
                    sender.send(Message(body: Array("message \(i)".utf8))) { result in
                        results.withLock { $0[i] = result }
                        if c.resetMidway, case .success = result { proxy.resetAll() }
                    }
                }
                let deadline = Date().addingTimeInterval(10)
                while results.withLock({ $0.count }) < Self.messages {
                    guard Date() < deadline else {
                        throw WaitTimedOut(what: "\(Self.messages) send completions (\(results.withLock { $0.count }) in)", seconds: 10)
                    }
                    usleep(2_000)
                }
                linkError = sender.error ?? session.error
            } catch let error as AMQPClientError {
                setupError = error
            }
            connectionError = connection.error
        } catch let error as AMQPClientError {
            setupError = error
        }

        let outcomes = results.withLock { $0 }
        let failed = outcomes.values.filter { if case .failure = $0 { true } else { false } }.count
        let accepted = outcomes.values.filter { if case .success(.accepted) = $0 { true } else { false } }.count
        if c.intact {
            #expect(setupError == nil && connectionError == nil && linkError == nil, "\(String(describing: setupError)) \(String(describing: connectionError))")
            #expect(accepted == Self.messages)
        } else {
            // Every send completed; the broken ones failed typed (they are
            // AMQPClientErrors by the API's typed throws), and a broken exchange left a
            // typed error on the connection or the setup call.
            #expect(setupError != nil || outcomes.count == Self.messages)
            if failed > 0 || setupError != nil {
                #expect(setupError != nil || connectionError != nil || linkError != nil, "sends failed but neither the connection nor the link has an error")
            }
            #expect(accepted + failed == outcomes.count)
            #expect(proxy.statistics.applied > 0 || c.resetMidway, "the fault never applied: \(proxy.statistics)")
        }

        // No socket left behind: the client let go of each connection it made (the proxy
        // saw its end close), and the proxy's own sockets all close.
        reactor.shutdown()
        let deadline = Date().addingTimeInterval(5)
        while proxy.statistics.finished < proxy.statistics.accepted && Date() < deadline { usleep(2_000) }
        let s = proxy.statistics
        #expect(s.accepted >= 1 || setupError != nil)
        #expect(s.finished == s.accepted, "\(s)")
        if c.intact { #expect(s.clientClosed == s.accepted, "the client kept a socket open: \(s)") }
        #expect(proxy.openSockets == 1, "the listener and nothing else: \(proxy.openSockets)")
        proxy.stop()
        #expect(proxy.openSockets == 0)
    }
}
