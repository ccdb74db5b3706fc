import AMQPReactor
import AMQPTesting
import CAMQPLinux
import Testing

// Inside the serialized reactor suite: the mirrored-ring budget is per process, and the
// scale test counts the process's mirrored rings before and after.
extension ReactorTests {
    @Suite("ByteRing")
    struct ByteRingTests {
        static let page = Int(camqp_page_size())

        @Test(arguments: [ByteRing.StoragePreference.mirrored, .compacting])
        func capacityIsRoundedUpToWholePages(_ preference: ByteRing.StoragePreference) throws {
            let one = try ByteRing(minimumCapacity: 1, storage: preference)
            #expect(one.capacity == Self.page)
            let more = try ByteRing(minimumCapacity: Self.page + 1, storage: preference)
            #expect(more.capacity == 2 * Self.page)
            let exact = try ByteRing(minimumCapacity: 4 * Self.page, storage: preference)
            #expect(exact.capacity == 4 * Self.page)
            #expect(exact.storage == (preference == .mirrored ? .mirrored : .compacting))
            #expect(exact.isEmpty && exact.freeCount == exact.capacity && exact.writable.count == exact.capacity)
        }

        @Test func automaticPrefersTheMirror() throws {
            let ring = try ByteRing(minimumCapacity: 1)
            #expect(ring.storage == .mirrored)
        }

        /// Past `mirroredRingLimit`, `.automatic` makes compacting rings (and `.mirrored`,
        /// asked for explicitly, is still honoured); unmapping a ring gives its place back.
        @Test func automaticStaysWithinTheMirroredRingBudget() throws {
            let saved = ByteRing.mirroredRingLimit
            defer { ByteRing.mirroredRingLimit = saved }
            #expect(saved >= 1000, "half of vm.max_map_count, in rings")
            let live = ByteRing.mirroredRingCount
            ByteRing.mirroredRingLimit = live + 1
            do {
                let first = try ByteRing(minimumCapacity: 1)
                #expect(first.storage == .mirrored)
                #expect(ByteRing.mirroredRingCount == live + 1)
                let second = try ByteRing(minimumCapacity: 1)
                #expect(second.storage == .compacting, "over the budget")
                let explicit = try ByteRing(minimumCapacity: 1, storage: .mirrored)
                #expect(explicit.storage == .mirrored)
                #expect(ByteRing.mirroredRingCount == live + 2)
            }
            #expect(ByteRing.mirroredRingCount == live, "unmapped rings leave the count")
            let again = try ByteRing(minimumCapacity: 1)
            #expect(again.storage == .mirrored, "and their places can be taken again")
        }

        /// Bytes written across the end of the mapping read back in order, as one span, and
        /// are the same memory as the start of the ring.
        @Test func mirroredSpansWrapContiguously() throws {
            var ring = try ByteRing(minimumCapacity: 1, storage: .mirrored)
            let cap = ring.capacity
            // Move the head to 100 bytes before the end.
            ring.commitWrite(cap - 100)
            ring.consume(cap - 100)
            let emptied = ring.isEmpty
            #expect(emptied)
            let room = ring.writable
            #expect(room.count == cap)
            for i in 0..<300 { room[i] = UInt8(truncatingIfNeeded: i) }
            ring.commitWrite(300)
            let span = ring.readable
            #expect(span.count == 300)
            #expect(Array(span) == (0..<300).map { UInt8(truncatingIfNeeded: $0) })
            // The 200 bytes past the end are the first 200 bytes of the ring: consume up to the
            // wrap and they are still readable at the (now wrapped) head.
            ring.consume(100)
            #expect(Array(ring.readable) == (100..<300).map { UInt8(truncatingIfNeeded: $0) })
            // And the writable span after them wraps the other way, ending where data starts.
            let after = ring.writable
            #expect(after.count == cap - 200)
            #expect(after.baseAddress! == UnsafeMutableRawPointer(mutating: ring.readable.baseAddress!) + 200)
            // Filling it completely and reading the whole ring back keeps order.
            for i in 0..<after.count { after[i] = 0xEE }
            ring.commitWrite(after.count)
            #expect(ring.isFull && ring.writable.isEmpty)
            let all = ring.readable
            #expect(all.count == cap)
            #expect(Array(all.prefix(200)) == (100..<300).map { UInt8(truncatingIfNeeded: $0) })
            #expect(all.dropFirst(200).allSatisfy { $0 == 0xEE })
            #expect(ring.bytesCompacted == 0)
        }

        /// Random writes, reads and reclaims against a plain array model, for both storages,
        /// over many wraps.
        @Test(arguments: [ByteRing.StoragePreference.mirrored, .compacting])
        func randomTrafficMatchesAModel(_ preference: ByteRing.StoragePreference) throws {
            var ring = try ByteRing(minimumCapacity: 2 * Self.page, storage: preference)
            var model: [UInt8] = []
            var modelStart = 0
            var rng = SeededGenerator(seed: 0x5eed_0001)
            var next: UInt8 = 0
            var written = 0
            for _ in 0..<4_000 {
                switch rng.next() % 3 {
                case 0, 1:
                    let room = ring.writable
                    let n = room.isEmpty ? 0 : Int.random(in: 0...min(room.count, 3000), using: &rng)
                    for i in 0..<n {
                        room[i] = next
                        model.append(next)
                        next &+= 1
                    }
                    ring.commitWrite(n)
                    written += n
                default:
                    let available = ring.count
                    let n = available == 0 ? 0 : Int.random(in: 0...available, using: &rng)
                    ring.consume(n)
                    modelStart += n
                    if rng.next() % 4 == 0 { ring.reclaim() }
                }
                let unread = model[modelStart...]
                #expect(ring.count == unread.count)
                #expect(ring.readable.elementsEqual(unread))
                if preference == .mirrored { #expect(ring.writable.count == ring.freeCount) }
                if modelStart > 1 << 16 {
                    model.removeFirst(modelStart)
                    modelStart = 0
                }
            }
            #expect(written > 20 * ring.capacity, "the test wrapped the ring many times")
        }

        @Test func compactingMovesOnlyWhenItAtLeastDoublesTheRoom() throws {
            var ring = try ByteRing(minimumCapacity: 1, storage: .compacting)
            let cap = ring.capacity
            ring.commitWrite(cap)
            ring.consume(cap / 4)
            // Front gap cap/4, tail gap 0: worth it.
            #expect(ring.writable.count == 0)
            let moved1 = ring.reclaim()
            #expect(moved1)
            #expect(ring.writable.count == cap / 4)
            #expect(ring.bytesCompacted == cap - cap / 4)
            // Tail gap cap/4, front gap cap/8: not worth it.
            ring.consume(cap / 8)
            let moved2 = ring.reclaim()
            #expect(!moved2)
            #expect(ring.writable.count == cap / 4)
            // Consuming everything makes the front free without a move.
            ring.consume(ring.count)
            let moved = ring.bytesCompacted
            let moved3 = ring.reclaim()
            #expect(!moved3)
            #expect(ring.writable.count == cap && ring.bytesCompacted == moved)
        }

        @Test func mirroredReclaimNeverMoves() throws {
            var ring = try ByteRing(minimumCapacity: 1, storage: .mirrored)
            ring.commitWrite(ring.capacity)
            ring.consume(10)
            let moved4 = ring.reclaim()
            #expect(!moved4)
            #expect(ring.writable.count == 10)
        }

        /// The two views are real mappings of one named memfd, back to back.
        @Test func mirroredRingsAreTwoAdjacentViewsOfANamedMemfd() throws {
            let ring = try ByteRing(minimumCapacity: 3 * Self.page, storage: .mirrored)
            let base = UInt(bitPattern: ring.readable.baseAddress!)
            let capacity = UInt(ring.capacity)
            let ours = procSelfMaps().filter { $0.contains("amqp-byte-ring") }.compactMap { line -> (UInt, UInt)? in
                let range = line.split(separator: " ")[0].split(separator: "-")
                guard let lo = UInt(range[0], radix: 16), let hi = UInt(range[1], radix: 16) else { return nil }
                return (lo, hi)
            }.filter { $0.0 >= base && $0.1 <= base + 2 * capacity }
            #expect(ours.map(\.0).sorted() == [base, base + capacity])
            #expect(ours.allSatisfy { $0.1 - $0.0 == capacity })
        }
    }
}
