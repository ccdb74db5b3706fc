/// Encodes AMQP values straight into a caller's buffer.
///
/// Every integer takes its smallest encoding; strings, binaries and symbols take the
/// 8-bit size form when they fit. Compound values (list, map, array) are written with
/// room for the 8-bit header, then back-patched: only when the content turns out to need
/// the 32-bit form is it moved up by the 6 extra header bytes. So no size pass and no
/// intermediate array is needed, small compounds (every performative) are never moved,
/// and the encoder needs no room beyond the encoding itself: a value fits a buffer of
/// exactly its size.
///
/// The encoder never writes outside its buffer: running out of room throws
/// `EncodeError.bufferTooSmall` and leaves `count` at the last complete value the caller
/// may keep. It allocates nothing.
public struct AMQPEncoder {
    @usableFromInline let base: UnsafeMutableRawPointer?
    /// Bytes available.
    public let capacity: Int
    /// Bytes written so far.
    public internal(set) var count: Int = 0

    /// An encoder over `buffer`, starting at its first byte.
    public init(_ buffer: UnsafeMutableRawBufferPointer) {
        base = buffer.baseAddress
        capacity = buffer.count
    }

    /// Bytes still free.
    public var free: Int { capacity &- count }

    /// The bytes written so far.
    public var written: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// A position to patch later (see `beginList` and friends).
    public struct Mark: Sendable {
        /// Offset of the reserved header.
        public let offset: Int
    }

    // MARK: Raw writes

    @inline(__always)
    @usableFromInline mutating func claim(_ n: Int) throws(EncodeError) -> UnsafeMutableRawPointer {
        guard n <= capacity &- count, let base else { throw EncodeError(.bufferTooSmall) }
        let p = base + count
        count &+= n
        return p
    }

    /// Writes one raw byte.
    @inline(__always)
    public mutating func writeByte(_ b: UInt8) throws(EncodeError) {
        try claim(1).storeBytes(of: b, as: UInt8.self)
    }

    /// Writes `v` big-endian.
    @inline(__always)
    public mutating func writeBigEndian<T: FixedWidthInteger>(_ v: T) throws(EncodeError) {
        try claim(MemoryLayout<T>.size).storeBytes(of: v.bigEndian, as: T.self)
    }

    /// Writes a constructor byte followed by `v` big-endian.
    @inline(__always)
    mutating func write<T: FixedWidthInteger>(code: UInt8, _ v: T) throws(EncodeError) {
        let p = try claim(1 &+ MemoryLayout<T>.size)
        p.storeBytes(of: code, as: UInt8.self)
        (p + 1).storeBytes(of: v.bigEndian, as: T.self)
    }

    /// Writes raw bytes.
    @inline(__always)
    public mutating func writeBytes(_ bytes: UnsafeRawBufferPointer) throws(EncodeError) {
        guard !bytes.isEmpty else { return }
        try claim(bytes.count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
    }

    /// Writes `count` bytes of `array` from `offset` (a sender's message, written frame
    /// by frame). The room is claimed first, so the copy runs in a non-throwing borrow
    /// of the array, with no closure result to carry an error.
    ///
    /// - Precondition: `offset...offset + count` lies within `array`.
    @inlinable
    public mutating func writeBytes(_ array: [UInt8], from offset: Int, count: Int) throws(EncodeError) {
        guard count > 0 else { return }
        precondition(offset >= 0 && count <= array.count &- offset, "writeBytes beyond the array")
        let p = try claim(count)
        array.withUnsafeBytes { raw in p.copyMemory(from: raw.baseAddress.unsafelyUnwrapped + offset, byteCount: count) }
    }

    // MARK: Primitives

    /// `null`.
    public mutating func encodeNull() throws(EncodeError) { try writeByte(FormatCode.null) }

    /// `boolean`, as `true` (0x41) or `false` (0x42).
    public mutating func encode(_ v: Bool) throws(EncodeError) {
        try writeByte(v ? FormatCode.booleanTrue : FormatCode.booleanFalse)
    }
    /// `ubyte`.
    public mutating func encode(_ v: UInt8) throws(EncodeError) { try write(code: FormatCode.ubyte, v) }
    /// `ushort`.
    public mutating func encode(_ v: UInt16) throws(EncodeError) { try write(code: FormatCode.ushort, v) }
    /// `uint`, as `uint0`, `smalluint` or `uint`.
    @inline(__always)
    public mutating func encode(_ v: UInt32) throws(EncodeError) {
        if v == 0 {
            try writeByte(FormatCode.uint0)
        } else if v < 256 {
            try write(code: FormatCode.smallUInt, UInt8(truncatingIfNeeded: v))
        } else {
            try write(code: FormatCode.uint, v)
        }
    }
    /// `ulong`, as `ulong0`, `smallulong` or `ulong`.
    public mutating func encode(_ v: UInt64) throws(EncodeError) {
        if v == 0 {
            try writeByte(FormatCode.ulong0)
        } else if v < 256 {
            try write(code: FormatCode.smallULong, UInt8(truncatingIfNeeded: v))
        } else {
            try write(code: FormatCode.ulong, v)
        }
    }
    /// `byte`.
    public mutating func encode(_ v: Int8) throws(EncodeError) { try write(code: FormatCode.byte, UInt8(bitPattern: v)) }
    /// `short`.
    public mutating func encode(_ v: Int16) throws(EncodeError) { try write(code: FormatCode.short, v) }
    /// `int`, as `smallint` when it fits a byte.
    public mutating func encode(_ v: Int32) throws(EncodeError) {
        if v >= -128 && v <= 127 {
            try write(code: FormatCode.smallInt, UInt8(bitPattern: Int8(truncatingIfNeeded: v)))
        } else {
            try write(code: FormatCode.int, v)
        }
    }
    /// `long`, as `smalllong` when it fits a byte.
    public mutating func encode(_ v: Int64) throws(EncodeError) {
        if v >= -128 && v <= 127 {
            try write(code: FormatCode.smallLong, UInt8(bitPattern: Int8(truncatingIfNeeded: v)))
        } else {
            try write(code: FormatCode.long, v)
        }
    }
    /// `float` (IEEE 754 binary32).
    public mutating func encode(_ v: Float) throws(EncodeError) { try write(code: FormatCode.float, v.bitPattern) }
    /// `double` (IEEE 754 binary64).
    public mutating func encode(_ v: Double) throws(EncodeError) { try write(code: FormatCode.double, v.bitPattern) }
    /// `decimal32`.
    public mutating func encode(_ v: Decimal32) throws(EncodeError) { try write(code: FormatCode.decimal32, v.bits) }
    /// `decimal64`.
    public mutating func encode(_ v: Decimal64) throws(EncodeError) { try write(code: FormatCode.decimal64, v.bits) }
    /// `decimal128`.
    public mutating func encode(_ v: Decimal128) throws(EncodeError) {
        try write(code: FormatCode.decimal128, v.high)
        try writeBigEndian(v.low)
    }
    /// `char` (UTF-32).
    public mutating func encode(_ v: Unicode.Scalar) throws(EncodeError) { try write(code: FormatCode.char, v.value) }
    /// `timestamp`.
    public mutating func encode(_ v: Timestamp) throws(EncodeError) { try write(code: FormatCode.timestamp, v.millisecondsSinceEpoch) }
    /// `uuid`.
    public mutating func encode(_ v: AMQPUUID) throws(EncodeError) {
        try write(code: FormatCode.uuid, v.high)
        try writeBigEndian(v.low)
    }

    /// A variable-width value: the 8-bit form when it fits, else the 32-bit form.
    @inline(__always)
    mutating func writeVariable(code8: UInt8, code32: UInt8, _ bytes: UnsafeRawBufferPointer) throws(EncodeError) {
        if bytes.count <= 255 {
            let p = try claim(2 &+ bytes.count)
            p.storeBytes(of: code8, as: UInt8.self)
            (p + 1).storeBytes(of: UInt8(truncatingIfNeeded: bytes.count), as: UInt8.self)
            if !bytes.isEmpty { (p + 2).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        } else {
            guard bytes.count <= UInt32.max else { throw EncodeError(.valueTooLarge) }
            try write(code: code32, UInt32(truncatingIfNeeded: bytes.count))
            try writeBytes(bytes)
        }
    }

    /// `binary`, as `vbin8` or `vbin32`.
    public mutating func encodeBinary(_ bytes: UnsafeRawBufferPointer) throws(EncodeError) {
        try writeVariable(code8: FormatCode.vbin8, code32: FormatCode.vbin32, bytes)
    }
    /// `binary`, as `vbin8` or `vbin32`.
    public mutating func encodeBinary(_ bytes: [UInt8]) throws(EncodeError) {
        try withArrayBytes(bytes) { (raw) throws(EncodeError) in try encodeBinary(raw) }
    }
    /// `binary` holding a delivery tag.
    @inline(__always)
    public mutating func encode(_ tag: DeliveryTag) throws(EncodeError) {
        // A tag is at most 32 bytes, held in four words: with room for all of them,
        // store the words whole (the bytes past the tag's end lie in free space and are
        // overwritten by what follows) instead of copying byte by byte.
        let n = tag.count
        if free >= 2 &+ DeliveryTag.maxLength, let base {
            let p = base + count
            p.storeBytes(of: FormatCode.vbin8, as: UInt8.self)
            (p + 1).storeBytes(of: UInt8(truncatingIfNeeded: n), as: UInt8.self)
            (p + 2).storeBytes(of: tag.storage.0, as: UInt64.self)
            (p + 10).storeBytes(of: tag.storage.1, as: UInt64.self)
            (p + 18).storeBytes(of: tag.storage.2, as: UInt64.self)
            (p + 26).storeBytes(of: tag.storage.3, as: UInt64.self)
            count &+= 2 &+ n
            return
        }
        try tag.withUnsafeBytes { (raw) throws(EncodeError) in try encodeBinary(raw) }
    }
    /// `string` from UTF-8 bytes the caller vouches for, as `str8` or `str32`.
    public mutating func encodeString(utf8 bytes: UnsafeRawBufferPointer) throws(EncodeError) {
        try writeVariable(code8: FormatCode.str8, code32: FormatCode.str32, bytes)
    }
    /// `string`, as `str8` or `str32`.
    @inline(__always)
    public mutating func encode(_ s: String) throws(EncodeError) {
        try encodeText(s, code8: FormatCode.str8, code32: FormatCode.str32)
    }

    /// A string's UTF-8 with a size-prefixed constructor. Claims the room first, then
    /// copies inside a non-throwing borrow of the string's bytes: strings and symbols
    /// are on every message's hot path, and a throwing closure costs more than the copy.
    @inline(__always)
    mutating func encodeText(_ s: String, code8: UInt8, code32: UInt8) throws(EncodeError) {
        let n = s.utf8.count
        let p: UnsafeMutableRawPointer
        if n <= 255 {
            p = try claim(2 &+ n)
            p.storeBytes(of: code8, as: UInt8.self)
            (p + 1).storeBytes(of: UInt8(truncatingIfNeeded: n), as: UInt8.self)
        } else {
            guard n <= UInt32.max else { throw EncodeError(.valueTooLarge) }
            p = try claim(5 &+ n)
            p.storeBytes(of: code32, as: UInt8.self)
            (p + 1).storeBytes(of: UInt32(truncatingIfNeeded: n).bigEndian, as: UInt32.self)
        }
        let dst = p + (n <= 255 ? 2 : 5)
        let copied: Bool? = s.utf8.withContiguousStorageIfAvailable { u in
            if n > 0 { dst.copyMemory(from: u.baseAddress!, byteCount: n) }
            return true
        }
        if copied == nil {
            // A bridged or lazily-stored string: copy byte by byte.
            var i = 0
            for b in s.utf8 {
                dst.storeBytes(of: b, toByteOffset: i, as: UInt8.self)
                i &+= 1
            }
        }
    }
    /// `symbol` from ASCII bytes, as `sym8` or `sym32`.
    public mutating func encodeSymbol(ascii bytes: UnsafeRawBufferPointer) throws(EncodeError) {
        guard TextValidation.firstNonASCII(bytes) == nil else { throw EncodeError(.nonASCIISymbol) }
        try writeVariable(code8: FormatCode.sym8, code32: FormatCode.sym32, bytes)
    }
    /// `symbol`, as `sym8` or `sym32`.
    @inline(__always)
    public mutating func encode(_ s: Symbol) throws(EncodeError) {
        let start = count
        try encodeText(s.rawValue, code8: FormatCode.sym8, code32: FormatCode.sym32)
        // Check the copy rather than the string: one pass over bytes already in cache.
        let header = count &- start &- s.rawValue.utf8.count
        let written = UnsafeRawBufferPointer(start: base! + (start &+ header), count: count &- start &- header)
        if TextValidation.firstNonASCII(written) != nil {
            count = start
            throw EncodeError(.nonASCIISymbol)
        }
    }

    // MARK: Described values

    /// The constructor of a described value with a numeric descriptor; the described
    /// value must follow.
    @inline(__always)
    public mutating func encodeDescriptor(_ code: UInt64) throws(EncodeError) {
        if code < 256 {
            let p = try claim(3)
            p.storeBytes(of: FormatCode.described, as: UInt8.self)
            (p + 1).storeBytes(of: FormatCode.smallULong, as: UInt8.self)
            (p + 2).storeBytes(of: UInt8(truncatingIfNeeded: code), as: UInt8.self)
        } else {
            try writeByte(FormatCode.described)
            try write(code: FormatCode.ulong, code)
        }
    }

    /// The constructor of a described value with a symbolic descriptor.
    public mutating func encodeDescriptor(_ symbol: Symbol) throws(EncodeError) {
        try writeByte(FormatCode.described)
        try encode(symbol)
    }

    // MARK: Compounds

    /// Starts a list: reserves room for the 8-bit header. Encode the elements, then call
    /// `endList(_:count:)`.
    @inline(__always)
    public mutating func beginList() throws(EncodeError) -> Mark {
        let m = Mark(offset: count)
        // With fewer than 3 bytes left only `list0` (one byte) can still fit: taking all
        // that is left keeps an empty list encodable at the very end of a buffer, and
        // leaves no room for elements that would then have nowhere to go.
        _ = try claim(free >= 3 ? 3 : max(free, 1))
        return m
    }
    /// Finishes a list of `elements` elements as `list0`, `list8` or `list32`.
    @inline(__always)
    public mutating func endList(_ mark: Mark, count elements: Int) throws(EncodeError) {
        try finishCompound(mark, elements: elements, code0: FormatCode.list0, code8: FormatCode.list8, code32: FormatCode.list32)
    }
    /// Starts a map. Encode keys and values alternately, then call `endMap(_:count:)`.
    public mutating func beginMap() throws(EncodeError) -> Mark { try beginList() }
    /// Finishes a map of `elements` elements (keys plus values) as `map8` or `map32`.
    public mutating func endMap(_ mark: Mark, count elements: Int) throws(EncodeError) {
        try finishCompound(mark, elements: elements, code0: nil, code8: FormatCode.map8, code32: FormatCode.map32)
    }
    /// Starts an array. Write the element constructor with `encodeArrayConstructor`, then
    /// each element's body with the `encodeElement…` methods, then `endArray(_:count:)`.
    public mutating func beginArray() throws(EncodeError) -> Mark { try beginList() }
    /// Finishes an array of `elements` elements as `array8` or `array32`.
    public mutating func endArray(_ mark: Mark, count elements: Int) throws(EncodeError) {
        try finishCompound(mark, elements: elements, code0: nil, code8: FormatCode.array8, code32: FormatCode.array32)
    }

    @inline(__always)
    mutating func finishCompound(_ mark: Mark, elements: Int, code0: UInt8?, code8: UInt8, code32: UInt8) throws(EncodeError) {
        let start = mark.offset
        // `beginList` reserved 3 bytes, or 1 when the buffer had less left; in that case
        // nothing could follow, so the content is empty.
        let reserved = min(count &- start, 3)
        let content = count &- start &- reserved
        if let code0, elements == 0, content == 0 {
            base!.storeBytes(of: code0, toByteOffset: start, as: UInt8.self)
            count = start &+ 1
        } else if content < 255 && elements <= 255 {
            if reserved < 3 { _ = try claim(3 &- reserved) }
            let base = self.base!  // a mark exists only after a successful claim
            base.storeBytes(of: code8, toByteOffset: start, as: UInt8.self)
            base.storeBytes(of: UInt8(truncatingIfNeeded: content &+ 1), toByteOffset: start &+ 1, as: UInt8.self)
            base.storeBytes(of: UInt8(truncatingIfNeeded: elements), toByteOffset: start &+ 2, as: UInt8.self)
        } else {
            guard content &+ 4 <= Int(UInt32.max), elements <= Int(UInt32.max) else { throw EncodeError(.valueTooLarge) }
            _ = try claim(6)
            let base = self.base!
            (base + (start &+ 9)).copyMemory(from: base + (start &+ 3), byteCount: content)
            base.storeBytes(of: code32, toByteOffset: start, as: UInt8.self)
            base.storeBytes(of: UInt32(truncatingIfNeeded: content &+ 4).bigEndian, toByteOffset: start &+ 1, as: UInt32.self)
            base.storeBytes(of: UInt32(truncatingIfNeeded: elements).bigEndian, toByteOffset: start &+ 5, as: UInt32.self)
        }
    }

    /// Starts the body of a list, map or array element inside an array whose constructor
    /// is `list32`, `map32` or `array32` (8 bytes: size and count). Finish it with
    /// `endWideElement(_:count:)`.
    public mutating func beginWideElement() throws(EncodeError) -> Mark {
        let m = Mark(offset: count)
        _ = try claim(8)
        return m
    }
    /// Patches the size and count of a wide array element.
    public mutating func endWideElement(_ mark: Mark, count elements: Int) throws(EncodeError) {
        let content = count &- mark.offset &- 8
        guard content &+ 4 <= Int(UInt32.max), elements <= Int(UInt32.max) else { throw EncodeError(.valueTooLarge) }
        base!.storeBytes(of: UInt32(truncatingIfNeeded: content &+ 4).bigEndian, toByteOffset: mark.offset, as: UInt32.self)
        base!.storeBytes(of: UInt32(truncatingIfNeeded: elements).bigEndian, toByteOffset: mark.offset &+ 4, as: UInt32.self)
    }

    /// Moves `count` back to `mark`, discarding what was written after it (e.g. to undo a
    /// partial frame when the buffer ran out).
    public mutating func rewind(to offset: Int) {
        precondition(offset >= 0 && offset <= count, "rewind beyond what was written")
        count = offset
    }
}

extension AMQPEncoder {
    /// Runs `body` against a growing buffer until it fits, and returns the bytes.
    ///
    /// For tools, tests and rarely-sent frames; hot paths encode into their own buffers.
    public static func encode(
        initialCapacity: Int = 256, _ body: (inout AMQPEncoder) throws(EncodeError) -> Void
    ) throws(EncodeError) -> [UInt8] {
        var capacity = max(initialCapacity, 16)
        while true {
            var failure: EncodeError? = nil
            let result = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
                var encoder = AMQPEncoder(UnsafeMutableRawBufferPointer(buffer))
                switch Result(catching: { () throws(EncodeError) in try body(&encoder) }) {
                case .success: initialized = encoder.count
                case .failure(let e):
                    failure = e
                    initialized = 0
                }
            }
            guard let failure else { return result }
            guard failure.code == .bufferTooSmall, capacity < Int(UInt32.max) else { throw failure }
            capacity = capacity * 2
        }
    }
}
