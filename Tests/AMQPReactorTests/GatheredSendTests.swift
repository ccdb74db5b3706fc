import AMQPCodec
import AMQPEngine
import AMQPReactor
import Glibc
import Testing

// Gathered sends (issue 4): large payload chunks go out by reference, between the
// outbound ring's bytes, with one sendmsg (epoll) or one SENDMSG request (io_uring).
// Real loopback connections on both backends: large and small messages arrive byte-exact,
// also when the kernel takes part of a gathered write or refuses it for a moment in the
// middle of a payload; a peer that stops reading leaves the sender's memory bounded; a
// closed connection lets go of every payload it held.

/// Payload `i` of `size` bytes: a pattern that differs per message and per position, so
/// a byte out of place or a chunk sent twice shows.
func gatherPayload(_ i: Int, size: Int) -> [UInt8] {
    (0..<size).map { k in UInt8(truncatingIfNeeded: k &* 131 &+ i &* 17 &+ (k >> 9)) }
}

/// The object that holds an array's elements (an array is one reference to it), so a
/// test can watch it with a weak reference: it is freed once no one holds the array.
func storageObject(_ bytes: [UInt8]) -> AnyObject {
    unsafeBitCast(bytes, to: AnyObject.self)
}

/// A client that sends `payloads` in order on one link, and a listener on the same
/// reactor that keeps what arrives; the client closes once every outcome is in.
final class GatherExchange {
    /// Gathering is off by default; these tests turn it on at the size measured to pay.
    static let threshold = 16 << 10
    let harness: EngineHarness
    let payloads: [[UInt8]]
    var client: ConnectionID? = nil
    var next = 0
    var received: [[UInt8]] = []
    var outcomes = 0
    var lost = 0
    var closes: [ReactorError?] = []
    var clientClosed = false
    var listenerClosed = false

    init(backend: TestBackend, plan: SyscallFaultPlan, payloads: [[UInt8]], configure: (inout ReactorOptions) -> Void = { _ in }) throws {
        self.payloads = payloads
        harness = try EngineHarness(backend: backend) {
            $0.syscalls = plan.table
            $0.gatherThreshold = GatherExchange.threshold
            configure(&$0)
        }
    }

    func run(within seconds: Double = 20) throws {
        var server = serverConfiguration()
        server.autoAccept = AutoAcceptPolicy()
        harness.onEvent = { [unowned self] h, id, event in
            let isClient = id == client
            switch event {
            case .connection(.remoteOpen) where isClient:
                h.reactor.withConnection(id) { engine in
                    guard let session = try? engine.beginSession() else { return }
                    _ = try? engine.attachLink(session: session, .sender(name: "gather", to: "q"))
                }
            case .connection(.link(.credit(let link, let credit, _))) where isClient && credit > 0:
                h.reactor.withConnection(id) { engine in
                    while next < payloads.count, (try? engine.send(on: link, payload: payloads[next])) != nil { next += 1 }
                }
            case .connection(.link(.outcomes(_, let handles, .accepted?, _))) where isClient:
                outcomes += Int(handles.upperBound.rawValue - handles.lowerBound.rawValue) + 1
                if outcomes == payloads.count { h.reactor.withConnection(id) { $0.close() } }
            case .connection(.link(.delivery(let link, let d))) where !isClient:
                received.append(d.payload.withUnsafeBytes { Array($0) })
                h.reactor.withConnection(id) { try? $0.settle(link, delivery: d.id, state: .accepted) }
            case .connection(.link(.lost)) where isClient:
                lost += 1
            case .closed(let error):
                closes.append(error)
                if isClient { clientClosed = true } else { listenerClosed = true }
            default:
                break
            }
        }
        let (listener, address) = try harness.listen(server)
        client = try harness.connect(to: address, clientConfiguration())
        try harness.pump("the exchange to end (sent \(next), received \(received.count), outcomes \(outcomes))", within: seconds) {
            clientClosed && listenerClosed
        }
        harness.reactor.stopListening(listener)
    }
}

extension ReactorTests {
    @Suite("Gathered sends") struct GatheredSendTests {
        /// Sizes around the threshold, 64 KiB (one frame and a bit), 1 MiB (many frames,
        /// chunks cut at max-frame-size) and small messages between them.
        static let sizes = [65_536, 1 << 20, 100, 20_000, 16_383, 16_384, 1 << 20, 7, 300_000, 64]

        static func payloads() -> [[UInt8]] { sizes.enumerated().map { gatherPayload($0.offset, size: $0.element) } }

        /// The gathered call of a backend.
        static func gatherCall(_ backend: TestBackend) -> SyscallFaultPlan.Call {
            backend.backend == .epoll ? .sendVector : .uringSendMessage
        }

        @Test(arguments: testBackends)
        func largeMessagesArriveByteExact(backend: TestBackend) throws {
            let plan = SyscallFaultPlan()
            let payloads = Self.payloads()
            let exchange = try GatherExchange(backend: backend, plan: plan, payloads: payloads)
            try exchange.run()
            #expect(exchange.closes.allSatisfy { $0 == nil }, "\(exchange.closes)")
            #expect(exchange.received.count == payloads.count)
            for (i, bytes) in exchange.received.enumerated() where i < payloads.count {
                #expect(bytes == payloads[i], "message \(i) of \(payloads[i].count) bytes arrived as \(bytes.count) different bytes")
            }
            // The large chunks really went by reference.
            #expect(plan.counts[Self.gatherCall(backend), default: 0] > 0, "\(plan.counts)")
        }

        @Test(arguments: testBackends.prefix(2))
        func gatheringOffCopiesEverything(backend: TestBackend) throws {
            let plan = SyscallFaultPlan()
            let payloads = Self.payloads()
            let exchange = try GatherExchange(backend: backend, plan: plan, payloads: payloads) { $0.gatherThreshold = .max }
            try exchange.run()
            #expect(exchange.received == payloads)
            #expect(plan.counts[Self.gatherCall(backend), default: 0] == 0, "\(plan.counts)")
        }

        /// Short writes, EAGAIN and EINTR at gathered sends spread over the exchange:
        /// partial progress lands inside ring spans and inside payload ranges, and the
        /// stream resumes at the right byte.
        @Test(arguments: testBackends.prefix(2))
        func retriedFaultsInsideGatheredWrites(backend: TestBackend) throws {
            let call = Self.gatherCall(backend)
            let total = try {
                let plan = SyscallFaultPlan()
                try GatherExchange(backend: backend, plan: plan, payloads: Self.payloads()).run()
                return plan.counts[call, default: 0]
            }()
            try #require(total > 0)
            let faults: [SyscallFaultPlan.Fault] = [.short(1), .short(20), .short(20_000), .short(70_001), .errno(EAGAIN), .errno(EINTR)]
            let positions = Set([1, 2, (total + 1) / 2, total]).sorted()
            var fired = 0
            for fault in faults {
                for nth in positions {
                    let plan = SyscallFaultPlan(call, nth: nth, fault)
                    let payloads = Self.payloads()
                    let exchange = try GatherExchange(backend: backend, plan: plan, payloads: payloads)
                    try exchange.run()
                    let at = "\(call.rawValue) \(fault) at call \(nth) of \(total)"
                    if plan.fired { fired += 1 }
                    #expect(exchange.closes.allSatisfy { $0 == nil }, "\(at): \(exchange.closes)")
                    #expect(exchange.received == payloads, "\(at): \(exchange.received.map(\.count)) bytes arrived")
                }
            }
            #expect(fired * 2 >= faults.count * positions.count, "fired in \(fired) runs")
        }

        /// A reset in the middle of gathered output fails the connection, typed, and every
        /// delivery is accounted for.
        @Test(arguments: testBackends.prefix(2))
        func resetDuringGatheredWriteFailsTyped(backend: TestBackend) throws {
            let plan = SyscallFaultPlan(Self.gatherCall(backend), nth: 2, .errno(ECONNRESET))
            let payloads = Self.payloads()
            let exchange = try GatherExchange(backend: backend, plan: plan, payloads: payloads)
            try exchange.run()
            #expect(plan.fired)
            #expect(exchange.closes.contains { $0?.code == .connectionReset }, "\(exchange.closes)")
            #expect(exchange.outcomes + exchange.lost == exchange.next, "sent \(exchange.next), outcomes \(exchange.outcomes), lost \(exchange.lost)")
            #expect(plan.openSockets.isEmpty)
        }

        /// The listener stops being driven (its reactor is not run any more): the
        /// client's output stops at the ring and the gather budget, however much the
        /// application queues, and closing it lets go of the payloads it held.
        @Test(arguments: testBackends)
        func peerStopsReadingBoundsMemoryAndCloseReleases(backend: TestBackend) throws {
            let budget = 512 << 10
            let client = try EngineHarness(backend: backend) {
                $0.maximumOutboundCapacity = budget
                $0.gatherThreshold = GatherExchange.threshold
            }
            let server = try EngineHarness(backend: backend)
            var serverConfig = serverConfiguration()
            serverConfig.autoAccept = AutoAcceptPolicy()
            let (listener, address) = try server.listen(serverConfig)
            // One array for every message: 300 messages of 1 MiB (far beyond what the
            // kernel's socket buffers take) cost the test 1 MiB.
            var payload = gatherPayload(0, size: 1 << 20)
            var sent = 0
            var clientID: ConnectionID? = nil
            client.onEvent = { h, id, event in
                switch event {
                case .connection(.remoteOpen):
                    h.reactor.withConnection(id) { engine in
                        guard let session = try? engine.beginSession() else { return }
                        _ = try? engine.attachLink(session: session, .sender(name: "stalled", to: "q"))
                    }
                case .connection(.link(.credit(let link, let credit, _))) where credit > 0:
                    h.reactor.withConnection(id) { engine in
                        while sent < 300, (try? engine.send(on: link, payload: payload)) != nil { sent += 1 }
                    }
                default:
                    break
                }
            }
            clientID = try client.connect(to: address, clientConfiguration())
            let id = try #require(clientID)
            // Both sides run until the client has credit and is sending.
            let deadline = secondsNow() + 10
            while sent == 0 {
                guard secondsNow() < deadline else { throw WaitTimedOut(what: "credit", seconds: 10) }
                try client.reactor.runOnce(timeout: .milliseconds(1))
                try server.reactor.runOnce(timeout: .milliseconds(1))
            }
            // Now only the client runs: the kernel's buffers fill, then the ring and the
            // payloads held by reference, up to the budget.
            let ring = try #require(client.reactor.ringInfo(id)).outbound
            var most = 0
            try client.pump("the output to stop at its bounds", within: 20) {
                let held = client.reactor.gatheredPayloads(id)?.bytes ?? 0
                let unsent = client.reactor.bufferedBytes(id)?.outbound ?? 0
                most = max(most, held)
                #expect(held <= budget)
                #expect(unsent <= ring + budget)
                // Stopped: the budget is spent (the engine copies what is left, into the
                // ring), or the ring is full (less room than a frame needs).
                return held > budget - client.reactor.options.gatherThreshold || unsent - held > ring - 600
            }
            // It stays there.
            for _ in 0..<20 {
                try client.reactor.runOnce(timeout: .milliseconds(2))
                let held = client.reactor.gatheredPayloads(id)?.bytes ?? 0
                #expect(held <= budget)
                #expect((client.reactor.bufferedBytes(id)?.outbound ?? 0) <= ring + budget)
            }
            #expect(most >= client.reactor.options.gatherThreshold, "payloads were held by reference")
            // Closing while references are pending lets go of every one of them: once the
            // test drops its own, nothing may hold the payload's storage.
            weak let storage = storageObject(payload)
            payload = []
            #expect(storage != nil, "the engine and the gather list hold the payload")
            client.reactor.abort(id)
            try client.pump("the client to close", within: 10) { !client.reactor.contains(id) }
            // io_uring: the record (and what it holds) goes once its cancelled requests
            // have completed.
            try client.pump("the payload to be released", within: 10) { storage == nil }
            server.reactor.stopListening(listener)
            try server.run(for: 0.05)
        }
    }
}
