import CAMQPLinux
import Glibc

// Copy against gather for outbound payloads, on one loopback TCP connection: does sending
// a payload by reference (writev of [frame header, payload]) instead of copying it into
// the outbound ring first (one send of the ring, what the reactor does) pay, and from
// which size on?
//
// The sender writes frames of a ~100-byte header (frame header, TRANSFER, message header
// and properties) and a payload, at most 64 KiB per system call (the outbound ring), from
// the same payload array every time (a producer that keeps re-sending one message: the
// payload is in cache, the best case for the copy). A receiver thread drains the socket.
// Figures: the sender thread's CPU time per payload byte, and wall-clock throughput.

enum SendPath: String, CaseIterable {
    /// Header and payload copied into a staging ring, the ring sent with one send.
    case copy
    /// Header in the ring, payload by reference: one writev of [header, payload, ...].
    case gather
}

struct GatherResult {
    var path: SendPath
    var payload: Int
    var senderNanosecondsPerKiB: Double
    var gigabytesPerSecond: Double
}

/// A connected loopback TCP pair (blocking).
func loopbackPair() -> (client: Int32, server: Int32) {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { precondition(bind(listener, $0, length) == 0) } }
    precondition(listen(listener, 1) == 0)
    withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(listener, $0, &length) } }
    let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { precondition(connect(client, $0, length) == 0) } }
    let server = accept(listener, nil, nil)
    close(listener)
    var one: Int32 = 1
    setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    return (client, server)
}

final class Drain: @unchecked Sendable {
    let fd: Int32
    let total: Int
    init(fd: Int32, total: Int) {
        self.fd = fd
        self.total = total
    }
    func run() {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 256 << 10, alignment: 64)
        defer { buffer.deallocate() }
        var got = 0
        while got < total {
            let n = recv(fd, buffer, 256 << 10, 0)
            precondition(n > 0, "recv failed")
            got += n
        }
    }
}

func threadCPUNanoseconds() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

func startThread(_ body: @escaping () -> Void) -> pthread_t {
    final class Box { let body: () -> Void; init(_ b: @escaping () -> Void) { body = b } }
    var thread = pthread_t()
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    pthread_create(&thread, nil, { p in
        Unmanaged<Box>.fromOpaque(p!).takeRetainedValue().body()
        return nil
    }, box)
    return thread
}

func measureGather(path: SendPath, payload size: Int, bytes total: Int) -> GatherResult {
    let header = 100
    let frame = header + size
    let frames = max(1, total / frame)
    let streamBytes = frames * frame
    let (client, server) = loopbackPair()
    defer {
        close(client)
        close(server)
    }
    let payload = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
    defer { payload.deallocate() }
    for i in 0..<size { payload[i] = UInt8(truncatingIfNeeded: i) }
    let ringSize = max(64 << 10, frame)
    let ring = UnsafeMutableRawBufferPointer.allocate(byteCount: ringSize, alignment: 64)
    defer { ring.deallocate() }
    // Headers for a whole batch stay put while their writev is in the kernel.
    let maxPerCall = max(1, (64 << 10) / frame)
    let headers = UnsafeMutableRawBufferPointer.allocate(byteCount: header * maxPerCall, alignment: 64)
    defer { headers.deallocate() }
    let iovecs = UnsafeMutablePointer<iovec>.allocate(capacity: 2 * maxPerCall)
    defer { iovecs.deallocate() }

    let drain = Drain(fd: server, total: streamBytes)
    let receiver = startThread { drain.run() }
    let start = camqp_monotonic_ns()
    let cpuStart = threadCPUNanoseconds()
    var sentFrames = 0
    while sentFrames < frames {
        let batch = min(maxPerCall, frames - sentFrames)
        switch path {
        case .copy:
            var used = 0
            for _ in 0..<batch {
                // The header is encoded in place; the payload copied after it.
                ring.baseAddress!.advanced(by: used).initializeMemory(as: UInt8.self, repeating: 0x53, count: header)
                (ring.baseAddress! + used + header).copyMemory(from: payload.baseAddress!, byteCount: size)
                used += frame
            }
            var offset = 0
            while offset < used {
                let n = send(client, ring.baseAddress! + offset, used - offset, 0)
                precondition(n > 0)
                offset += n
            }
        case .gather:
            for k in 0..<batch {
                let h = headers.baseAddress! + k * header
                h.initializeMemory(as: UInt8.self, repeating: 0x53, count: header)
                iovecs[2 * k] = iovec(iov_base: h, iov_len: header)
                iovecs[2 * k + 1] = iovec(iov_base: payload.baseAddress!, iov_len: size)
            }
            var vector = iovecs
            var count = 2 * batch
            while count > 0 {
                var n = writev(client, vector, Int32(count))
                precondition(n > 0)
                // A short write: skip what went, trim the iovec it stopped in.
                while count > 0 && n >= vector.pointee.iov_len {
                    n -= vector.pointee.iov_len
                    vector += 1
                    count -= 1
                }
                if count > 0 && n > 0 {
                    vector.pointee.iov_base += n
                    vector.pointee.iov_len -= n
                }
            }
        }
        sentFrames += batch
    }
    let cpu = threadCPUNanoseconds() - cpuStart
    pthread_join(receiver, nil)
    let wall = Double(camqp_monotonic_ns() - start) / 1e9
    let payloadBytes = Double(frames * size)
    return GatherResult(
        path: path, payload: size, senderNanosecondsPerKiB: Double(cpu) / (payloadBytes / 1024),
        gigabytesPerSecond: Double(streamBytes) / wall / 1e9)
}

func runGather(rounds: Int) {
    print("gather: sender CPU ns per KiB of payload and wall GB/s, one loopback TCP connection,")
    print("  \u{2264} 64 KiB per system call, median of \(rounds) rounds, 256 MiB per round")
    print("  payload   copy ns/KiB  gather ns/KiB  gather/copy   copy GB/s  gather GB/s")
    for size in [1024, 4096, 16384, 65536, 262_144] {
        var copy: [GatherResult] = []
        var gather: [GatherResult] = []
        for _ in 0..<rounds {
            copy.append(measureGather(path: .copy, payload: size, bytes: 256 << 20))
            gather.append(measureGather(path: .gather, payload: size, bytes: 256 << 20))
        }
        let c = median(copy.map(\.senderNanosecondsPerKiB))
        let g = median(gather.map(\.senderNanosecondsPerKiB))
        print(
            "  " + lpad("\(size)", 7) + lpad(fixed(c, 1), 14) + lpad(fixed(g, 1), 15) + lpad(fixed(g / c, 2), 13)
                + lpad(fixed(median(copy.map(\.gigabytesPerSecond)), 2), 12) + lpad(fixed(median(gather.map(\.gigabytesPerSecond)), 2), 13))
    }
}
