import AMQPCodec
import AMQPEngine
import AMQPReactor
import Glibc
import Testing

/// Writes `frames` frames of `frameSize` bytes, each only into room for a whole one, and
/// says so through `minimumOutboundCapacity` once `announce` is set (as an AMQP engine does
/// once the peer's OPEN has told it the frame size).
struct WholeFrameMachine: SansIOConnection {
    enum Event { case none }
    let frameSize: Int
    var frames: Int
    var required: Int
    var produced = 0

    mutating func receive(_ bytes: UnsafeRawBufferPointer, now: EngineInstant) -> Int { bytes.count }
    mutating func nextEvent() -> Event? { nil }
    mutating func produce(into buffer: UnsafeMutableRawBufferPointer, now: EngineInstant) -> Int {
        guard frames > 0, buffer.count >= frameSize else { return 0 }
        for i in 0..<frameSize { buffer[i] = streamByte(produced + i) }
        produced += frameSize
        frames -= 1
        return frameSize
    }
    var hasPendingOutput: Bool { frames > 0 }
    var nextDeadline: EngineInstant? { nil }
    mutating func poll(now: EngineInstant) {}
    var isFinished: Bool { frames == 0 }
    var minimumOutboundCapacity: Int { required }
}

extension ReactorTests {
    @Suite("outbound ring growth")
    struct OutboundGrowth {
        /// Reads `count` bytes of the test stream from a raw peer (bounded), running the
        /// reactor in between; returns the mismatches.
        static func readStream(_ peer: borrowing RawSocket, count: Int, step: () throws -> Void) throws -> Int {
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            var got = 0
            var bad = 0
            let deadline = secondsNow() + 10
            while got < count {
                try #require(secondsNow() < deadline, "only \(got) of \(count) bytes arrived")
                try step()
                let n = buffer.withUnsafeMutableBytes { recv(peer.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if n > 0 {
                    for i in 0..<n where buffer[i] != streamByte(got + i) { bad += 1 }
                    got += n
                }
            }
            return bad
        }

        @Test("a frame larger than the ring goes out once the machine names its size", arguments: testBackends)
        func growsToTheRequiredSize(backend: TestBackend) throws {
            var options = backend.options()
            options.outboundCapacity = 4096
            let reactor = try Reactor<WholeFrameMachine>(options: options)
            let (listenFD, address) = try rawListener()
            defer { close(listenFD) }
            var closed: ReactorError?? = nil
            let machine = WholeFrameMachine(frameSize: 20_000, frames: 3, required: 20_000)
            let id = try reactor.connect(to: address, connection: machine) { _, _, event in
                if case .closed(let error) = event { closed = .some(error) }
            }
            #expect(reactor.ringInfo(id)?.outbound == 4096, "made at the configured size")
            let peer = try rawAccept(listenFD) { try reactor.runOnce(timeout: .milliseconds(5)) }
            let bad = try Self.readStream(peer, count: 60_000) { try reactor.runOnce(timeout: .milliseconds(5)) }
            #expect(bad == 0)
            let deadline = secondsNow() + 10
            while closed == nil {
                try #require(secondsNow() < deadline)
                try reactor.runOnce(timeout: .milliseconds(5))
            }
            #expect(closed == .some(nil), "the machine finished and the connection closed cleanly")
        }

        @Test("growth stops at maximumOutboundCapacity", arguments: testBackends)
        func growthIsCapped(backend: TestBackend) throws {
            var options = backend.options()
            options.outboundCapacity = 4096
            options.maximumOutboundCapacity = 32 << 10
            let reactor = try Reactor<WholeFrameMachine>(options: options)
            let (listenFD, address) = try rawListener()
            defer { close(listenFD) }
            // A peer that allows frames of 1 GiB (AMQP's default allows 4 GiB).
            let machine = WholeFrameMachine(frameSize: 20_000, frames: 2, required: 1 << 30)
            let id = try reactor.connect(to: address, connection: machine) { _, _, _ in }
            let peer = try rawAccept(listenFD) { try reactor.runOnce(timeout: .milliseconds(5)) }
            let bad = try Self.readStream(peer, count: 40_000) {
                try reactor.runOnce(timeout: .milliseconds(5))
                if let capacity = reactor.ringInfo(id)?.outbound { #expect(capacity <= 32 << 10) }
            }
            #expect(bad == 0)
        }

        /// The AMQP case: both ends start with 4 KiB outbound rings; after OPEN each grows
        /// to the other's max-frame-size, so an ATTACH larger than 4 KiB goes out and a
        /// 60,000-byte message travels as one TRANSFER frame (it arrives as a view into
        /// the ring rather than reassembled). One message: the engine fills whatever room
        /// is left after it with the start of the next, so later ones are split.
        @Test("AMQP engines: rings grow to the peer's max-frame-size after OPEN", arguments: testBackends)
        func enginesGrowAfterOpen(backend: TestBackend) throws {
            var options = backend.options()
            options.outboundCapacity = 4096
            let reactor = try Reactor<ConnectionEngine>(options: options)
            let script = MessagingScript(payload: (0..<60_000).map { streamByte($0) }, messages: 1)
            // About 10 KiB of offered capabilities: more than the initial ring.
            script.senderCapabilities = (0..<400).map { Symbol("capability-\($0)-padding") }
            var serverID: ConnectionID? = nil
            let listener = try reactor.listen(on: .loopbackIPv4(), accept: { _ in
                MessagingScript.listenerEngine(maxFrameSize: 65_536)
            }, handler: { reactor, id, event in
                if case .connected = event { serverID = id }
                script.listener(reactor, id, event)
            })
            let client = try reactor.connect(
                to: reactor.address(of: listener)!, connection: MessagingScript.clientEngine(), handler: script.client)
            var clientRing = 0
            var serverRing = 0
            let deadline = secondsNow() + 10
            while !script.finished(1) {
                try #require(secondsNow() < deadline, "opened \(script.opened), delivered \(script.delivered), failures \(script.failures)")
                try reactor.runOnce(timeout: .milliseconds(10))
                clientRing = max(clientRing, reactor.ringInfo(client)?.outbound ?? 0)
                if let s = serverID { serverRing = max(serverRing, reactor.ringInfo(s)?.outbound ?? 0) }
            }
            #expect(script.failures.isEmpty, "\(script.failures)")
            #expect(clientRing == 65_536, "the client's ring grew to the listener's 65,536-byte frames")
            #expect(serverRing == 63_488 + 2048, "the listener's ring grew to the client's 63,488-byte frames, in whole pages")
            #expect(script.delivered == 1 && script.deliveredBytes == 60_000)
            #expect(script.deliveredInOneFrame == 1, "the message travelled as one frame")
            #expect(script.outcomes == 1)
        }
    }
}
