// Borrowed views of decoded AMQP values.
//
// A view points into the buffer it was decoded from and is valid only while that buffer
// is: inside the `withUnsafeBytes` (or ring-buffer) scope that produced it. Nothing is
// copied until the caller asks (`string`, `array`, `materialize()`). Compound views are
// lazy: a list view checks its header, and each element is decoded when the cursor
// reaches it.

/// Borrowed bytes (a `binary`, or a frame payload).
public struct BytesView {
    /// The bytes; valid while the decoded buffer is.
    public let bytes: UnsafeRawBufferPointer
    /// Offset of the first byte in the outermost input.
    public let offset: Int
    /// Wraps borrowed bytes.
    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }
    /// Number of bytes.
    public var count: Int { bytes.count }
    /// A copy of the bytes.
    public var array: [UInt8] { Array(bytes) }
}

/// A borrowed UTF-8 string, already validated.
public struct StringView: CustomStringConvertible {
    /// The UTF-8 bytes; valid while the decoded buffer is.
    public let utf8: UnsafeRawBufferPointer
    /// A copy as a Swift `String`.
    public var string: String { String(decoding: utf8, as: UTF8.self) }
    /// The text.
    public var description: String { string }
    /// True when the bytes equal `text`'s UTF-8, without building a `String`.
    public func equals(_ text: String) -> Bool { ViewCompare.equal(utf8, text) }
}

/// A borrowed symbol, already checked to be ASCII.
public struct SymbolView: CustomStringConvertible {
    /// The ASCII bytes; valid while the decoded buffer is.
    public let ascii: UnsafeRawBufferPointer
    /// A copy as a `Symbol`.
    public var symbol: Symbol { Symbol(String(decoding: ascii, as: UTF8.self)) }
    /// The text.
    public var description: String { symbol.rawValue }
    /// True when the bytes equal `text`, without building a `String`.
    public func equals(_ text: String) -> Bool { ViewCompare.equal(ascii, text) }
}

enum ViewCompare {
    static func equal(_ bytes: UnsafeRawBufferPointer, _ text: String) -> Bool {
        var text = text
        return text.withUTF8 { utf8 in
            utf8.count == bytes.count && (utf8.isEmpty || memcmpEqual(bytes.baseAddress!, UnsafeRawPointer(utf8.baseAddress!), utf8.count))
        }
    }
    static func memcmpEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
        for i in 0..<n where a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) {
            return false
        }
        return true
    }
}

/// The encoded bytes of exactly one value, decoded on demand.
public struct EncodedValueView {
    /// The encoding, constructor included.
    public let bytes: UnsafeRawBufferPointer
    /// Offset of the first byte in the outermost input.
    public let offset: Int
    let depth: Int
    let limits: DecodeLimits

    /// Decodes the value (already known to be well-framed).
    public func decode() throws(DecodeError) -> AMQPValueView {
        var reader = ByteReader(bytes, baseOffset: offset)
        return try ValueDecoder.decode(&reader, depth: depth, limits: limits)
    }
}

/// The descriptor of a described value.
public enum DescriptorView {
    /// A numeric descriptor (domain-id << 32 | descriptor-id), e.g. `0x10` for open.
    case code(UInt64)
    /// A symbolic descriptor, e.g. `amqp:open:list`.
    case symbol(SymbolView)
    /// Any other value (legal, but not used by AMQP 1.0 itself).
    case other(EncodedValueView)

    /// The numeric code, resolving the symbolic names AMQP 1.0 defines.
    public var knownCode: UInt64? {
        switch self {
        case .code(let c): return c
        case .symbol(let s): return Descriptors.code(forName: s.ascii)
        case .other: return nil
        }
    }
}

/// A borrowed described value: a descriptor and the value it describes.
public struct DescribedView {
    /// The descriptor.
    public let descriptor: DescriptorView
    /// The described value's encoding.
    public let encodedValue: EncodedValueView
    /// Decodes the described value.
    public func value() throws(DecodeError) -> AMQPValueView { try encodedValue.decode() }
}

/// A borrowed list; elements are decoded as the cursor reaches them.
public struct ListView {
    /// Number of elements.
    public let count: Int
    /// The encoded elements (after the size and count fields).
    public let body: UnsafeRawBufferPointer
    let bodyOffset: Int
    let depth: Int
    let limits: DecodeLimits

    /// A cursor over the elements.
    public func makeCursor() -> ValueCursor {
        ValueCursor(reader: ByteReader(body, baseOffset: bodyOffset), remaining: count, depth: depth &+ 1, limits: limits)
    }
    /// All elements (allocates an array; for tools and tests).
    public func elements() throws(DecodeError) -> [AMQPValueView] {
        var out: [AMQPValueView] = []
        var c = makeCursor()
        while let v = try c.next() { out.append(v) }
        return out
    }
}

/// A borrowed map; `count` counts keys and values together, as on the wire.
public struct MapView {
    /// Number of elements (twice the number of entries).
    public let count: Int
    /// The encoded keys and values.
    public let body: UnsafeRawBufferPointer
    let bodyOffset: Int
    let depth: Int
    let limits: DecodeLimits

    /// Number of key/value entries.
    public var entryCount: Int { count / 2 }
    /// A cursor over keys and values, alternating; use `nextEntry()` for pairs.
    public func makeCursor() -> ValueCursor {
        ValueCursor(reader: ByteReader(body, baseOffset: bodyOffset), remaining: count, depth: depth &+ 1, limits: limits)
    }
    /// All entries in wire order (allocates; for tools and tests).
    public func entries() throws(DecodeError) -> [(key: AMQPValueView, value: AMQPValueView)] {
        var out: [(key: AMQPValueView, value: AMQPValueView)] = []
        var c = makeCursor()
        while let e = try c.nextEntry() { out.append(e) }
        return out
    }
}

/// A borrowed array: `count` elements sharing one constructor.
public struct ArrayView {
    /// Number of elements.
    public let count: Int
    /// The element type.
    public let elementType: AMQPType
    /// The format code every element is encoded with.
    public let elementCode: UInt8
    /// The descriptor when the elements are described values.
    public let descriptor: DescriptorView?
    /// The encoded elements (after the constructor).
    public let body: UnsafeRawBufferPointer
    let bodyOffset: Int
    let depth: Int
    let limits: DecodeLimits

    /// Where the first element's bytes start, counted like `DecodeError.offset` (from the
    /// start of the outermost input), so tools can point at the array's elements.
    public var elementsOffset: Int { bodyOffset }

    /// A cursor over the elements; for described arrays it yields the described values'
    /// inner values (the descriptor is `descriptor`).
    public func makeCursor() -> ArrayCursor {
        ArrayCursor(reader: ByteReader(body, baseOffset: bodyOffset), remaining: count, code: elementCode, depth: depth &+ 1, limits: limits)
    }
    /// All elements (allocates; for tools and tests).
    public func elements() throws(DecodeError) -> [AMQPValueView] {
        var out: [AMQPValueView] = []
        var c = makeCursor()
        while let v = try c.next() { out.append(v) }
        return out
    }
}

/// Walks the elements of a list or map.
public struct ValueCursor {
    var reader: ByteReader
    /// Elements not yet returned.
    public internal(set) var remaining: Int
    let depth: Int
    let limits: DecodeLimits

    /// The next element, or `nil` after the last; throws if the elements do not fill the
    /// compound's declared size exactly.
    public mutating func next() throws(DecodeError) -> AMQPValueView? {
        if remaining == 0 {
            guard reader.isAtEnd else { throw reader.error(.sizeMismatch) }
            return nil
        }
        remaining &-= 1
        return try ValueDecoder.decode(&reader, depth: depth, limits: limits)
    }

    /// The next element's raw encoding without decoding it, or `nil` after the last.
    public mutating func nextEncoded() throws(DecodeError) -> EncodedValueView? {
        let start = reader.position
        guard try next() != nil else { return nil }
        let bytes = UnsafeRawBufferPointer(rebasing: reader.buffer[start..<reader.position])
        return EncodedValueView(bytes: bytes, offset: reader.baseOffset &+ start, depth: depth, limits: limits)
    }

    /// The next key and value of a map, or `nil` after the last.
    public mutating func nextEntry() throws(DecodeError) -> (key: AMQPValueView, value: AMQPValueView)? {
        guard let k = try next() else { return nil }
        guard let v = try next() else { throw reader.error(.oddMapCount) }
        return (k, v)
    }
}

/// Walks the elements of an array.
public struct ArrayCursor {
    var reader: ByteReader
    /// Elements not yet returned.
    public private(set) var remaining: Int
    let code: UInt8
    let depth: Int
    let limits: DecodeLimits

    /// The next element, or `nil` after the last.
    public mutating func next() throws(DecodeError) -> AMQPValueView? {
        if remaining == 0 {
            guard reader.isAtEnd else { throw reader.error(.sizeMismatch) }
            return nil
        }
        remaining &-= 1
        return try ValueDecoder.decodeBody(code: code, &reader, depth: depth, limits: limits, codeOffset: reader.position)
    }
}

/// One decoded AMQP value, borrowed from the buffer it was decoded from.
public enum AMQPValueView {
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
    case binary(BytesView)
    case string(StringView)
    case symbol(SymbolView)
    case list(ListView)
    case map(MapView)
    case array(ArrayView)
    case described(DescribedView)

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

    /// The AMQP type name (`"described"` for described values), as tools print it.
    public var typeName: String { type?.rawValue ?? "described" }
}
