import AMQP
import AMQPEngine
import Foundation
import Testing

/// The body of message `i`: data, amqp-value and amqp-sequence in turn, each carrying
/// `i` so order and content can both be checked.
func interopBody(_ i: Int) -> MessageBody {
    switch i % 3 {
    case 0: .data([Array("message \(i)".utf8)])
    case 1: .value(.string("message \(i)"))
    default: .sequence([[.int(Int32(i)), .string("message \(i)"), .boolean(i % 2 == 0)]])
    }
}

func interopMessage(_ i: Int) -> Message {
    var m = Message(body: interopBody(i))
    m.applicationProperties = ["n": .int(Int32(i))]
    return m
}

func number(of m: Message) -> Int? {
    guard case .int(let n)? = m.applicationProperties?["n"] else { return nil }
    return Int(n)
}

/// A queue name no other case (or earlier run) uses.
func freshQueue(_ what: String) -> String { "interop-\(what)-\(UUID().uuidString.prefix(8))" }

/// Every case of the suite, against one peer. Each bounds its own waits.
enum InteropCases {
    /// Opens, checks the peer's OPEN, closes.
    static func openClose(_ peer: InteropPeer) throws {
        let connection = try peer.connection()
        defer { connection.destroy() }
        try connection.waitUntilOpened(timeout: .seconds(30))
        #expect(connection.state == .opened)
        #expect(connection.remoteOpen != nil)
        #expect(connection.remoteMaxFrameSize >= 512)
        // A session and a link, then everything closes in order.
        let session = try Session(connection: connection)
        let sender = try MessageSender(session: session, target: peer.address(freshQueue("open")))
        #expect(eventually { sender.isAttached })
        sender.close()
        session.close()
        connection.destroy()
        #expect(connection.state == .end || connection.state == .discarding)
        #expect(connection.error == nil)
    }

    /// Sends `count` messages (all in flight at once, bodies of every type) and takes
    /// them back with a receiver, checking order and content; `settled` sends and
    /// receives pre-settled (at most once) instead of unsettled.
    static func roundTrip(_ peer: InteropPeer, count: Int, settled: Bool) throws {
        let connection = try peer.connection()
        defer { connection.destroy() }
        let session = try Session(connection: connection)
        let queue = peer.address(freshQueue(settled ? "presettled" : "unsettled"))
        let sender = try MessageSender(session: session, target: queue, sendSettleMode: settled ? .settled : .unsettled)

        let outcomes = Guarded<[Outcome]>([])
        let failures = Guarded<[AMQPClientError]>([])
        for i in 0..<count {
            sender.send(interopMessage(i)) { result in
                switch result {
                case .success(let o): outcomes.withLock { $0.append(o) }
                case .failure(let e): failures.withLock { $0.append(e) }
                }
            }
        }
        let allOut = eventually(within: 60) { outcomes.current.count + failures.current.count == count }
        #expect(allOut, "\(outcomes.current.count) outcomes and \(failures.current.count) failures of \(count) sends")
        let failed = failures.current
        #expect(failed.count == 0, "\(failed.first.map { "\($0)" } ?? "")")
        let expected: Outcome = settled ? .presettled : .accepted
        let unexpected = outcomes.current.filter { $0 != expected }
        #expect(unexpected.count == 0, "\(unexpected.count) outcomes like \(unexpected.first.map { "\($0)" } ?? "")")

        let receiver = try MessageReceiver(
            session: session, source: queue, prefetch: 500, sendSettleMode: settled ? .settled : .unsettled)
        // Whether messages arrive settled: asked for, or the peer settles everything it
        // sends (the Proton C broker).
        let arriveSettled = settled || peer.presettlesDeliveries
        var got: [Int] = []
        var wrongBodies = 0
        var wrongSettlement = 0
        var acceptFailed = 0
        let end = secondsNow() + 60
        while got.count < count && secondsNow() < end {
            for m in try receiver.receive(maxCount: 500, timeout: .seconds(5)) {
                let n = number(of: m.message) ?? -1
                got.append(n)
                if m.message.body != interopBody(n) { wrongBodies += 1 }
                if m.isSettled != arriveSettled { wrongSettlement += 1 }
                if !m.isSettled, try !m.accept() { acceptFailed += 1 }
            }
        }
        #expect(got.count == count)
        let inOrder = got == Array(0..<count)
        #expect(inOrder, "first out of order: \(zip(got, 0...).first { $0.0 != $0.1 }.map { "\($0)" } ?? "none")")
        #expect(wrongBodies == 0)
        #expect(wrongSettlement == 0, "expected every message to arrive \(arriveSettled ? "settled" : "unsettled")")
        #expect(acceptFailed == 0)
        // Nothing more.
        #expect(try receiver.receive(maxCount: 10, timeout: .milliseconds(200)).isEmpty)
    }

    /// Messages of 1 MiB each way: transfers that span many frames (the default
    /// max-frame-size is 63,488), byte for byte.
    static func oneMebibyte(_ peer: InteropPeer) throws {
        let connection = try peer.connection()
        defer { connection.destroy() }
        let session = try Session(connection: connection)
        let queue = peer.address(freshQueue("mib"))
        let sender = try MessageSender(session: session, target: queue)
        let size = 1 << 20
        func payload(_ seed: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) } }
        for seed in 0..<4 {
            var m = Message(body: payload(seed))
            m.applicationProperties = ["n": .int(Int32(seed))]
            #expect(try sender.send(m, timeout: .seconds(30)) == .accepted)
        }
        let receiver = try MessageReceiver(session: session, source: queue, prefetch: 2)
        var got: [Int] = []
        let end = secondsNow() + 30
        while got.count < 4 && secondsNow() < end {
            for m in try receiver.receive(maxCount: 4, timeout: .seconds(5)) {
                let n = number(of: m.message) ?? -1
                got.append(n)
                #expect(m.message.body == .data([payload(n)]), "message \(n) came back different")
                if !m.isSettled { #expect(try m.accept()) }
            }
        }
        #expect(got == [0, 1, 2, 3])
    }

    /// A receiver's credit holds the peer back: with prefetch 5 and 20 messages queued,
    /// exactly 5 arrive until the application takes some; taking them lets the rest
    /// come. Then a drain: the peer must send what it has or give the credit back.
    static func creditAndDrain(_ peer: InteropPeer) throws {
        let connection = try peer.connection()
        defer { connection.destroy() }
        let session = try Session(connection: connection)
        let queue = peer.address(freshQueue("credit"))
        let sender = try MessageSender(session: session, target: queue)
        for i in 0..<20 { #expect(try sender.send(interopMessage(i), timeout: .seconds(30)) == .accepted) }

        let receiver = try MessageReceiver(session: session, source: queue, prefetch: 5)
        // RabbitMQ may overrun its credit; the receiver tolerates up to a prefetch more.
        let limit = peer.overrunsCredit ? 10 : 5
        #expect(eventually { receiver.bufferedCount >= 5 })
        // Credit exhausted: a peer that sent more would show it here. (Waiting can only
        // hide an overrun, never invent one.)
        Thread.sleep(forTimeInterval: 0.3)
        #expect(receiver.bufferedCount >= 5 && receiver.bufferedCount <= limit, "\(receiver.bufferedCount) buffered")
        var got: [Int] = []
        let end = secondsNow() + 30
        while got.count < 20 && secondsNow() < end {
            for m in try receiver.receive(maxCount: 3, timeout: .seconds(5)) {
                got.append(number(of: m.message) ?? -1)
                if !m.isSettled { #expect(try m.accept()) }
                #expect(receiver.bufferedCount <= limit)
            }
        }
        #expect(got == Array(0..<20))

        /// Drains; true when the peer answered. Where the peer may fail the link instead
        /// (RabbitMQ 3.10.8, see `InteropPeer.DrainBehaviour`), that must be its known
        /// error, typed, and then false.
        func drain() throws -> Bool {
            guard peer.drainBehaviour == .sometimesFailsTheLink else {
                try receiver.drain(timeout: .seconds(30))
                return true
            }
            do {
                try receiver.drain(timeout: .seconds(30))
                return true
            } catch {
                #expect(error.kind == .linkDetach && error.condition == .internalError && error.origin == .remote, "\(error)")
                #expect(receiver.error?.condition == .internalError)
                return false
            }
        }

        switch peer.drainBehaviour {
        case .answers, .sometimesFailsTheLink:
            break
        case .neverAnswers:
            // The Proton C example broker never answers a drain: the wait times out,
            // typed, and the link stays usable (credit is granted again). A short
            // receive first makes sure credit is out (its top-up job runs before the
            // drain's): with none out, a drain has nothing to ask and returns at once.
            #expect(try receiver.receive(maxCount: 1, timeout: .milliseconds(100)).isEmpty)
            #expect {
                try receiver.drain(timeout: .seconds(1))
            } throws: { ($0 as? AMQPClientError)?.kind == .timeout }
            for i in 20..<23 { #expect(try sender.send(interopMessage(i), timeout: .seconds(30)) == .accepted) }
            var rest: [Int] = []
            let end = secondsNow() + 30
            while rest.count < 3 && secondsNow() < end {
                rest += try receiver.receive(maxCount: 3, timeout: .seconds(5)).map { number(of: $0.message) ?? -1 }
            }
            #expect(rest == [20, 21, 22])
            return
        }

        // Drain with nothing queued: the peer must give all of its credit back.
        guard try drain() else { return }
        // Drain with messages queued: they come at once (up to the credit), then the
        // answer; nothing more arrives after it.
        for i in 20..<23 { #expect(try sender.send(interopMessage(i), timeout: .seconds(30)) == .accepted) }
        let late = try receiver.receive(maxCount: 1, timeout: .seconds(30))
        #expect(late.count == 1)
        guard try drain() else { return }
        var rest = late
        while true {
            let more = try receiver.receive(maxCount: 10, timeout: .milliseconds(300))
            if more.isEmpty { break }
            rest += more
        }
        #expect(rest.map { number(of: $0.message) ?? -1 } == [20, 21, 22])
        for m in rest where !m.isSettled { #expect(try m.accept()) }
    }

    /// Attaching to an address the peer refuses ends the link with the peer's error,
    /// typed, for a receiver and for a sender; the connection stays usable. Each link
    /// gets a session of its own: RabbitMQ 3.10 refuses by ending the session (END with
    /// the error), the others by detaching the link.
    static func detachWithError(_ peer: InteropPeer, condition: ErrorCondition) throws {
        let (source, target) = try #require(peer.refusedAddresses)
        let connection = try peer.connection()
        defer { connection.destroy() }
        let kinds: [AMQPClientError.Kind] = [.linkDetach, .vendorLinkDetach] + (peer.refusalEndsSession ? [.sessionEnd] : [])

        let receiverSession = try Session(connection: connection)
        let receiver = try MessageReceiver(session: receiverSession, source: source, prefetch: 10)
        do {
            let got = try receiver.receive(maxCount: 1, timeout: .seconds(30))
            Issue.record("a receiver from \(source) got \(got.count) messages instead of an error")
        } catch {
            #expect(kinds.contains(error.kind), "\(error)")
            #expect(error.condition == condition, "\(error)")
            #expect(error.origin == .remote, "\(error)")
        }
        #expect(receiver.error?.condition == condition)

        let senderSession = try Session(connection: connection)
        let sender = try MessageSender(session: senderSession, target: target)
        do {
            let outcome = try sender.send(interopMessage(0), timeout: .seconds(30))
            Issue.record("a send to \(target) ended with \(outcome) instead of an error")
        } catch {
            #expect(kinds.contains(error.kind), "\(error)")
            #expect(error.condition == condition, "\(error)")
        }

        // The connection survives refused links.
        let session = try Session(connection: connection)
        let fine = try MessageSender(session: session, target: peer.address(freshQueue("after-refusal")))
        #expect(try fine.send(interopMessage(1), timeout: .seconds(30)) == .accepted)
        #expect(connection.error == nil)
    }

    /// Keeps a connection idle for `seconds` and checks it still works: heartbeats (ours
    /// for a peer's short idle time-out, or the peer's for ours) kept it alive.
    static func staysAlive(_ connection: Connection, peer: InteropPeer, idleFor seconds: Double) throws {
        defer { connection.destroy() }
        let session = try Session(connection: connection)
        let queue = peer.address(freshQueue("idle"))
        let sender = try MessageSender(session: session, target: queue)
        #expect(try sender.send(interopMessage(0), timeout: .seconds(30)) == .accepted)
        Thread.sleep(forTimeInterval: seconds)
        #expect(connection.error == nil, "\(connection.error.map { "\($0)" } ?? "")")
        #expect(connection.state == .opened)
        #expect(try sender.send(interopMessage(1), timeout: .seconds(30)) == .accepted)
        let receiver = try MessageReceiver(session: session, source: queue, prefetch: 2)
        var got: [Int] = []
        let end = secondsNow() + 30
        while got.count < 2 && secondsNow() < end {
            for m in try receiver.receive(maxCount: 2, timeout: .seconds(5)) {
                got.append(number(of: m.message) ?? -1)
                if !m.isSettled { #expect(try m.accept()) }
            }
        }
        #expect(got == [0, 1])
    }

    /// A wrong password ends the connection with a typed authentication error carrying
    /// the server's SASL code (`expectedCode`). Where the peer offers only ANONYMOUS
    /// (`expectedCode` nil), PLAIN never reaches the server: the client gives up on the
    /// mechanism list with `amqp:unauthorized-access` (a connection error, since no SASL
    /// outcome came). Either way, sessions cannot be made on the connection afterwards.
    static func wrongPassword(_ peer: InteropPeer, expectedCode: SASLCode?) throws {
        let connection = try peer.connection(password: "not-the-password")
        defer { connection.destroy() }
        do {
            try connection.waitUntilOpened(timeout: .seconds(30))
            Issue.record("the connection opened with a wrong password")
        } catch {
            #expect(error.condition == .unauthorizedAccess, "\(error)")
            if let expectedCode {
                #expect(error.kind == .authentication, "\(error)")
                #expect(error.saslCode == expectedCode, "\(error)")
            } else {
                // Refused before any SASL outcome: PLAIN is not offered.
                #expect(error.kind == .authentication, "\(error)")
                #expect(error.saslCode == nil, "\(error)")
                #expect(error.errorDescription?.contains("we have credentials for [PLAIN]") == true, "\(error)")
                #expect(error.info?[SASLCredentials.clientMechanismsInfoKey] == .array(.symbols(["PLAIN"])), "\(error)")
            }
        }
        #expect(connection.error?.condition == .unauthorizedAccess)
        #expect(throws: AMQPClientError.self) { try Session(connection: connection) }
    }

    /// The broker dies while `count` unsettled sends are in flight: every send ends
    /// (accepted, or failed with a typed error saying the message may or may not have
    /// arrived), the connection reports a typed error, and a receiver waiting on the
    /// dead connection is woken with an error. `kill` stops the broker.
    static func brokerStopsMidStream(
        _ peer: InteropPeer, hostPort: String, count: Int, kill: @escaping @Sendable () -> Void
    ) throws {
        let connection = try peer.connection(hostPort: hostPort, trace: ProcessInfo.processInfo.environment["AMQP_INTEROP_TRACE_MIDSTREAM"] == "1")
        defer { connection.destroy() }
        let session = try Session(connection: connection)
        let queue = peer.address(freshQueue("midstream"))
        let sender = try MessageSender(session: session, target: queue)
        let receiver = try MessageReceiver(session: session, source: peer.address(freshQueue("midstream-idle")), prefetch: 10)
        #expect(try sender.send(interopMessage(-1), timeout: .seconds(30)) == .accepted)

        let accepted = Guarded(0)
        let failures = Guarded<[AMQPClientError]>([])
        let others = Guarded(0)
        let killed = Guarded(false)
        for i in 0..<count {
            sender.send(interopMessage(i)) { result in
                switch result {
                case .success(.accepted):
                    // Kill once a tenth is through, from the reactor's thread but without
                    // blocking it (the kill waits for the process).
                    if accepted.withLock({ $0 += 1; return $0 }) == count / 10 {
                        killed.withLock { $0 = true }
                        Thread.detachNewThread { kill() }
                    }
                case .success: others.withLock { $0 += 1 }
                case .failure(let e): failures.withLock { $0.append(e) }
                }
            }
        }
        let settledAll = eventually(within: 60) {
            accepted.current + failures.current.count + others.current == count
        }
        #expect(killed.current, "the broker was not killed: only \(accepted.current) accepted")
        #expect(settledAll, "sends still open: \(count - accepted.current - failures.current.count - others.current) of \(count)")
        #expect(others.current == 0)
        // The kill came early enough that some sends could not finish.
        #expect(!failures.current.isEmpty)
        // Each failure is the connection's, and says what became of the message.
        let untyped = failures.current.filter { e in
            let fate = e.errorDescription ?? ""
            return !(e.kind == .connectionClose || e.kind == .vendorConnectionClose)
                || !(fate.contains("may have reached the peer") || fate.contains("never sent"))
        }
        #expect(untyped.count == 0, "\(untyped.count) failures like \(untyped.first.map { "\($0)" } ?? "")")
        #expect(eventually { connection.error != nil })
        if let error = connection.error {
            #expect(error.kind == .connectionClose || error.kind == .vendorConnectionClose, "\(error)")
            #expect(error.origin == .transport || error.origin == .remote, "\(error)")
        }
        // A receiver on the dead connection gets the error, not a hang.
        #expect(throws: AMQPClientError.self) { _ = try receiver.receive(maxCount: 1, timeout: .seconds(5)) }
    }
}
