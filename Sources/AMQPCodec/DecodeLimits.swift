/// Bounds the decoder enforces so that hostile input cannot exhaust the stack or CPU.
///
/// Sizes are already bounded by the input itself (no count may claim more bytes than
/// remain); these limits cover what sizes cannot: nesting depth, and arrays whose
/// elements take no bytes at all (for example an array of a billion `null`s in 10 bytes).
public struct DecodeLimits: Hashable, Sendable {
    /// Deepest nesting of compound and described values, counting the outermost as 1.
    public var maxDepth: Int
    /// Most elements one list, map (keys plus values) or array may hold.
    public var maxElements: Int

    /// Creates limits.
    public init(maxDepth: Int = 32, maxElements: Int = 1 << 20) {
        self.maxDepth = maxDepth
        self.maxElements = maxElements
    }

    /// 32 levels and 1,048,576 elements: far beyond any real AMQP traffic.
    public static let `default` = DecodeLimits()
}
