import AMQPEngine
import AMQPReactor
import CAMQPLinux
import Glibc
import Testing

// Inside the serialized reactor suite: pooled mirrored rings count against the per-process
// budget that the ByteRing and scale tests measure.
extension ReactorTests {
    @Suite("ring pool and memory given back")
    struct RingPoolTests {
        static let page = Int(camqp_page_size())
        static let storages: [ByteRing.StoragePreference] = [.mirrored, .compacting]

        /// Writes `n` bytes of `value` into the ring.
        static func fill(_ ring: inout ByteRing, _ n: Int, _ value: UInt8) {
            let span = ring.writable
            precondition(span.count >= n)
            for i in 0..<n { span[i] = value }
            ring.commitWrite(n)
        }

        @Test("a released ring is handed out again, empty, instead of a new one", arguments: storages)
        func reuse(_ storage: ByteRing.StoragePreference) throws {
            let pool = RingPool(maximumCount: 8, maximumBytes: 1 << 20, trimDelay: nil)
            var ring = try pool.take(minimumCapacity: 4 * Self.page, storage: storage)
            #expect(pool.made == 1 && pool.reused == 0)
            let base = ring.writable.baseAddress
            Self.fill(&ring, 3 * Self.page + 17, 0xA5)
            ring.consume(Self.page)
            pool.give(&ring, now: 0)
            #expect(ring.capacity == 0 && ring.isEmpty && ring.writable.isEmpty, "the ring gave its memory up")
            #expect(pool.count == 1 && pool.bytes == 4 * Self.page)

            // Another capacity does not take it.
            let other = try pool.take(minimumCapacity: 2 * Self.page, storage: storage)
            #expect(other.capacity == 2 * Self.page && pool.made == 2 && pool.count == 1)

            let again = try pool.take(minimumCapacity: 4 * Self.page - 100, storage: storage)
            #expect(pool.reused == 1 && pool.made == 2 && pool.count == 0 && pool.bytes == 0)
            #expect(again.writable.baseAddress == base, "the same memory")
            #expect(again.isEmpty && again.count == 0 && again.capacity == 4 * Self.page)
            #expect(again.writable.count == again.capacity, "reset: the whole ring is writable from the front")
            #expect(again.storage == (storage == .mirrored ? .mirrored : .compacting))
        }

        @Test("an explicit storage only takes its own; automatic takes either")
        func storageMatches() throws {
            let pool = RingPool(maximumCount: 8, maximumBytes: 1 << 20, trimDelay: nil)
            var compacting = try ByteRing(minimumCapacity: Self.page, storage: .compacting)
            pool.give(&compacting, now: 0)
            let mirrored = try pool.take(minimumCapacity: Self.page, storage: .mirrored)
            #expect(mirrored.storage == .mirrored && pool.count == 1 && pool.reused == 0)
            let automatic = try pool.take(minimumCapacity: Self.page, storage: .automatic)
            #expect(automatic.storage == .compacting && pool.count == 0 && pool.reused == 1)
        }

        @Test("bounded by a count and by bytes; what does not fit is freed", arguments: storages)
        func bounded(_ storage: ByteRing.StoragePreference) throws {
            let mirrorsBefore = ByteRing.mirroredRingCount
            do {
                let byCount = RingPool(maximumCount: 2, maximumBytes: 1 << 30, trimDelay: nil)
                for _ in 0..<3 {
                    var ring = try ByteRing(minimumCapacity: Self.page, storage: storage)
                    byCount.give(&ring, now: 0)
                }
                #expect(byCount.count == 2 && byCount.discarded == 1)

                let byBytes = RingPool(maximumCount: 100, maximumBytes: 3 * Self.page, trimDelay: nil)
                var big = try ByteRing(minimumCapacity: 2 * Self.page, storage: storage)
                var small = try ByteRing(minimumCapacity: Self.page, storage: storage)
                var tooMuch = try ByteRing(minimumCapacity: 2 * Self.page, storage: storage)
                byBytes.give(&big, now: 0)
                byBytes.give(&tooMuch, now: 0)
                byBytes.give(&small, now: 0)
                #expect(byBytes.count == 2 && byBytes.bytes == 3 * Self.page && byBytes.discarded == 1)

                let off = RingPool(maximumCount: 0, maximumBytes: 1 << 20, trimDelay: nil)
                var ring = try ByteRing(minimumCapacity: Self.page, storage: storage)
                off.give(&ring, now: 0)
                #expect(off.count == 0 && off.discarded == 1)
            }
            #expect(ByteRing.mirroredRingCount == mirrorsBefore, "pooled and discarded mirrors were all unmapped")
        }

        @Test("pooled rings give their pages back after the delay, oldest first", arguments: storages)
        func pooledPagesGoBack(_ storage: ByteRing.StoragePreference) throws {
            let delay: UInt64 = 1_000_000_000
            let pool = RingPool(maximumCount: 8, maximumBytes: 1 << 20, trimDelay: .nanoseconds(Int64(delay)))
            var first = try ByteRing(minimumCapacity: 4 * Self.page, storage: storage)
            var second = try ByteRing(minimumCapacity: 4 * Self.page, storage: storage)
            Self.fill(&first, 4 * Self.page, 1)
            Self.fill(&second, 2 * Self.page, 2)
            // At least the pages written are resident (a compacting ring's heap pages may
            // have been resident before: malloc recycles memory).
            #expect(first.residentPages! >= 4 && second.residentPages! >= 2)
            pool.give(&first, now: 10)
            pool.give(&second, now: 20)
            let warm = pool.residentPages
            #expect(warm >= 6 && pool.nextTrim == 10 + delay)

            pool.trim(now: 10 + delay - 1)
            #expect(pool.trimmed == 0 && pool.residentPages == warm, "not before the delay")
            pool.trim(now: 10 + delay)
            #expect(pool.trimmed == 1 && pool.warmCount == 1, "the older ring's pages went")
            #expect(pool.residentPages <= warm - 4 && pool.residentPages >= 2)
            #expect(pool.nextTrim == 20 + delay)
            pool.trim(now: 20 + delay)
            #expect(pool.trimmed == 2 && pool.residentPages == 0 && pool.nextTrim == nil)

            // A given-back ring still works, and reads zeros where nothing was written.
            var ring = try pool.take(minimumCapacity: 4 * Self.page, storage: storage)
            #expect(pool.reused == 1 && ring.residentPages == 0)
            #expect(ring.writable.load(fromByteOffset: 100, as: UInt8.self) == 0)
            Self.fill(&ring, 10, 7)
            #expect(Array(ring.readable) == [UInt8](repeating: 7, count: 10))
            #expect(ring.residentPages == 1)
        }

        @Test("an empty ring gives its pages back and starts over at the front", arguments: storages)
        func emptyRingGivesBack(_ storage: ByteRing.StoragePreference) throws {
            var ring = try ByteRing(minimumCapacity: 4 * Self.page, storage: storage)
            Self.fill(&ring, 3 * Self.page, 9)
            let refused = ring.giveBackMemory()
            #expect(!refused, "not while it holds bytes")
            ring.consume(3 * Self.page)
            #expect(ring.residentPages! >= 3)
            let givenBack = ring.giveBackMemory()
            #expect(givenBack)
            #expect(ring.residentPages == 0 && ring.writable.count == ring.capacity)
            Self.fill(&ring, 5, 3)
            #expect(Array(ring.readable) == [3, 3, 3, 3, 3] && ring.residentPages == 1)
        }

        @Test("a reactor reuses a closed connection's rings for the next one", arguments: testBackends)
        func reactorReusesRings(backend: TestBackend) throws {
            let h = try EngineHarness(backend: backend) { $0.ringIdleRelease = nil }
            let (_, address) = try h.listen(serverConfiguration())
            for round in 0..<3 {
                let c = try h.connect(to: address, clientConfiguration())
                try h.pump("opened, round \(round)") { h.log(c).remoteOpen }
                h.reactor.withConnection(c) { $0.close() }
                try h.pump("closed, round \(round)") { h.log(c).isClosed && h.accepted.allSatisfy { h.log($0).isClosed } }
                // Both ends' rings (two each) are back, and the rings in use were all taken
                // from the pool after the first round.
                try h.pump("rings pooled, round \(round)") { h.reactor.ringPool.count == 4 }
                #expect(h.reactor.ringPool.made == 4, "round \(round): no new ring after the first connection")
                #expect(h.reactor.ringPool.reused == 4 * round)
                #expect(h.log(c).closed == .some(nil))
            }
        }

        @Test("an idle connection's rings give their pages back, and still work", arguments: testBackends)
        func idleConnectionGivesBack(backend: TestBackend) throws {
            let h = try EngineHarness(backend: backend) { $0.ringIdleRelease = .milliseconds(50) }
            let (_, address) = try h.listen(serverConfiguration())
            let c = try h.connect(to: address, clientConfiguration())
            try h.pump("opened") { h.log(c).remoteOpen && h.accepted.count == 1 && h.log(h.accepted[0]).remoteOpen }
            let s = h.accepted[0]
            let touched = try #require(h.reactor.ringResidentPages(c))
            #expect(touched.inbound > 0 && touched.outbound > 0, "OPEN went through both rings: \(touched)")
            try h.pump("both ends' ring pages given back") {
                [c, s].allSatisfy { id in h.reactor.ringResidentPages(id).map { $0 == (0, 0) } ?? false }
            }
            // The rings carry the goodbye as before.
            h.reactor.withConnection(c) { $0.close() }
            try h.pump("closed") { h.log(c).isClosed && h.log(s).isClosed }
            #expect(h.log(c).closed == .some(nil) && h.log(s).closed == .some(nil))
            #expect(h.log(c).remoteClose && h.log(s).remoteClose)
        }

        /// Heartbeats of a connection whose rings gave their pages back go through its
        /// keep-alive buffer (Reactor+KeepAlive.swift): the pages stay given back, and the
        /// connection outlives its idle limit several times over only because the
        /// heartbeats arrive. Then a CLOSE, read into the keep-alive buffer and not a
        /// heartbeat, goes into the ring and ends the connection as before.
        @Test("heartbeats leave given-back ring pages alone", arguments: testBackends)
        func heartbeatsStayOutOfGivenBackRings(backend: TestBackend) throws {
            let h = try EngineHarness(backend: backend) { $0.ringIdleRelease = .milliseconds(50) }
            // Idle limit 2 s each way: OPEN announces 1 s, an empty frame goes every 0.5 s.
            let idle: UInt32 = 2_000
            let (_, address) = try h.listen(serverConfiguration(idleTimeout: idle))
            let c = try h.connect(to: address, clientConfiguration(idleTimeout: idle))
            try h.pump("opened") { h.log(c).remoteOpen && h.accepted.count == 1 && h.log(h.accepted[0]).remoteOpen }
            let s = h.accepted[0]
            func cold(_ id: ConnectionID) -> Bool { h.reactor.ringResidentPages(id).map { $0 == (0, 0) } ?? false }
            try h.pump("both ends' ring pages given back") { cold(c) && cold(s) }

            // Three idle limits: without heartbeats both ends would have closed.
            let start = secondsNow()
            var warmed: [String] = []
            try h.pump("three idle limits of heartbeats", within: 30) {
                for (name, id) in [("client", c), ("server", s)] where !cold(id) {
                    warmed.append("\(name) at \(secondsNow() - start) s: \(String(describing: h.reactor.ringResidentPages(id)))")
                }
                return secondsNow() - start >= 3 * Double(idle) / 1000
            }
            #expect(warmed.count == 0, "ring pages taken back: \(warmed.prefix(4))")
            #expect(h.log(c).closed == nil && h.log(s).closed == nil, "closed: \(String(describing: h.log(c).closed)) / \(String(describing: h.log(s).closed))")
            #expect(h.reactor.inspect(c) { $0.state } == .opened && h.reactor.inspect(s) { $0.state } == .opened)

            h.reactor.withConnection(c) { $0.close() }
            try h.pump("closed") { h.log(c).isClosed && h.log(s).isClosed }
            #expect(h.log(c).closed == .some(nil) && h.log(s).closed == .some(nil))
            #expect(h.log(c).remoteClose && h.log(s).remoteClose)
        }
    }
}
