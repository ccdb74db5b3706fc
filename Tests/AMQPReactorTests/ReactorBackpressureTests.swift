import AMQPEngine
import AMQPReactor
import CAMQPLinux
import Glibc
import Testing

/// A protocol that always has more to say and swallows whatever it hears: the worst case
/// for a reactor's outbound side.
struct FloodMachine: SansIOConnection {
    enum Event { case received(Int) }

    var produced = 0
    var produceCalls = 0
    var received = 0
    var stopped = false

    mutating func receive(_ bytes: UnsafeRawBufferPointer, now: EngineInstant) -> Int {
        received += bytes.count
        return bytes.count
    }
    mutating func nextEvent() -> Event? { nil }
    mutating func produce(into buffer: UnsafeMutableRawBufferPointer, now: EngineInstant) -> Int {
        produceCalls += 1
        let n = min(buffer.count, 16 << 10)
        for i in stride(from: 0, to: n, by: 512) { buffer[i] = UInt8(truncatingIfNeeded: produced + i) }
        produced += n
        return n
    }
    var hasPendingOutput: Bool { !stopped }
    var nextDeadline: EngineInstant? { nil }
    mutating func poll(now: EngineInstant) {}
    var isFinished: Bool { stopped }
}

/// A protocol that never consumes anything it is given.
struct StubbornMachine: SansIOConnection {
    enum Event { case offered(Int) }
    var offers = 0
    var largestOffer = 0
    mutating func receive(_ bytes: UnsafeRawBufferPointer, now: EngineInstant) -> Int {
        offers += 1
        largestOffer = max(largestOffer, bytes.count)
        return 0
    }
    mutating func nextEvent() -> Event? { nil }
    mutating func produce(into buffer: UnsafeMutableRawBufferPointer, now: EngineInstant) -> Int { 0 }
    var hasPendingOutput: Bool { false }
    var nextDeadline: EngineInstant? { nil }
    mutating func poll(now: EngineInstant) {}
    var isFinished: Bool { false }
}

extension ReactorTests {
    @Suite("backpressure")
    struct Backpressure {
        @Test("a peer that stops reading: the outbound ring fills, production stops, nothing hangs", arguments: testBackends)
        func peerStopsReading(backend: TestBackend) throws {
            let options = backend.options()
            let reactor = try Reactor<FloodMachine>(options: options)
            let (listenFD, address) = try rawListener()
            defer { close(listenFD) }
            var closed: ReactorError?? = nil
            let id = try reactor.connect(to: address, connection: FloodMachine()) { _, _, event in
                if case .closed(let error) = event { closed = .some(error) }
            }
            let peer = try rawAccept(listenFD) { try reactor.runOnce(timeout: .milliseconds(5)) }
            let capacity = try #require(reactor.ringInfo(id)).outbound

            // The kernel's socket buffers fill first (megabytes on loopback), then the ring.
            let deadline = secondsNow() + 20
            while reactor.bufferedBytes(id)?.outbound != capacity {
                try #require(secondsNow() < deadline, "the outbound ring never filled")
                try reactor.runOnce(timeout: .milliseconds(10))
            }
            let produced = try #require(reactor.inspect(id) { $0.produced })
            let calls = try #require(reactor.inspect(id) { $0.produceCalls })
            // More ticks change nothing: no production without room, no growth, no spin.
            for _ in 0..<20 { try reactor.runOnce(timeout: .milliseconds(5)) }
            #expect(reactor.inspect(id) { $0.produced } == produced)
            #expect(reactor.inspect(id) { $0.produceCalls } == calls)
            #expect(reactor.bufferedBytes(id)?.outbound == capacity)
            #expect(closed == nil)

            // The peer goes away without reading: the next write fails with a typed error
            // (and no SIGPIPE kills the test process).
            peer.reset()
            let until = secondsNow() + 10
            while closed == nil {
                try #require(secondsNow() < until, "the reset was never noticed")
                try reactor.runOnce(timeout: .milliseconds(10))
            }
            let error = try #require(closed ?? nil)
            #expect([ReactorError.Code.connectionReset, .brokenPipe].contains(error.code), "\(error)")
            #expect(!reactor.contains(id))
        }

        @Test("a machine that consumes nothing: reading stops at a full inbound ring", arguments: testBackends)
        func inboundStopsWhenFullAndUnconsumed(backend: TestBackend) throws {
            var options = backend.options()
            options.inboundCapacity = 8192
            let reactor = try Reactor<StubbornMachine>(options: options)
            let (listenFD, address) = try rawListener()
            defer { close(listenFD) }
            let id = try reactor.connect(to: address, connection: StubbornMachine()) { _, _, _ in }
            let peer = try rawAccept(listenFD) { try reactor.runOnce(timeout: .milliseconds(5)) }
            let capacity = try #require(reactor.ringInfo(id)).inbound
            // Far more than the ring: the rest must stay in the kernel.
            let chunk = [UInt8](repeating: 0x55, count: 64 << 10)
            try peer.send(chunk)
            let deadline = secondsNow() + 10
            while reactor.bufferedBytes(id)?.inbound != capacity {
                try #require(secondsNow() < deadline, "the inbound ring never filled")
                try reactor.runOnce(timeout: .milliseconds(10))
            }
            let offers = try #require(reactor.inspect(id) { $0.offers })
            for _ in 0..<20 { try reactor.runOnce(timeout: .milliseconds(5)) }
            #expect(reactor.bufferedBytes(id)?.inbound == capacity, "memory stays bounded by the ring")
            #expect(reactor.inspect(id) { $0.offers } == offers, "the same bytes are not offered again and again")
            #expect(reactor.inspect(id) { $0.largestOffer } == capacity)
            // The application changing the machine offers them once more.
            reactor.withConnection(id) { _ in }
            try reactor.runOnce(timeout: .zero)
            #expect(reactor.inspect(id) { $0.offers } == offers + 1)
            reactor.abort(id)
            try reactor.runOnce(timeout: .zero)
            #expect(!reactor.contains(id))
        }
    }
}
