// The engine targets' shared driver and oracles (compiled into every harness that
// imports AMQPEngine; see run.sh).
//
// A harness builds an engine, picks a `Knobs` from its first input byte, and hands the
// rest to `EngineDriver.run`, which plays a peer that sends those bytes after a valid
// protocol header (and, for some targets, a valid prefix of frames). The driver acts as
// an application would: it answers what the engine reports (accepts sessions and links,
// sends on credit, settles deliveries), lets virtual time pass so deadlines fire, and
// finally closes the transport. The oracles:
//
// - `receive` consumes a prefix of what it is given, and what it leaves unconsumed is
//   never more than one frame it may still accept (so a driver's buffer stays bounded);
// - `produce` writes within its buffer and stops: a bounded number of calls per round,
//   and in total a bounded number of bytes per input byte (no amplification);
// - events are typed and bounded: an engine-raised error carries an `amqp:` condition,
//   `closed` comes once and last, events never outnumber a bound per input byte;
// - the footprint stays within the configured limits at every step (sessions, links,
//   buffered delivery bytes; no more held link names than links), and the control queue
//   empties when given room;
// - at the end (transport closed), the engine is final with a typed error, and holds no
//   session, link, held link name, buffered byte or queued delivery.

import AMQPCodec
import AMQPEngine

/// Settings drawn from the input's first byte.
struct Knobs {
    /// Bytes per `receive` call (0: everything at once).
    var chunk: Int
    /// Virtual milliseconds that pass after each chunk (idle time-outs, close time-outs).
    var stepMilliseconds: UInt64
    /// Small limits: 512-byte frames, few channels and handles, a small delivery budget.
    var tight: Bool
    /// Record trace lines (takes the engine's general frame path for transfers too).
    var trace: Bool

    init(_ byte: UInt8) {
        chunk = [0, 1, 3, 7, 16, 61, 512, 0][Int(byte & 7)]
        stepMilliseconds = [0, 1, 1_000, 65_000][Int((byte >> 3) & 3)]
        tight = byte & 0x20 != 0
        trace = byte & 0x40 != 0
    }

    /// The configuration every target starts from, with these knobs applied.
    func configuration(role: ConnectionConfiguration.Role) -> ConnectionConfiguration {
        var c = ConnectionConfiguration(role: role, containerID: role == .client ? "fuzz-client" : "fuzz-server")
        c.trace = trace
        c.idleTimeout = 30_000
        c.closeTimeout = 5_000
        if tight {
            c.maxFrameSize = 512
            c.channelMax = 3
            c.limits.maxBufferedDeliveryBytes = 4_096
            c.limits.decode = DecodeLimits(maxDepth: 8, maxElements: 64)
            c.limits.maxSASLRounds = 2
        }
        return c
    }
}

/// An authenticator that accepts PLAIN `user`/`pass` and ANONYMOUS, refuses the rest, and
/// challenges once for EXTERNAL (so the fuzzer can reach sasl-response).
struct FuzzAuthenticator: SASLAuthenticator {
    func authenticate(mechanism: Symbol, initialResponse: [UInt8]?, hostname: String?) -> SASLDecision {
        switch mechanism.rawValue {
        case "ANONYMOUS": return .accept(identity: "anonymous")
        case "PLAIN": return initialResponse == [0] + Array("user".utf8) + [0] + Array("pass".utf8) ? .accept(identity: "user") : .reject(.auth)
        case "EXTERNAL": return .challenge(Array("who?".utf8))
        default: return .reject(.auth)
        }
    }

    func respond(mechanism: Symbol, response: [UInt8]) -> SASLDecision {
        response == Array("me".utf8) ? .accept(identity: "me") : .reject(.auth)
    }
}

/// Drives one engine through one fuzz input.
struct EngineDriver {
    var engine: ConnectionEngine
    let knobs: Knobs
    /// The most a driver must hold for the engine: one frame of the largest size it
    /// accepts in any phase.
    let frameBound: Int
    var now = EngineInstant(nanoseconds: 1_000_000_000)
    var pending: [UInt8] = []
    var produced = 0
    var events = 0
    var closedSeen = false
    var sessions: [SessionID] = []
    var links: [LinkID] = []
    var sendsLeft = 64

    /// One output buffer for every run: as large as any frame the engine may need to
    /// write (the peer's max-frame-size is capped at 64 KiB by the driver's own room).
    /// A fuzz process runs one input at a time, on one thread.
    nonisolated(unsafe) static let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)

    init(engine: ConnectionEngine, knobs: Knobs) {
        self.engine = engine
        self.knobs = knobs
        let c = engine.configuration
        frameBound = Int(max(c.maxFrameSize, c.limits.maxSASLFrameSize, 512))
    }

    /// Feeds `prefix` (the valid header and frames the target promises), then `input`,
    /// cut by the knobs, acting on events and producing after every chunk; then closes
    /// the transport and checks the end state.
    mutating func run(prefix: [UInt8], input: UnsafeRawBufferPointer) {
        pump()
        prefix.withUnsafeBytes { feed($0, chunk: 0) }
        // Small cuts over the first 256 bytes only: a produce round per byte over a
        // whole corpus unit cost most of the run time, and the frames where cuts matter
        // (headers, the first performatives) come first.
        let small = knobs.chunk > 0 && knobs.chunk < 16 ? min(256, input.count) : 0
        feed(UnsafeRawBufferPointer(rebasing: input[..<small]), chunk: knobs.chunk)
        feed(UnsafeRawBufferPointer(rebasing: input[small...]), chunk: small > 0 ? 512 : knobs.chunk)
        // Let time run out: idle and close time-outs fire, the engine says goodbye.
        for _ in 0..<3 {
            advance(milliseconds: 40_000)
            offerPending()
            pump()
        }
        let budget = 1 << 16 + 64 * (prefix.count + input.count)
        expect(produced <= budget, "the engine wrote \(produced) bytes for \(prefix.count + input.count) bytes of input")
        finish()
    }

    mutating func feed(_ bytes: UnsafeRawBufferPointer, chunk: Int) {
        var at = 0
        while at < bytes.count {
            let n = chunk == 0 ? bytes.count - at : min(chunk, bytes.count - at)
            pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[at..<(at + n)]))
            at += n
            offerPending()
            pump()
            if knobs.stepMilliseconds > 0 { advance(milliseconds: knobs.stepMilliseconds) }
        }
    }

    /// Hands the unconsumed bytes to the engine until it takes no more.
    mutating func offerPending() {
        for _ in 0..<64 {
            guard !pending.isEmpty else { return }
            let count = pending.count
            let consumed = pending.withUnsafeBytes { engine.receive($0, now: now) }
            expect(consumed >= 0 && consumed <= count, "receive consumed \(consumed) of \(count) bytes")
            // Events may borrow the bytes: act on them before the bytes go.
            drainEvents()
            pending.removeFirst(consumed)
            if consumed == 0 { break }
        }
        checkFootprint()
        // Whatever is left is one frame still arriving (or frames held behind a BEGIN
        // the application has now accepted, which the next offer takes).
        if !pending.isEmpty && !engine.state.isFinal {
            let consumed = pending.withUnsafeBytes { engine.receive($0, now: now) }
            drainEvents()
            pending.removeFirst(consumed)
            expect(pending.count <= frameBound,
                   "the engine leaves \(pending.count) bytes unconsumed (one frame is at most \(frameBound)) in \(engine.state)")
        }
    }

    /// Produces until the engine has nothing more to write (bounded).
    mutating func pump() {
        for _ in 0..<4_096 {
            let n = engine.produce(into: Self.output, now: now)
            expect(n >= 0 && n <= Self.output.count, "produce wrote \(n) bytes into \(Self.output.count)")
            produced += n
            drainEvents()
            if n == 0 {
                checkFootprint()
                return
            }
        }
        oracleFailure("the engine was still producing after 4096 calls (\(produced) bytes), state \(engine.state)")
    }

    mutating func advance(milliseconds: UInt64) {
        now = now.advanced(byMilliseconds: milliseconds)
        if let d = engine.nextDeadline, d <= now {
            engine.poll(now: now)
            drainEvents()
        }
        pump()
    }

    /// Takes every event, checks it, and answers as an application would.
    mutating func drainEvents() {
        while let e = engine.nextEvent() {
            events += 1
            // Trace lines of frames written after the state reached END (our CLOSE in
            // answer to the peer's) may follow `closed`; nothing else may.
            if case .trace = e {} else { expect(!closedSeen, "an event after closed: \(brief(e, limit: 300))") }
            switch e {
            case .closed(let error):
                closedSeen = true
                expect(engine.state.isFinal, "closed reported in state \(engine.state)")
                if let error { checkTyped(error, "connection") }
                if engine.state == .error { expect(error != nil, "ERROR without an error") }
            case .session(.remoteBegin(let id, _)):
                try? engine.acceptSession(id, configuration: sessionConfiguration)
            case .session(.begun(let id, _)):
                sessions.append(id)
            case .session(.ended(_, let error)):
                if let error { checkTyped(error, "session") }
            case .link(.remoteAttach(let id, _)):
                try? engine.acceptLink(id)
            case .link(.attached(let id, _)):
                links.append(id)
            case .link(.detached(_, _, let error)):
                if let error { checkTyped(error, "link") }
            case .link(.credit(let id, let credit, _)):
                if credit > 0 && sendsLeft > 0 {
                    sendsLeft -= 1
                    _ = try? engine.send(on: id, payload: Self.message, settled: sendsLeft & 1 == 0)
                }
            case .link(.delivery(let id, let d)):
                if !d.settled { try? engine.settle(id, delivery: d.id, state: .accepted) }
            case .link(.deliveryChunk(let id, let d, let isLast)):
                if isLast && !d.settled { try? engine.settle(id, delivery: d.id, state: .accepted) }
            default:
                break
            }
        }
    }

    var sessionConfiguration: SessionConfiguration {
        var s = SessionConfiguration()
        if knobs.tight {
            s.handleMax = 3
            s.incomingWindow = 8
        }
        return s
    }

    /// A small AMQP message: a header and an amqp-value string.
    static let message: [UInt8] = [0x00, 0x53, 0x70, 0x45, 0x00, 0x53, 0x77, 0xA1, 0x02, 0x68, 0x69]

    /// Errors the engine raises itself name an `amqp:` condition; a peer's may say anything.
    func checkTyped(_ error: EngineError, _ what: String) {
        if error.origin != .remote {
            expect(error.condition.symbol.rawValue.hasPrefix("amqp:"), "\(what) failed with an untyped condition: \(brief(error, limit: 300))")
        }
    }

    func checkFootprint() {
        let f = engine.footprint
        let c = engine.configuration
        expect(f.sessions <= Int(c.channelMax) + 1, "\(f.sessions) sessions with channel-max \(c.channelMax): \(f)")
        expect(f.sessionSlots <= Int(c.channelMax) + 1, "\(f.sessionSlots) session slots with channel-max \(c.channelMax): \(f)")
        expect(f.bufferedDeliveryBytes <= c.limits.maxBufferedDeliveryBytes, "buffered \(f.bufferedDeliveryBytes) bytes over the limit: \(f)")
        expect(f.pendingEvents == 0, "events left after draining: \(f)")
        // Every entry of the connection's held-name index stands for a held link, so an
        // index that drifts from the sessions shows here as more names than links.
        expect(f.heldLinkNames <= f.links, "\(f.heldLinkNames) held link names for \(f.links) links: \(f)")
        if knobs.tight {
            expect(f.linkSlots <= f.sessionSlots * 4 + 8, "link slots beyond handle-max 3: \(f)")
        }
    }

    /// The transport ends: everything must end with it.
    mutating func finish() {
        engine.transportClosed("fuzz input ended")
        drainEvents()
        pump()
        expect(engine.state.isFinal, "not final after the transport closed: \(engine.state)")
        expect(engine.isFinished, "not finished after the transport closed: \(engine.state)")
        expect(closedSeen, "no closed event after the transport closed")
        if engine.state == .error {
            expect(engine.failure != nil, "ERROR without a failure")
        }
        if let failure = engine.failure { checkTyped(failure, "connection") }
        let f = engine.footprint
        expect(f.sessions == 0 && f.links == 0 && f.heldLinkNames == 0 && f.bufferedDeliveryBytes == 0 && f.queuedDeliveries == 0
               && f.queuedFrames == 0,
               "the engine still holds something after the transport closed: \(f)")
        expect(engine.produce(into: Self.output, now: now) == 0, "produce wrote after the transport closed")
    }
}

/// `AMQP 0.1.0.0` and `AMQP 3.1.0.0`.
let amqpHeader: [UInt8] = [0x41, 0x4D, 0x51, 0x50, 0, 1, 0, 0]
let saslHeader: [UInt8] = [0x41, 0x4D, 0x51, 0x50, 3, 1, 0, 0]

/// A client's pipelined work: a session with a sender (one message queued before any
/// credit) and a receiver.
func pipelineLinks(_ engine: inout ConnectionEngine) {
    guard let session = try? engine.beginSession() else { return }
    if let sender = try? engine.attachLink(session: session, .sender(name: "fuzz-sender", to: "q")) {
        _ = try? engine.send(on: sender, payload: EngineDriver.message)
    }
    _ = try? engine.attachLink(session: session, .receiver(name: "fuzz-receiver", from: "q"))
}
