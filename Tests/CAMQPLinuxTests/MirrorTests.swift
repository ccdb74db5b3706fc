import CAMQPLinux
import Glibc
import Testing

/// Serialized: the leak checks look at every fd and mapping of the process
/// named after the memfd, which only this suite creates.
@Suite("mirrored mapping", .serialized)
struct MirrorTests {
    static let page = camqp_page_size()

    func ringMappings() -> [String] { procSelfMaps().filter { $0.contains("camqp-ring") } }
    func ringFds() -> [String] { procSelfFdTargets().filter { $0.contains("camqp-ring") } }

    @Test(arguments: [1, 16, 256])
    func bytesWrittenPastTheEndAppearAtTheStart(pages: Int) throws {
        let size = Int(Self.page) * pages
        var m = camqp_mirror_t()
        try check("camqp_mirror_map", camqp_mirror_map(size, &m))
        defer { #expect(camqp_mirror_unmap(&m) == 0) }
        let base = try #require(m.base)
        #expect(m.size == size)

        // Upper view → lower view.
        for k in [0, 1, size / 2, size - 1] {
            base[size + k] = UInt8(truncatingIfNeeded: k &+ 7)
            #expect(base[k] == UInt8(truncatingIfNeeded: k &+ 7))
        }
        // Lower view → upper view.
        base[3] = 0xEE
        #expect(base[size + 3] == 0xEE)

        // A frame that wraps: its head sits at the end of the ring, its tail
        // at the start; read it as one contiguous span starting before the end.
        let frame = (0..<100).map { UInt8($0 + 1) }
        let start = size - 40
        for (i, byte) in frame.enumerated() {
            base[(start + i) % size] = byte  // how a ring writer wraps
        }
        let contiguous = Array(UnsafeBufferPointer(start: base + start, count: frame.count))
        #expect(contiguous == frame)

        // Two views of one memfd, the fd itself already closed.
        #expect(ringMappings().count == 2)
        #expect(ringFds().isEmpty)
    }

    @Test func unmapReleasesBothViewsAndRejectsASecondUnmap() throws {
        var m = camqp_mirror_t()
        try check("camqp_mirror_map", camqp_mirror_map(Int(Self.page) * 4, &m))
        #expect(ringMappings().count == 2)
        #expect(camqp_mirror_unmap(&m) == 0)
        #expect(m.base == nil)
        #expect(m.size == 0)
        #expect(ringMappings().isEmpty)
        #expect(camqp_mirror_unmap(&m) == -EINVAL)
        #expect(camqp_mirror_unmap(nil) == -EINVAL)
    }

    @Test func badSizesAreRejectedWithEINVAL() {
        let page = Int(Self.page)
        for size in [0, 1, page - 1, page + 1, 3 * page / 2, Int.max, Int(bitPattern: UInt(1) << 63)] {
            var m = camqp_mirror_t(base: UnsafeMutablePointer(bitPattern: 0x1000), size: 123)
            #expect(camqp_mirror_map(size, &m) == -EINVAL, "size \(size)")
            #expect(m.base == nil && m.size == 0, "size \(size)")
        }
        #expect(camqp_mirror_map(page, nil) == -EINVAL)
        #expect(ringMappings().isEmpty)
        #expect(ringFds().isEmpty)
    }

    /// A size that passes validation but cannot be reserved (2^48 bytes of
    /// address space is more than user space has) fails cleanly: negative
    /// errno, nothing left mapped or open.
    @Test func failureAfterTheMemfdExistsLeaksNothing() {
        var m = camqp_mirror_t()
        let rc = camqp_mirror_map(1 << 47, &m)
        #expect(rc < 0)
        #expect(rc == -ENOMEM || rc == -EFBIG || rc == -EINVAL, "\(errnoName(-rc))")
        #expect(m.base == nil && m.size == 0)
        #expect(ringMappings().isEmpty)
        #expect(ringFds().isEmpty)
    }
}
