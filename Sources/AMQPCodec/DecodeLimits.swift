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
    /// Most elements one array may hold when its element constructor takes no bytes
    /// (`null`, `true`, `false`, `uint0`, `ulong0`, `list0`).
    ///
    /// Every other element costs at least one byte of input, so input size bounds the
    /// element count; these cost nothing, and `maxElements` alone would let a 512-byte
    /// frame of fifty such arrays materialize fifty million values. At 16, a zero-width
    /// array yields at most four elements per byte of its encoding. Encoders send such
    /// arrays rarely, and short.
    public var maxZeroWidthElements: Int

    /// Creates limits.
    public init(maxDepth: Int = 32, maxElements: Int = 1 << 20, maxZeroWidthElements: Int = 16) {
        self.maxDepth = maxDepth
        self.maxElements = maxElements
        self.maxZeroWidthElements = maxZeroWidthElements
    }

    /// 32 levels, 1,048,576 elements, 16 zero-width array elements: far beyond any real
    /// AMQP traffic.
    public static let `default` = DecodeLimits()
}
