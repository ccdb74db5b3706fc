import CAMQPLinux
import Glibc
import Testing

@testable import AMQPReactor

@Suite("sockets, addresses and the syscall wrapper")
struct SocketTests {
    @Test func addressesParseAndPrint() throws {
        let v4 = try #require(SocketAddress(ipv4: "127.0.0.1", port: 5672))
        #expect(v4.family == .ipv4 && v4.port == 5672 && "\(v4)" == "127.0.0.1:5672")
        let v6 = try #require(SocketAddress(ipv6: "::1", port: 5671))
        #expect(v6.family == .ipv6 && "\(v6)" == "[::1]:5671")
        #expect(SocketAddress(numericHost: "10.1.2.3", port: 1)?.family == .ipv4)
        #expect(SocketAddress(numericHost: "fe80::1", port: 1)?.family == .ipv6)
        #expect(SocketAddress(ipv4: "::1", port: 1) == nil)
        #expect(SocketAddress(numericHost: "localhost", port: 1) == nil)
        #expect(SocketAddress(numericHost: "256.0.0.1", port: 1) == nil)
        #expect(v4.with(port: 1) == SocketAddress(ipv4: "127.0.0.1", port: 1))
        // Through sockaddr and back.
        let back = v6.withSockaddr { sa, length in SocketAddress(sa, length: length) }
        #expect(back == v6)
    }

    @Test func resolvingNamesAndNumbers() throws {
        #expect(try SocketAddress.resolve(host: "127.0.0.1", port: 9) == [.loopbackIPv4(port: 9)])
        #expect(try SocketAddress.resolve(host: "::1", port: 9) == [.loopbackIPv6(port: 9)])
        // /etc/hosts: no DNS traffic.
        let local = try SocketAddress.resolve(host: "localhost", port: 9)
        #expect(local.contains(.loopbackIPv4(port: 9)) || local.contains(.loopbackIPv6(port: 9)))
    }

    @Test func emptySocketWouldBlockAndEndOfStreamIsZero() throws {
        var fds: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds) == 0)
        defer { close(fds[0]) }
        var buffer = [UInt8](repeating: 0, count: 16)
        let empty = try buffer.withUnsafeMutableBytes { try Socket.receive(fds[0], into: $0) }
        guard case .wouldBlock = empty else { Issue.record("expected wouldBlock, got \(empty)"); return }
        close(fds[1])
        let eof = try buffer.withUnsafeMutableBytes { try Socket.receive(fds[0], into: $0) }
        guard case .completed(0) = eof else { Issue.record("expected end of stream, got \(eof)"); return }
    }

    @Test func sendingToAResetPeerIsATypedErrorNotSIGPIPE() throws {
        let (listenFD, address) = try rawListener()
        defer { close(listenFD) }
        let client = try Socket.open(family: .ipv4)
        defer { close(client) }
        _ = try Socket.startConnect(client, to: address)
        do {
            let server = try rawAccept(listenFD)
            server.reset()
        }
        #expect(waitFor(client, events: Int16(POLLIN), seconds: 5))
        let bytes = [UInt8](repeating: 1, count: 100)
        var failure: ReactorError? = nil
        for _ in 0..<3 where failure == nil {
            do {
                _ = try bytes.withUnsafeBytes { try Socket.send(client, $0) }
            } catch {
                failure = error as? ReactorError
            }
        }
        let error = try #require(failure)
        #expect(error.code == .connectionReset || error.code == .brokenPipe, "\(error)")
        #expect(error.operation == "send")
        #expect("\(error)".hasPrefix("send: "))
        #expect(error.fileID.hasSuffix("Socket.swift"))
    }

    @Test func optionsAreApplied() throws {
        let (listenFD, address) = try rawListener()
        defer { close(listenFD) }
        let fd = try Socket.open(family: .ipv4)
        defer { close(fd) }
        _ = try Socket.startConnect(fd, to: address)
        #expect(waitFor(fd, events: Int16(POLLOUT), seconds: 5))
        var options = SocketOptions()
        options.keepAlive = .init(idleSeconds: 30, intervalSeconds: 5, count: 3)
        options.userTimeoutMilliseconds = 20_000
        try Socket.apply(options, to: fd)
        func option(_ level: Int32, _ name: Int32) -> Int32 {
            var v: Int32 = -1
            var len = socklen_t(4)
            _ = getsockopt(fd, level, name, &v, &len)
            return v
        }
        let tcp = Int32(IPPROTO_TCP)
        #expect(option(tcp, TCP_NODELAY) != 0)
        #expect(option(SOL_SOCKET, SO_KEEPALIVE) == 1)
        #expect(option(tcp, TCP_KEEPIDLE) == 30 && option(tcp, TCP_KEEPINTVL) == 5 && option(tcp, TCP_KEEPCNT) == 3)
        #expect(option(tcp, TCP_USER_TIMEOUT) == 20_000)
        #expect(try Socket.pendingError(fd) == 0)
    }

    /// The reactor sets socket options on the listener only and relies on Linux copying
    /// them to each accepted socket; if a kernel stopped doing so, this fails.
    @Test func acceptedSocketsInheritTheListenersOptions() throws {
        var options = SocketOptions()
        options.keepAlive = .init(idleSeconds: 31, intervalSeconds: 6, count: 4)
        options.userTimeoutMilliseconds = 21_000
        let listener = try Socket.listen(on: .loopbackIPv4(), backlog: 4, reuseAddress: true, socketOptions: options)
        defer { close(listener) }
        let client = try Socket.open(family: .ipv4)
        defer { close(client) }
        _ = try Socket.startConnect(client, to: try Socket.localAddress(listener))
        #expect(waitFor(listener, events: Int16(POLLIN), seconds: 5))
        guard case .completed(let (fd, _)) = try Socket.accept(listener) else {
            Issue.record("nothing to accept")
            return
        }
        defer { close(fd) }
        func option(_ level: Int32, _ name: Int32) -> Int32 {
            var v: Int32 = -1
            var len = socklen_t(4)
            _ = getsockopt(fd, level, name, &v, &len)
            return v
        }
        let tcp = Int32(IPPROTO_TCP)
        #expect(option(tcp, TCP_NODELAY) != 0)
        #expect(option(SOL_SOCKET, SO_KEEPALIVE) == 1)
        #expect(option(tcp, TCP_KEEPIDLE) == 31 && option(tcp, TCP_KEEPINTVL) == 6 && option(tcp, TCP_KEEPCNT) == 4)
        #expect(option(tcp, TCP_USER_TIMEOUT) == 21_000)
    }

    @Test func listenersReportTheirPortAndIPv6IsV6Only() throws {
        let v6 = try Socket.listen(on: .loopbackIPv6(), backlog: 4, reuseAddress: true)
        defer { close(v6) }
        let bound = try Socket.localAddress(v6)
        #expect(bound.family == .ipv6 && bound.port != 0)
        var only: Int32 = 0
        var len = socklen_t(4)
        _ = getsockopt(v6, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &only, &len)
        #expect(only == 1)
        // The same port again, without SO_REUSEPORT: a typed address-in-use error.
        #expect {
            try Socket.listen(on: bound, backlog: 4, reuseAddress: false)
        } throws: { error in
            (error as? ReactorError)?.code == .addressInUse
        }
    }

    @Test func syscallWrapperRetriesEINTRAndMapsEAGAIN() throws {
        var calls = 0
        let outcome = try Syscall.run("test") { () -> Int32 in
            calls += 1
            return calls < 3 ? -EINTR : 7
        }
        guard case .completed(7) = outcome, calls == 3 else { Issue.record("\(outcome) after \(calls) calls"); return }
        let blocked = try Syscall.run("test") { () -> Int32 in -EWOULDBLOCK }
        guard case .wouldBlock = blocked else { Issue.record("\(blocked)"); return }
        #expect {
            try Syscall.check("test") { () -> Int32 in -ECONNREFUSED }
        } throws: { error in
            let e = error as? ReactorError
            return e?.code == .connectionRefused && e?.errno == ECONNREFUSED && e?.operation == "test"
        }
        #expect(ReactorError.Code.from(errno: EHOSTUNREACH) == .hostUnreachable)
        #expect(ReactorError.Code.from(errno: ETIMEDOUT) == .timedOut)
        #expect(ReactorError.Code.from(errno: EMFILE) == .tooManyOpenFiles)
        #expect(ReactorError.Code.from(errno: EPROTO) == .other)
    }
}
