import AMQP
import AMQPEngine
import AMQPPeer
import Foundation
import Testing

// One suite per peer, each running the cases of `InteropCases`. A suite whose service
// is not running (no environment variable: `swift test` on its own) is skipped with the
// reason; under `make test` and on CI they must all run (`InteropEnvironmentTests`).
// Each suite runs its cases one at a time, so a broker serves one case at a time.
// Where a peer differs, the case says so here and in Docs/interop.md.

/// Messages each way in the main round trip.
let interopCount = 10_000
/// Messages each way in the pre-settled round trip.
let interopPresettledCount = 2_000
/// How long a connection stays idle against a peer's (or our) 1 s idle time-out: more
/// than 3 times it.
let idleSeconds = 3.5

func peer(_ kind: InteropPeerKind) throws -> InteropPeer {
    try #require(InteropPeer(kind), kind.skipReason)
}

@Suite("Interop: embedded peer", .serialized, .timeLimit(.minutes(2)))
struct EmbeddedPeerInterop {
    @Test func openClose() throws { try InteropCases.openClose(peer(.embedded)) }

    @Test func tenThousandEachWayUnsettled() throws {
        try InteropCases.roundTrip(peer(.embedded), count: interopCount, settled: false)
    }

    @Test func presettledEachWay() throws {
        try InteropCases.roundTrip(peer(.embedded), count: interopPresettledCount, settled: true)
    }

    @Test func oneMebibyteMessages() throws { try InteropCases.oneMebibyte(peer(.embedded)) }

    @Test func creditExhaustionAndDrain() throws { try InteropCases.creditAndDrain(peer(.embedded)) }

    @Test func detachWithError() throws {
        try InteropCases.detachWithError(peer(.embedded), condition: .notFound)
    }

    /// A peer of its own with a 1 s idle time-out: our heartbeats keep the connection.
    @Test func shortIdleTimeoutKeptAlive() throws {
        var configuration = EmbeddedPeerHost.configuration()
        configuration.idleTimeout = 1_000
        let (address, handle) = try EmbeddedPeerHost.serve(configuration).get()
        defer { handle.stop() }
        let p = try peer(.embedded)
        let connection = try p.connection(hostPort: "127.0.0.1:\(address.port)")
        try connection.waitUntilOpened(timeout: .seconds(10))
        // Half of its 1 s threshold is announced (part 2, section 2.4.5).
        #expect(connection.remoteOpen?.idleTimeOut == 500)
        try InteropCases.staysAlive(connection, peer: p, idleFor: idleSeconds)
    }

    @Test func wrongPassword() throws { try InteropCases.wrongPassword(peer(.embedded), expectedCode: .auth) }

    /// A peer of its own that offers ANONYMOUS only, as the Proton brokers do: PLAIN is
    /// refused with that reason, not a time-out. (`waitUntilOpened` used to wake on the
    /// ERROR state before the error was stored and threw a time-out instead.)
    @Test(arguments: 0..<5)
    func plainRefusedWhenNotOffered(round: Int) throws {
        var configuration = EmbeddedPeerHost.configuration()
        configuration.users = [:]
        let (address, handle) = try EmbeddedPeerHost.serve(configuration).get()
        defer { handle.stop() }
        let p = try peer(.embedded)
        let connection = try p.connection(password: "guest", hostPort: "127.0.0.1:\(address.port)")
        defer { connection.destroy() }
        do {
            try connection.waitUntilOpened(timeout: .seconds(10))
            Issue.record("the connection opened with PLAIN, which the peer does not offer")
        } catch {
            #expect(error.kind == .connectionClose, "\(error)")
            #expect(error.condition == .unauthorizedAccess, "\(error)")
        }
    }

    /// A peer of its own, shut down mid-stream (it closes with `amqp:connection:forced`).
    @Test func peerStopsMidStream() throws {
        let (address, handle) = try EmbeddedPeerHost.serve(EmbeddedPeerHost.configuration()).get()
        defer { handle.stop() }
        try InteropCases.brokerStopsMidStream(
            peer(.embedded), hostPort: "127.0.0.1:\(address.port)", count: 5_000, kill: { handle.stop() })
    }
}

@Suite(
    "Interop: RabbitMQ 3.10", .serialized, .timeLimit(.minutes(2)),
    .enabled(if: InteropPeerKind.rabbitmq.isAvailable, InteropPeerKind.rabbitmq.skipReason))
struct RabbitMQInterop {
    @Test func openClose() throws { try InteropCases.openClose(peer(.rabbitmq)) }

    @Test func tenThousandEachWayUnsettled() throws {
        try InteropCases.roundTrip(peer(.rabbitmq), count: interopCount, settled: false)
    }

    @Test func presettledEachWay() throws {
        try InteropCases.roundTrip(peer(.rabbitmq), count: interopPresettledCount, settled: true)
    }

    @Test func oneMebibyteMessages() throws { try InteropCases.oneMebibyte(peer(.rabbitmq)) }

    @Test func creditExhaustionAndDrain() throws { try InteropCases.creditAndDrain(peer(.rabbitmq)) }

    /// `/amq/queue/NAME` and `/exchange/NAME/KEY` name existing nodes only; RabbitMQ
    /// refuses missing ones by ending the session.
    @Test func detachWithError() throws {
        try InteropCases.detachWithError(peer(.rabbitmq), condition: .notFound)
    }

    /// RabbitMQ's AMQP 1.0 plugin announces no idle time-out of its own and has no
    /// setting for one, so the direction tested is the other: our 1 s idle time-out,
    /// kept by RabbitMQ's heartbeats (we would close the connection otherwise).
    @Test func shortIdleTimeoutKeptAlive() throws {
        let p = try peer(.rabbitmq)
        let connection = try p.connection(idleTimeout: 1_000)
        try connection.waitUntilOpened(timeout: .seconds(10))
        try InteropCases.staysAlive(connection, peer: p, idleFor: idleSeconds)
    }

    @Test func wrongPassword() throws { try InteropCases.wrongPassword(peer(.rabbitmq), expectedCode: .auth) }

    /// Not run against RabbitMQ: killing the shared node would fail the other cases,
    /// and a second node costs ~10 s of start-up. The same client path is covered by the
    /// Proton C and Python brokers, which are killed for real (see Docs/interop.md).
    @Test(.disabled("a dedicated RabbitMQ node costs ~10 s; the Proton C and Python brokers are killed mid-stream instead"))
    func brokerStopsMidStream() {}
}

@Suite(
    "Interop: Qpid Proton C broker", .serialized, .timeLimit(.minutes(2)),
    .enabled(if: InteropPeerKind.protonC.isAvailable, InteropPeerKind.protonC.skipReason))
struct ProtonCInterop {
    @Test func openClose() throws { try InteropCases.openClose(peer(.protonC)) }

    /// The broker sends every message pre-settled (it has no outcomes for what it
    /// delivers), so received messages arrive settled.
    @Test func tenThousandEachWayUnsettled() throws {
        try InteropCases.roundTrip(peer(.protonC), count: interopCount, settled: false)
    }

    @Test func presettledEachWay() throws {
        try InteropCases.roundTrip(peer(.protonC), count: interopPresettledCount, settled: true)
    }

    @Test func oneMebibyteMessages() throws { try InteropCases.oneMebibyte(peer(.protonC)) }

    @Test func creditExhaustionAndDrain() throws { try InteropCases.creditAndDrain(peer(.protonC)) }

    /// The example broker makes a queue for any address and never refuses a link, so
    /// there is no refusal to provoke: this checks that difference (an address others
    /// refuse attaches here) instead.
    @Test func anyAddressIsAccepted() throws {
        let p = try peer(.protonC)
        let connection = try p.connection()
        defer { connection.destroy() }
        let session = try Session(connection: connection)
        let receiver = try MessageReceiver(session: session, source: "missing/\(UUID().uuidString)", prefetch: 1)
        #expect(eventually { receiver.isAttached })
        #expect(receiver.error == nil)
    }

    /// The example broker has no idle time-out setting; the direction tested is ours:
    /// our 1 s idle time-out, kept by Proton's heartbeats.
    @Test func shortIdleTimeoutKeptAlive() throws {
        let p = try peer(.protonC)
        let connection = try p.connection(idleTimeout: 1_000)
        try connection.waitUntilOpened(timeout: .seconds(10))
        try InteropCases.staysAlive(connection, peer: p, idleFor: idleSeconds)
    }

    /// The broker offers SASL ANONYMOUS only: PLAIN is refused, typed.
    @Test func plainRefused() throws { try InteropCases.wrongPassword(peer(.protonC), expectedCode: nil) }

    /// A broker of its own (the shared one survives), killed with SIGKILL.
    @Test func brokerKilledMidStream() throws {
        let p = try peer(.protonC)
        let binary = try #require(ProcessInfo.processInfo.environment["AMQP_INTEROP_PROTON_C_BROKER"])
        let broker = try BrokerProcess(executable: binary, arguments: ["127.0.0.1", "0"])
        let box = BrokerBox(broker)
        try InteropCases.brokerStopsMidStream(p, hostPort: broker.hostPort, count: 5_000, kill: { box.kill() })
    }
}

@Suite(
    "Interop: Qpid Proton Python broker", .serialized, .timeLimit(.minutes(2)),
    .enabled(if: InteropPeerKind.protonPython.isAvailable, InteropPeerKind.protonPython.skipReason))
struct ProtonPythonInterop {
    @Test func openClose() throws { try InteropCases.openClose(peer(.protonPython)) }

    @Test func tenThousandEachWayUnsettled() throws {
        try InteropCases.roundTrip(peer(.protonPython), count: interopCount, settled: false)
    }

    @Test func presettledEachWay() throws {
        try InteropCases.roundTrip(peer(.protonPython), count: interopPresettledCount, settled: true)
    }

    @Test func oneMebibyteMessages() throws { try InteropCases.oneMebibyte(peer(.protonPython)) }

    @Test func creditExhaustionAndDrain() throws { try InteropCases.creditAndDrain(peer(.protonPython)) }

    @Test func detachWithError() throws {
        try InteropCases.detachWithError(peer(.protonPython), condition: .notFound)
    }

    /// A broker of its own with a 1 s idle time-out: our heartbeats keep the connection.
    @Test func shortIdleTimeoutKeptAlive() throws {
        let p = try peer(.protonPython)
        let broker = try BrokerProcess(executable: InteropPython.path, arguments: [InteropPython.broker(), "--idle-timeout", "1"])
        defer { broker.kill() }
        let connection = try p.connection(hostPort: broker.hostPort)
        try connection.waitUntilOpened(timeout: .seconds(10))
        // Proton announces half of its idle time-out, so it is never the first to give up.
        #expect(connection.remoteOpen?.idleTimeOut == 500)
        try InteropCases.staysAlive(connection, peer: p, idleFor: idleSeconds)
    }

    /// The broker offers SASL ANONYMOUS only: PLAIN is refused, typed.
    @Test func plainRefused() throws { try InteropCases.wrongPassword(peer(.protonPython), expectedCode: nil) }

    /// A broker of its own (the shared one survives), killed with SIGKILL.
    @Test func brokerKilledMidStream() throws {
        let p = try peer(.protonPython)
        let broker = try BrokerProcess(executable: InteropPython.path, arguments: [InteropPython.broker()])
        let box = BrokerBox(broker)
        try InteropCases.brokerStopsMidStream(p, hostPort: broker.hostPort, count: 5_000, kill: { box.kill() })
    }
}

/// Debian's Python (with python3-qpid-proton) and the broker script.
enum InteropPython {
    static let path = "/usr/bin/python3"
    static func broker() -> String {
        if let path = ProcessInfo.processInfo.environment["AMQP_INTEROP_PROTON_PYTHON_BROKER"] { return path }
        // Tests/AMQPInteropTests/InteropSuites.swift → Tests/Interop/proton_broker.py
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Interop/proton_broker.py").path
    }
}

/// Lets a `@Sendable` closure kill a broker process from another thread.
final class BrokerBox: @unchecked Sendable {
    private let lock = NSLock()
    private var broker: BrokerProcess?
    init(_ broker: BrokerProcess) { self.broker = broker }
    func kill() {
        let b = lock.withLock { () -> BrokerProcess? in
            defer { broker = nil }
            return broker
        }
        b?.kill()
    }
    deinit { broker?.kill() }
}
