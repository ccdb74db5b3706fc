import AMQPCodec
import AMQPEngine
import AMQPHostileCases
import AMQPTesting
import Testing

// What OPEN negotiates: max-frame-size in both directions, and channel-max.

/// A CLOSE frame of exactly `size` bytes (its description padded to fit).
func closeFrame(ofSize size: Int) -> [UInt8] {
    // Longer descriptions (and the lists around them) switch to wider encodings, so
    // search down from the first guess instead of predicting the overhead.
    func frame(_ padding: Int) -> [UInt8] {
        FrameBytes.frame(.close(Close(error: AMQPError(condition: .internalError, description: String(repeating: "x", count: padding)))))
    }
    var padding = size - frame(0).count
    while padding >= 0 {
        let f = frame(padding)
        if f.count == size { return f }
        padding -= 1
    }
    preconditionFailure("no CLOSE frame of exactly \(size) bytes")
}

@Suite struct MaxFrameSizeTests {
    static func opened(_ role: EngineRole, ours: UInt32, theirs: UInt32) throws -> ScriptedPeer {
        var peer = try scriptedPeer(engineConfiguration(role, maxFrameSize: ours))
        let open = try peer.openConnection(peerOpen: peerOpen(maxFrameSize: theirs))
        #expect(open.maxFrameSize == ours)
        #expect(peer.engine.remoteMaxFrameSize == theirs)
        return peer
    }

    @Test(arguments: EngineRole.both)
    func inboundFrameOfExactlyOurMaximumIsAccepted(role: EngineRole) throws {
        var peer = try Self.opened(role, ours: 1_024, theirs: .max)
        try peer.send(bytes: closeFrame(ofSize: 1_024))
        try peer.expectClose(condition: nil)
        try peer.expectFinished(.end, condition: .internalError, origin: .remote)
    }

    @Test(arguments: EngineRole.both, [CutPolicy.whole, .oneByte])
    func inboundFrameOverOurMaximumIsAFramingError(role: EngineRole, cut: CutPolicy) throws {
        var peer = try scriptedPeer(engineConfiguration(role, maxFrameSize: 1_024), cutPolicy: cut)
        try peer.openConnection()
        // The frame header alone is enough to refuse it: the engine does not wait for
        // (or make the driver buffer) the 1,025 bytes.
        let frame = closeFrame(ofSize: 1_025)
        try peer.send(bytes: Array(frame.prefix(8)))
        let close = try peer.expectClose(condition: .framingError)
        #expect(close.error?.errorDescription?.contains("size 1025, maximum 1024") == true)
        // The stream cannot be cut into frames any more: end without waiting.
        try peer.expectFinished(.end, condition: .framingError, origin: .local)
        try peer.send(bytes: Array(frame.dropFirst(8)))
        #expect(peer.toEngine.unconsumedBytes == 0)
        try peer.expectNothingMore()
        expectConsistentEvents(peer)
    }

    @Test(arguments: EngineRole.both)
    func peerMaximumBelow512IsTakenAs512(role: EngineRole) throws {
        // Open refuses to decode a value below 512 (a hostile case); a peer that omits the
        // field allows anything.
        let peer = try Self.opened(role, ours: 63_488, theirs: 512)
        #expect(peer.engine.remoteMaxFrameSize == 512)
        let unlimited = try Self.opened(role, ours: 63_488, theirs: .max)
        #expect(unlimited.engine.remoteMaxFrameSize == .max)
    }

    @Test(arguments: EngineRole.both)
    func ourCloseNeverExceedsThePeersMaximum(role: EngineRole) throws {
        var peer = try Self.opened(role, ours: 63_488, theirs: 512)
        let long = AMQPError(condition: .internalError, description: String(repeating: "why ", count: 500))
        try peer.perform { $0.close(error: long) }
        let frame = try peer.expectFrame("a CLOSE that fits in 512 bytes") { $0.performative?.name == "close" }
        #expect(frame.byteCount <= 512)
        #expect(frame.frame.performative == .close(Close(error: AMQPError(condition: .internalError))))
        try peer.send(.close(Close()))
        try peer.expectFinished(.end, condition: .internalError)
    }

    @Test(arguments: EngineRole.both)
    func everyFrameFitsThePeersMaximum(role: EngineRole) throws {
        // A small peer maximum, heartbeats, and an application error on CLOSE: every
        // frame written after the peer's OPEN respects 512 bytes.
        var peer = try scriptedPeer(engineConfiguration(role, idleTimeout: 1_000))
        try peer.openConnection(peerOpen: peerOpen(maxFrameSize: 512, idleTimeOut: 1_000))
        for _ in 0..<10 {
            try peer.advance(byMilliseconds: 600)
            try peer.sendEmptyFrame()
        }
        try peer.perform { $0.close(error: AMQPError(condition: .internalError, description: String(repeating: "ü", count: 400))) }
        peer.skipFrames { $0.isEmptyFrame }
        try peer.expectClose(condition: .internalError)
        try peer.send(.close(Close()))
        #expect(peer.fromEngine.frames.allSatisfy { $0.byteCount <= 512 })
        try peer.expectFinished(.end, condition: .internalError)
    }

    @Test func openTooLargeForTheFirst512BytesStillOpensBeforeClosing() throws {
        // Before the peer's OPEN, frames are limited to 512 bytes (part 2, section
        // 2.7.1). OPEN with large properties cannot go out as configured; the peer must
        // still see an OPEN before the CLOSE that explains why.
        var configuration = engineConfiguration(.client)
        configuration.properties = ["product": .string(String(repeating: "p", count: 600))]
        var peer = try scriptedPeer(configuration)
        try peer.perform { $0.open() }
        try peer.expectHeader()
        let open = try peer.expectFrame("a minimal OPEN within 512 bytes") { $0.performative?.name == "open" }
        #expect(open.byteCount <= 512)
        #expect(open.frame.performative == .open(Open(containerID: "engine-client", hostname: "broker.example", maxFrameSize: 63_488)))
        let close = try peer.expectClose(condition: .frameSizeTooSmall)
        #expect(close.error?.errorDescription?.contains("exceeds the peer's max-frame-size 512") == true)
        try peer.expectState(.discarding)
        try peer.send(header: .amqp)
        try peer.send(.open(peerOpen()))
        try peer.send(.close(Close()))
        try peer.expectFinished(.end, condition: .frameSizeTooSmall, origin: .local)
        try peer.expectNothingMore()
        expectConsistentEvents(peer)
    }

    @Test func openThatCannotShrinkEnoughFailsWithoutLooping() throws {
        // A 600-byte container id leaves nothing to drop: the engine must give up (CLOSE
        // alone is all it can send) rather than retry forever.
        var configuration = engineConfiguration(.client, closeTimeout: 100)
        configuration.containerID = String(repeating: "c", count: 600)
        var peer = try scriptedPeer(configuration)
        try peer.perform { $0.open() }
        try peer.expectHeader()
        try peer.expectClose(condition: .frameSizeTooSmall)
        try peer.advance(byMilliseconds: 100)
        try peer.expectFinished(.end, condition: .frameSizeTooSmall)
    }

    @Test func smallOutputBufferMakesFramesWaitNotFail() {
        // "Give it at least the peer's max-frame-size of room, or large frames wait until
        // there is": a nearly full ring must not kill the connection.
        var engine = ConnectionEngine(configuration: engineConfiguration(.client))
        let now = VirtualClock.defaultStart
        engine.open()
        var tiny = [UInt8](repeating: 0, count: 16)
        let first = tiny.withUnsafeMutableBytes { engine.produce(into: $0, now: now) }
        #expect(first == 8)  // the header fits; OPEN waits
        let second = tiny.withUnsafeMutableBytes { engine.produce(into: $0, now: now) }
        #expect(second == 0)
        #expect(engine.failure == nil)
        #expect(engine.hasPendingOutput)
        #expect(engine.produceFrames(now: now) == [.amqp(channel: 0, .open(Open(containerID: "engine-client", hostname: "broker.example", maxFrameSize: 63_488)), payload: [])])
        #expect(engine.state == .openPipe)
    }

    @Test(arguments: [600, 1_000, 4_096])
    func boundedOutputBufferStillCompletesAConnection(size: Int) throws {
        var pair = EnginePair(
            client: engineConfiguration(.client, sasl: .client(.plain(username: "guest", password: "secret"))),
            server: engineConfiguration(.server, sasl: standardServerSASL), cutPolicy: .random(seed: 3), outputBufferSize: size)
        pair.server.open()
        pair.client.open()
        try pair.pump(until: "both opened") { $0.client.state == .opened && $0.server.state == .opened }
        pair.client.close()
        try pair.pump(until: "both ended") { $0.client.isFinished && $0.server.isFinished }
        #expect(pair.client.state == .end && pair.server.state == .end)
    }
}

struct ChannelMaxCase: Sendable, CustomTestStringConvertible {
    let ours: UInt16
    let theirs: UInt16?
    let negotiated: UInt16
    var testDescription: String { "ours \(ours), theirs \(theirs.map(String.init) ?? "absent") → \(negotiated)" }
    static let all: [ChannelMaxCase] = [
        ChannelMaxCase(ours: 65_535, theirs: nil, negotiated: 65_535),
        ChannelMaxCase(ours: 100, theirs: 7, negotiated: 7),
        ChannelMaxCase(ours: 3, theirs: 10, negotiated: 3),
        ChannelMaxCase(ours: 0, theirs: 5, negotiated: 0),
        ChannelMaxCase(ours: 9, theirs: 0, negotiated: 0),
    ]
}

@Suite struct ChannelMaxTests {
    @Test(arguments: EngineRole.both, ChannelMaxCase.all)
    func lowerOfTheTwo(role: EngineRole, c: ChannelMaxCase) throws {
        var peer = try scriptedPeer(engineConfiguration(role, channelMax: c.ours))
        #expect(peer.engine.negotiatedChannelMax == c.ours)
        let open = try peer.openConnection(peerOpen: peerOpen(channelMax: c.theirs ?? .max))
        #expect(open.channelMax == c.ours)
        #expect(peer.engine.negotiatedChannelMax == c.negotiated)
    }
}
