/// A FIFO queue on a circular buffer that keeps its capacity, so a steady stream of
/// pushes and pops allocates nothing once it has grown to the working size.
///
/// Elements move in and out (`append` consumes, `popFirst` takes the slot's value and
/// leaves `nil`), and `withFirst` lends the head in place: events and queued deliveries
/// are large enums and structs, and each copy of one costs a call through its value
/// witness and a retain per reference it holds, per message.
struct RingQueue<Element> {
    private var storage: [Element?] = []
    private var head = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    @inline(__always)
    mutating func append(_ element: consuming Element) {
        if count == storage.count { grow() }
        var i = head &+ count
        if i >= storage.count { i &-= storage.count }
        storage[i] = consume element
        count &+= 1
    }

    /// A copy of the first element; hot paths use `withFirst` instead.
    var first: Element? { count == 0 ? nil : storage[head] }

    /// Calls `body` with the first element in place (the queue must not be empty).
    @inline(__always)
    func withFirst<R>(_ body: (borrowing Element) -> R) -> R {
        precondition(count > 0, "withFirst on an empty queue")
        return storage.withUnsafeBufferPointer { body($0[head].unsafelyUnwrapped) }
    }

    /// Replaces the first element (the queue must not be empty).
    mutating func replaceFirst(with element: Element) {
        precondition(count > 0, "replaceFirst on an empty queue")
        storage[head] = element
    }

    @discardableResult
    @inline(__always)
    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let e = storage[head].take()
        head &+= 1
        if head == storage.count { head = 0 }
        count &-= 1
        return e
    }

    /// Removes the first element without handing it back.
    @inline(__always)
    mutating func removeFirst() {
        precondition(count > 0, "removeFirst on an empty queue")
        storage[head] = nil
        head &+= 1
        if head == storage.count { head = 0 }
        count &-= 1
    }

    mutating func removeAll() {
        while popFirst() != nil {}
    }

    private mutating func grow() {
        let newCapacity = Swift.max(8, storage.count * 2)
        var fresh = [Element?](repeating: nil, count: newCapacity)
        for i in 0..<count { fresh[i] = storage[(head &+ i) % storage.count].take() }
        storage = fresh
        head = 0
    }
}
