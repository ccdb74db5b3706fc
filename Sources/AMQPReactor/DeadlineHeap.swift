/// Every deadline the reactor keeps, one per connection slot, in a binary min-heap that
/// knows where each slot's entry is.
///
/// A connection has at most one deadline at a time (the earlier of its connect time-out
/// and its protocol's `nextDeadline`), and that deadline moves on almost every tick (a
/// heartbeat is re-planned whenever anything is sent). An indexed heap updates it in place
/// in O(log n) and never holds stale entries, so its size is bounded by the number of
/// connections, unlike a heap with lazy deletion. A timing wheel would make updates O(1)
/// but rounds deadlines to its tick; at thousands of connections the heap is cheap enough.
struct DeadlineHeap {
    private struct Entry {
        var deadline: UInt64
        var slot: Int
    }

    private var entries: [Entry] = []
    /// `positions[slot]` is the slot's index in `entries`, or -1.
    private var positions: [Int] = []

    /// Number of slots with a deadline.
    var count: Int { entries.count }

    /// The earliest deadline, if any.
    var earliest: UInt64? { entries.first?.deadline }

    /// The slot's deadline, if it has one.
    func deadline(of slot: Int) -> UInt64? {
        guard slot < positions.count, positions[slot] >= 0 else { return nil }
        return entries[positions[slot]].deadline
    }

    /// Sets, moves or (with `nil`) removes the slot's deadline.
    mutating func set(_ slot: Int, to deadline: UInt64?) {
        if slot >= positions.count {
            guard deadline != nil else { return }
            positions.append(contentsOf: repeatElement(-1, count: slot + 1 - positions.count))
        }
        let index = positions[slot]
        switch (index >= 0, deadline) {
        case (false, nil):
            return
        case (false, let d?):
            entries.append(Entry(deadline: d, slot: slot))
            positions[slot] = entries.count - 1
            siftUp(entries.count - 1)
        case (true, nil):
            remove(at: index)
        case (true, let d?):
            let old = entries[index].deadline
            entries[index].deadline = d
            if d < old { siftUp(index) } else if d > old { siftDown(index) }
        }
    }

    /// Removes and returns the slot of the earliest deadline if it is at or before `now`.
    mutating func popDue(now: UInt64) -> Int? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        remove(at: 0)
        return first.slot
    }

    private mutating func remove(at index: Int) {
        let slot = entries[index].slot
        positions[slot] = -1
        let last = entries.removeLast()
        guard index < entries.count else { return }
        entries[index] = last
        positions[last.slot] = index
        siftDown(index)
        siftUp(index)
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard entries[i].deadline < entries[parent].deadline else { break }
            swapAt(i, parent)
            i = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let left = 2 * i + 1
            guard left < entries.count else { return }
            var smallest = left
            let right = left + 1
            if right < entries.count && entries[right].deadline < entries[left].deadline { smallest = right }
            guard entries[smallest].deadline < entries[i].deadline else { return }
            swapAt(i, smallest)
            i = smallest
        }
    }

    private mutating func swapAt(_ a: Int, _ b: Int) {
        entries.swapAt(a, b)
        positions[entries[a].slot] = a
        positions[entries[b].slot] = b
    }
}
