/// A delivery tag: up to 32 bytes (the specification's limit), stored inline.
///
/// Tags travel with every transfer, so they must not allocate: the bytes live in four
/// words inside the value.
public struct DeliveryTag: Hashable, Sendable, CustomStringConvertible {
    /// The most bytes a tag may hold.
    public static let maxLength = 32

    @usableFromInline var storage: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    /// Number of bytes in the tag (0 to 32).
    public private(set) var count: Int = 0

    /// An empty tag.
    public init() {}

    /// The tag made of `bytes`; `nil` when there are more than 32.
    public init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count <= Self.maxLength else { return nil }
        count = bytes.count
        withUnsafeMutableBytes(of: &storage) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
    }

    /// A tag holding the 8 big-endian bytes of `value` (the usual counter-based tag).
    public init(_ value: UInt64) {
        storage.0 = value.bigEndian
        count = 8
    }

    /// Copies at most 32 bytes from `raw`; `nil` when there are more.
    @inline(__always)
    public init?(bytes raw: UnsafeRawBufferPointer) {
        guard raw.count <= Self.maxLength else { return nil }
        count = raw.count
        if raw.count == 8, let p = raw.baseAddress {
            // The usual tag (a counter, as `init(_: UInt64)` makes): one load, no copy call.
            storage.0 = p.loadUnaligned(as: UInt64.self)
            return
        }
        withUnsafeMutableBytes(of: &storage) { dst in
            if raw.count > 0 { dst.baseAddress!.copyMemory(from: raw.baseAddress!, byteCount: raw.count) }
        }
    }

    /// Calls `body` with the tag's bytes.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        var copy = storage
        let n = count
        return try Swift.withUnsafeBytes(of: &copy) { (raw) throws(E) -> R in
            try body(UnsafeRawBufferPointer(rebasing: raw[0..<n]))
        }
    }

    /// The tag's bytes.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Tags are equal when their bytes are.
    public static func == (a: DeliveryTag, b: DeliveryTag) -> Bool {
        a.count == b.count && a.storage == b.storage
    }
    /// Hashes the bytes.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        hasher.combine(storage.0)
        hasher.combine(storage.1)
        hasher.combine(storage.2)
        hasher.combine(storage.3)
    }
    /// The bytes in lowercase hex.
    public var description: String { Hex.encode(bytes) }
}
