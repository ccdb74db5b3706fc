#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension Timestamp {
    /// The current wall-clock time (CLOCK_REALTIME), to the millisecond. Token expiry is
    /// wall-clock time, unlike the engine's deadlines, which use a monotonic clock.
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(millisecondsSinceEpoch: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }

    /// A timestamp `seconds` after the Unix epoch.
    public init(secondsSinceEpoch seconds: Int64) {
        self.init(millisecondsSinceEpoch: seconds &* 1000)
    }

    /// Whole seconds since the Unix epoch (rounded down).
    public var secondsSinceEpoch: Int64 {
        millisecondsSinceEpoch >= 0 ? millisecondsSinceEpoch / 1000 : (millisecondsSinceEpoch - 999) / 1000
    }

    /// This timestamp moved by `duration` (to the millisecond, rounded down).
    public func advanced(by duration: Duration) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: millisecondsSinceEpoch &+ duration.wholeMilliseconds)
    }

    /// The time from `earlier` to this timestamp (negative if `earlier` is later).
    public func duration(since earlier: Timestamp) -> Duration {
        .milliseconds(millisecondsSinceEpoch &- earlier.millisecondsSinceEpoch)
    }
}

extension Duration {
    /// Whole milliseconds, rounded toward negative infinity.
    var wholeMilliseconds: Int64 {
        let (s, atto) = components
        // 1 ms = 10^15 attoseconds; attoseconds are in [0, 10^18) for non-negative
        // durations and may be negative for negative ones.
        let ms = atto >= 0 ? atto / 1_000_000_000_000_000 : (atto - 999_999_999_999_999) / 1_000_000_000_000_000
        return s &* 1000 &+ ms
    }
}
