/// An owned AMQP value of any type, for building values to send and for keeping decoded
/// ones beyond the life of their buffer (`AMQPValueView.materialize()`).
///
/// Equality is exact: floating-point values compare by bit pattern (so `nan == nan` and
/// `0.0 != -0.0`), maps compare in order (AMQP maps are ordered), and integer types
/// differ from each other (`.uint(1) != .ulong(1)`).
public indirect enum AMQPValue: Hashable, Sendable {
    case null
    case boolean(Bool)
    case ubyte(UInt8)
    case ushort(UInt16)
    case uint(UInt32)
    case ulong(UInt64)
    case byte(Int8)
    case short(Int16)
    case int(Int32)
    case long(Int64)
    case float(Float)
    case double(Double)
    case decimal32(Decimal32)
    case decimal64(Decimal64)
    case decimal128(Decimal128)
    case char(Unicode.Scalar)
    case timestamp(Timestamp)
    case uuid(AMQPUUID)
    case binary([UInt8])
    case string(String)
    case symbol(Symbol)
    case list([AMQPValue])
    case map(AMQPMap)
    case array(AMQPArray)
    case described(descriptor: AMQPValue, value: AMQPValue)

    /// The value's primitive type; `nil` for described values.
    public var type: AMQPType? {
        switch self {
        case .null: .null
        case .boolean: .boolean
        case .ubyte: .ubyte
        case .ushort: .ushort
        case .uint: .uint
        case .ulong: .ulong
        case .byte: .byte
        case .short: .short
        case .int: .int
        case .long: .long
        case .float: .float
        case .double: .double
        case .decimal32: .decimal32
        case .decimal64: .decimal64
        case .decimal128: .decimal128
        case .char: .char
        case .timestamp: .timestamp
        case .uuid: .uuid
        case .binary: .binary
        case .string: .string
        case .symbol: .symbol
        case .list: .list
        case .map: .map
        case .array: .array
        case .described: nil
        }
    }

    /// Exact equality; floats by bit pattern.
    public static func == (a: AMQPValue, b: AMQPValue) -> Bool {
        switch (a, b) {
        case (.float(let x), .float(let y)): return x.bitPattern == y.bitPattern
        case (.double(let x), .double(let y)): return x.bitPattern == y.bitPattern
        case (.null, .null): return true
        case (.boolean(let x), .boolean(let y)): return x == y
        case (.ubyte(let x), .ubyte(let y)): return x == y
        case (.ushort(let x), .ushort(let y)): return x == y
        case (.uint(let x), .uint(let y)): return x == y
        case (.ulong(let x), .ulong(let y)): return x == y
        case (.byte(let x), .byte(let y)): return x == y
        case (.short(let x), .short(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.long(let x), .long(let y)): return x == y
        case (.decimal32(let x), .decimal32(let y)): return x == y
        case (.decimal64(let x), .decimal64(let y)): return x == y
        case (.decimal128(let x), .decimal128(let y)): return x == y
        case (.char(let x), .char(let y)): return x == y
        case (.timestamp(let x), .timestamp(let y)): return x == y
        case (.uuid(let x), .uuid(let y)): return x == y
        case (.binary(let x), .binary(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.symbol(let x), .symbol(let y)): return x == y
        case (.list(let x), .list(let y)): return x == y
        case (.map(let x), .map(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.described(let d1, let v1), .described(let d2, let v2)): return d1 == d2 && v1 == v2
        default: return false
        }
    }

    /// Hashes consistently with `==`.
    public func hash(into h: inout Hasher) {
        h.combine(type)
        switch self {
        case .null: break
        case .boolean(let v): h.combine(v)
        case .ubyte(let v): h.combine(v)
        case .ushort(let v): h.combine(v)
        case .uint(let v): h.combine(v)
        case .ulong(let v): h.combine(v)
        case .byte(let v): h.combine(v)
        case .short(let v): h.combine(v)
        case .int(let v): h.combine(v)
        case .long(let v): h.combine(v)
        case .float(let v): h.combine(v.bitPattern)
        case .double(let v): h.combine(v.bitPattern)
        case .decimal32(let v): h.combine(v)
        case .decimal64(let v): h.combine(v)
        case .decimal128(let v): h.combine(v)
        case .char(let v): h.combine(v)
        case .timestamp(let v): h.combine(v)
        case .uuid(let v): h.combine(v)
        case .binary(let v): h.combine(v)
        case .string(let v): h.combine(v)
        case .symbol(let v): h.combine(v)
        case .list(let v): h.combine(v)
        case .map(let v): h.combine(v)
        case .array(let v): h.combine(v)
        case .described(let d, let v):
            h.combine(d)
            h.combine(v)
        }
    }
}

/// An AMQP map: key/value entries in order. Keys may be of any type; the specification
/// forbids duplicate keys, and `subscript` returns the first match.
public struct AMQPMap: Hashable, Sendable, ExpressibleByDictionaryLiteral {
    /// One key/value pair.
    public struct Entry: Hashable, Sendable {
        /// The key.
        public var key: AMQPValue
        /// The value.
        public var value: AMQPValue
        /// Creates an entry.
        public init(key: AMQPValue, value: AMQPValue) {
            self.key = key
            self.value = value
        }
    }
    /// The entries in wire order.
    public var entries: [Entry]
    /// Creates a map from entries.
    public init(_ entries: [Entry] = []) { self.entries = entries }
    /// Creates a map from a literal, keeping its order.
    public init(dictionaryLiteral elements: (AMQPValue, AMQPValue)...) {
        entries = elements.map { Entry(key: $0.0, value: $0.1) }
    }
    /// The value of the first entry whose key equals `key`.
    public subscript(key: AMQPValue) -> AMQPValue? {
        entries.first { $0.key == key }?.value
    }
}

/// An AMQP array: elements of one type, optionally all described by one descriptor.
public struct AMQPArray: Hashable, Sendable {
    /// The type of every element (the inner type, for described elements).
    public var elementType: AMQPType
    /// The descriptor shared by every element, for arrays of described values.
    public var descriptor: AMQPValue?
    /// The elements (without their descriptor).
    public var elements: [AMQPValue]
    /// Creates an array; every element must be of `elementType`.
    public init(_ elementType: AMQPType, descriptor: AMQPValue? = nil, _ elements: [AMQPValue]) {
        self.elementType = elementType
        self.descriptor = descriptor
        self.elements = elements
    }
    /// An array of symbols (the encoding of AMQP's multiple-valued symbol fields).
    public static func symbols(_ symbols: [Symbol]) -> AMQPArray {
        AMQPArray(.symbol, symbols.map { .symbol($0) })
    }
}

extension AMQPValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    /// A string literal is a `string`.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An integer literal is a `long`.
    public init(integerLiteral value: Int64) { self = .long(value) }
    /// A boolean literal is a `boolean`.
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
    /// `nil` is `null`.
    public init(nilLiteral: ()) { self = .null }
    /// A float literal is a `double`.
    public init(floatLiteral value: Double) { self = .double(value) }
}
