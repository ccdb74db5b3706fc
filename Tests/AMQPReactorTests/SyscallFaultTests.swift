import AMQPCodec
import AMQPEngine
import AMQPReactor
import Glibc
import Testing

// Fault injection at the system call boundary: a reactor whose `SyscallTable` fails one
// chosen call (the nth recv, send, accept, connect, io_uring request or submission) runs
// a whole connection (connect, headers, OPEN, BEGIN, ATTACH, transfers, dispositions,
// CLOSE) against a listener on the same reactor. The nth call is swept over every call of
// that kind a clean run makes, so the fault lands at every step of the connection's life.
//
// Each run must end, within a bounded time, in one of two ways: the fault was retried and
// every message was accepted and both sides closed cleanly; or the connection failed with
// a typed `ReactorError` whose code names the fault, and every delivery the sender made
// is accounted for (an outcome, or reported `lost`). Every socket the table handed out
// is closed once the reactor is gone.

/// One (call, fault) pair and what it must lead to.
struct FaultCase: Sendable, CustomTestStringConvertible {
    let call: SyscallFaultPlan.Call
    let fault: SyscallFaultPlan.Fault
    /// Retried faults must leave the exchange intact; the others may fail it, with one of
    /// these codes (the injected errno's, or what the other side sees of it).
    let retried: Bool
    var testDescription: String { "\(call.rawValue) \(fault)" }

    var allowedCodes: [ReactorError.Code] {
        var codes: [ReactorError.Code] = [.endOfStream, .connectionReset, .brokenPipe]
        if case .errno(let e) = fault { codes.append(.from(errno: e)) }
        if case .queueFull = fault { codes.append(.outOfMemory) }
        return codes
    }

    static func retried(_ call: SyscallFaultPlan.Call, _ fault: SyscallFaultPlan.Fault) -> FaultCase {
        FaultCase(call: call, fault: fault, retried: true)
    }

    static func fatal(_ call: SyscallFaultPlan.Call, _ e: Int32) -> FaultCase {
        FaultCase(call: call, fault: .errno(e), retried: false)
    }

    /// Faults of the calls both backends make.
    static let common: [FaultCase] = [
        .retried(.accept, .errno(EINTR)), .retried(.accept, .errno(ECONNABORTED)),
        .retried(.accept, .errno(EMFILE)), .retried(.accept, .errno(ENOBUFS)),
        .fatal(.socket, EMFILE),
        // Socket options on the listener, the connecting socket and each accepted one.
        .fatal(.setOption, ENOMEM), .fatal(.setOption, ENOBUFS),
    ]

    static let epoll: [FaultCase] = common + [
        .retried(.recv, .errno(EAGAIN)), .retried(.recv, .errno(EINTR)), .retried(.recv, .short(1)),
        .fatal(.recv, ECONNRESET), .fatal(.recv, ENOBUFS),
        .retried(.send, .errno(EAGAIN)), .retried(.send, .errno(EINTR)), .retried(.send, .short(3)),
        .fatal(.send, EPIPE), .fatal(.send, ECONNRESET), .fatal(.send, ENOBUFS),
        .fatal(.connect, ECONNREFUSED), .fatal(.connect, ENETUNREACH),
        // The connect completes in the background and SO_ERROR says it failed.
        .fatal(.socketError, ECONNREFUSED), .fatal(.socketError, EHOSTUNREACH), .fatal(.socketError, ETIMEDOUT),
        // Registering a socket (listener, connecting, accepted) with epoll fails:
        // out of memory, or max_user_watches reached.
        .fatal(.epollControl, ENOMEM), .fatal(.epollControl, ENOSPC),
    ]

    static let uring: [FaultCase] = common + [
        .retried(.uringRecv, .errno(EAGAIN)), .retried(.uringRecv, .errno(EINTR)), .retried(.uringRecv, .short(1)),
        .retried(.uringRecv, .queueFull(1)),
        .fatal(.uringRecv, ECONNRESET), .fatal(.uringRecv, ENOBUFS),
        FaultCase(call: .uringRecv, fault: .queueFull(2), retried: false),
        .retried(.uringSend, .errno(EAGAIN)), .retried(.uringSend, .errno(EINTR)), .retried(.uringSend, .short(3)),
        .retried(.uringSend, .queueFull(1)),
        .fatal(.uringSend, EPIPE), .fatal(.uringSend, ECONNRESET), .fatal(.uringSend, ENOBUFS),
        FaultCase(call: .uringSend, fault: .queueFull(2), retried: false),
        .fatal(.uringConnect, ECONNREFUSED), .fatal(.uringConnect, ENETUNREACH),
        .retried(.uringSubmit, .errno(EBUSY)), .retried(.uringSubmit, .errno(EAGAIN)), .retried(.uringSubmit, .errno(EINTR)),
        // A refused submission fails that tick (runOnce throws it, typed); the requests
        // stay queued and go with the next one.
        .retried(.uringSubmit, .errno(ENOMEM)),
    ]

    static var all: [(TestBackend, FaultCase)] {
        epoll.map { (TestBackend(backend: .epoll), $0) } + (uringAvailable ? uring.map { (TestBackend(backend: .uring), $0) } : [])
    }
}

/// A client that sends `messages` messages and closes once every outcome is in, and an
/// auto-accepting listener, on one reactor; what each side saw.
final class FaultExchange {
    static let messages = 3
    let harness: EngineHarness
    var client: ConnectionID? = nil
    var sent: [DeliveryHandle] = []
    var outcomes: [DeliveryHandle] = []
    var lost: [DeliveryHandle] = []
    var closes: [ReactorError?] = []
    var tickErrors: [ReactorError] = []
    var connectError: ReactorError? = nil
    var listenerClosed = false
    var clientClosed = false

    init(backend: TestBackend, plan: SyscallFaultPlan) throws {
        harness = try EngineHarness(backend: backend) { $0.syscalls = plan.table }
    }

    func run() throws {
        var server = serverConfiguration()
        server.autoAccept = AutoAcceptPolicy()
        harness.onEvent = { [unowned self] h, id, event in
            let isClient = id == client
            switch event {
            case .connection(.remoteOpen) where isClient:
                h.reactor.withConnection(id) { engine in
                    guard let session = try? engine.beginSession() else { return }
                    _ = try? engine.attachLink(session: session, .sender(name: "faults", to: "q"))
                }
            case .connection(.link(.credit(let link, let credit, _))) where isClient && credit > 0:
                h.reactor.withConnection(id) { engine in
                    while sent.count < Self.messages, let d = try? engine.send(on: link, payload: [0x00, 0x53, 0x77, 0xA1, 0x01, 0x78]) {
                        sent.append(d)
                    }
                }
            case .connection(.link(.outcomes(_, let handles, .accepted?, _))) where isClient:
                outcomes += (handles.lowerBound.rawValue...handles.upperBound.rawValue).map { DeliveryHandle(rawValue: $0) }
                if outcomes.count == Self.messages { h.reactor.withConnection(id) { $0.close() } }
            case .connection(.link(.delivery(let link, let d))) where !isClient:
                h.reactor.withConnection(id) { try? $0.settle(link, delivery: d.id, state: .accepted) }
            case .connection(.link(.lost(_, let handle, _))) where isClient:
                lost.append(handle)
            case .closed(let error):
                closes.append(error)
                if isClient { clientClosed = true } else { listenerClosed = true }
            default:
                break
            }
        }
        let listener: ListenerID
        let address: SocketAddress
        do {
            (listener, address) = try harness.listen(server)
        } catch {
            connectError = error as? ReactorError
            return
        }
        do {
            client = try harness.connect(to: address, clientConfiguration())
        } catch {
            // No socket at all: the failure is the connect call's, typed.
            connectError = error as? ReactorError
            harness.reactor.stopListening(listener)
            return
        }
        let deadline = secondsNow() + 5
        // Done when the client has closed and the listener's connection (if one was
        // accepted) has too.
        while !(clientClosed && (listenerClosed || harness.accepted.isEmpty)) {
            guard secondsNow() < deadline else {
                throw WaitTimedOut(what: "the exchange to end (sent \(sent.count), outcomes \(outcomes.count), lost \(lost.count), closes \(closes))", seconds: 5)
            }
            do {
                try harness.reactor.runOnce(timeout: .milliseconds(5))
            } catch {
                tickErrors.append(error)
                guard tickErrors.count < 4 else { throw error }
            }
            // A client refused at connect leaves an accepted socket only if the listener
            // got one; give the listener a moment to see the other end go.
            if clientClosed && !harness.accepted.isEmpty && !listenerClosed { continue }
        }
        harness.reactor.stopListening(listener)
    }
}

// Inside the serialized reactor suite: the runs open and close sockets quickly, and the
// scale tests count the process's descriptors.
extension ReactorTests {
    @Suite("Syscall faults") struct SyscallFaultTests {
        /// Call counts of a clean run, per backend.
        static func cleanCounts(_ backend: TestBackend) throws -> [SyscallFaultPlan.Call: Int] {
            let plan = SyscallFaultPlan()
            let exchange = try FaultExchange(backend: backend, plan: plan)
            try exchange.run()
            #expect(exchange.outcomes.count == FaultExchange.messages)
            return plan.counts
        }

        @Test(arguments: testBackends.prefix(2))
        func cleanRunClosesEverySocket(backend: TestBackend) throws {
            let plan = SyscallFaultPlan()
            do {
                let exchange = try FaultExchange(backend: backend, plan: plan)
                try exchange.run()
                #expect(exchange.outcomes.count == FaultExchange.messages && exchange.lost.isEmpty)
                #expect(exchange.closes.allSatisfy { $0 == nil }, "\(exchange.closes)")
            }
            #expect(plan.socketsOpened == 3, "listener, client and accepted socket")
            #expect(plan.openSockets.isEmpty, "sockets left open: \(plan.openSockets)")
        }

        @Test(arguments: FaultCase.all)
        func faultAtEveryStep(backend: TestBackend, c: FaultCase) throws {
            let total = try Self.cleanCounts(backend)[c.call, default: 0]
            try #require(total > 0, "a clean run makes no \(c.call.rawValue) call")
            // Every position for short sweeps; for calls made every tick (submit), 16 spread
            // over the run.
            let positions = Set(total <= 16 ? Array(1...total) : (0..<16).map { 1 + $0 * (total - 1) / 15 }).sorted()
            var fired = 0
            var failedRuns = 0
            for nth in positions {
                let plan = SyscallFaultPlan(c.call, nth: nth, c.fault)
                let at = "\(c.testDescription) at call \(nth) of \(total)"
                let exchange: FaultExchange
                do {
                    exchange = try FaultExchange(backend: backend, plan: plan)
                } catch let error as ReactorError {
                    // The reactor itself could not be set up (io_uring's first submission
                    // arms the wake-up poll): typed, and nothing is left open.
                    #expect(c.allowedCodes.contains(error.code) || error.code == .outOfMemory, "\(at): \(error)")
                    #expect(plan.openSockets.isEmpty, "\(at): sockets left open: \(plan.openSockets)")
                    fired += 1
                    failedRuns += 1
                    continue
                }
                do {
                    try exchange.run()
                } catch {
                    Issue.record("\(at): \(error)")
                    continue
                }
                if plan.fired { fired += 1 }
                if let error = exchange.connectError {
                    #expect(!c.retried, "\(at): connect threw \(error)")
                    #expect(c.allowedCodes.contains(error.code), "\(at): \(error)")
                }
                for error in exchange.tickErrors {
                    #expect(c.allowedCodes.contains(error.code) || error.code == .outOfMemory, "\(at): a tick threw \(error)")
                }
                let failures = exchange.closes.compactMap { $0 }
                if !failures.isEmpty || exchange.connectError != nil { failedRuns += 1 }
                if c.retried && plan.fired {
                    #expect(failures.isEmpty, "\(at): \(failures)")
                    #expect(exchange.outcomes.count == FaultExchange.messages, "\(at): outcomes \(exchange.outcomes.count)")
                }
                for error in failures {
                    #expect(c.allowedCodes.contains(error.code), "\(at): closed with \(error)")
                }
                // Every delivery has an outcome or is reported lost, once.
                #expect(Set(exchange.outcomes).union(exchange.lost) == Set(exchange.sent), "\(at): sent \(exchange.sent), outcomes \(exchange.outcomes), lost \(exchange.lost)")
                #expect(exchange.outcomes.count + exchange.lost.count == exchange.sent.count, "\(at)")
                #expect(plan.openSockets.isEmpty, "\(at): sockets left open: \(plan.openSockets)")
            }
            // Runs differ a little in how reads are cut, so the last positions may not come
            // round again; most must.
            #expect(fired * 2 >= positions.count, "the fault fired in \(fired) of \(positions.count) runs")
            // A fault that is not retried must be seen failing a connection, typed, above.
            if !c.retried { #expect(failedRuns > 0, "no run failed") }
        }
    }
}
