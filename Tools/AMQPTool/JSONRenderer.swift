public import AMQPCodec

/// Renders decoded AMQP values and frames as the one-line JSON of `amqp decode`
/// (Docs/amqp-decode.md).
///
/// The format is compared byte for byte by tests and by the Proton cross-check, so the
/// writer is hand-made: keys in a fixed order, no spaces, exact string escaping.
///
/// Rendering walks the lazy views, decoding each element as it goes, so a malformed
/// element deep inside a value stops it with that element's `DecodeError`. Recursion is
/// bounded by the views' own `DecodeLimits`: every compound or described level is checked
/// by the decoder before the renderer descends into it.
///
/// Output is linear in the input but for one construct: a described array prints its
/// descriptor in every element, so a large descriptor over many small (or zero-width)
/// elements would print quadratically many bytes, and a descriptor that is itself such
/// an array multiplies again. `byteLimit` bounds that: before each element of a
/// described array the renderer checks what it has written and stops with
/// `tooManyElements` once the limit is passed.
public struct JSONRenderer {
    /// The UTF-8 text written so far.
    public private(set) var bytes: [UInt8] = []

    /// Once `bytes` holds more than this, the next element of a described array throws
    /// `tooManyElements` instead of printing (`Int.max`: no limit).
    public var byteLimit: Int

    /// An empty renderer that stops described arrays past `byteLimit` bytes.
    public init(byteLimit: Int = .max) {
        self.byteLimit = byteLimit
    }

    /// The text written so far.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// One value as a JSON line (without the newline); `byteLimit` as for `init`.
    public static func render(_ value: AMQPValueView, byteLimit: Int = .max) throws(DecodeError) -> String {
        var r = JSONRenderer(byteLimit: byteLimit)
        try r.write(value)
        return r.text
    }

    // MARK: Values

    /// Appends a value node.
    public mutating func write(_ value: AMQPValueView) throws(DecodeError) {
        switch value {
        case .null: raw(#"{"type":"null"}"#)
        case .boolean(let v): scalar("boolean", v ? "true" : "false")
        case .ubyte(let v): scalar("ubyte", String(v))
        case .ushort(let v): scalar("ushort", String(v))
        case .uint(let v): scalar("uint", String(v))
        case .byte(let v): scalar("byte", String(v))
        case .short(let v): scalar("short", String(v))
        case .int(let v): scalar("int", String(v))
        // 64-bit integers are strings: JSON readers commonly hold numbers as doubles.
        case .ulong(let v): quoted("ulong", String(v))
        case .long(let v): quoted("long", String(v))
        case .timestamp(let v): quoted("timestamp", String(v.millisecondsSinceEpoch))
        case .float(let v): floating("float", v.description, UInt64(v.bitPattern), digits: 8)
        case .double(let v): floating("double", v.description, v.bitPattern, digits: 16)
        case .decimal32(let v): quoted("decimal32", Self.hex(UInt64(v.bits), digits: 8))
        case .decimal64(let v): quoted("decimal64", Self.hex(v.bits, digits: 16))
        case .decimal128(let v): quoted("decimal128", Self.hex(v.high, digits: 16) + Self.hex(v.low, digits: 16))
        case .char(let v): quoted("char", Self.codePoint(v))
        case .uuid(let v): quoted("uuid", v.description)
        case .binary(let v):
            open("binary")
            raw("\"")
            hexBytes(v.bytes)
            raw("\"}")
        case .string(let v):
            open("string")
            string(v.utf8)
            raw("}")
        case .symbol(let v):
            open("symbol")
            string(v.ascii)
            raw("}")
        case .list(let list):
            open("list")
            raw("[")
            var cursor = list.makeCursor()
            var first = true
            while let element = try cursor.next() {
                comma(&first)
                try write(element)
            }
            raw("]}")
        case .map(let map):
            open("map")
            raw("[")
            var cursor = map.makeCursor()
            var first = true
            while let (key, element) = try cursor.nextEntry() {
                comma(&first)
                raw(#"{"key":"#)
                try write(key)
                raw(#","value":"#)
                try write(element)
                raw("}")
            }
            raw("]}")
        case .array(let array):
            raw(#"{"type":"array","element":""#)
            raw(array.descriptor == nil ? array.elementType.rawValue : "described")
            raw(#"","value":["#)
            var cursor = array.makeCursor()
            var first = true
            while let element = try cursor.next() {
                comma(&first)
                if let descriptor = array.descriptor {
                    guard bytes.count <= byteLimit else {
                        throw DecodeError(
                            .tooManyElements, at: array.elementsOffset,
                            detail: "a described array repeats its descriptor in each element: output over \(byteLimit) bytes")
                    }
                    try described(descriptor) { (r) throws(DecodeError) in try r.write(element) }
                } else {
                    try write(element)
                }
            }
            raw("]}")
        case .described(let d):
            try described(d.descriptor) { (r) throws(DecodeError) in try r.write(try d.value()) }
        }
    }

    /// A described node; `value` writes the described value.
    mutating func described(
        _ descriptor: DescriptorView, value: (inout JSONRenderer) throws(DecodeError) -> Void
    ) throws(DecodeError) {
        raw(#"{"type":"described","#)
        if let code = descriptor.knownCode, let name = Descriptors.name(forCode: code) {
            raw(#""name":""#)
            raw(name)
            raw(#"","#)
        }
        raw(#""descriptor":"#)
        try write(descriptor)
        raw(#","value":"#)
        try value(&self)
        raw("}")
    }

    /// Appends a descriptor as the value node it was on the wire.
    mutating func write(_ descriptor: DescriptorView) throws(DecodeError) {
        switch descriptor {
        case .code(let c): quoted("ulong", String(c))
        case .symbol(let s):
            open("symbol")
            string(s.ascii)
            raw("}")
        case .other(let encoded): try write(try encoded.decode())
        }
    }

    // MARK: Pieces

    mutating func raw(_ s: String) { bytes.append(contentsOf: s.utf8) }

    mutating func comma(_ first: inout Bool) {
        if first { first = false } else { bytes.append(UInt8(ascii: ",")) }
    }

    /// `{"type":"<type>","value":` — the caller writes the value and the closing brace.
    mutating func open(_ type: String) {
        raw(#"{"type":""#)
        raw(type)
        raw(#"","value":"#)
    }

    mutating func scalar(_ type: String, _ literal: String) {
        open(type)
        raw(literal)
        raw("}")
    }

    /// A node whose value is a string that needs no escaping (digits, hex, names).
    mutating func quoted(_ type: String, _ text: String) {
        open(type)
        raw("\"")
        raw(text)
        raw("\"}")
    }

    mutating func floating(_ type: String, _ description: String, _ bits: UInt64, digits: Int) {
        open(type)
        raw("\"")
        raw(description)
        raw(#"","bits":""#)
        raw(Self.hex(bits, digits: digits))
        raw("\"}")
    }

    /// A JSON string from UTF-8 that the decoder has already validated: `"` and `\` are
    /// escaped, controls below U+0020 take their short escape or `\u00xx`, and everything
    /// else is copied as UTF-8.
    mutating func string(_ utf8: UnsafeRawBufferPointer) {
        bytes.append(UInt8(ascii: "\""))
        for b in utf8 {
            switch b {
            case UInt8(ascii: "\""): raw(#"\""#)
            case UInt8(ascii: "\\"): raw(#"\\"#)
            case 0x0A: raw(#"\n"#)
            case 0x0D: raw(#"\r"#)
            case 0x09: raw(#"\t"#)
            case 0x08: raw(#"\b"#)
            case 0x0C: raw(#"\f"#)
            case 0x00..<0x20:
                raw(#"\u00"#)
                bytes.append(Self.digits[Int(b >> 4)])
                bytes.append(Self.digits[Int(b & 0xF)])
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func hexBytes(_ raw: UnsafeRawBufferPointer) {
        bytes.reserveCapacity(bytes.count + raw.count * 2)
        for b in raw {
            bytes.append(Self.digits[Int(b >> 4)])
            bytes.append(Self.digits[Int(b & 0xF)])
        }
    }

    static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// `value` as exactly `digits` lowercase hex digits (the low ones).
    static func hex(_ value: UInt64, digits count: Int) -> String {
        var out = [UInt8](repeating: 0, count: count)
        var v = value
        for i in stride(from: count - 1, through: 0, by: -1) {
            out[i] = digits[Int(v & 0xF)]
            v >>= 4
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `U+0041`, `U+1F600`: uppercase, at least four digits (the Unicode convention).
    static func codePoint(_ scalar: Unicode.Scalar) -> String {
        let h = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - h.count)) + h
    }
}
