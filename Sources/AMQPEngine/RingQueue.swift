/// A FIFO queue on a circular buffer that keeps its capacity, so a steady stream of
/// pushes and pops allocates nothing once it has grown to the working size.
struct RingQueue<Element> {
    private var storage: [Element?] = []
    private var head = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    mutating func append(_ element: Element) {
        if count == storage.count { grow() }
        storage[(head &+ count) % storage.count] = element
        count &+= 1
    }

    var first: Element? { count == 0 ? nil : storage[head] }

    /// Replaces the first element (the queue must not be empty).
    mutating func replaceFirst(with element: Element) {
        precondition(count > 0, "replaceFirst on an empty queue")
        storage[head] = element
    }

    @discardableResult
    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let e = storage[head]
        storage[head] = nil
        head = (head &+ 1) % storage.count
        count &-= 1
        return e
    }

    mutating func removeAll() {
        while popFirst() != nil {}
    }

    private mutating func grow() {
        let newCapacity = Swift.max(8, storage.count * 2)
        var fresh = [Element?](repeating: nil, count: newCapacity)
        for i in 0..<count { fresh[i] = storage[(head &+ i) % storage.count] }
        storage = fresh
        head = 0
    }
}
