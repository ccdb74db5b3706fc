import AMQPCodec
import AMQPEngine
import AMQPReactor
@testable import AMQPWebSocket
import Testing

/// The WebSocket layer around engines, without sockets: every split of the stream,
/// handshake failures on either side each with its code, pings, closes, violations, the
/// handshake deadline on a virtual clock.
@Suite struct WebSocketMemoryTests {
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

    static func clientMachine(_ configuration: WebSocketConfiguration = .client(host: "localhost")) throws -> Machine {
        Machine(engines().client, session: try WebSocketSession(configuration: configuration))
    }

    static func serverMachine(_ configuration: WebSocketConfiguration = .server()) throws -> Machine {
        Machine(engines().server, session: try WebSocketSession(configuration: configuration))
    }

    static let t0 = EngineInstant(nanoseconds: 1_000_000_000)

    /// Everything `m` has to write now.
    static func output(_ m: inout Machine) -> [UInt8] {
        var all: [UInt8] = []
        while m.hasPendingOutput {
            var buffer = [UInt8](repeating: 0, count: 1 << 17)
            let n = buffer.withUnsafeMutableBytes { m.produce(into: $0, now: t0) }
            if n == 0 { break }
            all += buffer[..<n]
        }
        return all
    }

    /// Offers `bytes` (one piece at a time of `chunk` bytes), delivering events.
    @discardableResult
    static func feed(_ m: inout Machine, _ bytes: [UInt8], chunk: Int = .max) -> Int {
        var pending: [UInt8] = []
        var offset = 0
        while offset < bytes.count {
            let take = min(chunk, bytes.count - offset)
            pending += bytes[offset..<(offset + take)]
            offset += take
            repeat {
                let used = pending.withUnsafeBytes { m.receive($0, now: t0) }
                // Events may borrow the bytes: drain them before the bytes go.
                while m.nextEvent() != nil {}
                pending.removeFirst(used)
            } while m.eventsDelivered()
        }
        return pending.count
    }

    @Test(arguments: [(1, UInt64(1)), (7, 2), (300, 3), (20_000, 4), (70_000, 5)])
    func everySplitCarriesTheMessages(cut: (maxChunk: Int, seed: UInt64)) throws {
        let (ce, se) = Self.engines()
        let serverSession = try WebSocketSession(configuration: .server(path: "/$servicebus/websocket/"))
        if cut.seed % 2 == 1 { serverSession.dataStorage = .compacting }
        let clientSession = try WebSocketSession(configuration: .client(host: "localhost"))
        let pair = MemoryPair(Machine(ce, session: clientSession), Machine(se, session: serverSession), maxChunk: cut.maxChunk, seed: cut.seed)
        let messages = cut.maxChunk == 1 ? 3 : 40
        let payloads = (0..<messages).map { i in
            (0..<(i % 7 == 6 && cut.maxChunk > 1 ? 150_000 + i : 100 + i * 211)).map { UInt8(truncatingIfNeeded: $0 &+ i) }
        }
        var sent = 0
        var outcomes = 0
        var received: [[UInt8]] = []
        pair.a.handler = { m, event in
            switch event {
            case .remoteOpen:
                let s = try! m.inner.beginSession()
                _ = try! m.inner.attachLink(session: s, .sender(name: "l", to: "q"))
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
        #expect(received == payloads)
        #expect(outcomes == messages)
        #expect(clientSession.failure == nil)
        #expect(serverSession.failure == nil)
        #expect(serverSession.requestedPath == "/$servicebus/websocket/")
        // A server's payload is unmasked into its ring; our server's frames never split an
        // AMQP frame, so the client parses what it gets in place.
        #expect(serverSession.payloadBytesInPlace == 0 && serverSession.payloadBytesCopied > 0)
        #expect(clientSession.payloadBytesInPlace > 0 && clientSession.payloadBytesCopied == 0)
        // Each side followed the AMQP close with a WebSocket close (1000); a side may
        // finish before the other's arrives, since both close once AMQP has.
        #expect(clientSession.sentClose && serverSession.sentClose)
        if serverSession.receivedClose { #expect(serverSession.peerCloseStatus == .normal) }
        if clientSession.receivedClose { #expect(clientSession.peerCloseStatus == .normal) }
    }

    /// A server whose AMQP frames arrive split across WebSocket frames anywhere (as other
    /// implementations may send them): the server's frames are re-cut into binary frames
    /// and fragments of 1 to `maxFrame` bytes, with pings between, and delivered in random
    /// chunks. The client parses in place where a unit lies whole in a frame and joins the
    /// rest in its ring; every message arrives whole and in order.
    @Test(arguments: [(UInt64(1), 1), (2, 7), (3, 300), (4, 5_000), (5, 70_000)])
    func aServersUnitsSplitAcrossFramesAnywhereReachTheClient(seed: UInt64, maxFrame: Int) throws {
        let (ce, se) = Self.engines()
        let clientSession = try WebSocketSession(configuration: .client(host: "localhost"))
        if seed % 2 == 1 { clientSession.dataStorage = .compacting }
        var client = Machine(ce, session: clientSession)
        var server = Machine(se, session: try WebSocketSession(configuration: .server()))
        var g = SplitMix(seed: seed)
        let messages = maxFrame == 1 ? 3 : 12
        let payloads = (0..<messages).map { i in (0..<(i % 4 == 3 && maxFrame > 1 ? 150_000 + i : 40 + i * 97)).map { UInt8(truncatingIfNeeded: $0 &* 3 &+ i) } }
        var sent = 0
        var received: [[UInt8]] = []
        var reframer = WebSocketFrameReader(readsServerFrames: true, maxPayload: 1 << 24)
        var fromServer: [UInt8] = []  // server bytes not yet re-cut
        var toClient: [UInt8] = []
        var toServer: [UInt8] = []
        var opened = false

        func clientEvents(_ m: inout Machine) {
            while let e = m.nextEvent() {
                switch e {
                case .remoteOpen:
                    let s = try! m.inner.beginSession()
                    _ = try! m.inner.attachLink(session: s, .receiver(name: "in", from: "q", credit: .prefetch(4)))
                case .link(.delivery(let l, let d)):
                    received.append(d.payload.withUnsafeBytes { Array($0) })
                    _ = try? m.inner.settle(l, delivery: d.id, state: .accepted)
                    if received.count == messages { m.inner.close() }
                default: break
                }
            }
        }
        func serverEvents(_ m: inout Machine) {
            while let e = m.nextEvent() {
                if case .link(.credit(let l, let credit, _)) = e, credit > 0 {
                    while sent < messages && m.inner.sendable(on: l) > 0 {
                        _ = try! m.inner.send(on: l, payload: payloads[sent])
                        sent += 1
                    }
                }
            }
        }
        /// Offers the first `n` bytes of `inbound` (the caller grows `n` by what it left
        /// unconsumed, as the reactor re-offers with more appended); returns what is left.
        func offer(_ m: inout Machine, _ inbound: inout [UInt8], _ n: Int, _ events: (inout Machine) -> Void) -> Int {
            var pending = Array(inbound.prefix(n))
            inbound.removeFirst(pending.count)
            repeat {
                let used = pending.withUnsafeBytes { m.receive($0, now: Self.t0) }
                events(&m)
                pending.removeFirst(used)
            } while m.eventsDelivered()
            inbound.insert(contentsOf: pending, at: 0)
            return pending.count
        }
        var carried = 0
        func chunk(_ max: Int) -> Int { Int(g.next() % UInt64(max)) + 1 }

        var steps = 0
        while !(client.isFinished && server.isFinished) {
            steps += 1
            guard steps < 200_000 else {
                Issue.record("stalled: received \(received.count), sent \(sent), toClient \(toClient.count) \(Array(toClient.prefix(24))), toServer \(toServer.count), fromServer \(fromServer.count), client \(clientSession.phase) unparsed \(clientSession.unparsedPayload) remaining \(clientSession.reader.remainingPayload) state \(client.inner.state), failure \(String(describing: clientSession.failure))")
                break
            }
            var progressed = false
            var buffer = [UInt8](repeating: 0, count: 1 << 17)
            if client.hasPendingOutput {
                let n = buffer.withUnsafeMutableBytes { client.produce(into: $0, now: Self.t0) }
                toServer += buffer[..<n]
                progressed = progressed || n > 0
            }
            if server.hasPendingOutput {
                let n = buffer.withUnsafeMutableBytes { server.produce(into: $0, now: Self.t0) }
                if !opened {
                    // The 101 answer goes through as it is; frames after it are re-cut.
                    let text = Array(buffer[..<n])
                    if let end = text.withUnsafeBytes({ HTTPHeaders.headEnd($0) }) {
                        toClient += text[..<end]
                        fromServer += text[end...]
                        opened = true
                    } else {
                        toClient += text
                    }
                } else {
                    fromServer += buffer[..<n]
                }
                progressed = progressed || n > 0
            }
            // Re-cut: the server's payload into frames and fragments of random sizes.
            var payload = [UInt8](repeating: 0, count: max(fromServer.count, 1))
            var control: [(WebSocketOpcode, [UInt8])] = []
            var consumed = 0
            var stream: [UInt8] = []
            while true {
                let r = fromServer.withUnsafeBytes { input in payload.withUnsafeMutableBytes { reframer.read(UnsafeRawBufferPointer(rebasing: input[consumed...]), into: UnsafeMutableRawBufferPointer(rebasing: $0[stream.count...])) } }
                #expect(r.error == nil)
                stream += payload[stream.count..<(stream.count + r.written)]
                consumed += r.consumed
                if let c = r.control { control.append((c.opcode, c.payload)) }
                if r.consumed == 0 && r.control == nil { break }
            }
            fromServer.removeFirst(consumed)
            var offset = 0
            while offset < stream.count {
                // A message of 1-3 fragments, each of 1...maxFrame bytes.
                let fragments = Int(g.next() % 3) + 1
                for f in 0..<fragments where offset < stream.count {
                    let n = min(chunk(maxFrame), stream.count - offset)
                    let last = f == fragments - 1 || offset + n == stream.count
                    var header = [UInt8](repeating: 0, count: 10)
                    let h = header.withUnsafeMutableBytes { WebSocketFrame.writeHeader(f == 0 ? .binary : .continuation, payload: n, mask: nil, into: $0) }
                    if !last { header[0] &= 0x7F }
                    toClient += header[..<h] + stream[offset..<(offset + n)]
                    offset += n
                    if g.next() % 16 == 0 { toClient += [0x89, 0x01, 0x2A] }  // a ping between
                }
            }
            for (opcode, body) in control {
                var header = [UInt8](repeating: 0, count: 10)
                let h = header.withUnsafeMutableBytes { WebSocketFrame.writeHeader(opcode, payload: body.count, mask: nil, into: $0) }
                toClient += header[..<h] + body
            }
            if !toServer.isEmpty {
                _ = offer(&server, &toServer, toServer.count, serverEvents)
                progressed = true
            }
            if !toClient.isEmpty {
                let before = toClient.count
                carried = offer(&client, &toClient, carried + chunk(max(maxFrame * 2, 16)), clientEvents)
                progressed = progressed || toClient.count != before || carried < toClient.count
            }
            if !progressed && toClient.isEmpty && !client.hasPendingOutput && !server.hasPendingOutput { break }
        }
        let same = received == payloads
        #expect(same, "\(received.count) of \(messages) messages, sizes \(received.map(\.count))")
        #expect(clientSession.failure == nil, "\(String(describing: clientSession.failure))")
        // Large frames carry units whole: those are parsed in place (after a split the
        // rest of that input goes through the ring). One-byte frames split every unit:
        // joined in the ring.
        if maxFrame == 70_000 { #expect(clientSession.payloadBytesInPlace > 0) }
        if maxFrame == 1 { #expect(clientSession.payloadBytesCopied > 0) }
    }

    @Test func theRequestHasEveryHeaderTheRFCAsksFor() throws {
        var m = try Self.clientMachine(.client(host: "ns.example.com", headers: [.init(name: "Authorization", value: "Bearer x")]))
        let text = String(decoding: Self.output(&m), as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n")
        #expect(lines.first == "GET /$servicebus/websocket/ HTTP/1.1")
        #expect(lines.contains("Host: ns.example.com"))
        #expect(lines.contains("Upgrade: websocket"))
        #expect(lines.contains("Connection: Upgrade"))
        #expect(lines.contains("Sec-WebSocket-Version: 13"))
        #expect(lines.contains("Sec-WebSocket-Protocol: amqp"))
        #expect(lines.contains("Authorization: Bearer x"))
        #expect(text.hasSuffix("\r\n\r\n"))
        let key = try #require(lines.first { $0.hasPrefix("Sec-WebSocket-Key: ") }).dropFirst(19)
        #expect(Base64.decodedCount(key) == 16)
        // A fresh key per session.
        var other = try Self.clientMachine()
        #expect(!String(decoding: Self.output(&other), as: UTF8.self).contains(String(key)))
        // No AMQP byte before the upgrade completes.
        #expect(!text.contains("AMQP"))
    }

    /// The server's answer, fed one byte at a time (and in other splits), opens the
    /// client whatever the cut; what follows the head in the same bytes is frames.
    @Test(arguments: [1, 2, 5, 40, 1_000])
    func theAnswerIsParsedAtEverySplit(chunk: Int) throws {
        var client = try Self.clientMachine()
        var server = try Self.serverMachine()
        let request = Self.output(&client)
        #expect(Self.feed(&server, request, chunk: chunk) == 0)
        #expect(server.session?.isOpen == true)
        let answer = Self.output(&server)  // 101, then the server engine's AMQP header in a frame
        #expect(String(decoding: answer.prefix(12), as: UTF8.self) == "HTTP/1.1 101")
        #expect(Self.feed(&client, answer, chunk: chunk) == 0)
        #expect(client.session?.isOpen == true)
        #expect(client.session?.failure == nil)
        #expect(client.inner.state != .error)
    }

    enum BadAnswer: CaseIterable, Sendable {
        case forbidden, wrongAccept, noAccept, noSubprotocol, otherSubprotocol, noUpgrade, extensions, notHTTP, tooLong, http10, amqpHeader
    }

    @Test(arguments: BadAnswer.allCases)
    func aBadAnswerEndsTheClientWithItsCode(_ bad: BadAnswer) throws {
        var client = try Self.clientMachine()
        _ = Self.output(&client)
        let session = try #require(client.session)
        let accept = webSocketAccept(forKey: session.key)
        var head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        var acceptLine = "Sec-WebSocket-Accept: \(accept)\r\n"
        var protocolLine = "Sec-WebSocket-Protocol: amqp\r\n"
        var extra = ""
        let expected: WebSocketError.Code
        switch bad {
        case .forbidden:
            head = "HTTP/1.1 403 Forbidden\r\n"
            acceptLine = ""
            protocolLine = ""
            expected = .unexpectedStatus
        case .wrongAccept:
            acceptLine = "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            expected = .invalidAccept
        case .noAccept:
            acceptLine = ""
            expected = .invalidAccept
        case .noSubprotocol:
            protocolLine = ""
            expected = .missingSubprotocol
        case .otherSubprotocol:
            protocolLine = "Sec-WebSocket-Protocol: binary\r\n"
            expected = .subprotocolMismatch
        case .noUpgrade:
            head = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
            expected = .missingUpgrade
        case .extensions:
            extra = "Sec-WebSocket-Extensions: permessage-deflate\r\n"
            expected = .unexpectedExtension
        case .notHTTP:
            head = "AMQP\u{0}\u{1}\u{0}\u{0}\r\n"
            expected = .malformedHandshake
        case .tooLong:
            extra = "X-Padding: " + String(repeating: "a", count: 20_000) + "\r\n"
            expected = .handshakeTooLong
        case .amqpHeader:
            head = "AMQP\u{0}\u{1}\u{0}\u{0}"
            acceptLine = ""
            protocolLine = ""
            expected = .malformedHandshake
        case .http10:
            head = "HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            expected = .malformedHandshake
        }
        let answer = Array((head + acceptLine + protocolLine + extra + "\r\n").utf8)
        // Cut at 16 KiB as the reactor's ring would (the head must fit in it).
        Self.feed(&client, Array(answer.prefix(session.configuration.maxHandshakeBytes)), chunk: 97)
        #expect(session.failure?.code == expected, "\(String(describing: session.failure))")
        if bad == .forbidden { #expect(session.failure?.httpStatus == 403) }
        #expect(client.inner.state == .error)
        #expect(client.isFinished)
        #expect(Self.output(&client).isEmpty)  // nothing (no AMQP, no close frame) before the upgrade
    }

    enum BadRequest: CaseIterable, Sendable {
        case version, noKey, shortKey, path, subprotocol, post, noHost, tooLong, amqpHeader
    }

    @Test(arguments: BadRequest.allCases)
    func aBadRequestIsRefusedWithAStatus(_ bad: BadRequest) throws {
        var server = try Self.serverMachine(.server(path: "/ws"))
        var lines = [
            "GET /ws HTTP/1.1", "Host: x", "Upgrade: websocket", "Connection: keep-alive, Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: other, amqp",
        ]
        let status: Int
        switch bad {
        case .version: lines[5] = "Sec-WebSocket-Version: 8"; status = 426
        case .noKey: lines.remove(at: 4); status = 400
        case .shortKey: lines[4] = "Sec-WebSocket-Key: c2hvcnQ="; status = 400
        case .path: lines[0] = "GET /other HTTP/1.1"; status = 404
        case .subprotocol: lines[6] = "Sec-WebSocket-Protocol: binary, base64"; status = 400
        case .post: lines[0] = "POST /ws HTTP/1.1"; status = 400
        case .noHost: lines.remove(at: 1); status = 400
        case .tooLong: lines.append("X-Pad: " + String(repeating: "b", count: 17_000)); status = 431
        case .amqpHeader: lines = ["AMQP\u{3}\u{1}\u{0}\u{0}"]; status = 400
        }
        let request = Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
        Self.feed(&server, Array(request.prefix(16 << 10)), chunk: 333)
        let session = try #require(server.session)
        #expect(session.failure?.httpStatus == status, "\(String(describing: session.failure))")
        #expect(session.failure?.code == (bad == .tooLong ? .handshakeTooLong : .requestRefused))
        let answer = String(decoding: Self.output(&server), as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 \(status) "))
        if bad == .version { #expect(answer.contains("Sec-WebSocket-Version: 13")) }
        #expect(server.isFinished)
        #expect(server.inner.state == .error)
    }

    @Test func aTLSClientHelloAtAPlainListenerIsRefusedAtOnce() throws {
        var server = try Self.serverMachine()
        Self.feed(&server, [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03])
        let session = try #require(server.session)
        #expect(session.failure?.code == .requestRefused)
        #expect(session.failure?.detail.contains("TLS handshake") == true)
        #expect(Self.output(&server).isEmpty)
        #expect(server.isFinished)
    }

    @Test func aGoodRequestWithoutSubprotocolsIsAcceptedWithoutOne() throws {
        var server = try Self.serverMachine()
        let request = "GET /x?y=1 HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        Self.feed(&server, Array(request.utf8))
        let answer = String(decoding: Self.output(&server), as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(answer.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"))
        #expect(!answer.contains("Sec-WebSocket-Protocol"))
    }

    /// Opens a client against a server in memory and returns both, the server's AMQP
    /// header already through.
    static func openPair() throws -> (client: Machine, server: Machine) {
        var client = try clientMachine()
        var server = try serverMachine()
        feed(&server, output(&client))
        feed(&client, output(&server))
        feed(&server, output(&client))
        return (client, server)
    }

    @Test func pingIsAnsweredWithPongCarryingItsPayload() throws {
        var (client, _) = try Self.openPair()
        // From the server: unmasked ping.
        Self.feed(&client, [0x89, 0x04, 1, 2, 3, 4])
        let out = Self.output(&client)
        let pong = try #require(Self.frames(out, masked: true).first { $0.opcode == .pong })
        #expect(pong.payload == [1, 2, 3, 4])
        #expect(client.session?.failure == nil)
    }

    @Test(arguments: [WebSocketCloseStatus.normal, .goingAway, .policyViolation, .internalError, WebSocketCloseStatus(rawValue: 4001)])
    func thePeersCloseEndsAMQPWithItsStatus(_ status: WebSocketCloseStatus) throws {
        var (client, _) = try Self.openPair()
        _ = Self.output(&client)
        Self.feed(&client, [0x88, 0x06, UInt8(status.rawValue >> 8), UInt8(status.rawValue & 0xFF)] + Array("away".utf8))
        let session = try #require(client.session)
        #expect(session.failure?.code == .peerClosed)
        #expect(session.failure?.closeStatus == status)
        #expect(session.failure?.detail.contains("\(status.rawValue)") == true)
        #expect(session.peerCloseReason == "away")
        #expect(client.inner.state == .error)
        // The close is echoed with the same status, masked.
        let echo = try #require(Self.frames(Self.output(&client), masked: true).first { $0.opcode == .close })
        #expect(echo.payload.prefix(2) == [UInt8(status.rawValue >> 8), UInt8(status.rawValue & 0xFF)])
        #expect(client.isFinished)
    }

    @Test func aViolationSendsItsCloseStatusAndEndsAMQP() throws {
        var (client, _) = try Self.openPair()
        _ = Self.output(&client)
        Self.feed(&client, [0x82, 0x81, 9, 9, 9, 9, 0])  // masked, from a server
        let session = try #require(client.session)
        #expect(session.failure?.code == .maskingViolation)
        let close = try #require(Self.frames(Self.output(&client), masked: true).first { $0.opcode == .close })
        #expect(close.payload.prefix(2) == [0x03, 0xEA])  // 1002
        #expect(client.inner.state == .error)
        #expect(client.isFinished)
    }

    @Test(arguments: [[UInt8]([0x88, 0x01, 0x03]), [0x88, 0x02, 0x03, 0xED], [0x88, 0x04, 0x03, 0xE8, 0xC3, 0x28]])
    func aMalformedCloseIsAViolation(_ frame: [UInt8]) throws {
        var (client, _) = try Self.openPair()
        _ = Self.output(&client)
        Self.feed(&client, frame)
        #expect(client.session?.failure?.code == .invalidClosePayload)
    }

    @Test func theHandshakeTimesOutOnTheVirtualClock() throws {
        var client = try Self.clientMachine(WebSocketConfiguration(role: .client, host: "h", path: "/", handshakeTimeout: .milliseconds(1500)))
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { client.produce(into: $0, now: Self.t0) }
        #expect(n > 0)
        let deadline = try #require(client.nextDeadline)
        #expect(deadline <= Self.t0.advanced(byMilliseconds: 1500))
        client.poll(now: Self.t0.advanced(byMilliseconds: 1499))
        #expect(client.session?.failure == nil)
        client.poll(now: Self.t0.advanced(byMilliseconds: 1500))
        #expect(client.session?.failure?.code == .handshakeTimedOut)
        #expect(client.inner.state == .error)
        #expect(client.isFinished)
    }

    @Test func theTransportEndingDuringTheHandshakeIsTyped() throws {
        var client = try Self.clientMachine()
        _ = Self.output(&client)
        client.transportClosed("connection reset by peer")
        #expect(client.session?.failure?.code == .closedDuringHandshake)
        #expect(client.session?.failure?.detail.contains("connection reset by peer") == true)
        #expect(client.inner.state == .error)
    }

    @Test func badConfigurationsAreRefused() {
        for c in [
            WebSocketConfiguration.client(host: "h", path: "no-slash"), .client(host: "h\r\nX: y"), .client(host: ""),
            .client(host: "h", headers: [.init(name: "Bad Name", value: "v")]), .client(host: "h", headers: [.init(name: "X", value: "a\nb")]),
        ] {
            #expect(throws: WebSocketError.self) { try WebSocketSession(configuration: c) }
        }
    }

    @Test func passThroughIsTheInnerMachine() throws {
        var (ce, se) = Self.engines()
        var plain = Machine(passThrough: ce)
        var out = [UInt8](repeating: 0, count: 4096)
        let n = out.withUnsafeMutableBytes { plain.produce(into: $0, now: Self.t0) }
        var direct = [UInt8](repeating: 0, count: 4096)
        let m = direct.withUnsafeMutableBytes { ce.produce(into: $0, now: Self.t0) }
        #expect(n == m && Array(out[..<n]) == Array(direct[..<m]))
        #expect(n > 0)
        _ = se
        #expect(plain.minimumInboundCapacity == plain.inner.minimumInboundCapacity)
    }

    /// Splits `bytes` into frames (for checking what a machine wrote).
    static func frames(_ bytes: [UInt8], masked: Bool) -> [(opcode: WebSocketOpcode, payload: [UInt8])] {
        var reader = WebSocketFrameReader(readsServerFrames: !masked, maxPayload: 1 << 24)
        var result: [(WebSocketOpcode, [UInt8])] = []
        var offset = 0
        var data: [UInt8] = []
        while offset < bytes.count {
            var out = [UInt8](repeating: 0, count: 1 << 17)
            let r = bytes.withUnsafeBytes { input in out.withUnsafeMutableBytes { reader.read(UnsafeRawBufferPointer(rebasing: input[offset...]), into: $0) } }
            offset += r.consumed
            data += out[..<r.written]
            if let c = r.control { result.append((c.opcode, c.payload)) }
            if r.consumed == 0 || r.error != nil { break }
        }
        if !data.isEmpty { result.insert((.binary, data), at: 0) }
        return result
    }
}
