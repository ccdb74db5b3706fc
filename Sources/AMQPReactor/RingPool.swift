/// Rings released by closed connections, kept for the next ones: one per reactor, used only
/// on its thread.
///
/// Making a mirrored ring costs about 45 µs (memfd_create, ftruncate, three mmaps, and a
/// munmap when it goes), four rings per connection pair: most of a connection's set-up
/// and tear-down. A ring taken from the pool costs nothing but the search. A released
/// ring comes back empty (a ring made from pooled memory starts with no bytes and its
/// positions at the front); its old contents are not read again, since nothing reads
/// past what is written.
///
/// Bounded twice: at most `maximumCount` rings and `maximumBytes` of ring capacity are
/// kept; a ring that would exceed either is freed at once. Memory is given back: a ring
/// that has sat in the pool for `trimDelay` has its pages returned to the kernel
/// (MADV_REMOVE for a mirrored ring, MADV_DONTNEED for a compacting one), so a pool left
/// full after a burst of connections holds address space, not memory. Rings are taken
/// newest first, so the ones in use stay warm and the ones left over age and are trimmed.
package final class RingPool {
    private struct Entry {
        let memory: ByteRing.Memory
        /// When it was released (monotonic ns).
        let releasedAt: UInt64
    }

    /// Most rings kept.
    package let maximumCount: Int
    /// Most bytes of ring capacity kept.
    package let maximumBytes: Int
    /// How long a pooled ring keeps its pages; nil: never given back.
    let trimDelay: UInt64?

    /// Oldest first; `entries[..<trimmedCount]` have given their pages back, and the rest
    /// are in release order (so the oldest untrimmed one is at `trimmedCount`). Taken
    /// from the end (newest first).
    private var entries: [Entry] = []
    private var trimmedCount = 0
    /// Capacity of the rings kept, in bytes.
    package private(set) var bytes = 0

    /// Rings handed out from the pool (instead of being made).
    package private(set) var reused = 0
    /// Rings made because the pool had none that fit.
    package private(set) var made = 0
    /// Rings freed at once on release because the pool was full.
    package private(set) var discarded = 0
    /// Rings whose pages were given back while they waited.
    package private(set) var trimmed = 0

    /// A pool of at most `maximumCount` rings and `maximumBytes` of capacity (either 0:
    /// no pooling), giving a ring's pages back once it has waited `trimDelay`.
    package init(maximumCount: Int, maximumBytes: Int, trimDelay: Duration?) {
        self.maximumCount = max(0, maximumCount)
        self.maximumBytes = max(0, maximumBytes)
        self.trimDelay = trimDelay?.wholeNanoseconds
    }

    deinit {
        for entry in entries { entry.memory.free() }
    }

    /// Rings kept now.
    package var count: Int { entries.count }
    /// Rings kept now that still hold their pages.
    package var warmCount: Int { entries.count - trimmedCount }

    /// An empty ring of at least `minimumCapacity` bytes: a pooled one of exactly the
    /// rounded capacity and an acceptable storage if there is one, else a new one.
    package func take(minimumCapacity: Int, storage preference: ByteRing.StoragePreference) throws(ReactorError) -> ByteRing {
        let page = ByteRing.pageSize
        if minimumCapacity > 0, minimumCapacity <= Int.max - page, !entries.isEmpty {
            let capacity = (minimumCapacity + page - 1) / page * page
            var i = entries.count - 1
            while i >= 0 {
                let memory = entries[i].memory
                if memory.capacity == capacity && Self.accepts(preference, memory.storage) {
                    entries.remove(at: i)
                    if i < trimmedCount { trimmedCount -= 1 }
                    bytes -= capacity
                    reused += 1
                    return ByteRing(reusing: memory)
                }
                i -= 1
            }
        }
        made += 1
        return try ByteRing(minimumCapacity: minimumCapacity, storage: preference)
    }

    /// `.automatic` takes either storage (a compacting ring is only pooled when the
    /// mirrored budget had run out when it was made); an explicit preference only its own.
    private static func accepts(_ preference: ByteRing.StoragePreference, _ storage: ByteRing.Storage) -> Bool {
        switch preference {
        case .automatic: return true
        case .mirrored: return storage == .mirrored
        case .compacting: return storage == .compacting
        }
    }

    /// Takes a ring's memory back for reuse (leaving the ring with none), or frees it
    /// when the pool is full.
    ///
    /// The caller guarantees no transfer into or out of the ring is in flight.
    package func give(_ ring: inout ByteRing, now: UInt64) {
        guard let memory = ring.surrenderMemory() else { return }
        guard entries.count < maximumCount, memory.capacity <= maximumBytes - bytes else {
            discarded += 1
            memory.free()
            return
        }
        entries.append(Entry(memory: memory, releasedAt: now))
        bytes += memory.capacity
    }

    /// When the oldest ring that still holds its pages is due to give them back.
    package var nextTrim: UInt64? {
        guard let delay = trimDelay, trimmedCount < entries.count else { return nil }
        return entries[trimmedCount].releasedAt &+ delay
    }

    /// Gives back the pages of every ring that has waited `trimDelay` by `now`.
    package func trim(now: UInt64) {
        while let due = nextTrim, due <= now {
            // A refusal (a seccomp policy, say) leaves the pages where they were; the
            // ring is still counted as handled, so it is not tried on every tick.
            entries[trimmedCount].memory.giveBack()
            trimmedCount += 1
            trimmed += 1
        }
    }

    /// Gives back the pages of every ring in the pool at once.
    package func trimAll() {
        while trimmedCount < entries.count {
            entries[trimmedCount].memory.giveBack()
            trimmedCount += 1
            trimmed += 1
        }
    }

    /// Resident pages of the pooled rings (mincore), for tests and measurements.
    package var residentPages: Int {
        entries.reduce(0) { $0 + ($1.memory.residentPages ?? 0) }
    }
}
