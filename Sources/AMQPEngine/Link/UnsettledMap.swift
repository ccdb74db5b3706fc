// A session's unsettled deliveries in one direction, ordered by delivery-id.
//
// Delivery-ids grow by one per delivery within a session (Proton enforces it on input,
// and we assign ours that way), so the unsettled ones are already sorted: a ring of
// entries in id order, searched by binary search on the serial distance from the
// oldest, makes a disposition range cost O(log n + k) however wide the peer makes it.
// Settled entries become tombstones; those at the front are dropped at once, and the
// ring is compacted in place when tombstones outnumber live entries, so steady traffic
// reuses the same storage and allocates nothing.

/// One unsettled delivery.
struct UnsettledEntry {
    /// The delivery-id.
    var id: DeliveryNumber
    /// Our handle of the link it travels on.
    var handle: UInt32
    /// Sender side: the application's handle for it.
    var token: UInt64 = 0
    /// Receiver side: settled in rcv-settle-mode `second` (we report our outcome
    /// unsettled and settle once the sender has).
    var secondMode: Bool = false
    /// Receiver side, mode `second`: our outcome is sent; waiting for the sender.
    var awaitingPeer: Bool = false
    /// False once settled (a tombstone).
    var live: Bool = true
}

struct UnsettledMap {
    /// The ring, in memory this map manages: an array's subscripts cost a bounds check,
    /// a uniqueness check and a reload of its count on every access, and every message
    /// adds an entry on both sides and settles it.
    private var storage = UnsettledStorage.empty
    private var head = 0
    /// Entries including tombstones.
    private(set) var count = 0
    /// Entries not yet settled.
    private(set) var liveCount = 0

    var isEmpty: Bool { liveCount == 0 }

    @inline(__always)
    private func slot(_ i: Int) -> Int {
        let j = head &+ i
        return j >= storage.capacity ? j &- storage.capacity : j
    }

    /// The entries, unique to this map (copied first if shared).
    @inline(__always)
    private mutating func entries() -> UnsafeMutablePointer<UnsettledEntry> {
        if _slowPath(!isKnownUniquelyReferenced(&storage)) { storage = storage.copy(capacity: storage.capacity) }
        return storage.entries
    }

    /// The entry at position `i` (0 is the oldest).
    subscript(i: Int) -> UnsettledEntry {
        @inline(__always) get {
            precondition(i >= 0 && i < count, "unsettled entry \(i) of \(count)")
            return storage.entries[slot(i)]
        }
        @inline(__always) set {
            precondition(i >= 0 && i < count, "unsettled entry \(i) of \(count)")
            let s = slot(i)
            entries()[s] = newValue
        }
    }

    /// Adds the newest delivery; its id must follow every id already held.
    @inline(__always)
    mutating func append(_ entry: UnsettledEntry) {
        if _slowPath(count == storage.capacity) { grow() }
        let s = slot(count)
        entries()[s] = entry
        count &+= 1
        liveCount &+= 1
    }

    /// The position of the first entry whose id is `id` or later, in serial order.
    func lowerBound(_ id: DeliveryNumber) -> Int {
        guard count > 0 else { return 0 }
        let base = storage.entries[head].id
        let target = id &- base
        // Ids before the oldest entry wrap to huge distances: treat them as 0 when they
        // are within half the sequence space behind (RFC 1982).
        if target > UInt32.max / 2 { return 0 }
        var lo = 0
        var hi = count
        while lo < hi {
            let mid = (lo &+ hi) >> 1
            if self[mid].id &- base < target { lo = mid &+ 1 } else { hi = mid }
        }
        return lo
    }

    /// The position of the live entry with `id`, if any.
    func index(of id: DeliveryNumber) -> Int? {
        let i = lowerBound(id)
        guard i < count else { return nil }
        let e = self[i]
        return e.id == id && e.live ? i : nil
    }

    /// True when `id` lies within `first...last`, in serial order.
    @inline(__always)
    static func contains(_ id: DeliveryNumber, first: DeliveryNumber, last: DeliveryNumber) -> Bool {
        id &- first <= last &- first
    }

    /// Marks the entry at `i` settled. Call `trim()` once done walking.
    @inline(__always)
    mutating func settle(at i: Int) {
        precondition(i >= 0 && i < count, "unsettled entry \(i) of \(count)")
        let s = slot(i)
        let e = entries()
        if e[s].live {
            e[s].live = false
            liveCount &-= 1
        }
    }

    /// The entries in place, for walking a range: one uniqueness check for the walk
    /// instead of one per entry. Valid until the map is next changed through its own
    /// methods; report what the walk settled with `didSettle`.
    @inline(__always)
    mutating func walk() -> UnsettledWalk {
        UnsettledWalk(entries: entries(), capacity: storage.capacity, head: head, count: count)
    }

    /// `n` live entries were marked settled through a walk. Call `trim()` after.
    @inline(__always)
    mutating func didSettle(_ n: Int) { liveCount &-= n }

    /// Drops tombstones at the front, and compacts when they dominate.
    mutating func trim() {
        // Everything settled (a receiver settling all it has, a sender hearing one range
        // back for all it sent): drop the tombstones at once, not one by one.
        if liveCount == 0 {
            head = 0
            count = 0
            return
        }
        while count > 0 && !storage.entries[head].live {
            head = slot(1)
            count &-= 1
        }
        if count == 0 { head = 0; return }
        if count >= 64 && liveCount &* 4 < count { compact() }
    }

    /// Removes every entry (keeping the storage).
    mutating func removeAll() {
        head = 0
        count = 0
        liveCount = 0
    }

    private mutating func compact() {
        var w = 0
        for r in 0..<count {
            let e = self[r]
            if e.live {
                self[w] = e
                w &+= 1
            }
        }
        count = w
    }

    private mutating func grow() {
        let fresh = UnsettledStorage(capacity: Swift.max(16, storage.capacity &* 2))
        for i in 0..<count { fresh.entries[i] = self[i] }
        storage = fresh
        head = 0
    }
}

/// The memory of an `UnsettledMap`'s ring. Entries are plain values: nothing to destroy.
final class UnsettledStorage {
    let entries: UnsafeMutablePointer<UnsettledEntry>
    let capacity: Int

    /// Shared by every map until it holds something.
    nonisolated(unsafe) static let empty = UnsettledStorage(capacity: 0)

    init(capacity: Int) {
        self.capacity = capacity
        entries = .allocate(capacity: capacity)
        entries.initialize(repeating: UnsettledEntry(id: 0, handle: 0, live: false), count: capacity)
    }

    /// A copy with `capacity` slots holding the same entries in the same places.
    func copy(capacity: Int) -> UnsettledStorage {
        let fresh = UnsettledStorage(capacity: capacity)
        fresh.entries.update(from: entries, count: Swift.min(capacity, self.capacity))
        return fresh
    }

    deinit { entries.deallocate() }
}

/// An `UnsettledMap`'s entries in place (see `UnsettledMap.walk`).
struct UnsettledWalk {
    let entries: UnsafeMutablePointer<UnsettledEntry>
    let capacity: Int
    let head: Int
    /// Entries including tombstones.
    let count: Int

    /// The entry at position `i` (0 is the oldest).
    @inline(__always)
    subscript(i: Int) -> UnsafeMutablePointer<UnsettledEntry> {
        let j = head &+ i
        return entries + (j >= capacity ? j &- capacity : j)
    }

    /// The entry after `p` in ring order: a walk steps with this instead of working out
    /// each position's slot again.
    @inline(__always)
    func after(_ p: UnsafeMutablePointer<UnsettledEntry>) -> UnsafeMutablePointer<UnsettledEntry> {
        let q = p + 1
        return q == entries + capacity ? entries : q
    }
}
