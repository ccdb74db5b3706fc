// The standard library's `withUTF8` and `withUnsafeBytes` are `rethrows`, which erases a
// typed error to `any Error`. These wrappers carry the typed error through a `Result`,
// so callers keep `throws(EncodeError)` without boxing.

@inline(__always)
func withUTF8Bytes<R, E: Error>(_ string: String, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    // Native strings are contiguous: borrow their bytes without copying the string.
    if let r: Result<R, E> = string.utf8.withContiguousStorageIfAvailable({ u in
        Result { () throws(E) -> R in try body(UnsafeRawBufferPointer(u)) }
    }) {
        return try r.get()
    }
    var s = string
    let r: Result<R, E> = s.withUTF8 { u in Result { () throws(E) -> R in try body(UnsafeRawBufferPointer(u)) } }
    return try r.get()
}

@inline(__always)
func withArrayBytes<R, E: Error>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    let r: Result<R, E> = array.withUnsafeBytes { raw in Result { () throws(E) -> R in try body(raw) } }
    return try r.get()
}
