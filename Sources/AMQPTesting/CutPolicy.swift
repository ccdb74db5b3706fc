/// How an in-memory transport cuts a byte stream into the pieces each `receive` call
/// gets, so the same exchange can be replayed whole, one byte at a time, or in random
/// chunks (as NIO's `ByteToMessageDecoderVerifier` does).
public enum CutPolicy: Hashable, Sendable, CustomStringConvertible {
    /// Everything in flight arrives in one piece.
    case whole
    /// One byte per `receive` call.
    case oneByte
    /// At most this many bytes per `receive` call (at least 1).
    case maxChunk(Int)
    /// Pieces of 1 to `maxChunk` bytes, drawn from a generator seeded with `seed`, so a
    /// failing split can be replayed.
    case random(seed: UInt64, maxChunk: Int = 64)

    /// The policies worth running every exchange under: whole, one byte at a time,
    /// chunks of 7 bytes (never aligned with the 8-byte headers), and two random seeds.
    public static let all: [CutPolicy] = [.whole, .oneByte, .maxChunk(7), .random(seed: 1), .random(seed: 0x5EED)]

    /// `whole`, `one-byte`, `max-chunk(7)`, `random(seed: 1, max: 64)`.
    public var description: String {
        switch self {
        case .whole: "whole"
        case .oneByte: "one-byte"
        case .maxChunk(let n): "max-chunk(\(n))"
        case .random(let seed, let max): "random(seed: \(seed), max: \(max))"
        }
    }
}

/// Applies a `CutPolicy`: says how many of the available bytes go into the next piece.
struct ByteCutter {
    let policy: CutPolicy
    var generator: SeededGenerator

    init(_ policy: CutPolicy) {
        self.policy = policy
        if case .random(let seed, _) = policy {
            generator = SeededGenerator(seed: seed)
        } else {
            generator = SeededGenerator(seed: 0)
        }
    }

    mutating func next(available: Int) -> Int {
        guard available > 0 else { return 0 }
        switch policy {
        case .whole: return available
        case .oneByte: return 1
        case .maxChunk(let n): return min(available, max(1, n))
        case .random(_, let maxChunk):
            let n = Int(generator.next() % UInt64(max(1, maxChunk))) + 1
            return min(available, n)
        }
    }
}

/// A small, fast, seedable random number generator (SplitMix64), so random cuts and
/// random test inputs are the same on every run and every platform.
public struct SeededGenerator: RandomNumberGenerator, Hashable, Sendable {
    private var state: UInt64

    /// Creates a generator; equal seeds give equal sequences.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
