import CAMQPLinux
import Glibc
import Synchronization

/// A fixed-size byte queue for one direction of one connection: the transport writes at
/// the tail, the protocol reads (and later releases) at the head, and both sides always
/// see one contiguous span.
///
/// ```swift
/// var ring = try ByteRing(minimumCapacity: 64 << 10)
/// let n = recv(fd, ring.writable.baseAddress, ring.writable.count, 0)
/// ring.commitWrite(n)
/// let used = engine.receive(ring.readable, now: now)
/// ring.consume(used)
/// ```
///
/// Two storages, same behaviour:
///
/// - `.mirrored`: one memfd mapped twice back to back (`camqp_mirror_map`), so byte
///   `capacity + k` is byte `k`. Readable and writable regions are contiguous even when
///   they wrap, and nothing is ever moved.
/// - `.compacting`: a plain allocation; `reclaim()` moves the unread bytes to the front
///   (`memmove`) once the space released there is at least the space left at the end.
///   Used when memfd or mmap is unavailable or refused, and past `mirroredRingLimit`.
///
/// `Docs/reactor.md` has the measurements behind the default (`.automatic` prefers
/// `.mirrored`).
///
/// Pointers from `readable` and `writable` stay valid until the next call that changes
/// the ring (`commitWrite`, `consume`, `reclaim`) and never outlive the ring. Bytes in `readable` are not overwritten until they are
/// consumed, so a parser may hand out views into them and release them later.
public struct ByteRing: ~Copyable {
    /// How the bytes are stored.
    public enum Storage: Hashable, Sendable, CustomStringConvertible {
        /// A memfd mapped twice back to back: never copies.
        case mirrored
        /// A plain buffer that moves unread bytes to the front when it must.
        case compacting

        /// `mirrored` or `compacting`.
        public var description: String { self == .mirrored ? "mirrored" : "compacting" }
    }

    /// Which storage to use.
    public enum StoragePreference: Hashable, Sendable {
        /// Mirrored when the system allows it, else compacting.
        case automatic
        /// Mirrored, or fail.
        case mirrored
        /// Compacting.
        case compacting
    }

    /// Bytes the ring holds when full: a multiple of the page size (0 once its memory
    /// went back to a pool).
    public private(set) var capacity: Int
    /// The storage in use.
    public let storage: Storage
    private let base: UnsafeMutableRawPointer
    /// Offset of the first unread byte; always < `capacity` (mirrored) or <= it.
    private var head = 0
    /// Bytes written and not yet consumed.
    public private(set) var count = 0
    /// Bytes moved to the front by compaction so far (always 0 when mirrored).
    public private(set) var bytesCompacted = 0

    /// Creates an empty ring of at least `minimumCapacity` bytes, rounded up to a whole
    /// number of pages.
    ///
    /// - Throws: `ReactorError` when `.mirrored` was required and the mapping failed, or
    ///   when no memory could be had at all.
    public init(minimumCapacity: Int, storage preference: StoragePreference = .automatic) throws(ReactorError) {
        precondition(minimumCapacity > 0, "a ring needs room for at least one byte")
        let page = Self.pageSize
        let (rounded, overflow) = minimumCapacity.addingReportingOverflow(page - 1)
        guard !overflow else {
            throw ReactorError(.invalidArgument, operation: "ByteRing", detail: "\(minimumCapacity) bytes is too large")
        }
        let capacity = rounded / page * page
        (base, storage) = try Self.allocate(capacity, preference)
        self.capacity = capacity
    }

    private static func allocate(
        _ capacity: Int, _ preference: StoragePreference
    ) throws(ReactorError) -> (UnsafeMutableRawPointer, Storage) {
        // `.automatic` stays within the budget; `.mirrored` was asked for explicitly and
        // only the kernel can refuse it.
        if preference == .mirrored || (preference == .automatic && claimMirror()) {
            var mirror = camqp_mirror_t()
            // Named, so byte rings are recognizable in /proc/<pid>/maps (and told apart
            // from other mirrors of the process).
            let rc = camqp_mirror_map_named(capacity, "amqp-byte-ring", &mirror)
            if rc == 0, let mapped = mirror.base {
                if preference == .mirrored { liveMirrors.add(1, ordering: .relaxed) }
                return (UnsafeMutableRawPointer(mapped), .mirrored)
            }
            if preference == .mirrored {
                throw ReactorError.system("camqp_mirror_map", errno: -rc, detail: "\(capacity) bytes")
            }
            liveMirrors.subtract(1, ordering: .relaxed)
        }
        // Page-aligned, so that whole pages can be given back (`giveBackMemory`) while the
        // allocation stays ours: malloc's own bookkeeping lies before `base`, outside
        // the pages handed back.
        var memory: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&memory, Int(camqp_page_size()), capacity) == 0, let memory else {
            throw ReactorError(.outOfMemory, errno: ENOMEM, operation: "posix_memalign", detail: "\(capacity) bytes")
        }
        return (memory, .compacting)
    }

    /// A ring's memory without its read and write positions: what a `RingPool` keeps
    /// between one connection and the next. Owns the mapping or allocation; `free()`
    /// releases it, and nothing else does.
    struct Memory {
        let base: UnsafeMutableRawPointer
        let capacity: Int
        let storage: Storage

        /// Gives the pages back to the kernel (see `ByteRing.giveBackMemory`); false if
        /// the kernel refused.
        @discardableResult
        func giveBack() -> Bool {
            camqp_memory_give_back(base, capacity, storage == .mirrored) == 0
        }

        /// Pages of the ring that are resident now (mincore), or nil if the kernel
        /// cannot say.
        var residentPages: Int? {
            let n = camqp_resident_pages(base, capacity)
            return n >= 0 ? n : nil
        }

        /// Unmaps or frees the memory (and gives a mirrored ring's place in the budget
        /// back).
        func free() {
            switch storage {
            case .mirrored:
                var mirror = camqp_mirror_t(base: base.assumingMemoryBound(to: UInt8.self), size: capacity)
                let rc = camqp_mirror_unmap(&mirror)
                precondition(rc == 0, "camqp_mirror_unmap failed with \(ErrnoName.of(-rc)): the ring's mapping was damaged")
                ByteRing.liveMirrors.subtract(1, ordering: .relaxed)
            case .compacting:
                Glibc.free(base)
            }
        }
    }

    /// An empty ring over memory a `RingPool` kept: no mapping, no allocation.
    init(reusing memory: Memory) {
        base = memory.base
        capacity = memory.capacity
        storage = memory.storage
    }

    /// Hands the ring's memory to the caller (to keep it for another ring, or to `free()`
    /// it) and leaves the ring empty with no room at all: capacity 0, nothing to free.
    /// The read and write positions are dropped: a ring made from the memory again
    /// starts empty. `nil` if the memory was already handed over.
    mutating func surrenderMemory() -> Memory? {
        guard capacity > 0 else { return nil }
        let memory = Memory(base: base, capacity: capacity, storage: storage)
        capacity = 0
        head = 0
        count = 0
        return memory
    }

    /// The ring's memory, for the pool's and the tests' accounting.
    var memory: Memory { Memory(base: base, capacity: capacity, storage: storage) }

    /// Pages of the ring resident now (mincore): how much memory it really holds.
    package var residentPages: Int? { capacity > 0 ? memory.residentPages : 0 }

    /// Gives the ring's pages back to the kernel while it is empty: an idle connection
    /// then holds address space but (almost) no memory, and the next byte written costs
    /// one fresh zeroed page. Starts over at the front, so that page is the first.
    ///
    /// The caller guarantees no transfer is in flight into or out of the ring (an
    /// io_uring request): the kernel must not be writing into pages being removed.
    /// Returns false when the ring is not empty or the kernel refused (the memory then
    /// simply stays).
    @discardableResult
    package mutating func giveBackMemory() -> Bool {
        guard count == 0 else { return false }
        head = 0
        return memory.giveBack()
    }

    deinit {
        if capacity > 0 { Memory(base: base, capacity: capacity, storage: storage).free() }
    }

    /// The system page size: ring capacities are multiples of it.
    static let pageSize = Int(camqp_page_size())

    // MARK: The budget of mirrored rings

    /// Mirrored rings alive in the process.
    private static let liveMirrors = Atomic<Int>(0)
    /// See `mirroredRingLimit`.
    private static let mirrorLimit = Atomic<Int>(defaultMirroredRingLimit)

    /// The most mirrored rings `.automatic` makes at once in this process; past it, new
    /// rings are compacting. Each mirrored ring is two memory mappings, and a process may
    /// hold only `vm.max_map_count` of them (65,530 by default) for everything: thread
    /// stacks, malloc arenas, libraries. Running into that limit would make any mmap in
    /// the process fail, not just the ring's, so rings get half of it by default (16,382
    /// rings, 8,191 connections with two mirrored rings each; the other half stays for
    /// the rest of the process).
    public static var mirroredRingLimit: Int {
        get { mirrorLimit.load(ordering: .relaxed) }
        set { mirrorLimit.store(max(0, newValue), ordering: .relaxed) }
    }

    /// Mirrored rings alive in this process now.
    public static var mirroredRingCount: Int { liveMirrors.load(ordering: .relaxed) }

    /// Half of `vm.max_map_count`, in rings of two mappings each.
    static let defaultMirroredRingLimit: Int = {
        var maps = 65_530
        if let file = fopen("/proc/sys/vm/max_map_count", "r") {
            if let value = readInteger(from: file), value > 0 { maps = value }
            fclose(file)
        }
        return maps / 2 / 2
    }()

    /// Takes one place in the budget, if there is one left.
    private static func claimMirror() -> Bool {
        let count = liveMirrors.add(1, ordering: .relaxed).newValue
        if count <= mirrorLimit.load(ordering: .relaxed) { return true }
        liveMirrors.subtract(1, ordering: .relaxed)
        return false
    }

    /// True when no byte is waiting to be read.
    public var isEmpty: Bool { count == 0 }
    /// True when no byte can be written.
    public var isFull: Bool { count == capacity }
    /// Bytes that can still be written.
    public var freeCount: Int { capacity - count }

    /// The unread bytes, oldest first, as one contiguous span.
    public var readable: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + head, count: count)
    }

    /// The space after the unread bytes, as one contiguous span.
    ///
    /// Mirrored: all of `freeCount`. Compacting: the space between the unread bytes and
    /// the end of the buffer, which is less than `freeCount` once bytes have been consumed
    /// from the front; `reclaim()` moves the unread bytes back to the front. Reading this
    /// never moves anything, so views into `readable` stay valid.
    public var writable: UnsafeMutableRawBufferPointer {
        // Mirrored: head < capacity and count <= capacity, so head + capacity stays inside
        // the second mapping.
        let room = storage == .mirrored ? capacity - count : capacity - head - count
        return UnsafeMutableRawBufferPointer(start: base + head + count, count: room)
    }

    /// Compacting storage: moves the unread bytes to the front when the space released at
    /// the front is at least as large as the space left at the end, so that every move at
    /// least doubles `writable` and its cost is amortized over the bytes written since.
    /// Mirrored storage: does nothing. Returns true if bytes moved.
    ///
    /// Moving invalidates every pointer into `readable`: call it only when no view into
    /// the unread bytes is held (the reactor calls it right after releasing what the
    /// application has seen).
    @discardableResult
    public mutating func reclaim() -> Bool {
        guard storage == .compacting, head > 0 else { return false }
        if count == 0 {
            // Nothing to move: starting over at the front is free, and it keeps a reader
            // that keeps up from ever paying for a move.
            head = 0
            return false
        }
        guard head >= capacity - head - count else { return false }
        memmove(base, base + head, count)
        bytesCompacted += count
        head = 0
        return true
    }

    /// Marks `n` bytes at the start of `writable` as written.
    public mutating func commitWrite(_ n: Int) {
        let room = storage == .mirrored ? capacity - count : capacity - head - count
        precondition(n >= 0 && n <= room, "commitWrite(\(n)) with \(room) bytes writable")
        count += n
    }

    /// Releases the first `n` unread bytes; their memory may be written again.
    ///
    /// Never moves or re-bases anything, so a transfer into `writable` that is still in
    /// flight (an io_uring recv) lands where `commitWrite` expects it.
    public mutating func consume(_ n: Int) {
        precondition(n >= 0 && n <= count, "consume(\(n)) with \(count) bytes readable")
        count -= n
        head += n
        if storage == .mirrored && head >= capacity { head -= capacity }
    }
}

/// The decimal integer on the first line of `file` (fscanf is variadic: Swift cannot
/// call it).
private func readInteger(from file: UnsafeMutablePointer<FILE>) -> Int? {
    var line = [CChar](repeating: 0, count: 32)
    guard fgets(&line, Int32(line.count), file) != nil else { return nil }
    return Int(String(decoding: line.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
}
