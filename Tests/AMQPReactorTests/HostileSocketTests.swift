import AMQPCodec
import AMQPEngine
import AMQPHostileCases
import AMQPReactor
import AMQPTesting
import Glibc
import Testing

// The engine's hostile-peer cases (Tests/Support/AMQPHostileCases, run in memory by
// AMQPEngineTests' HostilePeerTests) over real loopback sockets: a client engine on the
// reactor, on each backend, against the evil peer, which plays the server up to the
// case's stage and setup, strikes (in one write, or one byte per segment), then answers
// END, DETACH and CLOSE like a broker that plays along.
//
// Each run must end within a deadline with the case's outcome at the reactor's API (the
// engine's `closed` error, or the session's or link's), the connection's rings and
// buffers bounded all along (sampled every tick), and no descriptor left on the evil
// peer's port once the reactor is gone.

/// One case, delivered one way.
struct HostileSocketRun: Sendable, CustomTestStringConvertible {
    let hostile: HostileCase
    let delivery: StrikeDelivery
    var testDescription: String { "\(hostile.name) [\(delivery.rawValue)]" }

    /// Trickling costs a tick or two per byte: only strikes up to this size trickle.
    static let trickleLimit = 300

    /// Cases whose outcome rests on the engine reading the whole strike before it writes
    /// anything: one byte at a time, its answers (an END, a FLOW reopening the window)
    /// go out between the strike's frames and the peer is no longer in the wrong.
    static let wholeOnly: Set<String> = [
        "BEGIN on a channel reused before our END went out, every channel taken",
        "TRANSFER beyond the incoming window",
    ]

    /// Floods that only a real socket makes interesting: more than the rings and the
    /// kernel's buffers hold, so the reactor must read, parse and release as it goes.
    static let floods: [HostileCase] = [
        HostileCase("2 MiB of empty frames", at: .opened, send: emptyFrames(1 << 18) { _ in 0 }, expect: .tolerates(nil)),
        HostileCase(
            "2 MiB of empty frames on channels nobody opened", at: .opened,
            send: emptyFrames(1 << 18) { UInt16(truncatingIfNeeded: $0) }, expect: .tolerates(nil)),
    ]

    /// `count` empty frames, the nth on `channel(n)`.
    static func emptyFrames(_ count: Int, channel: (Int) -> UInt16) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(count * 8)
        for n in 0..<count {
            let c = channel(n)
            bytes.append(contentsOf: [0, 0, 0, 8, 2, 0, UInt8(c >> 8), UInt8(c & 0xFF)])
        }
        return bytes
    }

    /// Every case that applies to a client engine, in one write; those with a small
    /// strike, also one byte at a time.
    static let all: [HostileSocketRun] = (HostileCase.connection + HostileCase.sessions + floods)
        .filter { $0.roles.contains(.client) }
        .flatMap { c in
            let trickles = c.input(.client).count <= trickleLimit && !wholeOnly.contains(c.name)
            return [HostileSocketRun(hostile: c, delivery: .whole)] + (trickles ? [HostileSocketRun(hostile: c, delivery: .trickle)] : [])
        }
}

/// A client engine on a reactor against an evil peer, with what it reported and the
/// most memory it held.
final class HostileClientDriver {
    let harness: EngineHarness
    let evil: EvilPeer
    let hostile: HostileCase
    let configuration: ConnectionConfiguration
    var id = ConnectionID.unassigned
    var links: [LinkID] = []
    var sessionEnds: [(SessionID, EngineError?)] = []
    var linkDetaches: [(LinkID, EngineError?)] = []
    var closeRequested = false
    /// The largest ring and buffer sizes and buffered delivery bytes seen.
    var peakInboundRing = 0
    var peakOutboundRing = 0
    var peakUnparsed = 0
    var peakBufferedDeliveryBytes = 0
    var peakFootprint: EngineFootprint? = nil

    init(backend: TestBackend, run: HostileSocketRun) throws {
        hostile = run.hostile
        var configuration = run.hostile.configuration(.client)
        // The cases' 1 s close time-out starts when the application closes, which here is
        // as soon as the strike has gone out: a large strike (megabytes, thousands of
        // frames) may still be waiting to be parsed, slowly under a sanitizer, and the
        // peer's answer comes after it. Only a case that ends at the close time-out keeps
        // it; the others are bounded by the pump's deadline instead.
        if case .waitsForMore = run.hostile.outcome(.client) {} else { configuration.closeTimeout = 60_000 }
        self.configuration = configuration
        evil = try EvilPeer(script: run.hostile.evilScript(run.delivery))
        harness = try EngineHarness(backend: backend)
        let setup = hostile.setup
        harness.onEvent = { [unowned self] h, id, event in
            guard case .connection(let e) = event else { return }
            switch e {
            case .remoteOpen:
                if let session = setup.session { h.reactor.withConnection(id) { _ = try? $0.beginSession(session) } }
            case .session(.begun(let sid, _)):
                guard let first = setup.link else { return }
                h.reactor.withConnection(id) { engine in
                    for k in 0..<setup.linkCount {
                        var c = first
                        if k > 0 { c.name += "-\(k)" }
                        if let lid = try? engine.attachLink(session: sid, c) { links.append(lid) }
                    }
                }
            case .link(.attached(let lid, _)):
                if lid == links.last, setup.deliveries > 0, let first = links.first {
                    h.reactor.withConnection(id) { engine in
                        for i in 0..<setup.deliveries { _ = try? engine.send(on: first, payload: [UInt8(truncatingIfNeeded: i)]) }
                    }
                }
            case .session(.ended(let sid, let error)):
                sessionEnds.append((sid, error))
            case .link(.detached(let lid, _, let error)):
                linkDetaches.append((lid, error))
            default:
                break
            }
        }
        var engine = ConnectionEngine(configuration: configuration)
        engine.open()
        id = try harness.reactor.connect(to: .loopbackIPv4(port: evil.port), connection: engine, handler: harness.handler)
    }

    var log: ConnectionLog { harness.log(id) }

    /// Ticks the reactor and steps the evil peer until `condition` holds; samples the
    /// connection's memory after every tick.
    func pump(_ what: String, within seconds: Double = 10, until condition: () -> Bool) throws {
        let deadline = secondsNow() + seconds
        while !condition() {
            guard secondsNow() < deadline else {
                throw WaitTimedOut(what: "\(what) (evil peer at \(evil.position), engine \(log.state.map { "\($0)" } ?? "-"))", seconds: seconds)
            }
            evil.step()
            try harness.reactor.runOnce(timeout: .milliseconds(1))
            sample()
        }
    }

    func sample() {
        guard let rings = harness.reactor.ringInfo(id) else { return }
        peakInboundRing = max(peakInboundRing, rings.inbound)
        peakOutboundRing = max(peakOutboundRing, rings.outbound)
        if let buffered = harness.reactor.bufferedBytes(id) { peakUnparsed = max(peakUnparsed, buffered.inbound) }
        if let f = harness.reactor.inspect(id, { $0.footprint }) {
            peakBufferedDeliveryBytes = max(peakBufferedDeliveryBytes, f.bufferedDeliveryBytes)
            peakFootprint = f
        }
    }

    /// The application closes the connection (once).
    func close() {
        guard !closeRequested else { return }
        closeRequested = true
        harness.reactor.withConnection(id) { $0.close() }
    }
}

extension ReactorTests {
    @Suite("hostile peers over loopback sockets")
    struct HostileSockets {
        @Test func thereAreEnoughClientCases() {
            #expect(Set(HostileSocketRun.all.map(\.hostile.name)).count >= 40)
        }

        @Test(arguments: testBackends, HostileSocketRun.all)
        func hostilePeer(backend: TestBackend, run: HostileSocketRun) throws {
            let c = run.hostile
            let port: UInt16
            do {
                let d = try HostileClientDriver(backend: backend, run: run)
                port = d.evil.port
                let strike = c.strikeStep
                let strikeSent = { d.evil.stepIndex > strike || d.log.isClosed }

                switch c.outcome(.client) {
                case .fails(let condition, let text), .refusesSASL(_, let condition, let text):
                    // Below AMQP: the transport fails, no CLOSE.
                    try d.pump("the engine to fail with \(condition)") { d.log.isClosed }
                    let error = try #require(d.log.engineClosed ?? nil, "ended without an error")
                    #expect(error.condition == condition, "\(error)")
                    #expect(error.error.errorDescription?.contains(text) == true, "\(error)")

                case .closes(let condition, let text):
                    try d.pump("the engine to close with \(condition)") { d.log.isClosed }
                    let error = try #require(d.log.engineClosed ?? nil, "ended without an error")
                    #expect(error.condition == condition && error.origin == .local, "\(error)")
                    #expect(error.error.errorDescription?.contains(text) == true, "\(error)")
                    // The CLOSE is on its way to the evil peer: let it read up to the end.
                    try d.pump("the evil peer to see the end of the stream") { d.evil.peerClosed || d.evil.finished }
                    let closes = d.evil.framesRead.filter { if case .amqp(_, .close, _) = $0 { true } else { false } }
                    #expect(closes.count == 1, "the peer got \(closes.count) CLOSE frames: \(d.evil.framesRead), \(d.evil.bytesRead) B, at \(d.evil.position)")

                case .closesCleanly:
                    // The peer's CLOSE: the engine answers it and ends without an error.
                    try d.pump("the engine to end") { d.log.isClosed }
                    #expect(d.log.remoteClose)
                    let error = d.log.engineClosed ?? nil
                    #expect(error == nil, "ended with \(error.map { "\($0)" } ?? "")")

                case .endsSession(let condition, let text):
                    try d.pump("the session to end") { !d.sessionEnds.isEmpty || d.log.isClosed }
                    let ended = try #require(d.sessionEnds.first, "the connection ended first: \(d.log.engineClosed.map { "\($0.map { "\($0)" } ?? "cleanly")" } ?? "")")
                    #expect(ended.1?.condition == condition && ended.1?.origin == .local, "\(ended.1.map { "\($0)" } ?? "no error")")
                    #expect(ended.1?.error.errorDescription?.contains(text) == true)
                    try Self.closeCleanly(d)

                case .detachesLink(let condition, let text):
                    try d.pump("the link to detach") { !d.linkDetaches.isEmpty || d.log.isClosed }
                    let detached = try #require(d.linkDetaches.first, "the connection ended first")
                    #expect(detached.0 == d.links.first)
                    #expect(detached.1?.condition == condition && detached.1?.origin == .local, "\(detached.1.map { "\($0)" } ?? "no error")")
                    #expect(detached.1?.error.errorDescription?.contains(text) == true)
                    try Self.closeCleanly(d)

                case .tolerates, .recovers:
                    // The strike's bytes come before the answer to our CLOSE on the same
                    // stream, so an engine that took offence would end with that error.
                    try d.pump("the strike to go out", until: strikeSent)
                    try Self.closeCleanly(d)

                case .waitsForMore:
                    try d.pump("the strike to go out", until: strikeSent)
                    d.close()
                    try d.pump("the engine to end") { d.log.isClosed }
                    // The peer's CLOSE is taken as more of the frame it never finished: the
                    // engine gives up at its close time-out.
                    let error = d.log.engineClosed ?? nil
                    #expect(error == nil || error?.condition == .connectionForced, "\(error.map { "\($0)" } ?? "")")
                }

                // Bounded memory all along: the inbound ring is the configured one (or a
                // frame of our max-frame-size, whole pages), the outbound ring never passes
                // its maximum, what waits unparsed is at most one frame, and partly received
                // deliveries stay within their budget.
                let inboundBound = roundUpToPages(max(harness(d).options.inboundCapacity, Int(c.maxFrameSize)))
                #expect(d.peakInboundRing <= inboundBound, "inbound ring \(d.peakInboundRing) > \(inboundBound)")
                #expect(d.peakOutboundRing <= harness(d).options.maximumOutboundCapacity)
                #expect(d.peakUnparsed <= min(Int(c.maxFrameSize), inboundBound))
                #expect(d.peakBufferedDeliveryBytes <= configuration(d).limits.maxBufferedDeliveryBytes)
                #expect(d.log.closed != nil, "the reactor reported no close")
                #expect(!d.harness.reactor.contains(d.id))
                d.evil.shutdown()
            }
            // The reactor and the evil peer are gone: nothing holds a socket on that port.
            #expect(descriptorsOnPort(port) == 0)
        }

        private func harness(_ d: HostileClientDriver) -> Reactor<ConnectionEngine> { d.harness.reactor }
        private func configuration(_ d: HostileClientDriver) -> ConnectionConfiguration { d.configuration }

        /// Closes, expects the peer's answer and a clean end.
        static func closeCleanly(_ d: HostileClientDriver, sourceLocation: SourceLocation = #_sourceLocation) throws {
            #expect(d.log.engineClosed == nil, "the engine ended before we closed: \(d.log.engineClosed.map { "\($0.map { "\($0)" } ?? "cleanly")" } ?? "")", sourceLocation: sourceLocation)
            d.close()
            try d.pump("the engine to end after CLOSE") { d.log.isClosed }
            let error = d.log.engineClosed ?? nil
            #expect(error == nil, "ended with \(error.map { "\($0)" } ?? "")", sourceLocation: sourceLocation)
        }
    }
}

/// `n` rounded up to whole pages.
func roundUpToPages(_ n: Int) -> Int {
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    return (n + page - 1) / page * page
}
