/// An AMQP `symbol`: a short ASCII name (descriptors, conditions, capabilities, keys).
///
/// The text is not checked when a symbol is made; the encoder rejects non-ASCII text
/// with `EncodeError.nonASCIISymbol`, and the decoder never produces it.
public struct Symbol: Hashable, Sendable, Comparable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The symbol's text.
    public var rawValue: String
    /// Wraps text as a symbol.
    public init(_ rawValue: String) { self.rawValue = rawValue }
    /// Wraps a literal as a symbol.
    public init(stringLiteral value: String) { self.rawValue = value }
    /// The symbol's text.
    public var description: String { rawValue }
    /// Orders by text.
    public static func < (a: Symbol, b: Symbol) -> Bool { a.rawValue < b.rawValue }
}

/// An AMQP `uuid`: 16 bytes, in the order they travel on the wire (RFC 4122 order).
public struct AMQPUUID: Hashable, Sendable, CustomStringConvertible {
    /// High 8 bytes, big-endian.
    public var high: UInt64
    /// Low 8 bytes, big-endian.
    public var low: UInt64
    /// Creates a UUID from its two big-endian halves.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }
    /// Creates a UUID from exactly 16 bytes; `nil` for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var h: UInt64 = 0, l: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            if i < 8 { h = h << 8 | UInt64(b) } else { l = l << 8 | UInt64(b) }
        }
        self.init(high: h, low: l)
    }
    /// A random version-4 UUID drawn from `generator`.
    public static func random(using generator: inout some RandomNumberGenerator) -> AMQPUUID {
        let h = (generator.next() & ~0xF000) | 0x4000
        let l = (generator.next() & ~(0xC000 << 48)) | (0x8000 << 48)
        return AMQPUUID(high: h, low: l)
    }
    /// A random version-4 UUID from the system generator.
    public static func random() -> AMQPUUID {
        var g = SystemRandomNumberGenerator()
        return random(using: &g)
    }
    /// The 16 bytes in wire order.
    public var bytes: [UInt8] {
        (0..<16).map { i in UInt8(truncatingIfNeeded: (i < 8 ? high >> (56 - 8 * i) : low >> (56 - 8 * (i - 8)))) }
    }
    /// Canonical lowercase `8-4-4-4-12` form.
    public var description: String {
        let hex = Hex.encode(bytes)
        let u = Array(hex.utf8)
        func part(_ r: Range<Int>) -> String { String(decoding: u[r], as: UTF8.self) }
        return "\(part(0..<8))-\(part(8..<12))-\(part(12..<16))-\(part(16..<20))-\(part(20..<32))"
    }
}

/// An AMQP `timestamp`: milliseconds since the Unix epoch (may be negative).
public struct Timestamp: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var millisecondsSinceEpoch: Int64
    /// Creates a timestamp.
    public init(millisecondsSinceEpoch: Int64) { self.millisecondsSinceEpoch = millisecondsSinceEpoch }
    /// Orders by time.
    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.millisecondsSinceEpoch < b.millisecondsSinceEpoch }
    /// The milliseconds as a decimal number.
    public var description: String { "\(millisecondsSinceEpoch)" }
}

/// An AMQP `decimal32` (IEEE 754 decimal, BID or DPD as the sender chose), kept as raw bits.
///
/// The codec carries decimals without interpreting them; arithmetic is the user's.
public struct Decimal32: Hashable, Sendable {
    /// The four bytes, big-endian.
    public var bits: UInt32
    /// Wraps raw bits.
    public init(bits: UInt32) { self.bits = bits }
}

/// An AMQP `decimal64`, kept as raw bits.
public struct Decimal64: Hashable, Sendable {
    /// The eight bytes, big-endian.
    public var bits: UInt64
    /// Wraps raw bits.
    public init(bits: UInt64) { self.bits = bits }
}

/// An AMQP `decimal128`, kept as raw bits.
public struct Decimal128: Hashable, Sendable {
    /// The first (most significant) eight bytes, big-endian.
    public var high: UInt64
    /// The last eight bytes, big-endian.
    public var low: UInt64
    /// Wraps raw bits.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }
}

/// Lowercase hexadecimal, used by descriptions and tools.
public enum Hex {
    /// Lowercase hex of `bytes`.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
    /// Bytes from hex text, ignoring ASCII white space; `nil` on any other character or
    /// an odd number of digits.
    public static func decode(_ text: some Sequence<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        var pending: UInt8? = nil
        for c in text {
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = c - UInt8(ascii: "A") + 10
            case 0x20, 0x09, 0x0A, 0x0D: continue
            default: return nil
            }
            if let hi = pending {
                out.append(hi << 4 | v)
                pending = nil
            } else {
                pending = v
            }
        }
        return pending == nil ? out : nil
    }
}
