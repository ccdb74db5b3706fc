import AMQPCodec
import AMQPEngine
import Testing

struct PlainUsers: SASLAuthenticator {
    func authenticate(mechanism: Symbol, initialResponse: [UInt8]?, hostname: String?) -> SASLDecision {
        if mechanism == "ANONYMOUS" { return .accept(identity: "anonymous") }
        let parts = (initialResponse ?? []).split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        return parts.count == 3 && parts[1] == "guest" && parts[2] == "secret" ? .accept(identity: "guest") : .reject(.auth)
    }
}

@Test func openAndCloseWithoutSASL() {
    var p = makePipe()
    p.client.open()
    p.run()
    #expect(p.client.state == .opened)
    #expect(p.server.state == .opened)
    #expect(p.clientEvents == ["START->HDR_SENT", "HDR_SENT->OPEN_PIPE", "OPEN_PIPE->OPEN_SENT", "open:server", "OPEN_SENT->OPENED"])
    #expect(p.server.remoteOpen?.hostname == "localhost")
    p.client.close()
    p.run()
    #expect(p.client.state == .end)
    #expect(p.server.state == .end)
    #expect(p.client.failure == nil && p.server.failure == nil)
    #expect(p.client.isFinished && p.server.isFinished)
}

@Test func saslPlainThenOpen() {
    var p = makePipe(credentials: .plain(username: "guest", password: "secret"))
    p.client.open()
    p.run()
    #expect(p.client.state == .opened)
    #expect(p.clientEvents.contains("sasl:ok"))
    #expect(p.serverEvents.contains("auth:PLAIN:guest"))
}

@Test func saslWrongPasswordIsTypedError() {
    var p = makePipe(credentials: .plain(username: "guest", password: "nope"))
    p.client.open()
    p.run()
    #expect(p.client.state == .error)
    #expect(p.client.failure?.condition == .unauthorizedAccess)
    #expect(p.clientEvents.contains("sasl:auth"))
    #expect(p.client.isFinished)
}

@Test func heartbeatsKeepIdleConnectionAlive() {
    var p = makePipe(clientIdle: 1000, serverIdle: 1000)
    p.client.open()
    p.run()
    #expect(p.client.state == .opened)
    // Step 10 seconds in 100 ms increments: both sides send empty frames at half the
    // peer's time-out and nobody times out.
    for _ in 0..<100 {
        p.now = p.now.advanced(byMilliseconds: 100)
        p.client.poll(now: p.now)
        p.server.poll(now: p.now)
        p.run()
    }
    #expect(p.client.state == .opened)
    #expect(p.server.state == .opened)
}

@Test func silentPeerTripsLocalIdleTimeout() {
    var p = makePipe(clientIdle: 1000)
    p.client.open()
    p.run()
    // The server stops answering: only the client is polled from now on.
    p.now = p.now.advanced(byMilliseconds: 1001)
    #expect(p.client.nextDeadline! <= p.now)
    p.client.poll(now: p.now)
    var out: [UInt8] = []
    Pipe.flush(&p.client, into: &out, now: p.now)
    #expect(p.client.state == .end)
    #expect(p.client.failure?.condition == .resourceLimitExceeded)
}

@Test func wrongProtocolHeaderFromServer() {
    var c = ConnectionConfiguration(role: .client, containerID: "c")
    c.sasl = .client(.anonymous())
    var client = ConnectionEngine(configuration: c)
    client.open()
    var buffer = [UInt8](repeating: 0, count: 512)
    _ = buffer.withUnsafeMutableBytes { client.produce(into: $0, now: .zero) }
    let reply: [UInt8] = Array("HTTP/1.1 400".utf8)
    _ = reply.withUnsafeBytes { client.receive($0, now: .zero) }
    #expect(client.state == .error)
    #expect(client.failure?.origin == .transport)
    #expect(client.isFinished)
}
