@testable import AMQP
import AMQPReactor
import Foundation
import Testing

func numbered(_ i: Int, outcome: String? = nil) -> Message {
    var m = Message(body: Array("message \(i)".utf8))
    var properties: ApplicationProperties = ["n": .int(Int32(i))]
    if let outcome { properties.entries.append(.init(key: "outcome", value: .string(outcome))) }
    m.applicationProperties = properties
    return m
}

func number(of m: ReceivedMessage) -> Int? {
    guard case .int(let n)? = m.message.applicationProperties?["n"] else { return nil }
    return Int(n)
}

extension ConnectionTests {
    @Suite struct Messaging {
        @Test(arguments: availableBackends)
        func thousandMessagesThereAndBackBlocking(backend: ReactorOptions.Backend) throws {
            let broker = try TestBroker()
            defer { broker.stop() }
            let reactor = try makeReactor(.ownThread, backend)
            defer { reactor.shutdown() }
            let connection = try Connection(hostname: broker.hostname, reactor: reactor)
            defer { connection.destroy() }
            let session = try Session(connection: connection)
            let sender = try MessageSender(session: session, target: "q1")

            // All in flight at once, completions counted.
            let outcomes = Locked<[Int: Outcome]>([:])
            let failures = Locked<[AMQPClientError]>([])
            for i in 0..<999 {
                sender.send(numbered(i)) { result in
                    switch result {
                    case .success(let o): outcomes.withLock { $0[i] = o }
                    case .failure(let e): failures.withLock { $0.append(e) }
                    }
                }
            }
            // And one blocking send behind them.
            #expect(try sender.send(numbered(999), timeout: .seconds(10)) == .accepted)
            #expect(eventually { outcomes.withLock { $0.count } == 999 })
            #expect(failures.withLock { $0.isEmpty })
            #expect(outcomes.withLock { $0.values.allSatisfy { $0 == .accepted } })
            #expect(broker.received("q1") == 1000)

            let receiver = try MessageReceiver(session: session, source: "q1", prefetch: 100)
            var got: [Int] = []
            let end = secondsNow() + 10
            while got.count < 1000 && secondsNow() < end {
                let batch = try receiver.receive(maxCount: 64, timeout: .seconds(5))
                #expect(batch.count <= 64)
                for m in batch {
                    got.append(number(of: m) ?? -1)
                    #expect(try m.accept())
                    #expect(m.isSettled)
                    #expect(try m.accept() == false)
                }
            }
            #expect(got == Array(0..<1000))
            #expect(eventually { broker.outcomes.count == 1000 })
            #expect(broker.outcomes.allSatisfy { $0 == "accepted" })
            // Nothing more: a receive times out empty.
            #expect(try receiver.receive(maxCount: 10, timeout: .milliseconds(100)).isEmpty)
        }

        @Test func thousandMessagesThereAndBackAsync() async throws {
            let broker = try TestBroker()
            defer { broker.stop() }
            let connection = try Connection(hostname: broker.hostname)
            defer { connection.destroy() }
            let session = try Session(connection: connection)
            let sender = try MessageSender(session: session, target: "q2")
            let receiver = try MessageReceiver(session: session, source: "q2", prefetch: 50, autoAccept: true)

            // Receive concurrently with sending; credit (50) holds the broker back.
            let consumer = Task { () throws -> [Int] in
                var got: [Int] = []
                for try await m in receiver.messages {
                    #expect(m.isSettled)
                    #expect(receiver.bufferedCount <= 50)
                    got.append(number(of: m) ?? -1)
                    if got.count == 1000 { break }
                }
                return got
            }
            try await withThrowingTaskGroup(of: Outcome.self) { group in
                for batch in stride(from: 0, to: 1000, by: 100) {
                    for i in batch..<batch + 100 {
                        group.addTask { try await sender.send(numbered(i)) }
                    }
                    for try await outcome in group.prefix(100) { #expect(outcome == .accepted) }
                }
            }
            let got = try await consumer.value
            #expect(got.sorted() == Array(0..<1000))
            #expect(eventually { broker.outcomes.count == 1000 })
            #expect(broker.outcomes.allSatisfy { $0 == "accepted" })
        }

        @Test func senderSeesEveryOutcome() async throws {
            let broker = try TestBroker()
            defer { broker.stop() }
            let connection = try Connection(hostname: broker.hostname)
            defer { connection.destroy() }
            let session = try Session(connection: connection)
            let sender = try MessageSender(session: session, target: "q3")

            #expect(try await sender.send(numbered(1)) == .accepted)
            let rejected = try await sender.send(numbered(2, outcome: "reject"))
            guard case .rejected(let error?) = rejected else {
                Issue.record("expected rejected, got \(rejected)")
                return
            }
            #expect(error.condition == .notAllowed)
            #expect(rejected.error()?.kind == .messageSendFailed)
            #expect(try await sender.send(numbered(3, outcome: "release")) == .released)
            #expect(try await sender.send(numbered(4, outcome: "modify")) == .modified(deliveryFailed: true, undeliverableHere: true, messageAnnotations: nil))

            // Pre-settled: no outcome, reported as such.
            let fireAndForget = try MessageSender(session: session, target: "q3", sendSettleMode: .settled)
            #expect(try await fireAndForget.send(numbered(5)) == .presettled)
            #expect(eventually { broker.received("q3") == 2 })
        }

        @Test func batchableSenderMarksItsTransfers() async throws {
            let broker = try TestBroker(TestBroker.Options(traceTransfers: true))
            defer { broker.stop() }
            let connection = try Connection(hostname: broker.hostname)
            defer { connection.destroy() }
            let session = try Session(connection: connection)
            let plain = try MessageSender(session: session, target: "qb")
            let batched = try MessageSender(session: session, target: "qb", batchable: true)

            #expect(try await plain.send(numbered(1)) == .accepted)
            #expect(try await batched.send(numbered(2)) == .accepted)
            let traces = broker.transferTraces
            try #require(traces.count == 2, "\(traces)")
            // The broker's trace shows TRANSFER's fields as they came: the plain one
            // stops before `more` (trailing defaults are left out); the batchable one
            // runs to its 11th field, `batchable`, set.
            let fields = traces.map { Self.transferFields($0) }
            #expect(fields[0].count <= 5, "\(traces[0])")
            #expect(fields[1].count == 11, "\(traces[1])")
            #expect(fields[1].last == "true", "\(traces[1])")
        }

        /// The top-level fields of a traced TRANSFER (`<- [TRANSFER]* {a,b,…}`, maybe
        /// followed by the payload's size).
        static func transferFields(_ line: String) -> [Substring] {
            guard let open = line.firstIndex(of: "{"), let close = line.firstIndex(of: "}") else { return [] }
            return line[line.index(after: open)..<close].split(separator: ",", omittingEmptySubsequences: false)
        }

        @Test func receiverSettlesWithEveryOutcome() throws {
            let broker = try TestBroker()
            defer { broker.stop() }
            let connection = try Connection(hostname: broker.hostname)
            defer { connection.destroy() }
            let session = try Session(connection: connection)
            let sender = try MessageSender(session: session, target: "q4")
            for i in 0..<4 { #expect(try sender.send(numbered(i), timeout: .seconds(5)) == .accepted) }

            let receiver = try MessageReceiver(session: session, source: "q4", prefetch: 4)
            var first: [ReceivedMessage] = []
            let end = secondsNow() + 5
            while first.count < 4 && secondsNow() < end {
                first += try receiver.receive(maxCount: 4 - first.count, timeout: .seconds(5))
            }
            #expect(first.map { number(of: $0) } == [0, 1, 2, 3])
            #expect(try first[0].accept())
            #expect(try first[1].reject(error: AMQPError(condition: .decodeError, description: "bad")))
            #expect(try first[2].release())
            #expect(try first[3].modify(deliveryFailed: true))
            #expect(eventually { broker.outcomes.count == 4 })
            #expect(broker.outcomes == ["accepted", "rejected", "released", "modified"])

            // Released and modified messages come back.
            var again: [ReceivedMessage] = []
            let end2 = secondsNow() + 5
            while again.count < 2 && secondsNow() < end2 {
                again += try receiver.receive(timeout: .seconds(5))
            }
            #expect(Set(again.compactMap { number(of: $0) }) == [2, 3])
            for m in again { try m.accept() }
            #expect(eventually { broker.outcomes.count == 6 })
        }

        @Test func borrowedDeliveriesAreNotCopied() throws {
            let broker = try TestBroker()
            defer { broker.stop() }
            let connection = try Connection(hostname: broker.hostname)
            defer { connection.destroy() }
            let session = try Session(connection: connection)
            let sender = try MessageSender(session: session, target: "q5")
            let receiver = try MessageReceiver(session: session, source: "q5", prefetch: 10)
            let seen = Locked<[Int]>([])
            receiver.receiveBorrowed { delivery in
                // Read straight from the ring: the view decodes in place.
                guard let view = try? delivery.view(), case .int(let n)? = view.applicationProperties?["n"] else {
                    return .reject(nil)
                }
                seen.withLock { $0.append(Int(n)) }
                return .accept
            }
            for i in 0..<100 { sender.send(numbered(i)) { _ in } }
            #expect(eventually { seen.withLock { $0.count } == 100 })
            #expect(seen.withLock { $0 } == Array(0..<100))
            #expect(receiver.bufferedCount == 0)
            #expect(eventually { broker.outcomes.count == 100 })
            #expect(broker.outcomes.allSatisfy { $0 == "accepted" })
        }

        @Test func cancellingAnIterationEndsIt() async throws {
            let broker = try TestBroker()
            defer { broker.stop() }
            let connection = try Connection(hostname: broker.hostname)
            defer { connection.destroy() }
            let session = try Session(connection: connection)
            let receiver = try MessageReceiver(session: session, source: "empty")
            let iteration = Task { () throws -> Int in
                var n = 0
                for try await _ in receiver.messages { n += 1 }
                return n
            }
            try await Task.sleep(for: .milliseconds(50))
            iteration.cancel()
            #expect(try await iteration.value == 0)
        }

        @Test func everySendCompletesWhenTheConnectionGoes() throws {
            let broker = try TestBroker()
            defer { broker.stop() }
            let connection = try Connection(hostname: broker.hostname)
            let session = try Session(connection: connection)
            let sender = try MessageSender(session: session, target: "q6")
            let results = Locked<[Result<Outcome, AMQPClientError>]>([])
            for i in 0..<200 {
                sender.send(numbered(i)) { r in results.withLock { $0.append(r) } }
            }
            connection.destroy()
            // None hangs: each ends with its outcome or a typed error.
            #expect(eventually { results.withLock { $0.count } == 200 })
            for case .failure(let e) in results.withLock({ $0 }) {
                #expect(e.kind == .clientError)
                #expect(e.errorDescription?.contains("the message") == true)
            }
            // Later sends fail at once.
            #expect(throws: AMQPClientError.self) { _ = try sender.send(numbered(0), timeout: .seconds(1)) }
        }

        @Test func losingTheBrokerFailsWaitingReceivers() throws {
            let broker = try TestBroker()
            let connection = try Connection(hostname: broker.hostname)
            defer { connection.destroy() }
            let session = try Session(connection: connection)
            let receiver = try MessageReceiver(session: session, source: "q7")
            #expect(eventually { receiver.isAttached })
            let waiting = TestThread { () -> AMQPClientError? in
                do throws(AMQPClientError) {
                    _ = try receiver.receive(timeout: .seconds(10))
                    return nil
                } catch {
                    return error
                }
            }
            usleep(50_000)
            broker.stop()
            let error = waiting.join()
            #expect(error??.kind == .connectionClose)
            #expect(error??.origin == .transport)
            // The link's end can reach the waiting thread before the reactor has handled
            // the socket's end, which stores the connection's error: wait for it.
            #expect(eventually { connection.error?.origin == .transport })
            #expect(eventually { connection.state == .error })
            #expect(throws: AMQPClientError.self) { try connection.work() }
        }
    }
}
