import AMQP
import AMQPEngine
import AMQPReactor
import AMQPTool
import Foundation
import Synchronization
import Testing

// The public API through `amqp fault-proxy` (`FaultProxy`) to the embedded peer and to
// the Qpid Proton C broker: the proxy delays, drops, truncates, corrupts or resets the
// streams at offsets in the SASL exchange, OPEN, BEGIN, ATTACH and the transfers. Every
// case must end within a deadline with every send completed, accepted or failed with a
// typed `AMQPClientError` that says whether the message may have reached the broker
// (an unsettled delivery whose outcome never came is reported failed, its fate unknown,
// never left waiting); a broken exchange leaves a typed error on the connection, the
// link or the call that set it up; and no socket is left open (the proxy sees the
// client close every connection it made, and closes its own).

/// One fault and what it allows.
struct InteropProxyCase: Sendable, CustomTestStringConvertible {
    let name: String
    let faults: FaultProxy.Faults
    /// Faults that only slow the exchange down: it must succeed whole.
    var intact = false
    var testDescription: String { name }

    static let all: [InteropProxyCase] =
        [
            InteropProxyCase(name: "delay 5 ms", faults: .init(delayMilliseconds: 5), intact: true),
        ]
        // Offsets land in the SASL exchange, OPEN, BEGIN and ATTACH, and among the
        // transfers (an exchange of 20 messages is about 1,100 bytes to the broker).
        + [40, 200, 400, 700, 1000].flatMap { (n: Int) -> [InteropProxyCase] in
            [
                InteropProxyCase(name: "reset after \(n) B", faults: .init(resetAfter: n)),
                InteropProxyCase(name: "truncate after \(n) B", faults: .init(truncateAfter: n)),
            ]
        }
        + [8, 60, 300, 900].map { (n: Int) in InteropProxyCase(name: "corrupt byte \(n) to the broker", faults: .init(corruptAt: n, directions: .toTarget)) }
        + [8, 60, 200].map { (n: Int) in InteropProxyCase(name: "corrupt byte \(n) to the client", faults: .init(corruptAt: n, directions: .toClient)) }
        + [
            InteropProxyCase(name: "drop to the client after 150 B", faults: .init(dropAfter: 150, directions: .toClient)),
            InteropProxyCase(name: "drop to the broker after 300 B", faults: .init(dropAfter: 300, directions: .toTarget)),
        ]
}

@Suite("Interop: fault proxy", .serialized, .timeLimit(.minutes(5)))
struct FaultProxyInteropTests {
    static let messages = 20

    @Test(arguments: [InteropPeerKind.embedded, .protonC], InteropProxyCase.all)
    func sendsThroughTheFaultProxy(kind: InteropPeerKind, c: InteropProxyCase) throws {
        let p = try peer(kind)
        let hostPort = p.hostPort.split(separator: ":")
        let target = try SocketAddress.resolve(host: String(hostPort[0]), port: UInt16(hostPort[1])!)[0]
        let proxy = try FaultProxy(listen: .loopbackIPv4(), target: target, faults: c.faults)
        defer { proxy.stop() }

        let results = Mutex<[Int: Result<Outcome, AMQPClientError>]>([:])
        var setupError: AMQPClientError? = nil
        var connectionError: AMQPClientError? = nil
        var linkError: AMQPClientError? = nil
        var gaveUp = false
        let start = secondsNow()
        do {
            // Our idle time-out makes a silenced stream end within a second or so.
            let connection = try p.connection(idleTimeout: 600, hostPort: "127.0.0.1:\(proxy.address.port)")
            defer { connection.destroy(grace: .milliseconds(200)) }
            do {
                let session = try Session(connection: connection)
                let sender = try MessageSender(session: session, target: p.address("fault-proxy-\(UUID().uuidString)"))
                for i in 0..<Self.messages {
                    sender.send(Message(body: Array("message \(i)".utf8))) { result in results.withLock { $0[i] = result } }
                }
                // A stream silenced one way, or a frame the broker waits on forever (a
                // corrupted size), stops the exchange without ending the connection:
                // the application gives up after a while and destroys the connection,
                // and every send still waiting must then fail, typed.
                if !eventually(within: 5, { results.withLock { $0.count } == Self.messages }) {
                    gaveUp = true
                    linkError = sender.error ?? session.error
                    connection.destroy(grace: .milliseconds(200))
                }
                guard eventually(within: 10, { results.withLock { $0.count } == Self.messages }) else {
                    throw InteropSetupError("\(Self.messages) send completions: \(results.withLock { $0.count }) in\(gaveUp ? " after the connection was destroyed" : "")")
                }
                linkError = linkError ?? sender.error ?? session.error
            } catch let error as AMQPClientError {
                setupError = error
            }
            connectionError = connection.error
        } catch let error as AMQPClientError {
            setupError = error
        }
        #expect(secondsNow() - start < 25, "took \(secondsNow() - start) s")

        let outcomes = results.withLock { $0 }
        let failures = outcomes.values.compactMap { if case .failure(let e) = $0 { e } else { nil } }
        let accepted = outcomes.values.filter { if case .success(.accepted) = $0 { true } else { false } }.count
        if c.intact {
            #expect(setupError == nil && connectionError == nil && linkError == nil, "\(String(describing: setupError)) \(String(describing: connectionError))")
            #expect(accepted == Self.messages)
        } else {
            #expect(setupError != nil || outcomes.count == Self.messages)
            #expect(accepted + failures.count == outcomes.count, "outcomes other than accepted: \(outcomes)")
            if (!failures.isEmpty || setupError != nil) && !gaveUp {
                #expect(setupError != nil || connectionError != nil || linkError != nil, "sends failed but nothing has an error")
            }
            // A failed send says whether the message may have reached the broker: sent
            // and unsettled is "unknown", never "not delivered".
            for e in failures { #expect(e.messageMayHaveReachedPeer != nil, "\(e)") }
            #expect(proxy.statistics.applied > 0, "the fault never applied: \(proxy.statistics)")
        }

        // No socket left: the client let go of every connection (destroyed above), the
        // proxy closes its own.
        #expect(eventually(within: 5) { proxy.statistics.finished == proxy.statistics.accepted }, "\(proxy.statistics)")
        #expect(proxy.openSockets == 1, "the listener and nothing else: \(proxy.openSockets)")
        proxy.stop()
        #expect(proxy.openSockets == 0)
    }
}
