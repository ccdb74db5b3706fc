import AMQPCodec
import AMQPEngine
import AMQPReactor
import AMQPTLS
import Testing

/// The TLS layer without sockets: every split of the byte stream, deadlines on a virtual
/// clock, configuration errors.
@Suite struct TLSMemoryTests {
    static func contexts(start: TLSConfiguration.Start = .immediately) throws -> (client: TLSContext, server: TLSContext) {
        let certs = try certificates()
        var client = TLSConfiguration.client(trust: .file(certs.caFile))
        client.start = start
        let server = TLSConfiguration.server(certificate: .init(chainFile: certs.server.chain, keyFile: certs.server.key))
        return (try TLSContext(client), try TLSContext(server))
    }

    static func engines() -> (client: ConnectionEngine, server: ConnectionEngine) {
        var client = ConnectionEngine(configuration: ConnectionConfiguration(role: .client, containerID: "c", hostname: "localhost"))
        var policy = AutoAcceptPolicy()
        policy.credit = .prefetch(50)
        var s = ConnectionConfiguration(role: .server, containerID: "s")
        s.autoAccept = policy
        var server = ConnectionEngine(configuration: s)
        client.open()
        server.open()
        return (client, server)
    }

    /// Messages arrive whole and in order however the ciphertext is cut: one byte at a
    /// time through handshake, header and records, and random chunks.
    ///
    /// Also with compacting rings for the decrypted bytes (what a process past its
    /// mirrored-ring budget gets), and messages of several frames, so partial frames sit
    /// anywhere in the ring.
    @Test(arguments: [(1, UInt64(1)), (7, 2), (300, 3), (20_000, 4), (70_000, 5)], [TLSConfiguration.Start.immediately, .afterProtocolHeader])
    func everySplitCarriesTheMessages(cut: (maxChunk: Int, seed: UInt64), start: TLSConfiguration.Start) throws {
        let (cc, sc) = try Self.contexts(start: start)
        let (ce, se) = Self.engines()
        let serverSession = try TLSSession(context: sc)
        if cut.seed % 2 == 1 { serverSession.plainStorage = .compacting }
        let pair = MemoryPair(
            Machine(ce, session: try TLSSession(context: cc, serverName: "localhost")),
            Machine(se, session: serverSession), maxChunk: cut.maxChunk, seed: cut.seed)
        let messages = cut.maxChunk == 1 ? 3 : 40
        let payloads = (0..<messages).map { i in
            (0..<(i % 7 == 6 && cut.maxChunk > 1 ? 150_000 + i : 100 + i * 211)).map { UInt8(truncatingIfNeeded: $0 &+ i) }
        }
        var sent = 0
        var outcomes = 0
        var received: [[UInt8]] = []
        var link: LinkID? = nil
        pair.a.handler = { m, event in
            switch event {
            case .remoteOpen:
                let s = try! m.inner.beginSession()
                link = try! m.inner.attachLink(session: s, .sender(name: "l", to: "q"))
            case .link(.credit(let l, _, _)):
                while sent < messages && m.inner.sendable(on: l) > 0 {
                    _ = try! m.inner.send(on: l, payload: payloads[sent])
                    sent += 1
                }
            case .link(.outcomes(_, let handles, _, _)):
                outcomes += handles.count
                if outcomes == messages { m.inner.close() }
            default: break
            }
        }
        pair.b.handler = { m, event in
            if case .link(.delivery(let l, let d)) = event {
                received.append(d.payload.withUnsafeBytes { Array($0) })
                _ = try? m.inner.settle(l, delivery: d.id, state: .accepted)
            }
        }
        try pair.run("both ends finished") { pair.a.machine.isFinished && pair.b.machine.isFinished }
        #expect(link != nil)
        #expect(received == payloads)
        #expect(outcomes == messages)
        #expect(pair.a.machine.session?.failure == nil)
        #expect(pair.b.machine.session?.failure == nil)
        #expect(pair.a.machine.session?.peer?.verifiedSubject == "CN=localhost")
    }

    /// A server that never answers: the handshake ends at its deadline, on the virtual
    /// clock, with its own error, and the engine above ends with it.
    @Test func handshakeTimesOut() throws {
        let certs = try certificates()
        var c = TLSConfiguration.client(trust: .file(certs.caFile))
        c.handshakeTimeout = .milliseconds(1500)
        var engine = ConnectionEngine(configuration: ConnectionConfiguration(role: .client, containerID: "c"))
        engine.open()
        var m = Machine(engine, session: try TLSSession(context: try TLSContext(c), serverName: "localhost"))
        let start = EngineInstant(nanoseconds: 5_000_000_000)
        var hello = [UInt8](repeating: 0, count: 4096)
        let n = hello.withUnsafeMutableBytes { m.produce(into: $0, now: start) }
        #expect(n > 0 && hello[0] == 0x16)  // a TLS handshake record: the ClientHello
        let deadline = try #require(m.nextDeadline)
        #expect(deadline == start.advanced(byMilliseconds: 1500))
        m.poll(now: start.advanced(byMilliseconds: 1499))
        #expect(m.session?.failure == nil)
        m.poll(now: deadline)
        #expect(m.session?.failure?.code == .handshakeTimedOut)
        #expect(m.isFinished)
        var closed: EngineError?? = nil
        while let e = m.nextEvent() { if case .closed(let error) = e { closed = .some(error) } }
        #expect((closed ?? nil)?.description.contains("handshake timed out") == true)
    }

    /// Bytes that are neither TLS nor AMQP end a TLS listener's connection at once.
    @Test func garbageIsNotTLS() throws {
        let (_, sc) = try Self.contexts()
        var m = Machine(Self.engines().server, session: try TLSSession(context: sc))
        let garbage: [UInt8] = Array("GET / HTTP/1.1\r\n".utf8)
        let used = garbage.withUnsafeBytes { m.receive($0, now: .zero) }
        #expect(used == garbage.count)
        #expect(m.session?.failure?.code == .notTLS)
        #expect(m.isFinished)
    }

    /// After the handshake, a corrupted record ends TLS with `.protocolFailure` (the
    /// record's authentication fails); nothing crashes, and both engines end.
    @Test(arguments: [UInt64(11), 12, 13])
    func corruptedRecordsEndTheConnection(seed: UInt64) throws {
        let (cc, sc) = try Self.contexts()
        let (ce, se) = Self.engines()
        let pair = MemoryPair(
            Machine(ce, session: try TLSSession(context: cc, serverName: "localhost")),
            Machine(se, session: try TLSSession(context: sc)), maxChunk: 64 << 10, seed: seed)
        var opened = false
        pair.a.handler = { _, e in if case .remoteOpen = e { opened = true } }
        try pair.run("open") { opened }
        // A record from the client with one bit flipped somewhere in its body.
        pair.a.machine.inner.close()
        var record = [UInt8](repeating: 0, count: 4096)
        let n = record.withUnsafeMutableBytes { pair.a.machine.produce(into: $0, now: pair.now) }
        #expect(n > 5 && record[0] == 0x17)  // application data
        var generator = SplitMix(seed: seed)
        let at = 5 + Int(generator.next() % UInt64(n - 5))
        record[at] ^= 1 << UInt8(generator.next() % 8)
        pair.b.inbound += record[..<n]
        try pair.run("the server gives up") { pair.b.machine.isFinished }
        #expect(pair.b.machine.session?.failure?.code == .protocolFailure)
        #expect(pair.b.machine.inner.state == .error)
    }

    @Test func missingFilesAreConfigurationErrors() throws {
        let certs = try certificates()
        #expect(throws: TLSError.self) { try TLSContext(.client(trust: .file("/nonexistent/ca.pem"))) }
        do {
            _ = try TLSContext(.server(certificate: .init(chainFile: certs.server.chain, keyFile: certs.client.key)))
            Issue.record("a key of another certificate was accepted")
        } catch {
            #expect(error.code == .invalidConfiguration)
            #expect(error.detail.contains("private key \(certs.client.key)"))
        }
        do {
            _ = try TLSSession(context: try TLSContext(.client(trust: .file(certs.caFile))))
            Issue.record("host name verification without a name was accepted")
        } catch {
            #expect(error.code == .invalidConfiguration)
        }
    }

    /// Verification off: the wrong-host certificate from an unknown CA is accepted.
    @Test func insecureSkipVerificationAcceptsAnything() throws {
        let certs = try certificates()
        let sc = try TLSContext(.server(certificate: .init(chainFile: certs.untrusted.chain, keyFile: certs.untrusted.key)))
        let cc = try TLSContext(.insecureSkipVerification())
        let (ce, se) = Self.engines()
        let pair = MemoryPair(
            Machine(ce, session: try TLSSession(context: cc, serverName: "wherever")),
            Machine(se, session: try TLSSession(context: sc)), maxChunk: 4096, seed: 9)
        var opened = false
        pair.a.handler = { _, e in if case .remoteOpen = e { opened = true } }
        try pair.run("open") { opened }
        #expect(pair.a.machine.session?.peer?.verifiedSubject == nil)
    }
}
