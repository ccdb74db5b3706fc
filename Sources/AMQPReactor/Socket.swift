import CAMQPLinux
import Glibc

/// TCP options applied to every connection socket, outgoing or accepted.
public struct SocketOptions: Hashable, Sendable {
    /// TCP keepalive probing.
    public struct KeepAlive: Hashable, Sendable {
        /// Seconds of silence before the first probe; 0 keeps the system default.
        public var idleSeconds: Int32
        /// Seconds between probes; 0 keeps the system default.
        public var intervalSeconds: Int32
        /// Unanswered probes before the kernel drops the connection; 0 keeps the default.
        public var count: Int32

        /// Creates keepalive settings.
        public init(idleSeconds: Int32 = 0, intervalSeconds: Int32 = 0, count: Int32 = 0) {
            self.idleSeconds = idleSeconds
            self.intervalSeconds = intervalSeconds
            self.count = count
        }
    }

    /// TCP_NODELAY: send small frames at once instead of waiting to coalesce them. On by
    /// default: the reactor already writes everything pending in one call per tick, so
    /// Nagle's delay would only add latency.
    public var noDelay: Bool = true
    /// SO_KEEPALIVE and its knobs, or `nil` to leave keepalive off. AMQP's own heartbeats
    /// (idle time-out) usually make this unnecessary.
    public var keepAlive: KeepAlive? = nil
    /// TCP_USER_TIMEOUT in milliseconds: how long sent data may stay unacknowledged before
    /// the kernel gives up on the connection; `nil` keeps the system default.
    public var userTimeoutMilliseconds: UInt32? = nil

    /// Creates the default options.
    public init() {}
}

/// Socket system calls, through `Syscall`.
enum Socket {
    /// A new non-blocking, close-on-exec stream socket.
    static func open(family: SocketAddress.Family, via sys: SyscallTable = .system) throws(ReactorError) -> Int32 {
        let domain = family == .ipv4 ? AF_INET : AF_INET6
        return try Syscall.check("socket", bugs: [.fault]) { sys.socket(domain, Int32(SOCK_STREAM.rawValue)) }
    }

    /// Starts a non-blocking connect: true when it completed at once (possible on
    /// loopback), false when it is in progress (wait for writability, then `pendingError`).
    static func startConnect(_ fd: Int32, to address: SocketAddress, via sys: SyscallTable = .system) throws(ReactorError) -> Bool {
        let rc = address.withSockaddr { sa, length in
            // EINTR on a non-blocking connect does not abort it: the connection goes on in
            // the background, exactly like EINPROGRESS, so it is not retried either.
            sys.connect(fd, sa, length)
        }
        switch rc {
        case 0: return true
        case -EINPROGRESS, -EINTR: return false
        case -EBADF, -EFAULT, -ENOTSOCK, -EISCONN, -EALREADY:
            fatalError("connect(\(address)): \(ErrnoName.of(-rc)) can only come from a bug")
        default:
            throw ReactorError.system("connect", errno: -rc, detail: "\(address)")
        }
    }

    /// The pending error of a socket (SO_ERROR), cleared by reading it; 0 when none.
    static func pendingError(_ fd: Int32, via sys: SyscallTable = .system) throws(ReactorError) -> Int32 {
        var error: Int32 = 0
        try Syscall.check("getsockopt(SO_ERROR)") { sys.socketError(fd, &error) }
        return error
    }

    /// Applies `options` to a connected socket.
    static func apply(_ options: SocketOptions, to fd: Int32, via sys: SyscallTable = .system) throws(ReactorError) {
        try Syscall.check("setsockopt(TCP_NODELAY)") { sys.setOption(fd, "TCP_NODELAY") { camqp_tcp_set_nodelay(fd, options.noDelay) } }
        if let k = options.keepAlive {
            try Syscall.check("setsockopt(SO_KEEPALIVE)") {
                sys.setOption(fd, "SO_KEEPALIVE") { camqp_tcp_set_keepalive(fd, true, k.idleSeconds, k.intervalSeconds, k.count) }
            }
        }
        if let t = options.userTimeoutMilliseconds {
            try Syscall.check("setsockopt(TCP_USER_TIMEOUT)") { sys.setOption(fd, "TCP_USER_TIMEOUT") { camqp_tcp_set_user_timeout(fd, t) } }
        }
    }

    /// A listening socket bound to `address` (port 0: the kernel picks one), with
    /// `socketOptions` set on it: Linux copies a listening socket's TCP_NODELAY,
    /// keepalive settings and TCP_USER_TIMEOUT to every socket it accepts (the accepted
    /// socket starts as a clone of the listener), so accepts need no setsockopt of their
    /// own (`ReactorTests.Sockets` checks the inheritance).
    static func listen(
        on address: SocketAddress, backlog: Int32, reuseAddress: Bool, socketOptions: SocketOptions? = nil,
        via sys: SyscallTable = .system
    ) throws(ReactorError) -> Int32 {
        let fd = try open(family: address.family, via: sys)
        do throws(ReactorError) {
            if let socketOptions { try apply(socketOptions, to: fd) }
            if reuseAddress {
                var one: Int32 = 1
                try Syscall.check("setsockopt(SO_REUSEADDR)") {
                    sys.setOption(fd, "SO_REUSEADDR") {
                        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 ? 0 : -errno
                    }
                }
            }
            if address.family == .ipv6 {
                // An IPv6 listener takes IPv6 only; listen on both families separately if
                // both are wanted, so the behaviour does not depend on net.ipv6.bindv6only.
                var one: Int32 = 1
                try Syscall.check("setsockopt(IPV6_V6ONLY)") {
                    sys.setOption(fd, "IPV6_V6ONLY") {
                        setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 ? 0 : -errno
                    }
                }
            }
            _ = try address.withSockaddr { (sa, length) throws(ReactorError) in
                try Syscall.posix("bind") { bind(fd, sa, length) }
            }
            try Syscall.posix("listen") { Glibc.listen(fd, backlog) }
            return fd
        } catch {
            Syscall.close(fd, via: sys)
            throw error
        }
    }

    /// Accepts one connection (non-blocking, close-on-exec), with the peer's address.
    static func accept(_ fd: Int32, via sys: SyscallTable = .system) throws(ReactorError) -> Syscall.Outcome<(Int32, SocketAddress?)> {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        // EINVAL: the socket is not listening, and only we make sockets listen.
        let outcome = try withUnsafeMutablePointer(to: &storage) { (p) throws(ReactorError) in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sa) throws(ReactorError) in
                try Syscall.run("accept4", bugs: [.badDescriptor, .fault, .notSocket, .invalid]) {
                    sys.accept(fd, sa, &length)
                }
            }
        }
        switch outcome {
        case .wouldBlock: return .wouldBlock
        case .completed(let client):
            let peer = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress($0, length: length) }
            }
            return .completed((client, peer))
        }
    }

    /// The address a socket is bound to.
    static func localAddress(_ fd: Int32) throws(ReactorError) -> SocketAddress {
        try address(fd, operation: "getsockname", getsockname)
    }

    /// The address of a connected socket's peer.
    static func peerAddress(_ fd: Int32) throws(ReactorError) -> SocketAddress {
        try address(fd, operation: "getpeername", getpeername)
    }

    private static func address(
        _ fd: Int32, operation: StaticString,
        _ call: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32
    ) throws(ReactorError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, &length) == -1 ? -errno : 0 }
        }
        try Syscall.check(operation) { rc }
        let address = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress($0, length: length) }
        }
        guard let address else {
            throw ReactorError(.unsupported, operation: "\(operation)", detail: "not an IP socket")
        }
        return address
    }

    /// Reads into `buffer`: the byte count (0 at end of stream) or `.wouldBlock`.
    static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, via sys: SyscallTable = .system) throws(ReactorError) -> Syscall.Outcome<Int> {
        try Syscall.run("recv") { sys.recv(fd, buffer) }
    }

    /// Writes from `buffer` without raising SIGPIPE: the byte count or `.wouldBlock`.
    static func send(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, via sys: SyscallTable = .system) throws(ReactorError) -> Syscall.Outcome<Int> {
        try Syscall.run("send") { sys.send(fd, buffer) }
    }

    /// Writes the buffers `vector` points at, in order, with one call, without raising
    /// SIGPIPE (sendmsg with MSG_NOSIGNAL: writev would raise it): the byte count or
    /// `.wouldBlock`.
    static func send(_ fd: Int32, vector: UnsafeBufferPointer<iovec>, via sys: SyscallTable = .system) throws(ReactorError) -> Syscall.Outcome<Int> {
        try Syscall.run("sendmsg") { sys.sendVector(fd, vector) }
    }
}
