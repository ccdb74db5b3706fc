import AMQP
import Foundation
import Testing

extension ConnectionTests {
    /// The reference's worst bug: heartbeats only went out while the application kept
    /// calling `work()`, so brokers dropped quiet clients. The broker here closes a
    /// connection that sends nothing for 300 ms.
    @Suite struct Heartbeats {
        @Test func sharedReactorKeepsAQuietConnectionAlive() throws {
            let broker = try TestBroker(.init(idleTimeout: 300))
            defer { broker.stop() }
            let connection = try Connection(hostname: broker.hostname)
            defer { connection.destroy() }
            let session = try Session(connection: connection)
            try connection.waitUntilOpened(timeout: .seconds(5))

            // Five idle time-outs without anyone calling work(), holding the lock the
            // whole time (the reference's retry back-off did that, and starved its
            // heartbeats).
            let start = secondsNow()
            connection.sleep(seconds: 1.5)
            #expect(secondsNow() - start >= 1.4)

            #expect(connection.state == .opened)
            #expect(connection.error == nil)
            #expect(broker.engineErrors.isEmpty)
            #expect(broker.connectionCounts.closed == 0)
            // And it still works.
            let sender = try MessageSender(session: session, target: "alive")
            #expect(try sender.send(Message(body: [42]), timeout: .seconds(5)) == .accepted)
        }

        @Test func manualReactorLeftAloneIsDropped() throws {
            let broker = try TestBroker(.init(idleTimeout: 300))
            defer { broker.stop() }
            let connection = try Connection(hostname: broker.hostname, reactor: try ConnectionReactor.manual())
            defer { connection.destroy() }
            try connection.waitUntilOpened(timeout: .seconds(5))

            // Nobody steps the manual reactor: no heartbeat goes out, the broker gives up.
            #expect(eventually(within: 5) { broker.engineErrors.count == 1 })
            #expect(broker.engineErrors.first == "amqp:resource-limit-exceeded")

            // The next work() learns it and rethrows it on every call.
            let end = secondsNow() + 5
            var thrown: AMQPClientError? = nil
            while thrown == nil && secondsNow() < end {
                do { try connection.work() } catch { thrown = error }
                usleep(1_000)
            }
            #expect(thrown?.condition == .resourceLimitExceeded)
            #expect(thrown?.origin == .remote)
            #expect(throws: AMQPClientError.self) { try connection.work() }
        }
    }
}
