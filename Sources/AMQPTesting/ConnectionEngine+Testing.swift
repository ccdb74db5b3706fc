public import AMQPEngine

extension ConnectionEngine {
    /// Everything the engine has to write now, in one array (`produce` called with
    /// `bufferSize` bytes of room until it writes nothing, at most `maxCalls` times).
    public mutating func produceAll(now: EngineInstant, bufferSize: Int = 65_536, maxCalls: Int = 10_000) -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: bufferSize)
        for _ in 0..<maxCalls {
            let n = buffer.withUnsafeMutableBytes { produce(into: $0, now: now) }
            if n == 0 { break }
            out += buffer[..<n]
        }
        return out
    }

    /// Everything the engine has to write now, decoded.
    public mutating func produceFrames(now: EngineInstant, bufferSize: Int = 65_536) -> [DecodedFrame] {
        DecodedFrame.decodeAll(produceAll(now: now, bufferSize: bufferSize))
    }

    /// Hands `bytes` to `receive` and returns how many it consumed. Events may borrow
    /// the bytes: drain them with `drainEvents()` only if they carry no views.
    public mutating func receive(_ bytes: [UInt8], now: EngineInstant) -> Int {
        bytes.withUnsafeBytes { receive($0, now: now) }
    }

    /// Every pending event.
    public mutating func drainEvents() -> [ConnectionEvent] {
        var out: [ConnectionEvent] = []
        while let e = nextEvent() { out.append(e) }
        return out
    }
}
