import AMQPTesting
import Testing

@testable import AMQPReactor

@Suite("DeadlineHeap")
struct DeadlineHeapTests {
    /// Random sets, moves, removals and pops against a dictionary model: pops come out in
    /// deadline order and each slot has at most one entry.
    @Test func matchesAModel() {
        var heap = DeadlineHeap()
        var model: [Int: UInt64] = [:]
        var rng = SeededGenerator(seed: 0xdead_1ee)
        var now: UInt64 = 0
        for _ in 0..<20_000 {
            let slot = Int(rng.next() % 64)
            switch rng.next() % 4 {
            case 0, 1:
                let d = now + rng.next() % 1000
                heap.set(slot, to: d)
                model[slot] = d
            case 2:
                heap.set(slot, to: nil)
                model[slot] = nil
            default:
                now += rng.next() % 50
                var popped: [UInt64] = []
                while let s = heap.popDue(now: now) {
                    let d = model.removeValue(forKey: s)
                    #expect(d != nil && d! <= now)
                    popped.append(d ?? 0)
                }
                #expect(popped == popped.sorted())
                #expect(model.values.allSatisfy { $0 > now })
            }
            #expect(heap.count == model.count)
            #expect(heap.earliest == model.values.min())
            #expect(heap.deadline(of: slot) == model[slot])
        }
    }
}
