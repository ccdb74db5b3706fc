// RingProbe: mirrored against compacting ByteRing storage, on the reactor's inbound
// pattern (bytes arrive in socket-sized pieces, whole frames are consumed, a partial frame
// stays behind and the ring is reclaimed after each delivery), plus the cost of making
// and freeing a ring. Wall-clock figures: run it a few times on a quiet machine.
// Usage: RingProbe [MEGABYTES]
import AMQPReactor
import CAMQPLinux
import Glibc

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func fixed(_ x: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let v = Int((x * scale).rounded())
    let whole = v / Int(scale), frac = v % Int(scale)
    let f = String(frac)
    return digits == 0 ? "\(whole)" : "\(whole)." + String(repeating: "0", count: digits - f.count) + f
}

func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }

func now() -> Double { Double(camqp_monotonic_ns()) / 1e9 }

/// Streams `total` bytes through a ring: reads of up to `readSize` (what one recv
/// returns), frames of `frameSizes`, reclaim after each "tick". Returns seconds and the
/// bytes compaction moved.
func stream(_ storage: ByteRing.StoragePreference, capacity: Int, total: Int, readSize: ClosedRange<Int>, frameSizes: ClosedRange<Int>) -> (Double, Int, Int) {
    var ring = try! ByteRing(minimumCapacity: capacity, storage: storage)
    var rng = SplitMix64(state: 42)
    let source = UnsafeMutableRawBufferPointer.allocate(byteCount: readSize.upperBound, alignment: 64)
    defer { source.deallocate() }
    for i in 0..<source.count { source[i] = UInt8(truncatingIfNeeded: i &* 31) }
    var moved = 0
    var streamed = 0
    var nextFrame = Int.random(in: frameSizes, using: &rng)
    var checksum = 0
    let start = now()
    while streamed < total {
        // One tick: read (the kernel's copy), parse whole frames, release, reclaim.
        let room = ring.writable
        let n = min(room.count, Int.random(in: readSize, using: &rng))
        if n > 0 {
            room.baseAddress!.copyMemory(from: source.baseAddress!, byteCount: n)
            ring.commitWrite(n)
            streamed += n
        }
        var offset = 0
        let readable = ring.readable
        while readable.count - offset >= nextFrame {
            // A parser reads the frame header and touches the frame's last byte.
            checksum &+= Int(readable[offset]) &+ Int(readable[offset + nextFrame - 1])
            offset += nextFrame
            nextFrame = Int.random(in: frameSizes, using: &rng)
        }
        ring.consume(offset)
        if ring.reclaim() { moved += 1 }
    }
    let elapsed = now() - start
    return (elapsed, ring.bytesCompacted, checksum)
}

func setup(_ storage: ByteRing.StoragePreference, capacity: Int, count: Int) -> Double {
    let start = now()
    for _ in 0..<count {
        var ring = try! ByteRing(minimumCapacity: capacity, storage: storage)
        // Touch one page, as a connection's first read would.
        ring.writable[0] = 1
        ring.commitWrite(1)
    }
    return now() - start
}

let megabytes = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 2048 : 2048
let total = megabytes << 20
print("ByteRing: \(megabytes) MiB streamed per case, page size \(camqp_page_size())")
print("case                                   storage      GB/s   moved/streamed")
let cases: [(String, Int, ClosedRange<Int>, ClosedRange<Int>)] = [
    ("small frames (64-512 B), 64 KiB ring", 64 << 10, 1...16 << 10, 64...512),
    ("mixed frames (64 B-8 KiB), 64 KiB ring", 64 << 10, 1...16 << 10, 64...(8 << 10)),
    ("large frames (16-60 KiB), 64 KiB ring", 64 << 10, 1...64 << 10, (16 << 10)...(60 << 10)),
    ("large frames (16-60 KiB), 256 KiB ring", 256 << 10, 1...64 << 10, (16 << 10)...(60 << 10)),
]
var sink = 0
for (name, capacity, reads, frames) in cases {
    for storage in [ByteRing.StoragePreference.mirrored, .compacting] {
        let (seconds, moved, checksum) = stream(storage, capacity: capacity, total: total, readSize: reads, frameSizes: frames)
        sink &+= checksum
        let rate = Double(total) / seconds / 1e9
        let kind = storage == .mirrored ? "mirrored" : "compacting"
        print("\(pad(name, 38)) \(pad(kind, 10)) \(pad(fixed(rate, 2), 6))   \(fixed(Double(moved) / Double(total), 3))")
    }
}
let rings = 2000
for storage in [ByteRing.StoragePreference.mirrored, .compacting] {
    let seconds = setup(storage, capacity: 64 << 10, count: rings)
    print("make + free a 64 KiB ring, \(storage == .mirrored ? "mirrored  " : "compacting"): \(fixed(seconds / Double(rings) * 1e6, 1)) µs")
}
print("checksum \(sink)")
