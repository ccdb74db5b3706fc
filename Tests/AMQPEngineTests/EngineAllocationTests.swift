import AMQPCodec
import AMQPEngine
import AMQPTesting
import Glibc
import Testing

// Steady-state send and receive allocate nothing per message (DESIGN.md): a delivery
// queued, written, parsed, handed over, settled, and its outcome reported, with every
// buffer and queue already grown. See Support/AllocationHarness.swift.

@Suite struct EngineAllocationTests {
    @Test(.enabled(if: AllocationHarness.canMeasure)) func steadyStateAllocatesNothingPerMessage() throws {
        switch AllocationHarness.run(probeTestName: "engineAllocationProbe") {
        case .unavailable(let why):
            Issue.record("allocation counting unavailable: \(why)")
        case .counts(let counts):
            #expect((counts["control-array"] ?? 0) >= 100)
            for name in ["settle-first", "settle-second", "pre-settled", "streaming-multi-frame"] {
                #expect(counts[name] == 0, "\(name): \(counts[name] ?? -1) allocations in 100 rounds")
            }
        }
    }

    /// Runs only in the child process that `steadyStateAllocatesNothingPerMessage` starts.
    @Test(.enabled(if: AllocationHarness.isProbe)) func engineAllocationProbe() throws {
        guard AllocationHarness.install() else { return AllocationHarness.finish(unavailable: "no __malloc_hook") }
        defer { AllocationHarness.finish() }
        var sink = 0
        AllocationHarness.measure("control-array") { sink &+= [Int](repeating: sink, count: 4).count }

        func scenario(_ name: String, sndSettleMode: SenderSettleMode = .mixed, rcvSettleMode: ReceiverSettleMode = .first, streaming: Bool = false, size: Int = 200) throws {
            var policy = AutoAcceptPolicy()
            policy.streaming = streaming
            var loop = try AllocationLoop(policy: policy, sndSettleMode: sndSettleMode, rcvSettleMode: rcvSettleMode, maxFrameSize: streaming ? 512 : 65_536)
            let payload = pattern(size)
            // Grow every queue and buffer to its working size first.
            for _ in 0..<300 { loop.round(payload) }
            AllocationHarness.measure(name) { loop.round(payload) }
            sink &+= loop.delivered
        }
        try scenario("settle-first")
        try scenario("settle-second", rcvSettleMode: .second)
        try scenario("pre-settled", sndSettleMode: .settled)
        try scenario("streaming-multi-frame", streaming: true, size: 3_000)
    }
}

/// A client sender and a server receiver wired back to back through two fixed buffers,
/// stepped by hand: one message per round, settled by the receiver as it arrives.
struct AllocationLoop {
    var client: ConnectionEngine
    var server: ConnectionEngine
    var link: LinkID
    var wire = [UInt8](repeating: 0, count: 1 << 17)
    var delivered = 0

    init(policy: AutoAcceptPolicy, sndSettleMode: SenderSettleMode, rcvSettleMode: ReceiverSettleMode, maxFrameSize: UInt32) throws {
        var s = ConnectionConfiguration(role: .server, containerID: "server")
        s.autoAccept = policy
        s.maxFrameSize = maxFrameSize
        server = ConnectionEngine(configuration: s)
        server.open()
        client = ConnectionEngine(configuration: ConnectionConfiguration(role: .client, containerID: "client"))
        client.open()
        let sid = try client.beginSession()
        var c = LinkConfiguration.sender(name: "s", to: "q")
        c.sndSettleMode = sndSettleMode
        c.rcvSettleMode = rcvSettleMode
        link = try client.attachLink(session: sid, c)
        for _ in 0..<10 { exchange() }
    }

    mutating func exchange() {
        var w = wire
        wire = []
        w.withUnsafeMutableBytes { buffer in
            let n = client.produce(into: buffer, now: .zero)
            _ = server.receive(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), now: .zero)
            while let e = server.nextEvent() {
                switch e {
                case .link(.delivery(let l, let d)) where !d.settled:
                    try? server.settle(l, delivery: d.id, state: .accepted)
                    delivered &+= 1
                case .link(.deliveryChunk(let l, let d, true)):
                    if !d.settled { try? server.settle(l, delivery: d.id, state: .accepted) }
                    delivered &+= 1
                case .link(.delivery):
                    delivered &+= 1
                default: break
                }
            }
            let m = server.produce(into: buffer, now: .zero)
            _ = client.receive(UnsafeRawBufferPointer(rebasing: buffer[0..<m]), now: .zero)
            while client.nextEvent() != nil {}
        }
        wire = w
    }

    mutating func round(_ payload: [UInt8]) {
        _ = try? client.send(on: link, payload: payload)
        exchange()
        exchange()
    }
}
