@testable import AMQPEngine
import Testing

// `RingQueue` keeps its elements in raw memory it manages itself: these check that
// every element is destroyed exactly once, across wrap-around, growth and copies.

@Suite struct RingQueueTests {
    /// Counts live instances, so a leak or a double destroy shows. Only the serialized
    /// test below makes them.
    final class Tracked {
        nonisolated(unsafe) static var live = 0
        let value: Int
        init(_ value: Int) {
            self.value = value
            Self.live += 1
        }
        deinit { Self.live -= 1 }
    }

    @Test func keepsOrderAcrossWrapAroundAndGrowth() {
        var q = RingQueue<Int>()
        var expected: [Int] = []
        var next = 0
        // Push more than pop so the ring wraps while it grows.
        for round in 0..<200 {
            for _ in 0..<(round % 5 + 1) {
                q.append(next)
                expected.append(next)
                next += 1
            }
            for _ in 0..<(round % 4) where !expected.isEmpty {
                #expect(q.popFirst() == expected.removeFirst())
            }
            #expect(q.count == expected.count)
            #expect(q.first == expected.first)
        }
        while let x = q.popFirst() { #expect(x == expected.removeFirst()) }
        #expect(expected.isEmpty && q.isEmpty)
    }

    @Test(.serialized, arguments: [0, 3, 9, 40]) func destroysEachElementOnce(kept: Int) {
        do {
            var q = RingQueue<Tracked>()
            for i in 0..<50 { q.append(Tracked(i)) }
            for _ in 0..<(50 - kept) { q.removeFirst() }
            var copy = q
            copy.append(Tracked(99))
            #expect(q.count == kept && copy.count == kept + 1)
            if kept > 0 { #expect(q.firstAddress.pointee.value == 50 - kept) }
            q.removeAll()
            #expect(copy.first?.value == (kept > 0 ? 50 - kept : 99))
        }
        #expect(Tracked.live == 0)
    }

    @Test func copiesOnWrite() {
        var a = RingQueue<Int>()
        for i in 0..<5 { a.append(i) }
        var b = a
        b.replaceFirst(with: 100)
        _ = b.popFirst()
        a.append(5)
        #expect(a.first == 0 && a.count == 6)
        #expect(b.first == 1 && b.count == 4)
    }
}
