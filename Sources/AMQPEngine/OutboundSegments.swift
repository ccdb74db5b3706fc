/// Large payload chunks a connection sends by reference rather than copied into its
/// outbound buffer (gathered sends, Docs/reactor.md), in the order they go out between the
/// buffer's bytes.
///
/// A driver hands one to `ConnectionEngine.produce(into:gather:now:)`. The engine writes
/// frame headers, performatives and small payloads into the buffer as before; for a
/// TRANSFER chunk of at least `threshold` bytes it writes only the frame header and the
/// performative and appends the delivery's payload array and a range here. The outgoing
/// byte stream is then: the buffer bytes before the first entry (`Entry.ringBytes`), that
/// entry's payload range, the buffer bytes before the next entry, ..., the buffer bytes
/// after the last (`trailingRingBytes`). The driver sends it with one gathered write and
/// reports what the kernel took with `advance`, which tells it how many buffer bytes that
/// was and releases each payload once all of its bytes are written.
///
/// Bounded: at most `capacity` entries and `byteLimit` referenced bytes; past either the
/// engine copies as it always did. Holding a payload is one retain of the array's storage,
/// no copy. The entry storage is allocated on the first gathered chunk and kept (none per
/// message), so connections that never send large messages pay nothing for it.
///
/// A class, not a value: the driver's record owns it for the connection's life and an
/// io_uring send in flight points into the payloads it holds, so it must never be copied.
public final class OutboundSegments {
    /// One payload range and the buffer bytes that go out before it.
    public struct Entry {
        /// Unsent buffer bytes that precede this payload range in the stream.
        public var ringBytes: Int
        /// The delivery's payload; held so its storage stays alive and in place.
        public let payload: [UInt8]
        /// The first unsent payload byte.
        public var offset: Int
        /// Unsent payload bytes from `offset`.
        public var count: Int
    }

    /// Most entries held at once.
    public let capacity: Int
    /// Smallest payload chunk sent by reference. Below it an iovec entry costs more than
    /// the copy it saves (measured, Docs/reactor.md); `Int.max` turns gathering off.
    public let threshold: Int
    /// Most payload bytes referenced at once (unsent), so a peer that stops reading cannot
    /// make the connection pin unbounded application memory.
    public let byteLimit: Int
    /// Payload bytes referenced and not yet written.
    public private(set) var referencedBytes = 0
    /// Entries held.
    public private(set) var count = 0
    /// Buffer bytes after the last entry (all unsent buffer bytes when there is none).
    @usableFromInline var trailing = 0
    /// During `produce`: the buffer offset up to which buffer bytes are accounted for.
    var cursor = 0
    var head = 0
    var storage: UnsafeMutablePointer<Entry>? = nil

    /// Creates an empty list of at most `capacity` entries and `byteLimit` bytes, for
    /// chunks of at least `threshold` bytes.
    public init(capacity: Int = 64, threshold: Int = 16 << 10, byteLimit: Int = 1 << 20) {
        precondition(capacity > 0 && threshold > 0 && byteLimit >= 0, "invalid gather limits")
        self.capacity = capacity
        self.threshold = threshold
        self.byteLimit = byteLimit
    }

    deinit {
        removeAll()
        storage?.deallocate()
    }

    /// True when no payload is referenced: every unsent byte is in the buffer.
    @inlinable public var isEmpty: Bool { count == 0 }

    /// Unsent buffer bytes after the last entry.
    public var trailingRingBytes: Int { trailing }

    /// Payload bytes the engine may reference now: 0 when no entry is free.
    var room: Int { count < capacity ? byteLimit &- referencedBytes : 0 }

    /// The `i`th entry from the front (`i < count`).
    public subscript(i: Int) -> Entry {
        precondition(i >= 0 && i < count, "entry \(i) of \(count)")
        return storage.unsafelyUnwrapped[(head &+ i) % capacity]
    }

    /// The engine: `count` bytes of `payload` from `offset` go out after the buffer bytes
    /// written so far, which end at `bufferOffset` in the buffer `produce` was given.
    func append(_ payload: [UInt8], offset: Int, count n: Int, at bufferOffset: Int) {
        precondition(count < capacity && n <= room, "gathered chunk beyond the limits")
        if storage == nil { storage = .allocate(capacity: capacity) }
        let ringBytes = trailing &+ (bufferOffset &- cursor)
        (storage.unsafelyUnwrapped + (head &+ count) % capacity).initialize(
            to: Entry(ringBytes: ringBytes, payload: payload, offset: offset, count: n))
        count &+= 1
        referencedBytes &+= n
        trailing = 0
        cursor = bufferOffset
    }

    /// The driver, after `produce` returned: it wrote `n` bytes into its buffer.
    @inlinable
    public func produced(_ n: Int) {
        if _fastPath(count == 0) {
            trailing &+= n
            return
        }
        finishProduce(n)
    }

    @usableFromInline
    func finishProduce(_ n: Int) {
        precondition(n >= cursor, "produce reported \(n) bytes, fewer than it gathered after")
        trailing &+= n &- cursor
        cursor = 0
    }

    /// The driver: the kernel took `n` bytes of the stream. Returns how many of them were
    /// buffer bytes (to consume from the buffer); payloads written in full are released.
    @inlinable
    public func advance(_ n: Int) -> Int {
        if _fastPath(count == 0) {
            trailing &-= n
            return n
        }
        return advanceThroughEntries(n)
    }

    @usableFromInline
    func advanceThroughEntries(_ n: Int) -> Int {
        var left = n
        var ring = 0
        let s = storage.unsafelyUnwrapped
        while left > 0 && count > 0 {
            let e = s + head
            let before = Swift.min(e.pointee.ringBytes, left)
            e.pointee.ringBytes &-= before
            ring &+= before
            left &-= before
            guard e.pointee.ringBytes == 0 else { break }
            let taken = Swift.min(e.pointee.count, left)
            e.pointee.offset &+= taken
            e.pointee.count &-= taken
            referencedBytes &-= taken
            left &-= taken
            guard e.pointee.count == 0 else { break }
            // Written in full: the payload is released here, not before.
            e.deinitialize(count: 1)
            head = (head &+ 1) % capacity
            count &-= 1
        }
        precondition(left <= trailing, "the kernel took \(n) bytes, more than were pending")
        trailing &-= left
        return ring &+ left
    }

    /// Releases every payload (the connection closed; what was unsent is not sent) and
    /// forgets the buffer bytes. Never while a transfer still reads from the payloads.
    public func removeAll() {
        if let s = storage {
            for i in 0..<count { (s + (head &+ i) % capacity).deinitialize(count: 1) }
        }
        head = 0
        count = 0
        referencedBytes = 0
        trailing = 0
        cursor = 0
    }
}
