import CAMQPLinux
import Glibc
import Testing

@Suite("socket helpers on loopback TCP")
struct SocketTests {
    func intOption(_ fd: Int32, _ level: Int32, _ name: Int32) -> Int32 {
        var value: Int32 = -1
        var len = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, level, name, &value, &len) == 0 ? value : -errno
    }

    let tcp = Int32(IPPROTO_TCP)

    @Test func nodelayKeepaliveAndUserTimeoutReadBack() throws {
        let (client, server) = try makeTCPPair()
        defer { close(client); close(server) }

        #expect(camqp_tcp_set_nodelay(client, true) == 0)
        #expect(intOption(client, tcp, TCP_NODELAY) != 0)
        #expect(camqp_tcp_set_nodelay(client, false) == 0)
        #expect(intOption(client, tcp, TCP_NODELAY) == 0)

        #expect(camqp_tcp_set_keepalive(client, true, 30, 5, 4) == 0)
        #expect(intOption(client, SOL_SOCKET, SO_KEEPALIVE) == 1)
        #expect(intOption(client, tcp, TCP_KEEPIDLE) == 30)
        #expect(intOption(client, tcp, TCP_KEEPINTVL) == 5)
        #expect(intOption(client, tcp, TCP_KEEPCNT) == 4)
        // Non-positive knobs keep what is there.
        #expect(camqp_tcp_set_keepalive(client, true, 0, -1, 0) == 0)
        #expect(intOption(client, tcp, TCP_KEEPIDLE) == 30)
        #expect(camqp_tcp_set_keepalive(client, false, 0, 0, 0) == 0)
        #expect(intOption(client, SOL_SOCKET, SO_KEEPALIVE) == 0)
        #expect(camqp_tcp_set_keepalive(client, true, 0, 0, 1_000_000) == -EINVAL)

        #expect(camqp_tcp_set_user_timeout(client, 10_000) == 0)
        #expect(intOption(client, tcp, TCP_USER_TIMEOUT) == 10_000)
        #expect(camqp_tcp_set_user_timeout(client, UInt32(Int32.max) + 1) == -EINVAL)

        #expect(camqp_tcp_set_nodelay(-1, true) == -EBADF)
    }

    @Test func acceptedAndOpenedSocketsAreNonBlockingAndCloseOnExec() throws {
        let (client, server) = try makeTCPPair()
        defer { close(client); close(server) }
        for fd in [client, server] {
            #expect(fcntl(fd, F_GETFL) & O_NONBLOCK != 0)
            #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
        }
        let plain = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(plain >= 0)
        defer { close(plain) }
        #expect(fcntl(plain, F_GETFL) & O_NONBLOCK == 0)
        #expect(camqp_fd_set_nonblock_cloexec(plain) == 0)
        #expect(fcntl(plain, F_GETFL) & O_NONBLOCK != 0)
        #expect(fcntl(plain, F_GETFD) & FD_CLOEXEC != 0)
        #expect(camqp_fd_set_nonblock_cloexec(-1) == -EBADF)
    }

    @Test func soErrorIsZeroOnSuccessAndECONNREFUSEDForAClosedPort() throws {
        let (client, server) = try makeTCPPair()
        defer { close(client); close(server) }
        var soError: Int32 = -1
        #expect(camqp_socket_error(client, &soError) == 0)
        #expect(soError == 0)

        // Keep a bound, non-listening socket so the port stays ours and
        // nothing can be listening on it.
        let holder = try check("socket", camqp_socket_open(AF_INET, Int32(SOCK_STREAM.rawValue)))
        defer { close(holder) }
        try withSockaddr(loopbackAddress()) { sa, len in
            guard bind(holder, sa, len) == 0 else { throw SyscallError(call: "bind", code: errno) }
        }
        let port = try boundPort(holder)
        let refused = try check("socket", camqp_socket_open(AF_INET, Int32(SOCK_STREAM.rawValue)))
        defer { close(refused) }
        let rc = withSockaddr(loopbackAddress(port: port)) { camqp_connect(refused, $0, $1) }
        if rc == -EINPROGRESS {
            let ev = try waitFor(refused, CAMQP_EPOLLOUT)
            #expect(ev & (CAMQP_EPOLLERR | CAMQP_EPOLLHUP) != 0)
            #expect(camqp_socket_error(refused, &soError) == 0)
            #expect(soError == ECONNREFUSED)
            // SO_ERROR is cleared by reading it.
            #expect(camqp_socket_error(refused, &soError) == 0)
            #expect(soError == 0)
        } else {
            #expect(rc == -ECONNREFUSED)
        }
        #expect(camqp_socket_error(-1, &soError) == -EBADF)
    }

    @Test func gatheredSendArrivesInOrder() throws {
        let (client, server) = try makeTCPPair()
        defer { close(client); close(server) }
        var header: [UInt8] = [0, 0, 0, 12, 2, 0, 0, 0]
        var body: [UInt8] = Array("AMQP".utf8)
        let sent = header.withUnsafeMutableBytes { h in
            body.withUnsafeMutableBytes { b in
                var iov = [iovec(iov_base: h.baseAddress, iov_len: h.count),
                           iovec(iov_base: b.baseAddress, iov_len: b.count)]
                return camqp_sendv_nosignal(client, &iov, 2)
            }
        }
        #expect(sent == 12)
        #expect(try waitFor(server, CAMQP_EPOLLIN) & CAMQP_EPOLLIN != 0)
        var inbox = [UInt8](repeating: 0, count: 32)
        #expect(camqp_recv(server, &inbox, inbox.count, 0) == 12)
        #expect(Array(inbox[0..<12]) == header + body)
        #expect(camqp_recv(server, &inbox, inbox.count, 0) == -EAGAIN)
    }

    /// Without MSG_NOSIGNAL the second send below would raise SIGPIPE and
    /// kill the test process; here it must come back as an errno.
    @Test func sendToAClosedPeerReturnsAnErrorInsteadOfSIGPIPE() throws {
        let (client, server) = try makeTCPPair()
        defer { close(client) }
        close(server)
        var last: Int = 0
        // The first send after the peer closed can still succeed (the RST
        // comes back in response to it); the next one must fail. Bounded.
        for _ in 0..<100 {
            last = camqp_send_nosignal(client, "x", 1, 0)
            if last < 0 { break }
            _ = try waitFor(client, CAMQP_EPOLLERR | CAMQP_EPOLLHUP, timeoutMs: 10)
        }
        #expect(last == -EPIPE || last == -ECONNRESET, "\(errnoName(Int32(-last)))")
        var one: UInt8 = 1
        let again = withUnsafeMutableBytes(of: &one) { bytes in
            var iov = iovec(iov_base: bytes.baseAddress, iov_len: bytes.count)
            return camqp_sendv_nosignal(client, &iov, 1)
        }
        #expect(again == -EPIPE || again == -ECONNRESET)
    }
}
