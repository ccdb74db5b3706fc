import AMQPCodec
import AMQPEngine
import AMQPHostileCases
import AMQPTesting
import Testing

// Idle time-outs and heartbeats (part 2, section 2.4.5), at exact virtual instants.

/// Opens an engine of `role` whose OPEN goes out at `t0` and whose peer's OPEN (with
/// `peerIdle`) arrives 100 ms later. Returns the peer and the instant of the engine's OPEN.
private func openedAtKnownInstants(
    _ role: EngineRole, idleTimeout: UInt32? = nil, ratio: Double = 0.5, peerIdle: UInt32? = nil, closeTimeout: UInt32 = 30_000
) throws -> (ScriptedPeer, EngineInstant) {
    var peer = try scriptedPeer(engineConfiguration(role, idleTimeout: idleTimeout, ratio: ratio, closeTimeout: closeTimeout))
    let t0 = peer.clock.now
    if role == .client {
        try peer.perform { $0.open() }
        try peer.expectHeader()
        try peer.expectOpen()
        try peer.advance(byMilliseconds: 100)
        try peer.send(header: .amqp)
        try peer.send(.open(peerOpen(idleTimeOut: peerIdle)))
    } else {
        try peer.send(header: .amqp)
        try peer.expectHeader()
        try peer.advance(byMilliseconds: 100)
        try peer.send(.open(peerOpen(idleTimeOut: peerIdle)))
        try peer.expectOpen()
    }
    try peer.expectState(.opened)
    return (peer, role == .client ? t0 : t0.advanced(byMilliseconds: 100))
}

@Suite struct IdleTimeoutTests {
    @Test(arguments: EngineRole.both)
    func announcedInOpen(role: EngineRole) throws {
        var peer = try scriptedPeer(engineConfiguration(role, idleTimeout: 1_500))
        if role == .client { try peer.perform { $0.open() } } else { try peer.send(header: .amqp); try peer.send(.open(peerOpen())) }
        peer.skipFrames(while: { $0.protocolHeader != nil })
        // Half of the threshold, as part 2, section 2.4.5 asks.
        try peer.expectOpen { $0.idleTimeOut == 750 }
    }

    @Test(arguments: EngineRole.both)
    func closesAtTheExactDeadline(role: EngineRole) throws {
        var (peer, _) = try openedAtKnownInstants(role, idleTimeout: 1_000)
        // The peer's OPEN (the last bytes received) came at t0 + 100 ms.
        let deadline = VirtualClock.defaultStart.advanced(byMilliseconds: 1_100)
        #expect(peer.engine.nextDeadline == deadline)
        try peer.advance(to: EngineInstant(nanoseconds: deadline.nanoseconds - 1))
        try peer.expectState(.opened)
        try peer.expectNothingMore()
        try peer.advance(by: .nanoseconds(1))
        let close = try peer.expectClose(condition: .resourceLimitExceeded)
        #expect(close.error?.errorDescription == "local idle time-out expired: no frame received for 1000 ms")
        // A silent peer will not answer: the engine ends once its CLOSE is written.
        try peer.expectFinished(.end, condition: .resourceLimitExceeded, origin: .local)
        try peer.expectNothingMore()
        #expect(peer.events.transitions.last == "OPENED->END")
        expectConsistentEvents(peer)
    }

    @Test(arguments: EngineRole.both)
    func emptyFramesKeepTheLocalTimerAlive(role: EngineRole) throws {
        var (peer, _) = try openedAtKnownInstants(role, idleTimeout: 1_000)
        for _ in 0..<20 {
            try peer.advance(byMilliseconds: 999)
            try peer.sendEmptyFrame()
            #expect(peer.engine.nextDeadline == peer.clock.now.advanced(byMilliseconds: 1_000))
        }
        try peer.expectState(.opened)
        try peer.expectNothingMore()
        try peer.advance(byMilliseconds: 1_000)
        try peer.expectClose(condition: .resourceLimitExceeded)
        expectConsistentEvents(peer)
    }

    @Test(arguments: EngineRole.both)
    func anyBytesKeepTheLocalTimerAlive(role: EngineRole) throws {
        // Half a frame is traffic too: a slow link delivering a large frame must not time out.
        var (peer, _) = try openedAtKnownInstants(role, idleTimeout: 1_000)
        let close = FrameBytes.frame(.close(Close()))
        try peer.advance(byMilliseconds: 900)
        try peer.send(bytes: Array(close.prefix(5)))
        try peer.advance(byMilliseconds: 900)
        try peer.expectState(.opened)
        try peer.send(bytes: Array(close.dropFirst(5)))
        try peer.expectClose(condition: nil)
        try peer.expectFinished(.end, condition: nil)
    }

    @Test func noLocalDeadlineBeforeOurOpen() throws {
        // The idle time-out is announced in OPEN and counts from it; before that (e.g.
        // during SASL) the driver's own handshake time-out applies.
        var peer = try scriptedPeer(engineConfiguration(.client, sasl: .client(.anonymous()), idleTimeout: 1_000))
        try peer.perform { $0.open() }
        try peer.expectHeader(.sasl)
        #expect(peer.engine.nextDeadline == nil)
    }
}

struct HeartbeatCase: Sendable, CustomTestStringConvertible {
    let role: EngineRole
    let ratio: Double
    let peerIdle: UInt32
    /// The interval the engine must keep, in nanoseconds.
    let interval: UInt64
    var testDescription: String { "\(role) ratio \(ratio) peer idle \(peerIdle) ms" }

    static let all: [HeartbeatCase] = EngineRole.both.flatMap { role in
        [
            HeartbeatCase(role: role, ratio: 0.5, peerIdle: 1_000, interval: 500_000_000),
            HeartbeatCase(role: role, ratio: 0.25, peerIdle: 1_000, interval: 250_000_000),
            HeartbeatCase(role: role, ratio: 0.25, peerIdle: 1_001, interval: 250_250_000),
            HeartbeatCase(role: role, ratio: 1, peerIdle: 30_000, interval: 30_000_000_000),
        ]
    }
}

@Suite struct HeartbeatTests {
    @Test(arguments: HeartbeatCase.all)
    func emptyFramesAtExactInstants(c: HeartbeatCase) throws {
        var (peer, openedAt) = try openedAtKnownInstants(c.role, ratio: c.ratio, peerIdle: c.peerIdle)
        #expect(peer.engine.remoteIdleTimeout == c.peerIdle)
        #expect(peer.engine.nextDeadline == openedAt.advanced(byNanoseconds: c.interval))
        try peer.advance(to: openedAt.advanced(byNanoseconds: c.interval * 8))
        for k in 1...8 {
            try peer.expectEmptyFrame(at: openedAt.advanced(byNanoseconds: c.interval * UInt64(k)))
        }
        try peer.expectNothingMore()
        try peer.expectState(.opened)
    }

    @Test(arguments: HeartbeatCase.all)
    func anyFrameSentRefreshesTheHeartbeat(c: HeartbeatCase) throws {
        // The close time-out is longer than the two intervals watched here.
        var (peer, openedAt) = try openedAtKnownInstants(c.role, ratio: c.ratio, peerIdle: c.peerIdle, closeTimeout: 600_000)
        // Our CLOSE goes out 60% into the first interval; the peer does not answer yet,
        // so the connection (CLOSE_SENT) must keep the peer's timer alive from there.
        let closeAt = openedAt.advanced(byNanoseconds: c.interval * 6 / 10)
        try peer.advance(to: closeAt)
        try peer.expectNothingMore()
        try peer.perform { $0.close() }
        try peer.expectClose(condition: nil)
        #expect(peer.engine.nextDeadline == closeAt.advanced(byNanoseconds: c.interval))
        try peer.advance(to: closeAt.advanced(byNanoseconds: c.interval * 2))
        try peer.expectEmptyFrame(at: closeAt.advanced(byNanoseconds: c.interval))
        try peer.expectEmptyFrame(at: closeAt.advanced(byNanoseconds: c.interval * 2))
        try peer.expectNothingMore()
        try peer.expectState(.closeSent)
    }

    @Test(arguments: EngineRole.both)
    func noHeartbeatsWithoutAPeerIdleTimeOut(role: EngineRole) throws {
        for idle: UInt32? in [nil, 0] {
            var (peer, _) = try openedAtKnownInstants(role, peerIdle: idle)
            #expect(peer.engine.remoteIdleTimeout == 0)
            #expect(peer.engine.nextDeadline == nil)
            try peer.advance(byMilliseconds: 3_600_000)
            try peer.expectNothingMore()
        }
    }

    @Test(arguments: EngineRole.both)
    func noHeartbeatsWhileDiscarding(role: EngineRole) throws {
        var (peer, _) = try openedAtKnownInstants(role, peerIdle: 1_000)
        try peer.perform { $0.close(error: AMQPError(condition: .internalError)) }
        try peer.expectClose(condition: .internalError)
        try peer.advance(byMilliseconds: 29_999)
        try peer.expectNothingMore()
        try peer.advance(byMilliseconds: 1)
        try peer.expectFinished(.end, condition: .internalError)
    }

    @Test(arguments: [CutPolicy.whole, .oneByte, .random(seed: 99, maxChunk: 5)])
    func twoEnginesStayUpForAnHour(cut: CutPolicy) throws {
        var client = engineConfiguration(.client, idleTimeout: 10_000, ratio: 0.5)
        client.closeTimeout = 1_000
        let server = engineConfiguration(.server, idleTimeout: 4_000, ratio: 0.25)
        var pair = EnginePair(client: client, server: server, cutPolicy: cut)
        pair.server.open()
        pair.client.open()
        try pair.pump(until: "both opened") { $0.client.state == .opened && $0.server.state == .opened }
        let start = pair.clock.now
        try pair.advance(byMilliseconds: 3_600_000)
        #expect(pair.client.state == .opened && pair.server.state == .opened)
        // Each announces half its threshold (part 2, section 2.4.5): the server 2 s, the
        // client 5 s. The client beats every 1 s (0.5 × 2 s), the server every 1.25 s
        // (0.25 × 5 s).
        let clientBeats = pair.clientFrames.filter { $0.frame.isEmptyFrame }.map(\.at)
        let serverBeats = pair.serverFrames.filter { $0.frame.isEmptyFrame }.map(\.at)
        #expect(clientBeats.count == 3_600)
        #expect(serverBeats.count == 2_880)
        #expect(clientBeats.first == start.advanced(byMilliseconds: 1_000))
        #expect(serverBeats.first == start.advanced(byMilliseconds: 1_250))
        #expect(zip(clientBeats, clientBeats.dropFirst()).allSatisfy { $1.nanoseconds(since: $0) == 1_000_000_000 })
        #expect(zip(serverBeats, serverBeats.dropFirst()).allSatisfy { $1.nanoseconds(since: $0) == 1_250_000_000 })
    }
}

/// A peer that stopped reading: the engine's last frames can never be written. It must
/// still end, or the connection (and every waiter on it) is held for ever.
@Suite struct UnwritableLastFramesTests {
    @Test func theIdleTimeOutEndsAfterAnotherIdleTimeOutWhenItsCloseCannotBeWritten() {
        var engine = ConnectionEngine(configuration: engineConfiguration(.client, idleTimeout: 1_000))
        var now = VirtualClock.defaultStart
        engine.open()
        _ = engine.produceAll(now: now)
        _ = engine.receive(ProtocolHeader.amqp.bytes + FrameBytes.frame(.open(peerOpen())), now: now)
        #expect(engine.state == .opened)
        // From here nothing is produced: the socket takes no more bytes.
        now = now.advanced(byMilliseconds: 1_000)
        engine.poll(now: now)
        #expect(engine.failure?.condition == .resourceLimitExceeded)
        #expect(engine.state == .opened, "the CLOSE is queued, not written")
        #expect(engine.nextDeadline == now.advanced(byMilliseconds: 1_000))
        engine.poll(now: now.advanced(byMilliseconds: 999))
        #expect(!engine.state.isFinal)
        engine.poll(now: now.advanced(byMilliseconds: 1_000))
        #expect(engine.state == .end)
        #expect(engine.isFinished)
        #expect(engine.failure?.condition == .resourceLimitExceeded, "the idle time-out stays the reason")
        #expect(engine.nextDeadline == nil)
    }

    @Test func aFramingErrorEndsAfterTheCloseTimeOutWhenItsCloseCannotBeWritten() {
        var engine = ConnectionEngine(configuration: engineConfiguration(.client, closeTimeout: 2_000))
        let now = VirtualClock.defaultStart
        engine.open()
        _ = engine.produceAll(now: now)
        // OPEN, then a frame whose performative is not described: the engine queues an
        // error CLOSE and ends once it is written.
        _ = engine.receive(
            ProtocolHeader.amqp.bytes + FrameBytes.frame(.open(peerOpen())) + [0, 0, 0, 9, 2, 0, 0, 0, 0x40], now: now)
        #expect(engine.failure != nil)
        #expect(!engine.state.isFinal)
        // The first poll starts the flush's clock (the engine asks for it at once).
        let asked = engine.nextDeadline
        #expect(asked != nil && asked! <= now)
        engine.poll(now: now)
        #expect(engine.nextDeadline == now.advanced(byMilliseconds: 2_000))
        engine.poll(now: now.advanced(byMilliseconds: 1_999))
        #expect(!engine.state.isFinal)
        engine.poll(now: now.advanced(byMilliseconds: 2_000))
        #expect(engine.state.isFinal)
        #expect(engine.isFinished)
        #expect(engine.nextDeadline == nil)
    }
}

/// What a driver asks to keep an idle connection's heartbeats out of its buffers
/// (`onlyEmptyFrameDue`, `areEmptyFrames`).
@Suite struct KeepAliveRecognitionTests {
    static let heartbeat: [UInt8] = [0, 0, 0, 8, 2, 0, 0, 0]

    static func areEmptyFrames(_ engine: ConnectionEngine, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { engine.areEmptyFrames($0) }
    }

    @Test(arguments: EngineRole.both)
    func onlyWholeEmptyFramesWhileFramesFlow(role: EngineRole) throws {
        let fresh = try scriptedPeer(engineConfiguration(role, idleTimeout: 1_000))
        // Before the header exchange, 8 bytes of zeros and twos are not a frame yet.
        #expect(!Self.areEmptyFrames(fresh.engine, Self.heartbeat))

        let (peer, _) = try openedAtKnownInstants(role, idleTimeout: 1_000, peerIdle: 1_000)
        let e = peer.engine
        #expect(Self.areEmptyFrames(e, Self.heartbeat))
        #expect(Self.areEmptyFrames(e, Self.heartbeat + Self.heartbeat + Self.heartbeat))
        #expect(Self.areEmptyFrames(e, [0, 0, 0, 8, 2, 0, 0, 5]), "any channel")
        var notHeartbeats: [[UInt8]] = [
            [],
            Array(Self.heartbeat.prefix(7)),
            Self.heartbeat + [0],
            [0, 0, 0, 9, 2, 0, 0, 0],  // size
            [0, 0, 0, 8, 3, 0, 0, 0],  // data offset
            [0, 0, 0, 8, 2, 1, 0, 0],  // SASL frame type
            [1, 0, 0, 8, 2, 0, 0, 0],  // size's high byte
        ]
        // A heartbeat, then the head of a real frame: not only heartbeats.
        notHeartbeats.append(Self.heartbeat + [0, 0, 0, 0x20, 2, 0, 0, 0])
        for bytes in notHeartbeats {
            #expect(!Self.areEmptyFrames(e, bytes), "\(bytes)")
        }
    }

    @Test(arguments: EngineRole.both)
    func aDueHeartbeatIsAllThereIsToWrite(role: EngineRole) throws {
        // The peer announces 1,000 ms: an empty frame is due 500 ms after our last frame.
        var (peer, opened) = try openedAtKnownInstants(role, peerIdle: 1_000)
        #expect(!peer.engine.onlyEmptyFrameDue)
        peer.engine.poll(now: opened.advanced(byMilliseconds: 500))
        #expect(peer.engine.onlyEmptyFrameDue)
        #expect(peer.engine.hasPendingOutput)
        var out = [UInt8](repeating: 0xEE, count: 64)
        let n = out.withUnsafeMutableBytes { peer.engine.produce(into: $0, now: opened.advanced(byMilliseconds: 500)) }
        #expect(Array(out.prefix(n)) == Self.heartbeat)
        #expect(!peer.engine.onlyEmptyFrameDue && !peer.engine.hasPendingOutput)

        // A heartbeat due together with other output is not a heartbeat alone.
        peer.engine.poll(now: opened.advanced(byMilliseconds: 1_000))
        peer.engine.close()
        #expect(peer.engine.hasPendingOutput)
        #expect(!peer.engine.onlyEmptyFrameDue)
    }
}
