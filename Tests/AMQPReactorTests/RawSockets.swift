import AMQPReactor
import CAMQPLinux
import Glibc

// Raw sockets for playing the other end, and what /proc says about this process.

/// Seconds on the monotonic clock.
func secondsNow() -> Double { Double(camqp_monotonic_ns()) / 1e9 }

/// A blocking-free raw TCP socket for playing a misbehaving peer.
struct RawSocket: ~Copyable {
    let fd: Int32

    init(fd: Int32) { self.fd = fd }

    /// Connects to `address` and waits (bounded) until the connect completes.
    init(connectingTo address: SocketAddress) throws {
        let fd = camqp_socket_open(address.family == .ipv4 ? AF_INET : AF_INET6, Int32(SOCK_STREAM.rawValue))
        guard fd >= 0 else { throw SystemCallFailed("socket", -fd) }
        var sa = sockaddr_storage()
        let length = address.store(into: &sa)
        let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { camqp_connect(fd, $0, length) } }
        guard rc == 0 || rc == -EINPROGRESS else {
            Glibc.close(fd)
            throw SystemCallFailed("connect", -rc)
        }
        guard waitFor(fd, events: Int16(POLLOUT), seconds: 5) else {
            Glibc.close(fd)
            throw SystemCallFailed("connect (wait)", ETIMEDOUT)
        }
        self.fd = fd
    }

    deinit { Glibc.close(fd) }

    func send(_ bytes: [UInt8]) throws {
        let n = bytes.withUnsafeBytes { camqp_send_nosignal(fd, $0.baseAddress, $0.count, 0) }
        guard n == bytes.count else { throw SystemCallFailed("send", n < 0 ? Int32(-n) : 0) }
    }

    /// Closes with a reset instead of a FIN (SO_LINGER with a zero time-out).
    consuming func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    }
}

struct SystemCallFailed: Error, CustomStringConvertible {
    let call: String
    let errno: Int32
    init(_ call: String, _ errno: Int32) {
        self.call = call
        self.errno = errno
    }
    var description: String { "\(call) failed with errno \(errno)" }
}

/// poll(2) on one descriptor, bounded.
func waitFor(_ fd: Int32, events: Int16, seconds: Double) -> Bool {
    var p = pollfd(fd: fd, events: events, revents: 0)
    let deadline = secondsNow() + seconds
    while secondsNow() < deadline {
        let rc = poll(&p, 1, 50)
        if rc > 0 { return true }
    }
    return false
}

extension SocketAddress {
    /// Writes this address into `storage` for raw socket calls; returns its length.
    func store(into storage: inout sockaddr_storage) -> socklen_t {
        let text = description
        switch family {
        case .ipv4:
            var v4 = sockaddr_in()
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            let host = String(text[..<text.lastIndex(of: ":")!])
            _ = inet_pton(AF_INET, host, &v4.sin_addr)
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: v4, as: sockaddr_in.self) }
            return socklen_t(MemoryLayout<sockaddr_in>.size)
        case .ipv6:
            var v6 = sockaddr_in6()
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
            let host = String(text.dropFirst()[..<text.lastIndex(of: "]")!])
            _ = inet_pton(AF_INET6, host, &v6.sin6_addr)
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: v6, as: sockaddr_in6.self) }
            return socklen_t(MemoryLayout<sockaddr_in6>.size)
        }
    }
}

/// A raw listening socket on 127.0.0.1 with a kernel-chosen port.
func rawListener(backlog: Int32 = 16) throws -> (fd: Int32, address: SocketAddress) {
    let fd = camqp_socket_open(AF_INET, Int32(SOCK_STREAM.rawValue))
    guard fd >= 0 else { throw SystemCallFailed("socket", -fd) }
    var sa = sockaddr_storage()
    let length = SocketAddress.loopbackIPv4().store(into: &sa)
    let bound = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    guard bound == 0, listen(fd, backlog) == 0 else {
        let e = errno
        close(fd)
        throw SystemCallFailed("bind/listen", e)
    }
    var out = sockaddr_storage()
    var outLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
    _ = withUnsafeMutablePointer(to: &out) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &outLength) } }
    let port = withUnsafeBytes(of: &out) { UInt16(bigEndian: $0.load(fromByteOffset: 2, as: UInt16.self)) }
    return (fd, .loopbackIPv4(port: port))
}

/// Accepts one connection on a raw listener (bounded wait), calling `step` while it waits
/// (to run the reactor whose connect it is: io_uring submits requests with its ticks).
func rawAccept(_ listener: Int32, while step: () throws -> Void = {}) throws -> RawSocket {
    let deadline = secondsNow() + 5
    while !waitFor(listener, events: Int16(POLLIN), seconds: 0.01) {
        guard secondsNow() < deadline else { throw SystemCallFailed("accept (wait)", ETIMEDOUT) }
        try step()
    }
    let fd = camqp_accept(listener, nil, nil)
    guard fd >= 0 else { throw SystemCallFailed("accept", -fd) }
    return RawSocket(fd: fd)
}

// MARK: Descriptors

/// Entries of /proc/self/fd and what they point to.
func openDescriptors() -> [(fd: Int32, target: String)] {
    guard let dir = opendir("/proc/self/fd") else { return [] }
    defer { closedir(dir) }
    var result: [(Int32, String)] = []
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        guard let fd = Int32(name) else { continue }
        var buf = [CChar](repeating: 0, count: 256)
        let n = readlink("/proc/self/fd/\(name)", &buf, buf.count - 1)
        guard n > 0 else { continue }
        result.append((fd, String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)))
    }
    return result
}

/// Socket inodes of TCP sockets (IPv4 and IPv6) with `port` at either end, from
/// /proc/net/tcp{,6}.
func tcpSocketInodes(port: UInt16) -> Set<String> {
    var inodes = Set<String>()
    let hexPort = String(port, radix: 16, uppercase: true)
    let padded = String(repeating: "0", count: 4 - hexPort.count) + hexPort
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        guard let f = fopen(file, "r") else { continue }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 512)
        while fgets(&line, Int32(line.count), f) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let fields = text.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 9, fields[1].hasSuffix(":" + padded) || fields[2].hasSuffix(":" + padded) else { continue }
            if fields[9] != "0" { inodes.insert(String(fields[9])) }
        }
    }
    return inodes
}

/// Descriptors this process holds on TCP sockets with `port` at either end.
func descriptorsOnPort(_ port: UInt16) -> Int {
    let inodes = tcpSocketInodes(port: port)
    return openDescriptors().filter { d in
        d.target.hasPrefix("socket:[") && inodes.contains(String(d.target.dropFirst(8).dropLast()))
    }.count
}

/// CPU time (user + system) the calling thread has used, in seconds.
func threadCPUSeconds() -> Double {
    // CLOCK_THREAD_CPUTIME_ID rather than getrusage(RUSAGE_THREAD): the latter is a GNU
    // extension Swift's Glibc does not expose, and both count the same thing.
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// Raises this process's descriptor limit to at least `count` (up to the hard limit).
func raiseDescriptorLimit(to count: UInt64) -> UInt64 {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    if limit.rlim_cur < count {
        limit.rlim_cur = min(rlim_t(count), limit.rlim_max)
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
    return UInt64(limit.rlim_cur)
}

/// Lines of /proc/self/maps.
func procSelfMaps() -> [String] {
    guard let f = fopen("/proc/self/maps", "r") else { return [] }
    defer { fclose(f) }
    var lines: [String] = []
    var buf = [CChar](repeating: 0, count: 4096)
    while fgets(&buf, Int32(buf.count), f) != nil {
        lines.append(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return lines
}
