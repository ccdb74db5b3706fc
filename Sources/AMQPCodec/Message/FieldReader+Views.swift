// Field readers that return borrowed views, for the message sections read in place.

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
