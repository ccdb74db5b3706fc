/// A point in time on the driver's monotonic clock, in nanoseconds from any origin.
///
/// The engine never reads a clock: the driver passes `now` in, so tests can step a
/// connection with a virtual clock and get the same result every run.
public struct EngineInstant: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Nanoseconds since the clock's origin.
    public var nanoseconds: UInt64
    /// Creates an instant.
    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }
    /// The clock's origin.
    public static let zero = EngineInstant(nanoseconds: 0)
    /// This instant moved forward by `milliseconds`.
    public func advanced(byMilliseconds milliseconds: UInt64) -> EngineInstant {
        EngineInstant(nanoseconds: nanoseconds &+ milliseconds &* 1_000_000)
    }
    /// This instant moved forward by `nanoseconds`.
    public func advanced(byNanoseconds delta: UInt64) -> EngineInstant {
        EngineInstant(nanoseconds: nanoseconds &+ delta)
    }
    /// Nanoseconds from `earlier` to this instant (0 if `earlier` is later).
    public func nanoseconds(since earlier: EngineInstant) -> UInt64 {
        nanoseconds >= earlier.nanoseconds ? nanoseconds - earlier.nanoseconds : 0
    }
    /// Orders by time.
    public static func < (a: EngineInstant, b: EngineInstant) -> Bool { a.nanoseconds < b.nanoseconds }
    /// Milliseconds with three decimals, e.g. `1500.000ms`.
    public var description: String { "\(nanoseconds / 1_000_000).\(String(nanoseconds % 1_000_000 / 1000).leftPadded(3))ms" }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
