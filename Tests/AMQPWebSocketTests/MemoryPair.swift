import AMQPEngine
import AMQPReactor
import AMQPWebSocket

/// Two machines joined in memory, driven the way the reactor drives them (bytes stay put
/// until their events are delivered; `eventsDelivered` may ask for input to be offered
/// again), with the byte stream cut into chunks of at most `maxChunk` bytes chosen by a
/// seeded generator, so every split of handshakes and frames is met.
typealias Machine = WebSocketConnection<ConnectionEngine>

final class MemoryPair {
    final class Side {
        var machine: Machine
        /// Bytes from the other side not yet released.
        var inbound: [UInt8] = []
        /// Bytes produced and not yet moved to the other side.
        var outbound: [UInt8] = []
        /// Bytes of `inbound` the machine consumed (released after delivery).
        var parsed = 0
        var handler: (inout Machine, ConnectionEvent) -> Void = { _, _ in }
        init(_ machine: Machine) { self.machine = machine }
    }

    let a: Side
    let b: Side
    var maxChunk: Int
    var generator: SplitMix
    var now = EngineInstant(nanoseconds: 1_000_000_000)

    init(_ a: Machine, _ b: Machine, maxChunk: Int, seed: UInt64) {
        self.a = Side(a)
        self.b = Side(b)
        self.maxChunk = maxChunk
        generator = SplitMix(seed: seed)
    }

    private func chunk() -> Int { maxChunk <= 1 ? 1 : Int(generator.next() % UInt64(maxChunk)) + 1 }

    /// Moves bytes one step in each direction; false when nothing moved.
    func step() -> Bool {
        let x = transfer(from: a, to: b)
        let y = transfer(from: b, to: a)
        return x || y
    }

    /// Produces into a room of a random size (at least the machine's minimum, as the
    /// reactor's outbound ring guarantees), then moves a random chunk of what is queued,
    /// as TCP cuts a stream anywhere.
    private func transfer(from: Side, to: Side) -> Bool {
        var moved = false
        if from.machine.hasPendingOutput && from.outbound.count < 1 << 20 {
            var buffer = [UInt8](repeating: 0, count: max(chunk(), from.machine.minimumOutboundCapacity))
            let n = buffer.withUnsafeMutableBytes { from.machine.produce(into: $0, now: now) }
            if n > 0 {
                from.outbound += buffer[..<n]
                moved = true
            }
        }
        if !from.outbound.isEmpty {
            let n = min(chunk(), from.outbound.count)
            to.inbound += from.outbound[..<n]
            from.outbound.removeFirst(n)
            moved = true
        }
        moved = offer(to) || moved
        return moved
    }

    /// Offers what `side` has not consumed (bytes arrive a chunk at a time, in
    /// `transfer`), delivers its events, then releases what they could borrow.
    private func offer(_ side: Side) -> Bool {
        var progressed = false
        repeat {
            let used = side.inbound.withUnsafeBytes { raw in
                side.machine.receive(UnsafeRawBufferPointer(rebasing: raw[side.parsed...]), now: now)
            }
            if used > 0 { progressed = true }
            side.parsed += used
            while let event = side.machine.nextEvent() {
                progressed = true
                side.handler(&side.machine, event)
            }
            side.inbound.removeFirst(side.parsed)
            side.parsed = 0
        } while side.machine.eventsDelivered()
        return progressed
    }

    /// Steps until `condition` holds; fails after `steps` steps without it.
    func run(_ what: String, steps: Int = 2_000_000, until condition: () -> Bool) throws {
        var n = 0
        while !condition() {
            n += 1
            if n > steps { throw GaveUp(what: what) }
            _ = step()
        }
    }
}

struct GaveUp: Error, CustomStringConvertible {
    let what: String
    var description: String { "gave up waiting for \(what)" }
}
