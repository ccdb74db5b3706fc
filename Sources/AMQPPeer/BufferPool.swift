/// Arrays of consumed messages, kept to hold the next messages that arrive, so that
/// storing a message does not allocate in steady state.
///
/// The engine sends a message's array without copying it and lets go of it once it is
/// written. A buffer comes back when its message is finished with; for a pre-settled
/// delivery that is as soon as it is handed to the engine, before it is written. Emptying
/// a buffer the engine still holds would allocate a fresh one (copy on write keeps it
/// correct, only not free), so buffers are taken oldest first and only while more than
/// `reserve` wait: the newest `reserve` are left time to be written. When a buffer taken
/// was still held anyway, the reserve doubles (up to `maxBuffers`).
///
/// The pool is bounded by its owner: `put` is told how many bytes it may keep.
struct BufferPool {
    /// Most buffers kept.
    static let maxBuffers = 65_536
    /// Largest buffer kept: bigger ones go back to the allocator.
    static let maxBufferCapacity = 64 << 10

    private var ring: [[UInt8]] = []
    private var head = 0
    private(set) var count = 0
    /// Sum of the capacities of the buffers kept.
    private(set) var bytes = 0
    /// Buffers left untouched at the new end.
    private(set) var reserve = 8

    /// An empty array with room for `size` bytes: a kept one when there is one to spare.
    mutating func take(size: Int) -> [UInt8] {
        guard count > reserve else { return [UInt8](unsafeUninitializedCapacity: size) { _, n in n = 0 } }
        var buffer = ring[head]
        ring[head] = []
        head = (head + 1) & (ring.count - 1)
        count -= 1
        bytes -= buffer.capacity
        let before = buffer.withUnsafeBufferPointer { $0.baseAddress }
        buffer.removeAll(keepingCapacity: true)
        if buffer.withUnsafeBufferPointer({ $0.baseAddress }) != before {
            // Still held (by the engine, not yet written): it was copied. Leave more time.
            reserve = Swift.min(reserve * 2, Self.maxBuffers / 2)
        }
        if buffer.capacity < size { buffer.reserveCapacity(size) }
        return buffer
    }

    /// Keeps `buffer` if it fits in `room` bytes (and the pool's own bounds).
    mutating func put(_ buffer: consuming [UInt8], room: Int) {
        let capacity = buffer.capacity
        guard capacity > 0, capacity <= Self.maxBufferCapacity, bytes + capacity <= room, count < Self.maxBuffers else { return }
        if count == ring.count { grow() }
        ring[(head + count) & (ring.count - 1)] = buffer
        count += 1
        bytes += capacity
    }

    /// Lets every buffer go.
    mutating func removeAll() {
        ring = []
        head = 0
        count = 0
        bytes = 0
    }

    private mutating func grow() {
        let capacity = Swift.max(16, ring.count * 2)
        var fresh = [[UInt8]](repeating: [], count: capacity)
        for i in 0..<count { fresh[i] = ring[(head + i) & (ring.count - 1)] }
        ring = fresh
        head = 0
    }
}
