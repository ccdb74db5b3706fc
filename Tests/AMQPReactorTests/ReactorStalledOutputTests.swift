import AMQPReactor
import Glibc
import Testing

extension ReactorTests {
    /// A machine that writes only whole units (an AMQP engine with a frame that must fit)
    /// finds too little room while the socket is full and writes nothing. When the socket
    /// then takes the whole ring at once, the room is there, and the machine must be asked
    /// again even if nothing ever arrives from the peer (a pre-settled sender hears
    /// nothing back): `amqp bench --settle --size 65536` stopped dead this way with epoll.
    @Suite("output stalled for room")
    struct StalledOutput {
        @Test("room freed by a send is offered to a machine that found too little", arguments: testBackends)
        func freedRoomIsOfferedAgain(backend: TestBackend) throws {
            var options = backend.options()
            options.outboundCapacity = 64 << 10
            let reactor = try Reactor<WholeFrameMachine>(options: options)
            let (listenFD, address) = try rawListener()
            defer { close(listenFD) }
            // 40,000-byte units in a 64 KiB ring: after one unit the room left is too small
            // for another until the ring has been sent.
            let frames = 200
            let id = try reactor.connect(to: address, connection: WholeFrameMachine(frameSize: 40_000, frames: frames, required: 0)) { _, _, _ in }
            let peer = try rawAccept(listenFD) { try reactor.runOnce(timeout: .milliseconds(5)) }
            // Fill the socket without reading, until the ring holds unsent bytes for a while.
            var full = 0
            let deadline = secondsNow() + 10
            while full < 20 {
                try #require(secondsNow() < deadline, "the socket never filled")
                try reactor.runOnce(timeout: .milliseconds(1))
                full = (reactor.bufferedBytes(id)?.outbound ?? 0) > 0 ? full + 1 : 0
            }
            let bad = try OutboundGrowth.readStream(peer, count: frames * 40_000) { try reactor.runOnce(timeout: .milliseconds(5)) }
            #expect(bad == 0)
        }
    }
}
