import AMQPCodec
import AMQPEngine
import Testing

// A receiver's `modified` outcome (part 3, section 3.4.5) carries three things a broker
// acts on: delivery-failed (count the attempt), undeliverable-here (do not send it back
// to this link) and message-annotations to merge. Each must reach the sending
// application exactly as the receiver gave it, in either receiver settle mode.

@Suite struct ModifiedOutcomeTests {
    static let states: [DeliveryState] = [
        .modified(
            deliveryFailed: true, undeliverableHere: true,
            messageAnnotations: [
                "x-opt-reason": "poison", "x-opt-attempts": .uint(3),
                "x-opt-detail": .list([.symbol("a"), .null, .binary([0, 0xFF]), .map(["k": .long(-1)])]),
            ]),
        .modified(deliveryFailed: true),
        .modified(undeliverableHere: true),
        .modified(messageAnnotations: ["x-opt-only": .boolean(false)]),
        .modified(),
    ]

    @Test(arguments: states, [ReceiverSettleMode.first, .second])
    func reachesTheSenderIntact(state: DeliveryState, mode: ReceiverSettleMode) throws {
        var link = LinkConfiguration.sender(name: "s", to: "q")
        link.rcvSettleMode = mode
        var l = try linkedPipe(link)
        var outcomes: [(handles: ClosedRange<DeliveryHandle>, state: DeliveryState?, settled: Bool)] = []
        var remoteSettled = 0
        l.p.onServer = { server, e in
            switch e {
            case .link(.delivery(let link, let d)): try? server.settle(link, delivery: d.id, state: state)
            case .link(.remoteSettled): remoteSettled += 1
            default: break
            }
        }
        l.p.onClient = { _, e in
            if case .link(.outcomes(_, let handles, let state, let settled)) = e { outcomes.append((handles, state, settled)) }
        }
        let h = try l.p.client.send(on: l.client, payload: pattern(10))
        l.p.run()
        try #require(outcomes.count == 1)
        #expect(outcomes[0].handles == h...h)
        #expect(outcomes[0].state == state)
        #expect(outcomes[0].settled)
        // In mode second the sender settles after the outcome and the receiver hears of it.
        #expect(remoteSettled == (mode == .second ? 1 : 0))
    }

    /// One `settle` call over a range: one DISPOSITION, one event for the whole run, the
    /// annotations intact.
    @Test func aRangeIsOneEventWithTheSameState() throws {
        let state = DeliveryState.modified(deliveryFailed: true, messageAnnotations: ["x-opt-retry": .uint(2)])
        var l = try linkedPipe(.sender(name: "s", to: "q")) { _, s in s.trace = true }
        var ids: [DeliveryNumber] = []
        var outcomes: [(handles: ClosedRange<DeliveryHandle>, state: DeliveryState?)] = []
        l.p.onServer = { _, e in
            if case .link(.delivery(_, let d)) = e { ids.append(d.id) }
        }
        l.p.onClient = { _, e in
            if case .link(.outcomes(_, let handles, let state, _)) = e { outcomes.append((handles, state)) }
        }
        let handles = try (0..<5).map { _ in try l.p.client.send(on: l.client, payload: [7]) }
        l.p.run()
        try #require(ids.count == 5)
        try l.p.server.settle(l.server, deliveries: ids[0]...ids[4], state: state)
        l.p.run()
        #expect(framesWritten(l.p.serverEvents, "DISPOSITION") == 1)
        try #require(outcomes.count == 1)
        #expect(outcomes[0].handles == handles[0]...handles[4])
        #expect(outcomes[0].state == state)
    }
}
