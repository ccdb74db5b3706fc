// Field readers that return borrowed views, for the message sections read in place.

extension FieldReader {
    /// Fast path for a field encoded with the 8-bit form `code8` (str8, sym8, vbin8):
    /// when it is there and well within the list, consumes it and returns its bytes.
    /// Anything unusual returns `nil` without consuming, and the general decoder then
    /// reports it exactly as it would have.
    @inline(__always)
    mutating func takeShortVariable(_ code8: UInt8) -> UnsafeRawBufferPointer? {
        guard cursor.remaining > 0 else { return nil }
        let r = cursor.reader
        let p = r.position
        guard r.buffer.count &- p >= 2, r.buffer[p] == code8 else { return nil }
        let n = Int(r.buffer[p &+ 1])
        guard r.buffer.count &- p &- 2 >= n else { return nil }
        cursor.reader.position = p &+ 2 &+ n
        cursor.remaining &-= 1
        return UnsafeRawBufferPointer(rebasing: r.buffer[(p &+ 2)..<(p &+ 2 &+ n)])
    }

    /// Consumes a null field; true if there was one.
    @inline(__always)
    mutating func takeNull() -> Bool {
        guard nextCode == FormatCode.null else { return false }
        takeCode()
        return true
    }

    /// The next field as a borrowed string, or `nil` when null or absent.
    mutating func stringView(_ field: StaticString) throws(DecodeError) -> StringView? {
        if takeNull() { return nil }
        let mark = cursor
        if let bytes = takeShortVariable(FormatCode.str8) {
            if TextValidation.isValidUTF8(bytes) { return StringView(utf8: bytes) }
            cursor = mark  // let the general path report the invalid UTF-8
        }
        guard let v = try next() else { return nil }
        guard case .string(let s) = v else { throw wrongType(field, v, "string") }
        return s
    }
    /// The next field as a borrowed symbol, or `nil` when null or absent.
    mutating func symbolView(_ field: StaticString) throws(DecodeError) -> SymbolView? {
        if takeNull() { return nil }
        let mark = cursor
        if let bytes = takeShortVariable(FormatCode.sym8) {
            if TextValidation.firstNonASCII(bytes) == nil { return SymbolView(ascii: bytes) }
            cursor = mark
        }
        guard let v = try next() else { return nil }
        guard case .symbol(let s) = v else { throw wrongType(field, v, "symbol") }
        return s
    }
    /// The next field as borrowed binary, or `nil` when null or absent.
    mutating func binaryView(_ field: StaticString) throws(DecodeError) -> BytesView? {
        if takeNull() { return nil }
        let at = cursor.reader.absoluteOffset &+ 2
        if let bytes = takeShortVariable(FormatCode.vbin8) { return BytesView(bytes, offset: at) }
        guard let v = try next() else { return nil }
        guard case .binary(let b) = v else { throw wrongType(field, v, "binary") }
        return b
    }
    /// The next field as a message-id (ulong, uuid, binary or string), or `nil`.
    mutating func messageID(_ field: StaticString) throws(DecodeError) -> MessageIDView? {
        switch nextCode {
        case .some(FormatCode.null): takeCode(); return nil
        case .some(FormatCode.smallULong): return .ulong(UInt64(try take(UInt8.self)))
        case .some(FormatCode.str8):
            let mark = cursor
            if let bytes = takeShortVariable(FormatCode.str8) {
                if TextValidation.isValidUTF8(bytes) { return .string(StringView(utf8: bytes)) }
                cursor = mark
            }
        default: break
        }
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
