/// Latencies in nanoseconds, counted in fixed log-linear buckets: every power of two is
/// cut into 32 equal buckets, so a percentile read back is within 1/32 (about 3%) of the
/// true value, from 1 ns to centuries, in 1,920 counters allocated once. Recording is an
/// index computation and an increment, with no allocation, so a receiver can record every
/// message (the layout of HdrHistogram with 5 bits of sub-bucket precision).
public struct LatencyHistogram: Sendable {
    /// Sub-buckets per power of two, as a shift.
    static let subBucketBits = 5
    static let subBuckets = 1 << subBucketBits
    /// Values below `subBuckets` have a bucket each; every power of two above has 32.
    static let bucketCount = subBuckets + (64 - subBucketBits) * subBuckets

    private var counts: [UInt64]
    /// Values recorded.
    public private(set) var count: UInt64 = 0
    /// The smallest value recorded (exact).
    public private(set) var minimum: UInt64 = .max
    /// The largest value recorded (exact).
    public private(set) var maximum: UInt64 = 0

    /// An empty histogram.
    public init() {
        counts = [UInt64](repeating: 0, count: Self.bucketCount)
    }

    /// The bucket `value` falls into.
    @inline(__always)
    static func bucket(_ value: UInt64) -> Int {
        if value < UInt64(subBuckets) { return Int(value) }
        let exponent = 63 - value.leadingZeroBitCount
        let shift = exponent - subBucketBits
        let sub = Int(truncatingIfNeeded: value >> UInt64(shift)) & (subBuckets - 1)
        return subBuckets + shift * subBuckets + sub
    }

    /// The smallest and largest value of bucket `index`.
    static func bounds(_ index: Int) -> ClosedRange<UInt64> {
        if index < subBuckets { return UInt64(index)...UInt64(index) }
        let shift = (index - subBuckets) / subBuckets
        let sub = UInt64((index - subBuckets) % subBuckets)
        let low = (UInt64(subBuckets) + sub) << UInt64(shift)
        // Width minus one first: the last bucket ends at UInt64.max exactly.
        return low...(low + (((1 as UInt64) << UInt64(shift)) - 1))
    }

    /// Counts one value.
    @inline(__always)
    public mutating func record(_ value: UInt64) {
        counts[Self.bucket(value)] &+= 1
        count &+= 1
        if value < minimum { minimum = value }
        if value > maximum { maximum = value }
    }

    /// Adds another histogram's counts.
    public mutating func merge(_ other: LatencyHistogram) {
        for i in 0..<Self.bucketCount { counts[i] &+= other.counts[i] }
        count &+= other.count
        minimum = min(minimum, other.minimum)
        maximum = max(maximum, other.maximum)
    }

    /// The value at or below which `fraction` (0...1) of the recorded values lie: the
    /// middle of the bucket holding that rank, kept within the exact minimum and maximum.
    /// `nil` when nothing was recorded.
    public func percentile(_ fraction: Double) -> UInt64? {
        guard count > 0 else { return nil }
        let f = Swift.min(Swift.max(fraction, 0), 1)
        // The rank of the value wanted, 1-based: at least the first, at most the last.
        let rank = Swift.max(1, Swift.min(count, UInt64((f * Double(count)).rounded(.up))))
        if rank == count { return maximum }
        var seen: UInt64 = 0
        for i in 0..<Self.bucketCount where counts[i] != 0 {
            seen &+= counts[i]
            if seen >= rank {
                let b = Self.bounds(i)
                let middle = b.lowerBound + (b.upperBound - b.lowerBound) / 2
                return Swift.min(Swift.max(middle, minimum), maximum)
            }
        }
        return maximum
    }
}
