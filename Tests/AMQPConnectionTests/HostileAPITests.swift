@testable import AMQP
import AMQPCodec
import AMQPEngine
import AMQPHostileCases
import AMQPReactor
import AMQPTesting
import Foundation
import Testing

// Hostile peers against the public API over real sockets, on each backend: the evil peer
// (Tests/Support/AMQPHostileCases) on a thread of its own plays the connection-level
// hostile cases that end the connection, and misbehaves at the transport (never
// answers, resets, half-closes, closes mid-frame, trickles, floods). Every run must end
// with a typed `AMQPClientError` at the API (or the documented tolerated outcome) within
// a deadline, and leave no descriptor on the evil peer's port once destroyed.

/// The evil peer on a thread of its own; the test only reads its results after joining.
final class EvilPeerThread: @unchecked Sendable {
    // @unchecked: the peer is used by its thread until `join` returns, then by the test.
    let peer: EvilPeer
    private let stop = Locked(false)
    private var thread: TestThread<Bool>? = nil

    init(_ script: [EvilStep]) throws {
        peer = try EvilPeer(script: script)
    }

    var port: UInt16 { peer.port }

    func start(for seconds: Double = 15) {
        thread = TestThread { [self] in
            peer.run(for: seconds) { stop.withLock { $0 } }
            return true
        }
    }

    /// Stops the peer and closes its sockets.
    func finish() {
        stop.withLock { $0 = true }
        _ = thread?.join(within: 20)
        peer.shutdown()
    }
}

/// A connection to the evil peer through the public API, on `backend`.
func hostileConnection(port: UInt16, backend: ReactorOptions.Backend, sasl: Bool, maxFrameSize: UInt32 = 4_096) throws -> (Connection, ConnectionReactor) {
    var settings = try ConnectionSettings(
        hostname: "127.0.0.1:\(port)", sasl: .plain(username: "guest", password: "secret"), containerID: "hostile-api",
        maxFrameSize: maxFrameSize)
    settings.usesSASL = sasl
    let reactor = try makeReactor(.ownThread, backend)
    return (Connection(settings: settings, reactor: reactor), reactor)
}

/// Descriptors this process holds on TCP sockets with `port` at either end.
func descriptors(onPort port: UInt16) -> Int {
    let hex = String(format: ":%04X", port)
    var inodes = Set<String>()
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            if f.count > 9, f[1].hasSuffix(hex) || f[2].hasSuffix(hex), f[9] != "0" { inodes.insert(String(f[9])) }
        }
    }
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return fds.filter { fd in
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)") else { return false }
        return target.hasPrefix("socket:[") && inodes.contains(String(target.dropFirst(8).dropLast()))
    }.count
}

/// A case that no longer has the outcome the suite selected it for.
struct HostileCaseMismatch: Error {
    let name: String
}

/// A transport-level misbehaviour and what the API must report.
struct TransportMisbehaviour: Sendable, CustomTestStringConvertible {
    let name: String
    let script: [EvilStep]
    /// True when the connection must open and stay usable (the peer is slow, not wrong).
    var opens = false
    /// True when the peer goes away only after its OPEN, which may be seen first.
    var mayOpenFirst = false
    var testDescription: String { name }

    private static let handshake: [EvilStep] = [.header, .send(ProtocolHeader.amqp.bytes), .performative("open")]
    private static let open = FrameBytes.frame(.open(Open(containerID: "evil", maxFrameSize: 65_536)))

    static let all: [TransportMisbehaviour] = [
        TransportMisbehaviour(name: "never answers", script: [.drain]),
        TransportMisbehaviour(name: "resets at once", script: [.reset]),
        TransportMisbehaviour(name: "closes at once", script: [.close]),
        TransportMisbehaviour(name: "resets after the header", script: [.header, .send(ProtocolHeader.amqp.bytes), .reset]),
        TransportMisbehaviour(name: "half-closes after the header", script: [.header, .send(ProtocolHeader.amqp.bytes), .halfClose, .drain]),
        TransportMisbehaviour(name: "closes halfway through OPEN", script: handshake + [.send(Array(open.prefix(11))), .close]),
        TransportMisbehaviour(name: "resets halfway through OPEN", script: handshake + [.send(Array(open.prefix(11))), .reset]),
        TransportMisbehaviour(name: "sends half of OPEN, then nothing", script: handshake + [.send(Array(open.prefix(11))), .drain]),
        TransportMisbehaviour(name: "resets after OPEN", script: handshake + [.send(open), .reset], mayOpenFirst: true),
        TransportMisbehaviour(name: "half-closes after OPEN", script: handshake + [.send(open), .halfClose, .drain], mayOpenFirst: true),
        TransportMisbehaviour(name: "trickles its header and OPEN", script: [.header, .trickle(ProtocolHeader.amqp.bytes), .performative("open"), .trickle(open), .answer], opens: true),
        TransportMisbehaviour(
            name: "floods 8 MiB of empty frames after OPEN",
            script: handshake + [.send(open), .flood((0..<512).flatMap { _ in FrameBytes.emptyFrame() }, total: 8 << 20), .answer], opens: true),
    ]
}

extension ConnectionTests {
    @Suite struct HostileAPI {
        /// The connection-level hostile cases that end a client's connection before it
        /// has sessions, with the default limits: the API sees them as the typed error.
        static let cases: [HostileCase] = HostileCase.connection.filter { c in
            let configuration = c.configuration(.client)
            guard c.roles.contains(.client), c.setup.session == nil, configuration.channelMax == .max,
                configuration.limits == EngineLimits(), c.maxFrameSize == 4_096
            else { return false }
            switch c.outcome(.client) {
            case .fails, .closes: return true
            default: return false
            }
        }

        @Test func thereAreEnoughCases() {
            #expect(Self.cases.count >= 20)
        }

        @Test(arguments: availableBackends, Self.cases.map(\.name))
        func hostileCase(backend: ReactorOptions.Backend, name: String) throws {
            let c = try #require(Self.cases.first { $0.name == name })
            let condition: ErrorCondition
            let text: String
            switch c.outcome(.client) {
            case .fails(let co, let t), .closes(let co, let t): (condition, text) = (co, t)
            default: throw HostileCaseMismatch(name: name)
            }
            let evil = try EvilPeerThread(c.evilScript())
            let port = evil.port
            evil.start()
            do {
                let (connection, reactor) = try hostileConnection(port: port, backend: backend, sasl: c.sasl)
                defer { reactor.shutdown() }
                let start = secondsNow()
                do {
                    // It may open just before the strike arrives; the error follows.
                    try connection.waitUntilOpened(timeout: .seconds(5))
                } catch {
                    #expect(error.condition == condition, "\(error)")
                }
                #expect(eventually { connection.error != nil }, "no error at the API")
                let error = try #require(connection.error)
                #expect(error.condition == condition, "\(error)")
                #expect(error.errorDescription?.contains(text) == true, "\(error)")
                #expect(secondsNow() - start < 5, "took \(secondsNow() - start) s")
                // A new session is refused with the stored error, typed.
                #expect(throws: AMQPClientError.self) { _ = try Session(connection: connection) }
                connection.destroy()
            }
            evil.finish()
            #expect(eventually { descriptors(onPort: port) == 0 }, "descriptors left on port \(port)")
        }

        /// A fault the engine finds is the API's error as soon as the engine sends its error
        /// CLOSE, not when the peer answers it (or the 30 s close time-out passes): a peer
        /// that reads and never answers must not turn a decode error into a time-out.
        @Test(arguments: availableBackends)
        func aFaultIsReportedWhileOurCloseGoesUnanswered(backend: ReactorOptions.Backend) throws {
            let c = try #require(HostileCase.connection.first { $0.name == "a symbolic descriptor naming no performative" })
            var script = c.evilScript()
            script[script.count - 1] = .drain
            let evil = try EvilPeerThread(script)
            let port = evil.port
            evil.start(for: 60)
            do {
                let (connection, reactor) = try hostileConnection(port: port, backend: backend, sasl: c.sasl)
                defer { reactor.shutdown() }
                try connection.open()
                // Well inside the engine's 30 s close time-out, however loaded the machine.
                #expect(eventually(within: 20) { connection.error != nil }, "no error at the API (state \(connection.state))")
                #expect(connection.error?.condition == .decodeError, "\(String(describing: connection.error))")
                // The engine still waits for the peer's CLOSE: the error came first.
                #expect(connection.state == .discarding)
                // And a waiter reports it, not a time-out.
                do {
                    try connection.waitUntilOpened(timeout: .milliseconds(100))
                    Issue.record("opened after a decode error")
                } catch {
                    #expect(error.condition == .decodeError, "\(error)")
                }
                connection.destroy()
            }
            evil.finish()
            #expect(eventually { descriptors(onPort: port) == 0 }, "descriptors left on port \(port)")
        }

        @Test(arguments: availableBackends, TransportMisbehaviour.all)
        func transport(backend: ReactorOptions.Backend, m: TransportMisbehaviour) throws {
            let evil = try EvilPeerThread(m.script)
            let port = evil.port
            evil.start()
            do {
                let (connection, reactor) = try hostileConnection(port: port, backend: backend, sasl: false, maxFrameSize: 65_536)
                defer { reactor.shutdown() }
                let start = secondsNow()
                if m.opens {
                    try connection.waitUntilOpened(timeout: .seconds(10))
                    // Still usable after the peer's antics.
                    #expect(eventually { evil.peer.bytesWritten > 0 })
                    #expect(connection.error == nil)
                } else {
                    var failed = false
                    do {
                        try connection.waitUntilOpened(timeout: .seconds(2))
                    } catch {
                        failed = true
                        #expect(!error.summary.isEmpty, "\(error)")
                    }
                    // A peer that goes away after its OPEN may be seen opening first; the
                    // error follows, stored for every later call.
                    if !failed {
                        #expect(m.mayOpenFirst, "opened against a peer that \(m.name)")
                        #expect(eventually { connection.error != nil }, "no error at the API")
                        #expect(throws: AMQPClientError.self) { _ = try Session(connection: connection) }
                    }
                    #expect(secondsNow() - start < 5, "took \(secondsNow() - start) s")
                }
                connection.destroy()
                #expect(connection.state.isFinal)
            }
            evil.finish()
            #expect(eventually { descriptors(onPort: port) == 0 }, "descriptors left on port \(port)")
        }
    }
}
