public import AMQPEngine

/// Two engines, a client and a server, connected through in-memory transports and
/// stepped on one virtual clock: a whole connection with no sockets and no timing.
///
/// ```swift
/// var pair = EnginePair(client: clientConfiguration, server: serverConfiguration)
/// pair.server.open()
/// pair.client.open()
/// try pair.pump(until: "both opened") { $0.client.state == .opened && $0.server.state == .opened }
/// try pair.advance(byMilliseconds: 10_000)   // heartbeats flow at their exact instants
/// ```
///
/// Every step is bounded: `pump` gives up after `maxRounds` rounds, and `advance` after
/// `maxDeadlines` deadlines, with a `ScriptFailure` saying where each side stood.
public struct EnginePair {
    /// One end of the pair.
    public enum Side: Hashable, Sendable, CustomStringConvertible {
        /// The client engine.
        case client
        /// The server engine.
        case server
        /// `client` or `server`.
        public var description: String { self == .client ? "client" : "server" }
    }

    /// The client engine; call its application methods (`open`, `close`) directly.
    public var client: ConnectionEngine
    /// The server engine.
    public var server: ConnectionEngine
    /// The clock both engines see.
    public private(set) var clock: VirtualClock
    /// Bytes from the client to the server.
    public private(set) var toServer: InMemoryTransport
    /// Bytes from the server to the client.
    public private(set) var toClient: InMemoryTransport
    /// Keep a copy of every byte either side writes (`toServer.recordedBytes`,
    /// `toClient.recordedBytes`): a real exchange, captured, e.g. for fuzz seeds.
    public var recordsBytes: Bool {
        get { toServer.recordsBytes }
        set {
            toServer.recordsBytes = newValue
            toClient.recordsBytes = newValue
        }
    }
    /// Events the client reported.
    public private(set) var clientEvents = EventLog()
    /// Events the server reported.
    public private(set) var serverEvents = EventLog()
    /// Called with each event while the bytes it may borrow are valid (for events that
    /// carry views into received data); the events are also recorded in the logs.
    public var onEvent: ((Side, ConnectionEvent) -> Void)? = nil

    /// Creates a pair from two engines.
    ///
    /// - Parameters:
    ///   - cutPolicy: how bytes are cut on their way in, in both directions.
    ///   - outputBufferSize: the room each `produce` call gets.
    ///   - clock: the starting clock.
    public init(
        client: ConnectionEngine, server: ConnectionEngine, cutPolicy: CutPolicy = .whole,
        outputBufferSize: Int = 65_536, clock: VirtualClock = VirtualClock()
    ) {
        precondition(client.configuration.role == .client, "the client engine has the server role")
        precondition(server.configuration.role == .server, "the server engine has the client role")
        self.client = client
        self.server = server
        self.clock = clock
        toServer = InMemoryTransport(cutPolicy: cutPolicy, outputBufferSize: outputBufferSize)
        toClient = InMemoryTransport(cutPolicy: cutPolicy, outputBufferSize: outputBufferSize)
    }

    /// Creates a pair from two configurations; neither engine is opened yet.
    public init(
        client: ConnectionConfiguration, server: ConnectionConfiguration, cutPolicy: CutPolicy = .whole,
        outputBufferSize: Int = 65_536, clock: VirtualClock = VirtualClock()
    ) {
        self.init(
            client: ConnectionEngine(configuration: client), server: ConnectionEngine(configuration: server),
            cutPolicy: cutPolicy, outputBufferSize: outputBufferSize, clock: clock)
    }

    /// Frames the client sent, with the instants it sent them.
    public var clientFrames: [TimedFrame] { toServer.frames }
    /// Frames the server sent, with the instants it sent them.
    public var serverFrames: [TimedFrame] { toClient.frames }

    /// True when neither engine has anything to write and no bytes are in flight.
    public var isQuiet: Bool {
        !client.hasPendingOutput && !server.hasPendingOutput && toServer.isDrained && toClient.isDrained
    }

    /// The earlier of the two engines' deadlines.
    public var nextDeadline: EngineInstant? {
        switch (client.nextDeadline, server.nextDeadline) {
        case (let c?, let s?): min(c, s)
        case (let c?, nil): c
        case (nil, let s?): s
        case (nil, nil): nil
        }
    }

    /// One round: polls each engine whose deadline has passed, moves the client's output
    /// to the server, then the server's to the client. Returns true if any byte moved or
    /// any engine was polled.
    @discardableResult
    public mutating func step(fileID: String = #fileID, line: Int = #line) throws(ScriptFailure) -> Bool {
        var moved = false
        let now = clock.now
        if let d = client.nextDeadline, d <= now { client.poll(now: now); moved = true }
        if let d = server.nextDeadline, d <= now { server.poll(now: now); moved = true }
        drainEvents()
        moved = try toServer.collect(from: &client, now: now, fileID: fileID, line: line) > 0 || moved
        var serverLog = serverEvents
        let observer = onEvent
        moved = toServer.deliver(to: &server, now: now) { e in serverLog.append(e); observer?(.server, e) } > 0 || moved
        serverEvents = serverLog
        moved = try toClient.collect(from: &server, now: now, fileID: fileID, line: line) > 0 || moved
        var clientLog = clientEvents
        moved = toClient.deliver(to: &client, now: now) { e in clientLog.append(e); observer?(.client, e) } > 0 || moved
        clientEvents = clientLog
        drainEvents()
        return moved
    }

    /// Steps until `condition` holds.
    ///
    /// - Parameters:
    ///   - what: the condition in words, for the failure message.
    ///   - maxRounds: the most rounds to try.
    ///   - advancingTime: when the pair goes quiet before the condition holds, move the
    ///     clock to the next deadline instead of failing.
    /// - Throws: `ScriptFailure` when the pair goes quiet (and time may not advance or
    ///   no deadline is pending) or `maxRounds` pass without the condition holding.
    public mutating func pump(
        until what: String = "the condition", maxRounds: Int = 1_000, advancingTime: Bool = false,
        fileID: String = #fileID, line: Int = #line, _ condition: (EnginePair) -> Bool
    ) throws(ScriptFailure) {
        for _ in 0..<maxRounds {
            if condition(self) { return }
            let moved = try step(fileID: fileID, line: line)
            if condition(self) { return }
            if !moved && isQuiet {
                guard advancingTime, let deadline = nextDeadline else {
                    throw failure("the pair went quiet before \(what)", fileID: fileID, line: line)
                }
                clock.advance(to: max(deadline, clock.now))
            }
        }
        throw failure("\(what) did not happen within \(maxRounds) rounds", fileID: fileID, line: line)
    }

    /// Steps until neither engine has anything more to say.
    public mutating func pumpUntilQuiet(maxRounds: Int = 1_000, fileID: String = #fileID, line: Int = #line) throws(ScriptFailure) {
        for _ in 0..<maxRounds {
            let moved = try step(fileID: fileID, line: line)
            if !moved && isQuiet { return }
        }
        throw failure("the pair was still busy after \(maxRounds) rounds", fileID: fileID, line: line)
    }

    /// Moves the clock forward by `milliseconds`, stopping at every deadline on the way
    /// (so heartbeats and time-outs happen at their exact instants) and pumping until
    /// quiet at each.
    ///
    /// - Throws: `ScriptFailure` after `maxDeadlines` stops, or if a pump does not settle.
    public mutating func advance(
        byMilliseconds milliseconds: UInt64, maxDeadlines: Int = 100_000, fileID: String = #fileID, line: Int = #line
    ) throws(ScriptFailure) {
        try advance(to: clock.now.advanced(byMilliseconds: milliseconds), maxDeadlines: maxDeadlines, fileID: fileID, line: line)
    }

    /// Moves the clock forward by `duration`, like `advance(byMilliseconds:)`.
    public mutating func advance(
        by duration: Duration, maxDeadlines: Int = 100_000, fileID: String = #fileID, line: Int = #line
    ) throws(ScriptFailure) {
        try advance(to: clock.instant(after: duration), maxDeadlines: maxDeadlines, fileID: fileID, line: line)
    }

    /// Moves the clock to `target`, like `advance(byMilliseconds:)`.
    public mutating func advance(
        to target: EngineInstant, maxDeadlines: Int = 100_000, fileID: String = #fileID, line: Int = #line
    ) throws(ScriptFailure) {
        try pumpUntilQuiet(fileID: fileID, line: line)
        for _ in 0..<maxDeadlines {
            guard let deadline = nextDeadline, deadline <= target else {
                clock.advance(to: max(target, clock.now))
                try pumpUntilQuiet(fileID: fileID, line: line)
                return
            }
            clock.advance(to: max(deadline, clock.now))
            try pumpUntilQuiet(fileID: fileID, line: line)
        }
        throw failure("more than \(maxDeadlines) deadlines before \(target)", fileID: fileID, line: line)
    }

    private mutating func drainEvents() {
        while let e = client.nextEvent() {
            clientEvents.append(e)
            onEvent?(.client, e)
        }
        while let e = server.nextEvent() {
            serverEvents.append(e)
            onEvent?(.server, e)
        }
    }

    /// A failure that says where both sides stood.
    public func failure(_ message: String, fileID: String = #fileID, line: Int = #line) -> ScriptFailure {
        func side(_ name: String, _ e: ConnectionEngine, _ sent: [TimedFrame]) -> String {
            let last = sent.suffix(4).map(\.description).joined(separator: "; ")
            return "\(name): \(e.state)\(e.failure.map { " (" + FrameDescription.truncated("\($0)", to: 240) + ")" } ?? "")\(e.isFinished ? ", finished" : ""), "
                + "deadline \(e.nextDeadline.map(\.description) ?? "none"), last sent: \(last.isEmpty ? "nothing" : last)"
        }
        return ScriptFailure(
            "\(message) at \(clock.now)\n  \(side("client", client, clientFrames))\n  \(side("server", server, serverFrames))",
            fileID: fileID, line: line)
    }
}
