import AMQPEngine
import AMQPReactor
import CAMQPLinux
import Glibc
import Testing

// A connect tries the addresses a name resolved to in order, moving on after a refusal
// (or an unreachable address, or a time-out), and the machine sees only the connection
// that succeeds, or the last failure.

/// A loopback address that refuses connections: a port a listener had, closed again.
func refusingAddress() throws -> SocketAddress {
    let (fd, address) = try rawListener()
    close(fd)
    return address
}

/// True when "localhost" resolves to ::1 before 127.0.0.1 and ::1 can be bound here.
let localhostHasIPv6First: Bool = {
    guard let addresses = try? SocketAddress.resolve(host: "localhost", port: 5672), addresses.count >= 2,
        addresses[0].family == .ipv6, addresses.contains(where: { $0.family == .ipv4 })
    else { return false }
    let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var a = sockaddr_in6()
    a.sin6_family = sa_family_t(AF_INET6)
    a.sin6_addr = in6addr_loopback
    return withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } } == 0
}()

extension ReactorTests {
    @Suite("Address fallback") struct AddressFallbackTests {
        @Test(arguments: testBackends)
        func refusedAddressGivesWayToTheNext(backend: TestBackend) throws {
            let harness = try EngineHarness(backend: backend)
            let (listener, address) = try harness.listen(serverConfiguration())
            let refused = try refusingAddress()
            var engine = ConnectionEngine(configuration: clientConfiguration())
            engine.open()
            let id = try harness.reactor.connect(to: [refused, try refusingAddress(), address], connection: engine, handler: harness.handler)
            try harness.pump("the client to open") { harness.log(id).remoteOpen || harness.log(id).isClosed }
            #expect(harness.log(id).connected)
            #expect(harness.log(id).peer == address)
            #expect(!harness.log(id).isClosed)
            harness.reactor.withConnection(id) { $0.close() }
            try harness.pump("the client to close") { harness.log(id).isClosed }
            #expect(harness.log(id).closeError == nil)
            harness.reactor.stopListening(listener)
        }

        /// A connect that times out gives way to the next address too. With io_uring the
        /// timed-out connect request is cancelled first, and the next one starts when the
        /// cancelled one has completed (`fallbackAfter`). The address that never answers
        /// is a loopback listener whose accept queue is full (the kernel drops the SYN).
        @Test(arguments: testBackends)
        func timedOutAddressGivesWayToTheNext(backend: TestBackend) throws {
            let (fd, silent) = try rawListener(backlog: 0)
            defer { close(fd) }
            // Backlog 0 still queues one connection; this one fills the queue.
            let filler = try RawSocket(connectingTo: silent)
            _ = filler
            let harness = try EngineHarness(backend: backend)
            let (listener, address) = try harness.listen(serverConfiguration())
            var engine = ConnectionEngine(configuration: clientConfiguration())
            engine.open()
            var options = ConnectOptions()
            options.timeout = .milliseconds(300)
            let start = secondsNow()
            let id = try harness.reactor.connect(to: [silent, address], connection: engine, options: options, handler: harness.handler)
            try harness.pump("the client to open") { harness.log(id).remoteOpen || harness.log(id).isClosed }
            #expect(harness.log(id).connected)
            #expect(harness.log(id).peer == address)
            #expect(!harness.log(id).isClosed, "\(String(describing: harness.log(id).closeError))")
            // Each address has the whole time-out: the first took it.
            #expect(secondsNow() - start >= 0.3)
            harness.reactor.withConnection(id) { $0.close() }
            try harness.pump("the client to close") { harness.log(id).isClosed }
            #expect(harness.log(id).closeError == nil)
            harness.reactor.stopListening(listener)
        }

        @Test(arguments: testBackends)
        func everyAddressRefusedFailsWithTheLast(backend: TestBackend) throws {
            let harness = try EngineHarness(backend: backend)
            var engine = ConnectionEngine(configuration: clientConfiguration())
            engine.open()
            let id = try harness.reactor.connect(to: [try refusingAddress(), try refusingAddress()], connection: engine, handler: harness.handler)
            try harness.pump("the client to fail") { harness.log(id).isClosed }
            #expect(!harness.log(id).connected)
            #expect(harness.log(id).closeError?.code == .connectionRefused)
        }

        /// "localhost" with a listener on 127.0.0.1 only: ::1 refuses, 127.0.0.1 answers.
        /// Needs ::1 in the resolver's answer first and an IPv6 loopback; this machine's
        /// /etc/hosts names 127.0.0.1 only, so it may not run here.
        @Test(.enabled(if: localhostHasIPv6First), arguments: testBackends.prefix(2))
        func localhostFallsBackFromIPv6ToIPv4(backend: TestBackend) throws {
            let harness = try EngineHarness(backend: backend)
            let (listener, address) = try harness.listen(serverConfiguration())
            var engine = ConnectionEngine(configuration: clientConfiguration())
            engine.open()
            let id = try harness.reactor.connect(host: "localhost", port: address.port, connection: engine, handler: harness.handler)
            try harness.pump("the client to open") { harness.log(id).remoteOpen || harness.log(id).isClosed }
            #expect(harness.log(id).peer == address)
            harness.reactor.stopListening(listener)
        }
    }
}
