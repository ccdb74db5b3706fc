public import AMQPEngine

/// A frame on the wire, with the instant it was produced.
public struct TimedFrame: Hashable, Sendable, CustomStringConvertible {
    /// When the sending engine's `produce` wrote it (the virtual clock's `now`).
    public var at: EngineInstant
    /// The frame.
    public var frame: DecodedFrame
    /// Bytes the frame took on the wire (its size field, or 8 for a protocol header).
    public var byteCount: Int

    /// Creates a timed frame.
    public init(at: EngineInstant, frame: DecodedFrame, byteCount: Int) {
        self.at = at
        self.frame = frame
        self.byteCount = byteCount
    }

    /// `@1500.000ms [0] EMPTY`.
    public var description: String { "@\(at) \(frame)" }
}

/// One direction of an in-memory connection: the bytes one side wrote, on their way to
/// the engine that reads them.
///
/// Bytes are written with `collect(from:now:)` (everything an engine produces, through
/// an output buffer of `outputBufferSize` bytes per `produce` call) or `write(_:)` (a
/// scripted peer's raw bytes). `deliver(to:now:onEvent:)` hands them to the reader in
/// pieces cut by `cutPolicy`, keeping what the reader leaves unconsumed (an incomplete
/// frame) for the next call, as a driver's receive buffer would. Every byte written is
/// also decoded into `frames`, for assertions.
public struct InMemoryTransport {
    /// How the bytes in flight are cut into `receive` calls.
    public let cutPolicy: CutPolicy
    /// The room each `produce` call gets.
    public let outputBufferSize: Int
    /// Bound on `produce` calls per `collect`, so a runaway engine fails instead of hanging.
    public var maxProduceCalls: Int = 100_000

    private var cutter: ByteCutter
    private var inFlight: [UInt8] = []
    private var inFlightStart = 0
    private var arrived: [UInt8] = []
    private var decoder = FrameStreamDecoder()

    /// Every frame written so far, decoded, with the instant it was written.
    public private(set) var frames: [TimedFrame] = []
    /// Bytes written so far.
    public private(set) var bytesWritten = 0
    /// Keep a copy of every byte written in `recordedBytes` (off by default: tests that
    /// move millions of messages would hold them all). Fuzz seeds are captured this way.
    public var recordsBytes = false
    /// Every byte written while `recordsBytes` was on, in order; `frames[i].byteCount`
    /// cuts it into frames.
    public private(set) var recordedBytes: [UInt8] = []
    /// Bytes the reader consumed so far.
    public private(set) var bytesConsumed = 0
    /// `receive` calls made so far.
    public private(set) var receiveCalls = 0
    /// The most bytes the reader ever left unconsumed after a `receive` call: what a
    /// driver had to hold for it. Stays below one frame for a well-behaved engine.
    public private(set) var peakUnconsumed = 0

    /// Creates a transport.
    ///
    /// - Parameters:
    ///   - cutPolicy: how bytes are cut into `receive` calls.
    ///   - outputBufferSize: the room each `produce` call gets (at least 1).
    public init(cutPolicy: CutPolicy = .whole, outputBufferSize: Int = 65_536) {
        precondition(outputBufferSize > 0, "the output buffer needs room for at least one byte")
        self.cutPolicy = cutPolicy
        self.outputBufferSize = outputBufferSize
        cutter = ByteCutter(cutPolicy)
    }

    /// Bytes written and not yet handed to the reader.
    public var bytesInFlight: Int { inFlight.count - inFlightStart }
    /// Bytes handed to the reader that it has not consumed yet (an incomplete frame).
    public var unconsumedBytes: Int { arrived.count }
    /// True when nothing is in flight (bytes the reader left unconsumed may remain).
    public var isDrained: Bool { bytesInFlight == 0 }

    /// Writes raw bytes, as a peer would.
    public mutating func write(_ bytes: [UInt8], at now: EngineInstant) {
        guard !bytes.isEmpty else { return }
        inFlight.append(contentsOf: bytes)
        bytesWritten += bytes.count
        if recordsBytes { recordedBytes.append(contentsOf: bytes) }
        frames += decoder.feedCountingBytes(bytes).map { TimedFrame(at: now, frame: $0.frame, byteCount: $0.byteCount) }
    }

    /// Calls `produce` on `engine` until it has nothing more to write, and puts the bytes
    /// in flight. Returns how many bytes were written.
    ///
    /// - Throws: `ScriptFailure` when the engine keeps producing past `maxProduceCalls`.
    @discardableResult
    public mutating func collect(
        from engine: inout ConnectionEngine, now: EngineInstant, fileID: String = #fileID, line: Int = #line
    ) throws(ScriptFailure) -> Int {
        var total = 0
        var buffer = [UInt8](repeating: 0, count: outputBufferSize)
        for _ in 0..<maxProduceCalls {
            let n = buffer.withUnsafeMutableBytes { engine.produce(into: $0, now: now) }
            if n == 0 { return total }
            write(Array(buffer[..<n]), at: now)
            total += n
        }
        throw ScriptFailure(
            "the engine was still producing after \(maxProduceCalls) produce calls (\(total) bytes); state \(engine.state)",
            fileID: fileID, line: line)
    }

    /// Hands every byte in flight to `engine`, cut by `cutPolicy`, calling `onEvent` with
    /// each event the engine reports while the bytes it borrowed are still valid. Returns
    /// how many bytes the engine consumed.
    ///
    /// When nothing is in flight but bytes are left unconsumed, they are offered once
    /// more, in case the engine can now take them.
    @discardableResult
    public mutating func deliver(
        to engine: inout ConnectionEngine, now: EngineInstant, onEvent: (ConnectionEvent) -> Void = { _ in }
    ) -> Int {
        var consumedNow = 0
        if bytesInFlight == 0 && !arrived.isEmpty {
            consumedNow += receive(into: &engine, now: now, onEvent: onEvent)
        }
        while bytesInFlight > 0 {
            let n = cutter.next(available: bytesInFlight)
            arrived.append(contentsOf: inFlight[inFlightStart..<(inFlightStart + n)])
            inFlightStart += n
            consumedNow += receive(into: &engine, now: now, onEvent: onEvent)
        }
        if inFlightStart > 0 {
            inFlight.removeAll(keepingCapacity: true)
            inFlightStart = 0
        }
        return consumedNow
    }

    /// Drops every byte in flight: the reading side took them without an engine (a
    /// scripted peer reads `frames` instead).
    public mutating func dropInFlight() {
        inFlight.removeAll(keepingCapacity: true)
        inFlightStart = 0
    }

    private mutating func receive(
        into engine: inout ConnectionEngine, now: EngineInstant, onEvent: (ConnectionEvent) -> Void
    ) -> Int {
        receiveCalls += 1
        let consumed = arrived.withUnsafeBytes { bytes in
            let n = engine.receive(bytes, now: now)
            while let event = engine.nextEvent() { onEvent(event) }
            return n
        }
        precondition(consumed >= 0 && consumed <= arrived.count, "receive consumed \(consumed) of \(arrived.count) bytes")
        arrived.removeFirst(consumed)
        bytesConsumed += consumed
        peakUnconsumed = max(peakUnconsumed, arrived.count)
        return consumed
    }
}
