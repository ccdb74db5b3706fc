/// A FIFO queue on a circular buffer that keeps its capacity, so a steady stream of
/// pushes and pops allocates nothing once it has grown to the working size.
///
/// Elements move in and out (`append` consumes, `popFirst` hands the element over) and
/// `firstAddress` lends the head in place: events and queued deliveries are large enums and
/// structs, and each copy of one costs a call through its value witness and a retain per
/// reference it holds, per message.
///
/// The slots are raw memory holding `Element`s, not an array of `Element?`: writing a
/// slot of an array of optionals destroys the `nil` it held, and emptying one destroys an
/// `Optional<Element>`, both through the runtime's generic value witnesses when
/// `Element` is large. Here an element is initialized into a free slot and moved out of a
/// full one; only the live range is ever destroyed. The storage is copied on write, so
/// the queue keeps value semantics.
///
/// Popping is inlinable, for `ConnectionEngine.nextEvent()`: inlined into the caller's
/// module, the event it returns stays in registers and is destroyed inline there; called
/// across modules, an event wider than four registers comes back in memory and is
/// destroyed through the runtime's value witnesses.
@usableFromInline
struct RingQueue<Element> {
    @usableFromInline var storage: RingStorage<Element>? = nil

    init() {}

    @inlinable var count: Int { storage?.count ?? 0 }
    @inlinable var isEmpty: Bool { count == 0 }

    /// The storage, unique to this queue, with room for `extra` more elements.
    @inlinable @inline(__always)
    mutating func unique(extra: Int) -> RingStorage<Element> {
        if _slowPath(storage == nil) {
            storage = RingStorage(capacity: 8)
        } else if _slowPath(!isKnownUniquelyReferenced(&storage) || storage.unsafelyUnwrapped.count &+ extra > storage.unsafelyUnwrapped.capacity) {
            storage = storage.unsafelyUnwrapped.copy(minimumCapacity: storage.unsafelyUnwrapped.count &+ extra)
        }
        return storage.unsafelyUnwrapped
    }

    @inline(__always)
    mutating func append(_ element: consuming Element) {
        // Unowned: the queue holds the storage; a strong local would retain it.
        unowned(unsafe) let s = unique(extra: 1)
        var i = s.head &+ s.count
        if i >= s.capacity { i &-= s.capacity }
        (s.slots + i).initialize(to: element)
        s.count &+= 1
    }

    /// A copy of the first element; hot paths use `firstAddress` instead.
    var first: Element? {
        guard let s = storage, s.count > 0 else { return nil }
        return s.slots[s.head]
    }

    /// The first element's address, valid until the queue is next changed (the queue
    /// must not be empty).
    @inline(__always)
    var firstAddress: UnsafePointer<Element> {
        precondition(count > 0, "firstAddress of an empty queue")
        unowned(unsafe) let s = storage.unsafelyUnwrapped
        return UnsafePointer(s.slots + s.head)
    }

    /// Replaces the first element (the queue must not be empty).
    mutating func replaceFirst(with element: Element) {
        precondition(count > 0, "replaceFirst on an empty queue")
        let s = unique(extra: 0)
        s.slots[s.head] = element
    }

    @discardableResult
    @inlinable @inline(__always)
    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        return takeFirst()
    }

    /// Removes the first element without handing it back (the queue must not be empty).
    @inline(__always)
    mutating func removeFirst() {
        precondition(count > 0, "removeFirst on an empty queue")
        // Moved out as an `Element`, whose destruction is laid out inline.
        _ = takeFirst()
    }

    @inlinable @inline(__always)
    mutating func takeFirst() -> Element {
        unowned(unsafe) let s = unique(extra: 0)
        let e = (s.slots + s.head).move()
        s.head &+= 1
        if s.head == s.capacity { s.head = 0 }
        s.count &-= 1
        return e
    }

    mutating func removeAll() {
        while count > 0 { removeFirst() }
    }
}

/// The slots of a `RingQueue` and its live range, which it destroys when it goes.
///
/// The head and count live in raw memory rather than in stored `var`s: a class's stored
/// variable that other modules may reach (the queue is inlinable) is checked for
/// exclusive access at run time on every use.
@usableFromInline
final class RingStorage<Element> {
    @usableFromInline let slots: UnsafeMutablePointer<Element>
    @usableFromInline let capacity: Int
    /// `[head, count]`.
    @usableFromInline let range: UnsafeMutablePointer<Int>

    @inlinable var head: Int {
        @inline(__always) get { range[0] }
        @inline(__always) set { range[0] = newValue }
    }

    @inlinable var count: Int {
        @inline(__always) get { range[1] }
        @inline(__always) set { range[1] = newValue }
    }

    @usableFromInline
    init(capacity: Int) {
        self.capacity = capacity
        slots = .allocate(capacity: capacity)
        range = .allocate(capacity: 2)
        range.initialize(repeating: 0, count: 2)
    }

    /// A copy with the elements oldest first and room for at least `minimumCapacity`
    /// (for a shared storage, or a full one: rare, so copying is simpler than moving).
    @usableFromInline
    func copy(minimumCapacity: Int) -> RingStorage {
        var capacity = Swift.max(8, self.capacity)
        while capacity < minimumCapacity { capacity &*= 2 }
        let fresh = RingStorage(capacity: capacity)
        for k in 0..<count {
            var i = head &+ k
            if i >= self.capacity { i &-= self.capacity }
            (fresh.slots + k).initialize(to: slots[i])
        }
        fresh.count = count
        return fresh
    }

    deinit {
        for k in 0..<count {
            var i = head &+ k
            if i >= capacity { i &-= capacity }
            (slots + i).deinitialize(count: 1)
        }
        slots.deallocate()
        range.deallocate()
    }
}
