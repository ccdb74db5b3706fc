import AMQPEngine
import AMQPReactor
import AMQPTesting
import Testing

/// The byte at position `i` of the test stream.
@inline(__always) func streamByte(_ i: Int) -> UInt8 { UInt8(truncatingIfNeeded: i &* 7 &+ i >> 11) }

/// Sends `total` bytes of the test stream in pieces of random size.
struct StreamSender: SansIOConnection {
    enum Event { case sent(Int) }
    let total: Int
    var produced = 0
    var rng: SeededGenerator

    mutating func receive(_ bytes: UnsafeRawBufferPointer, now: EngineInstant) -> Int { bytes.count }
    mutating func nextEvent() -> Event? { nil }
    mutating func produce(into buffer: UnsafeMutableRawBufferPointer, now: EngineInstant) -> Int {
        let n = min(buffer.count, total - produced, Int.random(in: 1...3000, using: &rng))
        for i in 0..<n { buffer[i] = streamByte(produced + i) }
        produced += n
        return n
    }
    var hasPendingOutput: Bool { produced < total }
    var nextDeadline: EngineInstant? { nil }
    mutating func poll(now: EngineInstant) {}
    var isFinished: Bool { produced == total }
}

/// Takes the test stream in whole "frames" of random size (up to its ring), leaving a
/// partial frame for next time, and checks every byte.
struct StreamReceiver: SansIOConnection {
    enum Event { case frame(size: Int, mismatches: Int) }
    let total: Int
    let maxFrame: Int
    var received = 0
    var mismatches = 0
    var nextFrame: Int
    var frames = 0
    var rng: SeededGenerator
    var pending: [Event] = []

    init(total: Int, maxFrame: Int, seed: UInt64) {
        self.total = total
        self.maxFrame = maxFrame
        rng = SeededGenerator(seed: seed)
        nextFrame = Int.random(in: 1...maxFrame, using: &rng)
    }

    mutating func receive(_ bytes: UnsafeRawBufferPointer, now: EngineInstant) -> Int {
        var used = 0
        while true {
            let size = min(nextFrame, total - received)
            guard size > 0, bytes.count - used >= size else { return used }
            var bad = 0
            for i in 0..<size where bytes[used + i] != streamByte(received + i) { bad += 1 }
            mismatches += bad
            used += size
            received += size
            frames += 1
            pending.append(.frame(size: size, mismatches: bad))
            nextFrame = Int.random(in: 1...maxFrame, using: &rng)
        }
    }
    mutating func nextEvent() -> Event? { pending.isEmpty ? nil : pending.removeFirst() }
    mutating func produce(into buffer: UnsafeMutableRawBufferPointer, now: EngineInstant) -> Int { 0 }
    var hasPendingOutput: Bool { false }
    var nextDeadline: EngineInstant? { nil }
    mutating func poll(now: EngineInstant) {}
    var isFinished: Bool { received == total }
}

/// Either end of a stream test, so one reactor can drive both.
enum StreamEnd: SansIOConnection {
    enum Event { case sender(StreamSender.Event), receiver(StreamReceiver.Event) }
    case sender(StreamSender)
    case receiver(StreamReceiver)

    mutating func receive(_ bytes: UnsafeRawBufferPointer, now: EngineInstant) -> Int {
        switch self {
        case .sender(var s): defer { self = .sender(s) }; return s.receive(bytes, now: now)
        case .receiver(var r): defer { self = .receiver(r) }; return r.receive(bytes, now: now)
        }
    }
    mutating func nextEvent() -> Event? {
        switch self {
        case .sender(var s): defer { self = .sender(s) }; return s.nextEvent().map(Event.sender)
        case .receiver(var r): defer { self = .receiver(r) }; return r.nextEvent().map(Event.receiver)
        }
    }
    mutating func produce(into buffer: UnsafeMutableRawBufferPointer, now: EngineInstant) -> Int {
        switch self {
        case .sender(var s): defer { self = .sender(s) }; return s.produce(into: buffer, now: now)
        case .receiver(var r): defer { self = .receiver(r) }; return r.produce(into: buffer, now: now)
        }
    }
    var hasPendingOutput: Bool {
        switch self {
        case .sender(let s): s.hasPendingOutput
        case .receiver(let r): r.hasPendingOutput
        }
    }
    var nextDeadline: EngineInstant? { nil }
    mutating func poll(now: EngineInstant) {}
    var isFinished: Bool {
        switch self {
        case .sender(let s): s.isFinished
        case .receiver(let r): r.isFinished
        }
    }
}

extension ReactorTests {
    @Suite("byte streams through the rings")
    struct Streams {
        static let cases: [(TestBackend, ByteRing.StoragePreference)] = testBackends.flatMap { b in
            [(b, ByteRing.StoragePreference.mirrored), (b, .compacting)]
        }

        /// 4 MiB through one-page rings in random pieces and random frame sizes: every ring
        /// wraps (or compacts) about a thousand times, sends and recvs come back short,
        /// frames straddle the end of the ring. Every byte must arrive, in order, and both
        /// ends must finish cleanly.
        @Test("4 MiB arrive intact through small rings", arguments: cases)
        func streamArrivesIntact(backend: TestBackend, storage: ByteRing.StoragePreference) throws {
            var options = backend.options()
            options.inboundCapacity = 4096
            options.outboundCapacity = 4096
            options.ringStorage = storage
            let reactor = try Reactor<StreamEnd>(options: options)
            let total = 4 << 20
            var closed: [ConnectionID: ReactorError?] = [:]
            var frames = 0
            var bytes = 0
            var mismatches = 0
            let handler: Reactor<StreamEnd>.Handler = { _, id, event in
                switch event {
                case .closed(let error): closed[id] = error
                case .connection(.receiver(.frame(let size, let bad))):
                    frames += 1
                    bytes += size
                    mismatches += bad
                default: break
                }
            }
            var receiverID: ConnectionID? = nil
            let listener = try reactor.listen(on: .loopbackIPv4(), accept: { _ in
                .receiver(StreamReceiver(total: total, maxFrame: 4096, seed: 99))
            }, handler: { reactor, id, event in
                if case .connected = event { receiverID = id }
                handler(reactor, id, event)
            })
            let sender = try reactor.connect(
                to: reactor.address(of: listener)!,
                connection: .sender(StreamSender(total: total, rng: SeededGenerator(seed: 7))), handler: handler)
            #expect(reactor.ringInfo(sender)?.storage == (storage == .compacting ? .compacting : .mirrored))
            let deadline = secondsNow() + 30
            while closed.count < 2 {
                try #require(secondsNow() < deadline, "the stream did not finish: \(closed)")
                try reactor.runOnce(timeout: .milliseconds(20))
            }
            #expect(closed[sender] == .some(nil))
            let rid = try #require(receiverID)
            #expect(closed[rid] == .some(nil), "the receiver saw the end of the stream early")
            #expect(bytes == total, "every byte arrived")
            #expect(mismatches == 0, "in order and unchanged")
            #expect(frames > 1000)
        }
    }
}
