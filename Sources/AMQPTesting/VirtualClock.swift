public import AMQPEngine

/// A manual monotonic clock for stepping engines by hand: it moves only when told to,
/// and only forward, so a test that uses it gets the same instants on every run.
///
/// Engines never read a clock; pass `now` to `receive`, `produce` and `poll`.
public struct VirtualClock: Hashable, Sendable, CustomStringConvertible {
    /// The current instant.
    public private(set) var now: EngineInstant

    /// Where a new clock starts by default: one second after the origin, so that code
    /// which treats the origin as "never" cannot pass by accident.
    public static let defaultStart = EngineInstant(nanoseconds: 1_000_000_000)

    /// Creates a clock reading `start`.
    public init(start: EngineInstant = VirtualClock.defaultStart) {
        now = start
    }

    /// Moves the clock forward by `milliseconds`.
    public mutating func advance(byMilliseconds milliseconds: UInt64) {
        now = now.advanced(byMilliseconds: milliseconds)
    }

    /// Moves the clock forward by `nanoseconds`.
    public mutating func advance(byNanoseconds nanoseconds: UInt64) {
        now = now.advanced(byNanoseconds: nanoseconds)
    }

    /// Moves the clock forward by `duration`.
    ///
    /// - Precondition: `duration` is not negative (the clock is monotonic).
    public mutating func advance(by duration: Duration) {
        advance(byNanoseconds: Self.nanoseconds(in: duration))
    }

    /// Moves the clock to `instant`.
    ///
    /// - Precondition: `instant` is not before `now` (the clock is monotonic).
    public mutating func advance(to instant: EngineInstant) {
        precondition(instant >= now, "a virtual clock cannot go back from \(now) to \(instant)")
        now = instant
    }

    /// The instant `duration` after `now`, without moving the clock.
    public func instant(after duration: Duration) -> EngineInstant {
        now.advanced(byNanoseconds: Self.nanoseconds(in: duration))
    }

    /// Whole nanoseconds in a non-negative `duration`.
    public static func nanoseconds(in duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        precondition(seconds >= 0 && attoseconds >= 0, "a virtual clock cannot move by a negative duration \(duration)")
        return UInt64(seconds) &* 1_000_000_000 &+ UInt64(attoseconds / 1_000_000_000)
    }

    /// The current instant, e.g. `1000.000ms`.
    public var description: String { now.description }
}
