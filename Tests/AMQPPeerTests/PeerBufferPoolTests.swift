import AMQPCodec
@testable import AMQPPeer
import Testing

// The store's recycled arrays: what a message holds is exactly what arrived, an array
// someone still holds (the engine, writing a pre-settled delivery) is never written
// over, and the pool and the messages held stay within the total byte bound. And a
// queue's remembered slot goes stale when the queue is forgotten.

@Suite struct PeerBufferPoolTests {
    func store(_ s: inout QueueStore, _ bytes: [UInt8]) -> AMQPError? {
        bytes.withUnsafeBytes { s.store("q", payload: $0, messageFormat: 0) }
    }

    @Test func recycledArraysHoldExactlyWhatArrived() throws {
        var s = QueueStore(limits: PeerLimits(), permanent: ["q"])
        // Sizes up and down, so a recycled array is sometimes too small and sometimes
        // larger than the next message.
        let sizes = [300, 10, 1_000, 1, 64, 2_000, 7, 500] + (0..<200).map { ($0 * 37) % 900 + 1 }
        for (i, size) in sizes.enumerated() {
            let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i) }
            #expect(store(&s, bytes) == nil)
            let taken = s.take("q")
            let m = try #require(taken)
            #expect(m.payload == bytes)
            s.consumed(m)
        }
        #expect(s.heldBytes == 0)
        #expect(s.pooledBytes > 0)
    }

    @Test func anArrayStillHeldIsNotWrittenOver() throws {
        var s = QueueStore(limits: PeerLimits(), permanent: ["q"])
        var held: [[UInt8]] = []
        // Pre-settled: each message is finished with while "the engine" still holds it.
        for i in 0..<100 {
            let bytes = [UInt8](repeating: UInt8(i), count: 50 + i)
            #expect(store(&s, bytes) == nil)
            let taken = s.take("q")
            let m = try #require(taken)
            held.append(m.payload)
            s.consumed(m)
        }
        for (i, bytes) in held.enumerated() {
            #expect(bytes == [UInt8](repeating: UInt8(i), count: 50 + i))
        }
    }

    @Test func poolAndMessagesStayWithinTheTotalBound() {
        var limits = PeerLimits()
        limits.maxTotalBytes = 20_000
        var s = QueueStore(limits: limits, permanent: ["q"])
        let bytes = [UInt8](repeating: 1, count: 1_000)
        // Fill, empty (the pool takes the arrays back), fill again.
        for _ in 0..<3 {
            var stored = 0
            while store(&s, bytes) == nil { stored += 1 }
            #expect(stored == 20)
            #expect(s.heldBytes + s.pooledBytes <= limits.maxTotalBytes + 20 * 64)
            while let m = s.take("q") {
                s.consumed(m)
                #expect(s.heldBytes + s.pooledBytes <= limits.maxTotalBytes)
            }
        }
    }

    @Test func aReferenceToAForgottenQueueGoesStale() throws {
        var s = QueueStore(limits: PeerLimits())
        let madeA = s.ensure("a")
        #expect(madeA)
        let a = try #require(s.ref("a"))
        #expect(s.slot(a) == s.slot("a"))
        s.forgetIfEmpty("a")
        #expect(s.slot(a) == nil)
        // The next queue takes the slot; the old reference still names nothing.
        let madeB = s.ensure("b")
        #expect(madeB)
        let b = try #require(s.ref("b"))
        #expect(b.slot == a.slot)
        #expect(s.slot(a) == nil)
        #expect(s.slot(b) == b.slot)
    }
}
