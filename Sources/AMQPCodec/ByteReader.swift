/// A bounds-checked, big-endian cursor over borrowed bytes.
///
/// It never reads past `buffer`; every short read becomes `DecodeError.truncated` with
/// the absolute offset (`baseOffset + position`).
struct ByteReader {
    let buffer: UnsafeRawBufferPointer
    var position: Int
    /// Absolute offset of `buffer[0]` in the outermost input, for error reports.
    let baseOffset: Int

    init(_ buffer: UnsafeRawBufferPointer, baseOffset: Int = 0) {
        self.buffer = buffer
        self.position = 0
        self.baseOffset = baseOffset
    }

    @inline(__always) var remaining: Int { buffer.count &- position }
    @inline(__always) var isAtEnd: Bool { position >= buffer.count }
    @inline(__always) var absoluteOffset: Int { baseOffset &+ position }

    @inline(__always)
    func error(_ code: DecodeError.Code, detail: String = "", at position: Int? = nil) -> DecodeError {
        DecodeError(code, at: baseOffset &+ (position ?? self.position), detail: detail)
    }

    @inline(__always)
    mutating func readByte() throws(DecodeError) -> UInt8 {
        guard position < buffer.count else { throw error(.truncated) }
        let b = buffer[position]
        position &+= 1
        return b
    }

    @inline(__always)
    mutating func read<T: FixedWidthInteger>(_: T.Type) throws(DecodeError) -> T {
        let n = MemoryLayout<T>.size
        guard remaining >= n else { throw error(.truncated) }
        let v = buffer.loadUnaligned(fromByteOffset: position, as: T.self)
        position &+= n
        return T(bigEndian: v)
    }

    /// Takes the next `count` bytes as a borrowed slice.
    @inline(__always)
    mutating func readSlice(_ count: Int) throws(DecodeError) -> UnsafeRawBufferPointer {
        guard count >= 0, remaining >= count else { throw error(.sizeExceedsInput) }
        let slice = UnsafeRawBufferPointer(rebasing: buffer[position..<(position &+ count)])
        position &+= count
        return slice
    }

    /// A reader over the next `count` bytes that remembers their absolute offset.
    @inline(__always)
    mutating func subReader(_ count: Int) throws(DecodeError) -> ByteReader {
        let start = absoluteOffset
        return ByteReader(try readSlice(count), baseOffset: start)
    }
}
