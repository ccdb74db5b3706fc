@testable import AMQPEngine
import Testing

// `UnsettledMap` keeps its ring in memory it manages; checked against a plain array of
// the ids still unsettled, through growth, wrap-around, tombstones and compaction.

@Suite struct UnsettledMapTests {
    @Test func matchesASimpleModel() {
        var map = UnsettledMap()
        var model: [DeliveryNumber] = []
        var random = SeededRandom(seed: 7)
        // Start near the top of the id space so the ids wrap too.
        var next: DeliveryNumber = .max - 300
        for round in 0..<400 {
            for _ in 0..<Int(random.next() % 8) {
                map.append(UnsettledEntry(id: next, handle: 1, token: UInt64(next)))
                model.append(next)
                next &+= 1
            }
            // Settle a few, mostly old ones, sometimes a range.
            if !model.isEmpty {
                let k = Int(random.next() % UInt64(min(model.count, 6)))
                for id in model.prefix(k) where random.next() % 3 != 0 {
                    if let i = map.index(of: id) {
                        map.settle(at: i)
                        model.removeAll { $0 == id }
                    }
                }
                map.trim()
            }
            #expect(map.liveCount == model.count, "round \(round)")
            for id in model { #expect(map.index(of: id) != nil) }
            var live: [DeliveryNumber] = []
            for i in 0..<map.count where map[i].live { live.append(map[i].id) }
            #expect(live == model)
        }
    }

    @Test func copiesOnWrite() {
        var a = UnsettledMap()
        for id in DeliveryNumber(0)..<20 { a.append(UnsettledEntry(id: id, handle: 0)) }
        var b = a
        b.settle(at: 0)
        b.trim()
        a.append(UnsettledEntry(id: 20, handle: 0))
        #expect(a.liveCount == 21 && a[0].live)
        #expect(b.liveCount == 19 && b.index(of: 0) == nil && b.index(of: 20) == nil)
    }
}
