import AMQPCodec
import AMQPEngine

/// A small, fast, seeded random generator (SplitMix64), so runs repeat exactly.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Moves bytes between two engines through buffers, as a driver would, and collects
/// what each side reports.
struct Pipe {
    var client: ConnectionEngine
    var server: ConnectionEngine
    var toServer: [UInt8] = []
    var toClient: [UInt8] = []
    var clientEvents: [String] = []
    var serverEvents: [String] = []
    var now = EngineInstant(nanoseconds: 1_000_000_000)
    /// Keep event descriptions (off for bulk runs).
    var record = true
    /// Called for every event as it is drained, while borrowed payloads are still valid.
    var onClient: ((inout ConnectionEngine, ConnectionEvent) -> Void)? = nil
    var onServer: ((inout ConnectionEngine, ConnectionEvent) -> Void)? = nil
    /// When set, each round hands each side only a random prefix of what is pending.
    var cuts: SeededRandom? = nil
    /// Room given to `produce` each round.
    var outputRoom = 65_536
    /// Ids of the sessions and links each side last heard of.
    var clientSeen = Seen()
    var serverSeen = Seen()
    private var scratch: [UInt8] = []

    /// The sessions and links named by events, in order of appearance.
    struct Seen {
        var sessions: [SessionID] = []
        var links: [LinkID] = []
        var session: SessionID? { sessions.last }
        var link: LinkID? { links.last }

        mutating func note(_ e: ConnectionEvent) {
            switch e {
            case .session(.remoteBegin(let id, _)), .session(.begun(let id, _)):
                if !sessions.contains(id) { sessions.append(id) }
            case .link(.remoteAttach(let id, _)), .link(.attached(let id, _)):
                if !links.contains(id) { links.append(id) }
            default: break
            }
        }
    }

    init(client: ConnectionEngine, server: ConnectionEngine) {
        self.client = client
        self.server = server
    }

    mutating func flushClient() {
        Self.flush(&client, into: &toServer, room: outputRoom, scratch: &scratch, now: now)
    }

    mutating func flushServer() {
        Self.flush(&server, into: &toClient, room: outputRoom, scratch: &scratch, now: now)
    }

    static func flush(_ from: inout ConnectionEngine, into out: inout [UInt8], now: EngineInstant) {
        var scratch: [UInt8] = []
        flush(&from, into: &out, room: 65_536, scratch: &scratch, now: now)
    }

    static func flush(_ from: inout ConnectionEngine, into out: inout [UInt8], room: Int, scratch: inout [UInt8], now: EngineInstant) {
        if scratch.count < room { scratch = [UInt8](repeating: 0, count: room) }
        let n = scratch.withUnsafeMutableBytes { from.produce(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<room]), now: now) }
        out.append(contentsOf: scratch[0..<n])
    }

    /// Hands the server what the client wrote (all of it, or a random prefix).
    mutating func deliverToServer() {
        let cut = cutPoint(toServer.count)
        Self.deliver(&toServer, cut: cut, to: &server, now: now, record: record, handler: onServer, events: &serverEvents, seen: &serverSeen)
    }

    /// Hands the client what the server wrote (all of it, or a random prefix).
    mutating func deliverToClient() {
        let cut = cutPoint(toClient.count)
        Self.deliver(&toClient, cut: cut, to: &client, now: now, record: record, handler: onClient, events: &clientEvents, seen: &clientSeen)
    }

    /// Feeds the first `cut` pending bytes to `engine`, handles its events while the bytes
    /// they borrow are alive, and keeps what it did not consume.
    static func deliver(
        _ pending: inout [UInt8], cut: Int, to engine: inout ConnectionEngine, now: EngineInstant, record: Bool,
        handler: ((inout ConnectionEngine, ConnectionEvent) -> Void)?, events: inout [String], seen: inout Seen
    ) {
        let consumed = pending.withUnsafeBytes { raw in
            let n = engine.receive(UnsafeRawBufferPointer(rebasing: raw[0..<cut]), now: now)
            while let e = engine.nextEvent() {
                seen.note(e)
                if record { events += Self.lines(e) }
                handler?(&engine, e)
            }
            return n
        }
        pending.removeFirst(consumed)
    }

    /// Drains events produced by application calls (outside `receive`).
    mutating func drainEvents() {
        while let e = client.nextEvent() {
            clientSeen.note(e)
            if record { clientEvents += Self.lines(e) }
            onClient?(&client, e)
        }
        while let e = server.nextEvent() {
            serverSeen.note(e)
            if record { serverEvents += Self.lines(e) }
            onServer?(&server, e)
        }
    }

    private mutating func cutPoint(_ count: Int) -> Int {
        guard var r = cuts, count > 0 else { return count }
        // Half the time everything, else a random cut: frames split at every boundary.
        let cut = r.next() & 1 == 0 ? count : Int(r.next() % UInt64(count + 1))
        cuts = r
        return cut
    }

    /// One round: both sides write, then read what the other wrote.
    mutating func step() {
        drainEvents()
        flushClient()
        deliverToServer()
        flushServer()
        deliverToClient()
    }

    var quiet: Bool {
        !client.hasPendingOutput && !server.hasPendingOutput && toServer.isEmpty && toClient.isEmpty
    }

    /// Pumps until neither side has anything to say.
    mutating func run(rounds: Int = 50) {
        for _ in 0..<rounds {
            step()
            drainEvents()
            if quiet { return }
        }
    }

    /// Queues a frame for the client as if the server had written it.
    mutating func inject(toClient p: Performative, channel: UInt16 = 0, payload: [UInt8] = []) {
        toClient += Self.frame(p, channel: channel, payload: payload)
    }

    /// Queues a frame for the server as if the client had written it.
    mutating func inject(toServer p: Performative, channel: UInt16 = 0, payload: [UInt8] = []) {
        toServer += Self.frame(p, channel: channel, payload: payload)
    }

    static func frame(_ p: Performative, channel: UInt16, payload: [UInt8]) -> [UInt8] {
        // swiftlint:disable:next force_try
        try! AMQPEncoder.encode(initialCapacity: 512 + payload.count) { e throws(EncodeError) in
            let r: Result<Void, EncodeError> = payload.withUnsafeBytes { raw in
                Result { () throws(EncodeError) in try FrameEncoder.encode(p, channel: channel, payload: payload.isEmpty ? nil : raw, into: &e) }
            }
            try r.get()
        }
    }

    /// What the event logs record: `describe(e)`, then for a range of outcomes one
    /// `outcome:` line per delivery (tests check deliveries one by one, and the ranges
    /// themselves through the `outcomes(…)` line).
    static func lines(_ e: ConnectionEvent) -> [String] {
        guard case .link(.outcomes(let l, let handles, let state, let settled)) = e else { return [describe(e)] }
        return [describe(e)] + handles.map { "outcome:\(name(l)):\($0.rawValue):\(state?.name ?? "-")\(settled ? ":settled" : "")" }
    }

    static func describe(_ e: ConnectionEvent) -> String {
        switch e {
        case .stateChanged(let from, let to): "\(from)->\(to)"
        case .saslOutcome(let o): "sasl:\(o.code)"
        case .authenticated(let m, let id): "auth:\(m):\(id)"
        case .remoteOpen(let o): "open:\(o.containerID)"
        case .remoteClose(let e): "close:\(e.map { "\($0.condition)" } ?? "-")"
        case .closed(let e): "closed:\(e.map { "\($0.condition)" } ?? "-")"
        case .trace(let t): "trace:\(t)"
        case .session(let s): describe(s)
        case .link(let l): describe(l)
        }
    }

    static func describe(_ e: SessionEvent) -> String {
        switch e {
        case .remoteBegin(let id, _): "remoteBegin:\(id.channel)"
        case .begun(let id, _): "begun:\(id.channel)"
        case .ended(let id, let error): "ended:\(id.channel):\(describe(error))"
        }
    }

    static func describe(_ error: EngineError?) -> String {
        error.map { "\($0.origin):\($0.condition)" } ?? "-"
    }

    static func name(_ l: LinkID) -> String { "\(l.session.channel)/\(l.handle)" }

    static func describe(_ e: LinkEvent) -> String {
        switch e {
        case .remoteAttach(let l, let a): "remoteAttach:\(name(l)):\(a.name)"
        case .attached(let l, let a): "attached:\(name(l)):\(a.name)"
        case .detached(let l, let closed, let error): "detached:\(name(l)):\(closed ? "closed" : "detached"):\(describe(error))"
        case .credit(let l, let credit, let drain): "credit:\(name(l)):\(credit)\(drain ? ":drain" : "")"
        case .available(let l, let n): "available:\(name(l)):\(n)"
        case .drained(let l): "drained:\(name(l))"
        case .delivery(let l, let d): "delivery:\(name(l)):\(d.id):\(d.payload.count)\(d.settled ? ":settled" : "")"
        case .deliveryChunk(let l, let d, let last): "chunk:\(name(l)):\(d.id):\(d.payload.count)\(last ? ":last" : "")"
        case .aborted(let l, let id): "aborted:\(name(l)):\(id)"
        case .outcomes(let l, let handles, let state, let settled):
            "outcomes(\(name(l)), \(handles.lowerBound.rawValue)...\(handles.upperBound.rawValue), \(state?.name ?? "-")\(settled ? ", settled" : ""))"
        case .remoteSettled(let l, let id, let state): "remoteSettled:\(name(l)):\(id):\(state?.name ?? "-")"
        case .lost(let l, let h, let sent): "lost:\(name(l)):\(h.rawValue):\(sent ? "sent" : "unsent")"
        }
    }
}

/// A client and a server engine, both opened and exchanged to OPENED.
func makePipe(
    credentials: SASLCredentials? = nil, clientIdle: UInt32? = nil, serverIdle: UInt32? = nil,
    configure: (inout ConnectionConfiguration, inout ConnectionConfiguration) -> Void = { _, _ in }
) -> Pipe {
    var c = ConnectionConfiguration(role: .client, containerID: "client", hostname: "localhost")
    var s = ConnectionConfiguration(role: .server, containerID: "server")
    c.idleTimeout = clientIdle
    s.idleTimeout = serverIdle
    if let credentials {
        c.sasl = .client(credentials)
        s.sasl = .server(mechanisms: ["PLAIN", "ANONYMOUS"], authenticator: PlainUsers())
    }
    configure(&c, &s)
    var server = ConnectionEngine(configuration: s)
    server.open()
    return Pipe(client: ConnectionEngine(configuration: c), server: server)
}

/// An opened pipe, event logs cleared.
func openedPipe(configure: (inout ConnectionConfiguration, inout ConnectionConfiguration) -> Void = { _, _ in }) -> Pipe {
    var p = makePipe(configure: configure)
    p.client.open()
    p.run()
    p.clientEvents = []
    p.serverEvents = []
    return p
}
