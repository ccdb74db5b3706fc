// Message views are checked in full when they are made, so that a malformed payload is
// refused at once, with the section named, rather than when an application happens to
// walk the broken part. The walk decodes every nested element once and allocates nothing;
// recursion is bounded by `DecodeLimits.maxDepth`, which the decoder enforces.

extension AMQPValueView {
    /// Decodes everything inside the value, throwing on the first malformed element.
    func validateDeep() throws(DecodeError) {
        switch self {
        case .list(let list):
            var c = list.makeCursor()
            while let v = try c.next() { try v.validateDeep() }
        case .map(let map):
            var c = map.makeCursor()
            while let v = try c.next() { try v.validateDeep() }
        case .array(let array):
            if case .other(let d) = array.descriptor { try d.decode().validateDeep() }
            var c = array.makeCursor()
            while let v = try c.next() { try v.validateDeep() }
        case .described(let d):
            if case .other(let inner) = d.descriptor { try inner.decode().validateDeep() }
            try d.value().validateDeep()
        default:
            // Scalars, strings, symbols and binaries were checked when they were decoded.
            return
        }
    }

    /// True unless the value is a list, map or array, or a described value whose
    /// underlying value is one: the "simple types" application-properties allows.
    func isSimple() throws(DecodeError) -> Bool {
        switch self {
        case .list, .map, .array: return false
        case .described(let d): return try d.value().isSimple()
        default: return true
        }
    }
}

extension AMQPValue {
    /// True unless the value is a list, map or array, or a described value whose
    /// underlying value is one.
    var isSimple: Bool {
        switch self {
        case .list, .map, .array: return false
        case .described(_, let value): return value.isSimple
        default: return true
        }
    }
}

extension FieldReader {
    /// The next field as a borrowed string, or `nil` when null or absent.
    mutating func stringView(_ field: StaticString) throws(DecodeError) -> StringView? {
        guard let v = try next() else { return nil }
        guard case .string(let s) = v else { throw wrongType(field, v, "string") }
        return s
    }
    /// The next field as a borrowed symbol, or `nil` when null or absent.
    mutating func symbolView(_ field: StaticString) throws(DecodeError) -> SymbolView? {
        guard let v = try next() else { return nil }
        guard case .symbol(let s) = v else { throw wrongType(field, v, "symbol") }
        return s
    }
    /// The next field as borrowed binary, or `nil` when null or absent.
    mutating func binaryView(_ field: StaticString) throws(DecodeError) -> BytesView? {
        guard let v = try next() else { return nil }
        guard case .binary(let b) = v else { throw wrongType(field, v, "binary") }
        return b
    }
    /// The next field as a message-id (ulong, uuid, binary or string), or `nil`.
    mutating func messageID(_ field: StaticString) throws(DecodeError) -> MessageIDView? {
        guard let v = try next() else { return nil }
        switch v {
        case .ulong(let x): return .ulong(x)
        case .uuid(let x): return .uuid(x)
        case .binary(let b): return .binary(b)
        case .string(let s): return .string(s)
        default: throw wrongType(field, v, "ulong, uuid, binary or string")
        }
    }
    /// Checks fields beyond the ones this codec knows (a later version may add some) and
    /// that the list's elements fill exactly the size it declared.
    mutating func finishChecked() throws(DecodeError) {
        while let v = try cursor.next() { try v.validateDeep() }
    }
}
