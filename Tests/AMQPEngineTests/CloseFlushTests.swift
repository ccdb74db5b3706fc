import AMQPCodec
import AMQPEngine
import Testing

// Closing a connection or ending a session right after settling must not lose the
// settlements: the peer would redeliver messages the application accepted. Queued
// session frames go out first (as Proton orders its work: transfers and dispositions,
// then link, session and connection teardown); transfers not yet started do not.

@Suite struct CloseFlushTests {
    /// A receiver with three unsettled deliveries from the server, not yet settled.
    static func receiverWithThreeDeliveries() throws -> (LinkedPipe, [DeliveryNumber]) {
        var l = try linkedPipe(.receiver(name: "r", from: "q", credit: .manual)) { c, _ in c.trace = true }
        try l.p.client.flow(on: l.client, credit: 10)
        l.p.run()
        var ids: [DeliveryNumber] = []
        l.p.onClient = { _, e in if case .link(.delivery(_, let d)) = e { ids.append(d.id) } }
        for _ in 0..<3 { _ = try l.p.server.send(on: l.server, payload: [7]) }
        l.p.run()
        l.p.onClient = nil
        l.p.clientEvents = []
        l.p.serverEvents = []
        return (l, ids)
    }

    /// The position of the first frame of kind `name` this side wrote, from its trace.
    static func firstWrite(_ events: [String], _ name: String) -> Int? {
        events.firstIndex { $0.hasPrefix("trace:-> [\(name)]") }
    }

    @Test func acceptThenCloseInOneStepDeliversTheAcceptances() throws {
        var (l, ids) = try Self.receiverWithThreeDeliveries()
        try #require(ids.count == 3)
        try l.p.client.settle(l.client, first: ids[0], last: ids[2], state: .accepted)
        l.p.client.close()
        l.p.run()
        let disposition = try #require(Self.firstWrite(l.p.clientEvents, "DISPOSITION"), "the acceptances were dropped")
        let close = try #require(Self.firstWrite(l.p.clientEvents, "CLOSE"))
        #expect(disposition < close)
        #expect(l.p.serverEvents.filter { $0.hasPrefix("outcome:") && $0.contains(":accepted:settled") }.count == 3)
        #expect(l.p.client.state == .end && l.p.server.state == .end)
    }

    @Test func acceptThenEndSessionInOneStepDeliversTheAcceptances() throws {
        var (l, ids) = try Self.receiverWithThreeDeliveries()
        try #require(ids.count == 3)
        // Two ranges: one already queued as a frame, the open one still coalescing.
        try l.p.client.settle(l.client, delivery: ids[0], state: .released)
        try l.p.client.settle(l.client, first: ids[1], last: ids[2], state: .accepted)
        l.p.client.endSession(l.session)
        l.p.run()
        let disposition = try #require(Self.firstWrite(l.p.clientEvents, "DISPOSITION"), "the settlements were dropped")
        let end = try #require(Self.firstWrite(l.p.clientEvents, "END"))
        #expect(disposition < end)
        let outcomes = l.p.serverEvents.filter { $0.hasPrefix("outcome:") }
        #expect(outcomes.filter { $0.contains(":released:settled") }.count == 1)
        #expect(outcomes.filter { $0.contains(":accepted:settled") }.count == 2)
    }

    @Test func closeStartsNoNewTransfer() throws {
        var l = try linkedPipe(.sender(name: "s", to: "q")) { c, _ in c.trace = true }
        l.p.run()
        #expect(l.p.client.credit(on: l.client) ?? 0 > 0, "the server's receiver gave credit")
        _ = try l.p.client.send(on: l.client, payload: [1, 2, 3])
        l.p.client.close()
        l.p.run()
        #expect(Self.firstWrite(l.p.clientEvents, "TRANSFER") == nil)
        #expect(Self.firstWrite(l.p.clientEvents, "CLOSE") != nil)
        #expect(!l.p.serverEvents.contains { $0.hasPrefix("delivery:") })
        #expect(l.p.client.state == .end && l.p.server.state == .end)
    }
}
