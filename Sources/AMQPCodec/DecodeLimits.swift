/// Bounds the decoder enforces so that hostile input cannot exhaust the stack or CPU.
///
/// Sizes are already bounded by the input itself (no count may claim more bytes than
/// remain); these limits cover what sizes cannot: nesting depth, and arrays whose
/// elements take no bytes at all (for example an array of a billion `null`s in 10 bytes).
public struct DecodeLimits: Hashable, Sendable {
    // Every view carries its limits (so nested values are checked when they are
    // reached), so they are stored narrow: 12 bytes instead of 24 keeps views, and the
    // copies the decoder makes of them, small.
    // Usable from inline: `FrameDecoder.decodeCommonTransferFrame` checks them.
    @usableFromInline var storedMaxDepth: UInt32
    @usableFromInline var storedMaxElements: UInt32
    private var storedMaxZeroWidthElements: UInt32

    /// Deepest nesting of compound and described values, counting the outermost as 1
    /// (0 to 2³²−1; larger values are clamped).
    public var maxDepth: Int {
        get { Int(storedMaxDepth) }
        set { storedMaxDepth = UInt32(clamping: newValue) }
    }
    /// Most elements one list, map (keys plus values) or array may hold (clamped to
    /// 2³²−1, beyond anything a count field can hold).
    public var maxElements: Int {
        get { Int(storedMaxElements) }
        set { storedMaxElements = UInt32(clamping: newValue) }
    }
    /// Most elements one array may hold when its element constructor takes no bytes
    /// (`null`, `true`, `false`, `uint0`, `ulong0`, `list0`).
    ///
    /// Every other element costs at least one byte of input, so input size bounds the
    /// element count; these cost nothing, and `maxElements` alone would let a 512-byte
    /// frame of fifty such arrays materialize fifty million values. At 16, a zero-width
    /// array yields at most four elements per byte of its encoding. Encoders send such
    /// arrays rarely, and short.
    public var maxZeroWidthElements: Int {
        get { Int(storedMaxZeroWidthElements) }
        set { storedMaxZeroWidthElements = UInt32(clamping: newValue) }
    }

    /// Creates limits.
    public init(maxDepth: Int = 32, maxElements: Int = 1 << 20, maxZeroWidthElements: Int = 16) {
        storedMaxDepth = UInt32(clamping: maxDepth)
        storedMaxElements = UInt32(clamping: maxElements)
        storedMaxZeroWidthElements = UInt32(clamping: maxZeroWidthElements)
    }

    /// 32 levels, 1,048,576 elements, 16 zero-width array elements: far beyond any real
    /// AMQP traffic.
    public static let `default` = DecodeLimits()
}
