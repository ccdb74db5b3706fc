import AMQPCodec
import AMQPEngine
import AMQPReactor
import CAMQPLinux
import Dispatch
import Glibc
import Synchronization
import Testing

extension ReactorTests {
    @Suite("ticks, scale, idle cost, other threads")
    struct Scheduling {
        /// Two server engines on socket pairs; each peer sends an AMQP header. Serving one
        /// connection leaves the other's bytes in its socket and its handler silent until
        /// its own turn.
        @Test("tick(only:) serves one connection and leaves the other for its own turn", arguments: testBackends)
        func tickOnlyIsolatesConnections(backend: TestBackend) throws {
            let h = try EngineHarness(backend: backend)
            var pairs: [(reactorSide: Int32, peer: Int32)] = []
            for _ in 0..<2 {
                var fds: [Int32] = [-1, -1]
                try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
                pairs.append((fds[0], fds[1]))
            }
            defer { for p in pairs { close(p.peer) } }
            var ids: [ConnectionID] = []
            for p in pairs {
                var engine = ConnectionEngine(configuration: serverConfiguration())
                engine.open()
                ids.append(try h.reactor.adopt(socket: p.reactorSide, connection: engine, handler: h.handler))
            }
            let (a, b) = (ids[0], ids[1])
            // Adopting queues `.connected` for both; deliver each on its own tick.
            try h.reactor.tick(only: a)
            try h.reactor.tick(only: b)
            #expect(h.log(a).connected && h.log(b).connected)
            let before = (a: h.log(a).eventCount, b: h.log(b).eventCount)

            let header = ProtocolHeader.amqp.bytes
            for p in pairs {
                #expect(header.withUnsafeBytes { camqp_send_nosignal(p.peer, $0.baseAddress, $0.count, 0) } == 8)
            }
            // A Unix socket's send queues the bytes on the receiving socket before it
            // returns: both headers are there now.
            try h.reactor.tick(only: a)
            #expect(h.log(a).states.contains(.headerExchanged), "a's header was read, parsed and delivered")
            #expect(h.log(b).eventCount == before.b, "b's handler did not run")
            // epoll: b's bytes are still in its socket. io_uring: b's recv may have put them
            // in its inbound ring already; either way nothing has parsed them.
            let unread = peekCount(pairs[1].reactorSide) + (h.reactor.bufferedBytes(b)?.inbound ?? -100)
            #expect(unread == 8, "b's bytes are untouched")
            if backend.backend == .epoll { #expect(peekCount(pairs[1].reactorSide) == 8) }
            #expect(peekCount(pairs[0].reactorSide) == 0)
            #expect(waitFor(pairs[0].peer, events: Int16(POLLIN), seconds: 5), "a answered with its own header")
            #expect(peekCount(pairs[1].peer) == 0, "b has not answered yet")

            // b's readiness was noted by a's tick (edge-triggered: it will not be reported
            // again); b's own tick must still find it.
            try h.reactor.tick(only: b)
            #expect(h.log(b).states.contains(.headerExchanged))
            #expect(peekCount(pairs[1].reactorSide) == 0)
            #expect(waitFor(pairs[1].peer, events: Int16(POLLIN), seconds: 5))
            #expect(h.log(a).eventCount > before.a)

            // A tick with nothing to do returns at once, and a closed id reports false.
            #expect(try h.reactor.tick(only: a))
            h.reactor.abort(a)
            #expect(try h.reactor.tick(only: a) == false)
            #expect(h.log(a).closeError?.code == .aborted)
            #expect(try h.reactor.tick(only: a) == false)
            #expect(h.reactor.contains(b))
        }

        @Test("1,000 connections open and close on one reactor without leaking descriptors", arguments: testBackends)
        func thousandConnections(backend: TestBackend) throws {
            let count = 1_000
            let limit = raiseDescriptorLimit(to: UInt64(2 * count + 256))
            try #require(limit >= UInt64(2 * count + 64), "RLIMIT_NOFILE is \(limit)")
            let h = try EngineHarness(backend: backend) { options in
                options.inboundCapacity = 4096
                options.outboundCapacity = 4096
            }
            var listen = ListenOptions()
            listen.backlog = Int32(count)
            let (listener, address) = try h.listen(serverConfiguration(maxFrameSize: 4096), options: listen)
            #expect(descriptorsOnPort(address.port) == 1, "only the listener")
            // Each client closes as soon as the server's OPEN arrives.
            h.onEvent = { h, id, event in
                if case .connection(.remoteOpen) = event, !h.accepted.contains(id) {
                    h.reactor.withConnection(id) { $0.close() }
                }
            }
            var clients: [ConnectionID] = []
            for _ in 0..<count {
                clients.append(try h.connect(to: address, clientConfiguration(maxFrameSize: 4096)))
            }
            #expect(h.reactor.connectionCount == count)
            try h.pump("every connection opened and closed", within: 30) {
                h.accepted.count == count && h.logs.values.allSatisfy { $0.isClosed }
            }
            let failures = h.logs.values.compactMap { $0.closeError }
            #expect(failures.isEmpty, "\(failures.prefix(3))")
            #expect(clients.allSatisfy { h.log($0).remoteOpen && h.log($0).state == .end })
            #expect(h.reactor.connectionCount == 0)
            #expect(descriptorsOnPort(address.port) == 1, "only the listener is left")
            h.reactor.stopListening(listener)
            #expect(descriptorsOnPort(address.port) == 0)
        }

        @Test("an idle connection with heartbeats costs next to no CPU", arguments: testBackends)
        func idleCostsNoCPU(backend: TestBackend) throws {
            let h = try EngineHarness(backend: backend)
            var server = serverConfiguration(idleTimeout: 400)
            server.emptyFrameSendRatio = 0.25
            var client = clientConfiguration(idleTimeout: 400)
            client.emptyFrameSendRatio = 0.25
            let (_, address) = try h.listen(server)
            let c = try h.connect(to: address, client)
            try h.pump("opened") { h.log(c).remoteOpen && h.accepted.count == 1 && h.log(h.accepted[0]).remoteOpen }

            var process = rusage()
            getrusage(RUSAGE_SELF.rawValue, &process)
            let processBefore = cpuSeconds(process)
            let before = threadCPUSeconds()
            let start = secondsNow()
            var ticks = 0
            // The reactor decides how long to sleep: until the next heartbeat.
            while secondsNow() - start < 1.0 {
                try h.reactor.runOnce()
                ticks += 1
            }
            let used = threadCPUSeconds() - before
            getrusage(RUSAGE_SELF.rawValue, &process)
            let processUsed = cpuSeconds(process) - processBefore
            // Heartbeats every 100 ms each way: about 20 wake-ups. A busy loop would use the
            // whole second; the bound is generous for a loaded, debug-built machine.
            #expect(used < 0.1, "reactor thread used \(used) s of CPU in 1 s idle (\(ticks) ticks, process \(processUsed) s)")
            #expect(ticks < 500, "\(ticks) wake-ups in 1 s idle")
            #expect(!h.log(c).isClosed)
        }

        @Test("other threads hand work to the reactor and stop it", arguments: testBackends)
        func executeAndStopFromAnotherThread(backend: TestBackend) throws {
            let h = try EngineHarness(backend: backend)
            let (_, address) = try h.listen(serverConfiguration())
            let handle = h.reactor.handle
            let ranOnReactorThread = Atomic<Bool>(false)
            let watchdogFired = Atomic<Bool>(false)
            let reactorThread = pthread_self()
            // From another thread: connect (through a job), and stop once it is open.
            DispatchQueue.global().async {
                handle.execute { reactor in
                    ranOnReactorThread.store(pthread_equal(pthread_self(), reactorThread) != 0, ordering: .relaxed)
                    var engine = ConnectionEngine(configuration: clientConfiguration())
                    engine.open()
                    _ = try? reactor.connect(to: address, connection: engine) { reactor, _, event in
                        if case .connection(.remoteOpen) = event { reactor.stop() }
                    }
                }
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + 10) {
                watchdogFired.store(true, ordering: .relaxed)
                handle.stop()
            }
            try h.reactor.run()
            let fired = watchdogFired.load(ordering: .relaxed)
            let onReactorThread = ranOnReactorThread.load(ordering: .relaxed)
            #expect(!fired, "run() returned by itself")
            #expect(onReactorThread)
            #expect(h.reactor.connectionCount == 2)

            // A stop from another thread while the reactor sleeps with nothing to do.
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(50)) { handle.stop() }
            try h.reactor.run()
            let firedLater = watchdogFired.load(ordering: .relaxed)
            #expect(!firedLater)
        }
    }
}

func peekCount(_ fd: Int32) -> Int {
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    let n = buffer.withUnsafeMutableBytes { camqp_recv(fd, $0.baseAddress, $0.count, Int32(MSG_PEEK | MSG_DONTWAIT)) }
    return max(0, n)
}

func cpuSeconds(_ usage: rusage) -> Double {
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
