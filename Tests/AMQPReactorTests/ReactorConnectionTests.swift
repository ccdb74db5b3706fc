import AMQPCodec
import AMQPEngine
import AMQPReactor
import CAMQPLinux
import Glibc
import Testing

/// Every reactor test, one at a time: several measure descriptors or CPU time, and the
/// heartbeat tests use real (short) time-outs that parallel load could disturb.
@Suite("Reactor", .serialized)
struct ReactorTests {}

extension ReactorTests {
    @Suite("connections over loopback TCP")
    struct Connections {
        @Test("open, heartbeats across several idle time-outs, close", arguments: testBackends)
        func openHeartbeatsClose(backend: TestBackend) throws {
            let h = try EngineHarness(backend: backend)
            // 400 ms idle time-outs on both sides and heartbeats at a quarter of the peer's:
            // a tick may run up to 300 ms late before anything breaks.
            var server = serverConfiguration(idleTimeout: 400)
            server.emptyFrameSendRatio = 0.25
            server.trace = true
            var client = clientConfiguration(idleTimeout: 400)
            client.emptyFrameSendRatio = 0.25
            client.trace = true
            let (listener, address) = try h.listen(server)
            let c = try h.connect(to: address, client)
            try h.pump("both sides opened") {
                h.log(c).remoteOpen && h.accepted.count == 1 && h.log(h.accepted[0]).remoteOpen
            }
            let s = h.accepted[0]
            #expect(h.log(c).connected && h.log(c).peer == address)
            #expect(h.log(c).state == .opened && h.log(s).state == .opened)

            // Five idle time-outs of silence from the application: only heartbeats flow.
            try h.run(for: 2.0)
            #expect(!h.log(c).isClosed && !h.log(s).isClosed, "the idle connection survived")
            #expect(h.log(c).traces.contains("-> Empty frame"), "the client sent heartbeats")
            #expect(h.log(s).traces.contains("-> Empty frame"), "the server sent heartbeats")
            #expect(h.reactor.inspect(c) { $0.state } == .opened)

            h.reactor.withConnection(c) { $0.close() }
            try h.pump("both sides closed") { h.log(c).isClosed && h.log(s).isClosed }
            #expect(h.log(c).closed == .some(nil) && h.log(s).closed == .some(nil))
            #expect(h.log(c).state == .end && h.log(s).state == .end)
            #expect(h.log(s).remoteClose && h.log(c).remoteClose)
            #expect(!h.reactor.contains(c) && !h.reactor.contains(s) && h.reactor.connectionCount == 0)
            h.reactor.stopListening(listener)
        }

        @Test("IPv6 loopback", arguments: testBackends)
        func ipv6(backend: TestBackend) throws {
            let h = try EngineHarness(backend: backend)
            let (_, address) = try h.listen(on: .loopbackIPv6(), serverConfiguration())
            #expect(address.family == .ipv6 && address.port != 0)
            let c = try h.connect(to: address, clientConfiguration())
            try h.pump("opened") { h.log(c).remoteOpen }
            h.reactor.withConnection(c) { $0.close() }
            try h.pump("closed") { h.log(c).isClosed && h.accepted.allSatisfy { h.log($0).isClosed } }
            #expect(h.log(c).closed == .some(nil))
        }

        @Test("a name is resolved (blocking) and connected to", arguments: testBackends)
        func connectByName(backend: TestBackend) throws {
            let h = try EngineHarness(backend: backend)
            let (_, address) = try h.listen(serverConfiguration())
            // "localhost" comes from /etc/hosts: no DNS traffic leaves the machine.
            var engine = ConnectionEngine(configuration: clientConfiguration())
            engine.open()
            let c = try h.reactor.connect(host: "localhost", port: address.port, connection: engine, handler: h.handler)
            try h.pump("opened") { h.log(c).remoteOpen }
            h.reactor.abort(c)
            try h.pump("aborted") { h.log(c).isClosed }
            #expect(h.log(c).closeError?.code == .aborted)
        }

        @Test("connect to a closed port: typed connection-refused error", arguments: testBackends)
        func connectRefused(backend: TestBackend) throws {
            let h = try EngineHarness(backend: backend)
            // A port that was just free: bind, read it, close.
            let (fd, address) = try rawListener()
            close(fd)
            let c = try h.connect(to: address, clientConfiguration())
            try h.pump("connect failed") { h.log(c).isClosed }
            let error = try #require(h.log(c).closeError)
            #expect(error.code == .connectionRefused)
            #expect(error.errno == ECONNREFUSED && error.operation == "connect")
            #expect(!h.log(c).connected)
            #expect(!h.reactor.contains(c))
        }

        /// Network must stay on loopback, so the connect that never completes is made to a
        /// listener whose accept queue is full: Linux then drops the SYN, and the client
        /// retries for ever, as it would for an unreachable host.
        @Test("connect time-out: a listener with a full backlog", arguments: testBackends)
        func connectTimeout(backend: TestBackend) throws {
            let (fd, address) = try rawListener(backlog: 0)
            defer { close(fd) }
            // Backlog 0 still queues one connection; this one fills the queue.
            let filler = try RawSocket(connectingTo: address)
            _ = filler
            let h = try EngineHarness(backend: backend)
            var options = ConnectOptions()
            options.timeout = .milliseconds(300)
            let c = try h.connect(to: address, clientConfiguration(), options: options)
            try h.pump("connect timed out") { h.log(c).isClosed }
            let error = try #require(h.log(c).closeError)
            #expect(error.code == .timedOut, "\(error)")
            #expect(error.operation == "connect")
            #expect(!h.log(c).connected)
        }

        @Test("peer resets in the middle of a frame: typed connection-reset error", arguments: testBackends)
        func peerResetMidFrame(backend: TestBackend) throws {
            let h = try EngineHarness(backend: backend)
            let (_, address) = try h.listen(serverConfiguration())
            let peer = try RawSocket(connectingTo: address)
            // The AMQP header, then 5 bytes of an 8-byte frame header.
            try peer.send(Array(ProtocolHeader.amqp.bytes) + [0, 0, 0, 0x40, 2])
            try h.pump("the header was received") {
                h.accepted.count == 1 && h.log(h.accepted[0]).states.contains(.headerExchanged)
            }
            let s = h.accepted[0]
            #expect(h.reactor.bufferedBytes(s)?.inbound == 5, "the partial frame waits in the ring")
            peer.reset()
            try h.pump("the reset was seen") { h.log(s).isClosed }
            let error = try #require(h.log(s).closeError)
            #expect(error.code == .connectionReset, "\(error)")
            #expect(error.operation == "recv")
        }

        @Test("the peer closes before the connection finished: end of stream", arguments: testBackends)
        func peerClosesEarly(backend: TestBackend) throws {
            let h = try EngineHarness(backend: backend)
            let (_, address) = try h.listen(serverConfiguration())
            do {
                let peer = try RawSocket(connectingTo: address)
                try peer.send(Array(ProtocolHeader.amqp.bytes))
                try h.pump("accepted") { h.accepted.count == 1 && h.log(h.accepted[0]).states.contains(.headerExchanged) }
                // Read what the server sent, so closing sends a FIN rather than a reset.
                _ = waitFor(peer.fd, events: Int16(POLLIN), seconds: 5)
                var sink = [UInt8](repeating: 0, count: 4096)
                _ = sink.withUnsafeMutableBytes { camqp_recv(peer.fd, $0.baseAddress, $0.count, 0) }
            }
            let s = h.accepted[0]
            try h.pump("end of stream") { h.log(s).isClosed }
            #expect(h.log(s).closeError?.code == .endOfStream)
        }
    }
}
