import CAMQPLinux
import Glibc
import Testing

/// The symbolic name of an errno value, for messages a human reads.
func errnoName(_ code: Int32) -> String {
    switch code {
    case 0: return "0"
    case EPERM: return "EPERM"
    case ENOENT: return "ENOENT"
    case EINTR: return "EINTR"
    case EBADF: return "EBADF"
    case EAGAIN: return "EAGAIN"
    case ENOMEM: return "ENOMEM"
    case EACCES: return "EACCES"
    case EFAULT: return "EFAULT"
    case EBUSY: return "EBUSY"
    case EEXIST: return "EEXIST"
    case EINVAL: return "EINVAL"
    case EMFILE: return "EMFILE"
    case ENOSYS: return "ENOSYS"
    case EPIPE: return "EPIPE"
    case ETIME: return "ETIME"
    case EOPNOTSUPP: return "EOPNOTSUPP"
    case ECONNRESET: return "ECONNRESET"
    case ECONNREFUSED: return "ECONNREFUSED"
    case EINPROGRESS: return "EINPROGRESS"
    case ECANCELED: return "ECANCELED"
    default: return "errno \(code)"
    }
}

/// Errnos with which a sandbox (seccomp, container runtime,
/// kernel.io_uring_disabled) refuses io_uring_setup. Anything else is a bug.
let sandboxRefusals: Set<Int32> = [EPERM, ENOSYS, EACCES]

enum URing {
    /// errno of io_uring_setup for a plain ring here; 0 when it works.
    static let setupErrno: Int32 = {
        var err: Int32 = 0
        _ = camqp_uring_probe(0, &err)
        return err
    }()

    static var available: Bool { setupErrno == 0 }

    static var unavailableComment: Comment {
        Comment(rawValue: "io_uring_setup refused here: \(errnoName(setupErrno))")
    }

    static let features: camqp_uring_features_t = {
        var f = camqp_uring_features_t()
        _ = camqp_uring_query_features(&f)
        return f
    }()
}

/// An io_uring owned by one test. Storage is heap-allocated so it never moves.
final class Ring {
    let ring: UnsafeMutablePointer<camqp_uring_t>

    init(entries: UInt32 = 16, flags: UInt32 = 0) throws {
        ring = .allocate(capacity: 1)
        let rc = camqp_uring_init(ring, entries, 0, flags, nil)
        guard rc == 0 else {
            ring.deallocate()
            throw SyscallError(call: "camqp_uring_init", code: -rc)
        }
    }

    deinit {
        camqp_uring_exit(ring)
        ring.deallocate()
    }

    var fd: Int32 { camqp_uring_fd(ring) }

    /// Submit what is prepared, then collect exactly `count` completions or
    /// give up after `timeoutNs` in total.
    func complete(_ count: Int, timeoutNs: Int64 = 2_000_000_000) -> [camqp_cqe_t] {
        var got: [camqp_cqe_t] = []
        let deadline = camqp_monotonic_ns() + UInt64(timeoutNs)
        var buffer = [camqp_cqe_t](repeating: camqp_cqe_t(), count: 16)
        while got.count < count {
            let now = camqp_monotonic_ns()
            guard now < deadline else { break }
            let rc = camqp_uring_submit_and_wait_timeout(ring, 1, Int64(deadline - now))
            if rc < 0 && rc != -ETIME && rc != -EINTR {
                Issue.record("submit_and_wait_timeout: \(errnoName(-rc))")
                break
            }
            let n = buffer.withUnsafeMutableBufferPointer {
                camqp_uring_reap(ring, $0.baseAddress, UInt32($0.count))
            }
            got.append(contentsOf: buffer[0..<Int(n)])
        }
        return got
    }
}

struct SyscallError: Error, CustomStringConvertible {
    let call: String
    let code: Int32
    var description: String { "\(call): \(errnoName(code))" }
}

/// Turns a `camqp_*` result (>= 0 or -errno) into a value or a thrown error.
@discardableResult
func check<T: SignedInteger>(_ call: String, _ rc: T) throws -> T {
    if rc < 0 { throw SyscallError(call: call, code: Int32(truncatingIfNeeded: 0 - rc)) }
    return rc
}

/// A connected AF_UNIX stream pair, non-blocking and close-on-exec.
func makeSocketPair() throws -> (Int32, Int32) {
    var fds: [Int32] = [-1, -1]
    let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        | Int32(SOCK_CLOEXEC.rawValue)
    guard socketpair(AF_UNIX, type, 0, &fds) == 0 else {
        throw SyscallError(call: "socketpair", code: errno)
    }
    return (fds[0], fds[1])
}

func loopbackAddress(port: UInt16 = 0) -> sockaddr_in {
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = port.bigEndian
    addr.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    return addr
}

func withSockaddr<R>(
    _ addr: sockaddr_in, _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R
) rethrows -> R {
    var copy = addr
    return try withUnsafePointer(to: &copy) {
        try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            try body($0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
}

/// The port a socket is bound to.
func boundPort(_ fd: Int32) throws -> UInt16 {
    var addr = sockaddr_in()
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let rc = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    guard rc == 0 else { throw SyscallError(call: "getsockname", code: errno) }
    return UInt16(bigEndian: addr.sin_port)
}

/// A listening TCP socket on 127.0.0.1 with a kernel-chosen port.
func makeListener() throws -> (fd: Int32, port: UInt16) {
    let fd = try check("socket", camqp_socket_open(AF_INET, Int32(SOCK_STREAM.rawValue)))
    do {
        try withSockaddr(loopbackAddress()) { sa, len in
            guard bind(fd, sa, len) == 0 else { throw SyscallError(call: "bind", code: errno) }
        }
        guard listen(fd, 16) == 0 else { throw SyscallError(call: "listen", code: errno) }
        return (fd, try boundPort(fd))
    } catch {
        close(fd)
        throw error
    }
}

/// epoll_wait that retries EINTR until `timeoutMs` has passed in total.
///
/// EINTR is real here, not theoretical: io_uring completion work for a ring
/// created on this thread (rings without COOP_TASKRUN notify their task like
/// a signal, TIF_NOTIFY_SIGNAL) interrupts an epoll_wait on the same thread,
/// and Swift Testing runs other tests' rings on the same pool threads.
func epollWait(_ ep: Int32, _ out: UnsafeMutablePointer<epoll_event>?, _ max: Int32,
               timeoutMs: Int32) -> Int32 {
    let deadline = camqp_monotonic_ns() + UInt64(timeoutMs) * 1_000_000
    while true {
        let now = camqp_monotonic_ns()
        let left = now >= deadline ? 0 : Int32((deadline - now + 999_999) / 1_000_000)
        let n = camqp_epoll_wait(ep, out, max, left)
        if n != -EINTR || left == 0 { return n }
    }
}

/// Wait (bounded) until `fd` reports one of `events`; returns what it reported.
func waitFor(_ fd: Int32, _ events: UInt32, timeoutMs: Int32 = 2000) throws -> UInt32 {
    let ep = try check("epoll_create", camqp_epoll_create())
    defer { close(ep) }
    try check("epoll_ctl", camqp_epoll_ctl(ep, CAMQP_EPOLL_CTL_ADD, fd, events, 0))
    var ev = epoll_event()
    let n = try check("epoll_wait", epollWait(ep, &ev, 1, timeoutMs: timeoutMs))
    return n == 1 ? camqp_epoll_event_events(&ev) : 0
}

/// A connected loopback TCP pair (client, server side), both non-blocking.
func makeTCPPair() throws -> (client: Int32, server: Int32) {
    let listener = try makeListener()
    defer { close(listener.fd) }
    let client = try check("socket", camqp_socket_open(AF_INET, Int32(SOCK_STREAM.rawValue)))
    do {
        let rc = withSockaddr(loopbackAddress(port: listener.port)) { camqp_connect(client, $0, $1) }
        guard rc == 0 || rc == -EINPROGRESS else {
            throw SyscallError(call: "connect", code: -rc)
        }
        guard try waitFor(listener.fd, CAMQP_EPOLLIN) & CAMQP_EPOLLIN != 0 else {
            throw SyscallError(call: "accept wait", code: ETIME)
        }
        let server = try check("accept", camqp_accept(listener.fd, nil, nil))
        _ = try waitFor(client, CAMQP_EPOLLOUT)
        return (client, server)
    } catch {
        close(client)
        throw error
    }
}

/// Names of what a process has open / mapped, from /proc/self.
func procSelfFdTargets() -> [String] {
    guard let dir = opendir("/proc/self/fd") else { return [] }
    defer { closedir(dir) }
    var targets: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name == "." || name == ".." { continue }
        var buf = [CChar](repeating: 0, count: 512)
        let n = readlink("/proc/self/fd/\(name)", &buf, buf.count - 1)
        if n > 0 {
            targets.append(String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
    }
    return targets
}

func procSelfMaps() -> [String] {
    guard let f = fopen("/proc/self/maps", "r") else { return [] }
    defer { fclose(f) }
    var lines: [String] = []
    var buf = [CChar](repeating: 0, count: 4096)
    while fgets(&buf, Int32(buf.count), f) != nil {
        let bytes = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        lines.append(String(decoding: bytes, as: UTF8.self))
    }
    return lines
}
