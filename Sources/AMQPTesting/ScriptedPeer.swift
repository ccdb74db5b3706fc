public import AMQPCodec
public import AMQPEngine

/// Plays the other end of one engine from a script: the test sends exact bytes and
/// frames, expects exact frames back, and moves a virtual clock by hand.
///
/// ```swift
/// var peer = ScriptedPeer(configuration: ConnectionConfiguration(role: .client, containerID: "c"))
/// try peer.perform { $0.open() }
/// try peer.expectHeader(.amqp)
/// try peer.send(header: .amqp)
/// let open = try peer.expectOpen()
/// try peer.send(.open(Open(containerID: "broker", idleTimeOut: 1000)))
/// try peer.advance(byMilliseconds: 500)
/// try peer.expectEmptyFrame(at: peer.clock.now)
/// ```
///
/// After every action the peer hands its bytes to the engine (cut by `cutPolicy`), runs
/// `poll(now:)` if a deadline has passed, records the engine's events, and decodes all it
/// wrote. Expectations consume those frames in order; nothing waits, so a script that
/// expects a frame the engine has not written fails at once with what did arrive.
public struct ScriptedPeer {
    /// The engine under test; call its application methods through `perform(_:)`.
    public var engine: ConnectionEngine
    /// The clock the engine sees.
    public private(set) var clock: VirtualClock
    /// The peer's bytes on their way to the engine.
    public private(set) var toEngine: InMemoryTransport
    /// What the engine wrote; `toEngine.frames` and `fromEngine.frames` together are the
    /// whole conversation.
    public private(set) var fromEngine: InMemoryTransport
    /// Every event the engine reported.
    public private(set) var events = EventLog()
    /// How many of `fromEngine.frames` the script has already expected.
    public private(set) var framesExpected = 0
    /// Bound on deadlines crossed by one `advance`, so an engine whose deadline never
    /// moves fails the script instead of hanging it.
    public var maxDeadlinesPerAdvance = 100_000

    /// Creates a peer for `engine`.
    ///
    /// - Parameters:
    ///   - cutPolicy: how the peer's bytes are cut into `receive` calls.
    ///   - outputBufferSize: the room each of the engine's `produce` calls gets.
    ///   - clock: the starting clock.
    public init(
        engine: ConnectionEngine, cutPolicy: CutPolicy = .whole, outputBufferSize: Int = 65_536,
        clock: VirtualClock = VirtualClock()
    ) {
        self.engine = engine
        self.clock = clock
        toEngine = InMemoryTransport(cutPolicy: cutPolicy)
        fromEngine = InMemoryTransport(outputBufferSize: outputBufferSize)
    }

    /// Creates a peer for a new engine with `configuration` (not opened yet).
    public init(
        configuration: ConnectionConfiguration, cutPolicy: CutPolicy = .whole, outputBufferSize: Int = 65_536,
        clock: VirtualClock = VirtualClock()
    ) {
        self.init(
            engine: ConnectionEngine(configuration: configuration), cutPolicy: cutPolicy,
            outputBufferSize: outputBufferSize, clock: clock)
    }

    /// The role the engine plays (the peer plays the other).
    public var engineRole: ConnectionConfiguration.Role { engine.configuration.role }

    /// Frames the engine wrote that no expectation has consumed yet.
    public var pendingFrames: ArraySlice<TimedFrame> { fromEngine.frames[framesExpected...] }

    /// Marks the next `count` frames as expected without checking them.
    public mutating func skipFrames(_ count: Int) {
        framesExpected = min(fromEngine.frames.count, framesExpected + count)
    }

    /// Marks frames as expected while they satisfy `predicate` (e.g. heartbeats).
    public mutating func skipFrames(while predicate: (DecodedFrame) -> Bool) {
        while let next = pendingFrames.first, predicate(next.frame) { framesExpected += 1 }
    }

    // MARK: Acting

    /// Runs an application action on the engine (`open()`, `close(error:)`, …), then lets
    /// it write.
    public mutating func perform(
        fileID: String = #fileID, line: Int = #line, _ action: (inout ConnectionEngine) -> Void
    ) throws(ScriptFailure) {
        action(&engine)
        try run(fileID: fileID, line: line)
    }

    /// Delivers everything in flight, polls a passed deadline, records events, and
    /// collects what the engine writes. Every other action ends with this.
    public mutating func run(fileID: String = #fileID, line: Int = #line) throws(ScriptFailure) {
        var log = events
        if let d = engine.nextDeadline, d <= clock.now { engine.poll(now: clock.now) }
        while let e = engine.nextEvent() { log.append(e) }
        toEngine.deliver(to: &engine, now: clock.now) { log.append($0) }
        while let e = engine.nextEvent() { log.append(e) }
        events = log
        try fromEngine.collect(from: &engine, now: clock.now, fileID: fileID, line: line)
        fromEngine.dropInFlight()
        while let e = engine.nextEvent() { events.append(e) }
    }

    /// Sends raw bytes.
    public mutating func send(bytes: [UInt8], fileID: String = #fileID, line: Int = #line) throws(ScriptFailure) {
        toEngine.write(bytes, at: clock.now)
        try run(fileID: fileID, line: line)
    }

    /// Sends a protocol header.
    public mutating func send(header: ProtocolHeader, fileID: String = #fileID, line: Int = #line) throws(ScriptFailure) {
        try send(bytes: header.bytes, fileID: fileID, line: line)
    }

    /// Sends an AMQP frame holding `performative` (and `payload`) on `channel`.
    public mutating func send(
        _ performative: Performative, channel: UInt16 = 0, payload: [UInt8] = [],
        fileID: String = #fileID, line: Int = #line
    ) throws(ScriptFailure) {
        try send(bytes: FrameBytes.frame(performative, channel: channel, payload: payload), fileID: fileID, line: line)
    }

    /// Sends a SASL frame.
    public mutating func send(_ performative: SASLPerformative, fileID: String = #fileID, line: Int = #line) throws(ScriptFailure) {
        try send(bytes: FrameBytes.frame(performative), fileID: fileID, line: line)
    }

    /// Sends an empty frame (a heartbeat).
    public mutating func sendEmptyFrame(channel: UInt16 = 0, fileID: String = #fileID, line: Int = #line) throws(ScriptFailure) {
        try send(bytes: FrameBytes.emptyFrame(channel: channel), fileID: fileID, line: line)
    }

    // MARK: Time

    /// Moves the clock forward by `milliseconds`, stopping at each of the engine's
    /// deadlines on the way (so heartbeats and time-outs happen at their exact instants).
    public mutating func advance(byMilliseconds milliseconds: UInt64, fileID: String = #fileID, line: Int = #line) throws(ScriptFailure) {
        try advance(to: clock.now.advanced(byMilliseconds: milliseconds), fileID: fileID, line: line)
    }

    /// Moves the clock forward by `duration`, like `advance(byMilliseconds:)`.
    public mutating func advance(by duration: Duration, fileID: String = #fileID, line: Int = #line) throws(ScriptFailure) {
        try advance(to: clock.instant(after: duration), fileID: fileID, line: line)
    }

    /// Moves the clock to `target`, like `advance(byMilliseconds:)`.
    public mutating func advance(to target: EngineInstant, fileID: String = #fileID, line: Int = #line) throws(ScriptFailure) {
        for _ in 0..<maxDeadlinesPerAdvance {
            guard let deadline = engine.nextDeadline, deadline <= target else {
                clock.advance(to: max(target, clock.now))
                try run(fileID: fileID, line: line)
                return
            }
            clock.advance(to: max(deadline, clock.now))
            try run(fileID: fileID, line: line)
        }
        throw failure("the engine had more than \(maxDeadlinesPerAdvance) deadlines before \(target)", fileID: fileID, line: line)
    }

    // MARK: Reporting

    /// A failure that says what the engine wrote and where it stands.
    public func failure(_ message: String, fileID: String = #fileID, line: Int = #line) -> ScriptFailure {
        var text = "\(message)\n  engine (\(engineRole)) at \(clock.now): \(engine.state)"
        if let f = engine.failure { text += ", failure " + FrameDescription.truncated("\(f)", to: 240) }
        if engine.isFinished { text += ", finished" }
        text += ", deadline \(engine.nextDeadline.map(\.description) ?? "none")"
        let pending = pendingFrames
        text += pending.isEmpty ? "\n  no unexpected frames" : "\n  not yet expected: " + pending.map(\.description).joined(separator: "; ")
        let recent = events.summaries.suffix(8)
        if !recent.isEmpty { text += "\n  recent events: " + recent.joined(separator: ", ") }
        return ScriptFailure(text, fileID: fileID, line: line)
    }
}
