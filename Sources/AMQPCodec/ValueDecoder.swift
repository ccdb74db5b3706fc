/// Decodes AMQP values from borrowed bytes.
///
/// Every size, count and nesting level is checked before it is trusted: the decoder
/// never reads outside the buffer, never allocates, and reports malformed input as a
/// `DecodeError` with the offset of the offending byte.
public enum ValueDecoder {
    /// Decodes the value at the start of `buffer`.
    ///
    /// - Parameters:
    ///   - buffer: the bytes; views in the result borrow from it.
    ///   - baseOffset: the absolute offset of `buffer[0]`, for error reports.
    ///   - limits: nesting and element-count bounds.
    /// - Returns: the value and the number of bytes it took.
    public static func decode(
        _ buffer: UnsafeRawBufferPointer, baseOffset: Int = 0, limits: DecodeLimits = .default
    ) throws(DecodeError) -> (value: AMQPValueView, consumed: Int) {
        var reader = ByteReader(buffer, baseOffset: baseOffset)
        let v = try decode(&reader, depth: 1, limits: limits)
        return (v, reader.position)
    }

    /// Decodes every value in `buffer`, back to back, calling `body` with each.
    public static func decodeAll(
        _ buffer: UnsafeRawBufferPointer, baseOffset: Int = 0, limits: DecodeLimits = .default,
        _ body: (AMQPValueView) throws(DecodeError) -> Void
    ) throws(DecodeError) {
        var reader = ByteReader(buffer, baseOffset: baseOffset)
        while !reader.isAtEnd {
            try body(try decode(&reader, depth: 1, limits: limits))
        }
    }

    static func decode(_ r: inout ByteReader, depth: Int, limits: DecodeLimits) throws(DecodeError) -> AMQPValueView {
        let codeOffset = r.position
        let code = try r.readByte()
        if code == FormatCode.described {
            return .described(try decodeDescribed(&r, depth: depth, limits: limits, codeOffset: codeOffset))
        }
        return try decodeBody(code: code, &r, depth: depth, limits: limits, codeOffset: codeOffset)
    }

    static func decodeDescribed(
        _ r: inout ByteReader, depth: Int, limits: DecodeLimits, codeOffset: Int
    ) throws(DecodeError) -> DescribedView {
        guard depth <= limits.maxDepth else { throw r.error(.nestingTooDeep, at: codeOffset) }
        let descriptor: DescriptorView
        // Fast paths for what every performative, composite and section looks like: a
        // smallulong descriptor and a list framed by its size. They check exactly what
        // the general path checks, without building an `AMQPValueView` per step.
        if r.remaining >= 2, r.buffer[r.position] == FormatCode.smallULong {
            descriptor = .code(UInt64(r.buffer[r.position &+ 1]))
            r.position &+= 2
        } else {
            descriptor = try decodeDescriptor(&r, depth: depth &+ 1, limits: limits)
        }
        let valueStart = r.position
        let next = r.remaining > 0 ? r.buffer[r.position] : 0
        if next == FormatCode.list8 || next == FormatCode.list32, depth &+ 1 <= limits.maxDepth {
            r.position &+= 1
            _ = try readCompoundHeader(&r, wide: next == FormatCode.list32, limits: limits)
        } else {
            _ = try decode(&r, depth: depth &+ 1, limits: limits)
        }
        let bytes = UnsafeRawBufferPointer(rebasing: r.buffer[valueStart..<r.position])
        return DescribedView(
            descriptor: descriptor,
            encodedValue: EncodedValueView(bytes: bytes, offset: r.baseOffset &+ valueStart, depth: depth &+ 1, limits: limits))
    }

    static func decodeDescriptor(_ r: inout ByteReader, depth: Int, limits: DecodeLimits) throws(DecodeError) -> DescriptorView {
        let start = r.position
        switch try decode(&r, depth: depth, limits: limits) {
        case .ulong(let c): return .code(c)
        case .symbol(let s): return .symbol(s)
        default:
            let bytes = UnsafeRawBufferPointer(rebasing: r.buffer[start..<r.position])
            return .other(EncodedValueView(bytes: bytes, offset: r.baseOffset &+ start, depth: depth, limits: limits))
        }
    }

    /// Decodes the value that follows constructor `code` (also used for array elements,
    /// which share one constructor and carry only their bodies).
    static func decodeBody(
        code: UInt8, _ r: inout ByteReader, depth: Int, limits: DecodeLimits, codeOffset: Int
    ) throws(DecodeError) -> AMQPValueView {
        switch code {
        case FormatCode.null: return .null
        case FormatCode.booleanTrue: return .boolean(true)
        case FormatCode.booleanFalse: return .boolean(false)
        case FormatCode.boolean:
            switch try r.readByte() {
            case 0: return .boolean(false)
            case 1: return .boolean(true)
            default: throw r.error(.invalidBoolean, at: r.position &- 1)
            }
        case FormatCode.ubyte: return .ubyte(try r.readByte())
        case FormatCode.ushort: return .ushort(try r.read(UInt16.self))
        case FormatCode.uint: return .uint(try r.read(UInt32.self))
        case FormatCode.smallUInt: return .uint(UInt32(try r.readByte()))
        case FormatCode.uint0: return .uint(0)
        case FormatCode.ulong: return .ulong(try r.read(UInt64.self))
        case FormatCode.smallULong: return .ulong(UInt64(try r.readByte()))
        case FormatCode.ulong0: return .ulong(0)
        case FormatCode.byte: return .byte(Int8(bitPattern: try r.readByte()))
        case FormatCode.short: return .short(try r.read(Int16.self))
        case FormatCode.int: return .int(try r.read(Int32.self))
        case FormatCode.smallInt: return .int(Int32(Int8(bitPattern: try r.readByte())))
        case FormatCode.long: return .long(try r.read(Int64.self))
        case FormatCode.smallLong: return .long(Int64(Int8(bitPattern: try r.readByte())))
        case FormatCode.float: return .float(Float(bitPattern: try r.read(UInt32.self)))
        case FormatCode.double: return .double(Double(bitPattern: try r.read(UInt64.self)))
        case FormatCode.decimal32: return .decimal32(Decimal32(bits: try r.read(UInt32.self)))
        case FormatCode.decimal64: return .decimal64(Decimal64(bits: try r.read(UInt64.self)))
        case FormatCode.decimal128:
            let h = try r.read(UInt64.self)
            return .decimal128(Decimal128(high: h, low: try r.read(UInt64.self)))
        case FormatCode.char:
            let at = r.position
            guard let s = Unicode.Scalar(try r.read(UInt32.self)) else { throw r.error(.invalidChar, at: at) }
            return .char(s)
        case FormatCode.timestamp: return .timestamp(Timestamp(millisecondsSinceEpoch: try r.read(Int64.self)))
        case FormatCode.uuid:
            let h = try r.read(UInt64.self)
            return .uuid(AMQPUUID(high: h, low: try r.read(UInt64.self)))
        case FormatCode.vbin8, FormatCode.vbin32:
            let bytes = try readSized(&r, wide: code == FormatCode.vbin32)
            return .binary(BytesView(bytes, offset: r.absoluteOffset &- bytes.count))
        case FormatCode.str8, FormatCode.str32:
            let bytes = try readSized(&r, wide: code == FormatCode.str32)
            let at = r.position &- bytes.count
            guard TextValidation.isValidUTF8(bytes) else { throw r.error(.invalidUTF8, at: at) }
            return .string(StringView(utf8: bytes))
        case FormatCode.sym8, FormatCode.sym32:
            let bytes = try readSized(&r, wide: code == FormatCode.sym32)
            let at = r.position &- bytes.count
            if let bad = TextValidation.firstNonASCII(bytes) { throw r.error(.nonASCIISymbol, at: at &+ bad) }
            return .symbol(SymbolView(ascii: bytes))
        case FormatCode.list0:
            return .list(ListView(count: 0, body: UnsafeRawBufferPointer(start: nil, count: 0), bodyOffset: r.absoluteOffset, depth: depth, limits: limits))
        case FormatCode.list8, FormatCode.list32, FormatCode.map8, FormatCode.map32:
            let wide = code == FormatCode.list32 || code == FormatCode.map32
            let (count, body, bodyOffset) = try readCompoundHeader(&r, wide: wide, limits: limits)
            // The depth limit bounds recursion, and an empty compound nests nothing: it
            // passes at any depth, like list0 (so an encoder's choice between list0 and
            // an empty list8 or list32 never decides whether a value decodes).
            guard count == 0 || depth <= limits.maxDepth else { throw r.error(.nestingTooDeep, at: codeOffset) }
            if code == FormatCode.list8 || code == FormatCode.list32 {
                return .list(ListView(count: count, body: body, bodyOffset: bodyOffset, depth: depth, limits: limits))
            }
            guard count % 2 == 0 else { throw r.error(.oddMapCount, at: codeOffset) }
            return .map(MapView(count: count, body: body, bodyOffset: bodyOffset, depth: depth, limits: limits))
        case FormatCode.array8, FormatCode.array32:
            let array = try decodeArray(&r, wide: code == FormatCode.array32, depth: depth, limits: limits)
            // As for lists: only an array with elements nests.
            guard array.count == 0 || depth <= limits.maxDepth else { throw r.error(.nestingTooDeep, at: codeOffset) }
            return .array(array)
        default:
            throw r.error(.unknownConstructor, detail: "0x" + Hex.encode([code]), at: codeOffset)
        }
    }

    /// Reads the size of a binary, string or symbol and takes that many bytes. A size
    /// beyond the input is reported at the size field, as for compounds.
    @inline(__always)
    static func readSized(_ r: inout ByteReader, wide: Bool) throws(DecodeError) -> UnsafeRawBufferPointer {
        let sizeAt = r.position
        let n = wide ? Int(try r.read(UInt32.self)) : Int(try r.readByte())
        guard n <= r.remaining else { throw r.error(.sizeExceedsInput, detail: "size \(n), \(r.remaining) left", at: sizeAt) }
        return try r.readSlice(n)
    }

    /// Reads `size` and `count` of a list or map and returns the elements' bytes.
    /// Each element takes at least one byte, so `count` may not exceed those bytes.
    static func readCompoundHeader(
        _ r: inout ByteReader, wide: Bool, limits: DecodeLimits
    ) throws(DecodeError) -> (count: Int, body: UnsafeRawBufferPointer, bodyOffset: Int) {
        let sizeAt = r.position
        let size = wide ? Int(try r.read(UInt32.self)) : Int(try r.readByte())
        let countWidth = wide ? 4 : 1
        guard size >= countWidth else { throw r.error(.sizeTooSmall, at: sizeAt) }
        guard size <= r.remaining else { throw r.error(.sizeExceedsInput, detail: "size \(size), \(r.remaining) left", at: sizeAt) }
        let countAt = r.position
        let count = wide ? Int(try r.read(UInt32.self)) : Int(try r.readByte())
        let bodySize = size &- countWidth
        guard count <= bodySize else { throw r.error(.countExceedsSize, detail: "count \(count), \(bodySize) bytes", at: countAt) }
        guard count <= limits.maxElements else { throw r.error(.tooManyElements, detail: "count \(count)", at: countAt) }
        let bodyOffset = r.absoluteOffset
        return (count, try r.readSlice(bodySize), bodyOffset)
    }

    /// Bytes one element body takes for a fixed-width code; `nil` for variable widths.
    static func fixedWidth(_ code: UInt8) -> Int? {
        switch code >> 4 {
        case 0x4: 0
        case 0x5: 1
        case 0x6: 2
        case 0x7: 4
        case 0x8: 8
        case 0x9: 16
        default: nil
        }
    }

    static func decodeArray(_ r: inout ByteReader, wide: Bool, depth: Int, limits: DecodeLimits) throws(DecodeError) -> ArrayView {
        let sizeAt = r.position
        let size = wide ? Int(try r.read(UInt32.self)) : Int(try r.readByte())
        let countWidth = wide ? 4 : 1
        guard size >= countWidth else { throw r.error(.sizeTooSmall, at: sizeAt) }
        guard size <= r.remaining else { throw r.error(.sizeExceedsInput, detail: "size \(size), \(r.remaining) left", at: sizeAt) }
        var sub = try r.subReader(size)
        let countAt = sub.position
        let count = wide ? Int(try sub.read(UInt32.self)) : Int(try sub.readByte())
        guard count <= limits.maxElements else { throw sub.error(.tooManyElements, detail: "count \(count)", at: countAt) }
        var codeAt = sub.position
        var code = try sub.readByte()
        var descriptor: DescriptorView? = nil
        if code == FormatCode.described {
            descriptor = try decodeDescriptor(&sub, depth: depth &+ 1, limits: limits)
            codeAt = sub.position
            code = try sub.readByte()
            // A described constructor may nest in principle; nobody sends that, and
            // refusing it keeps element decoding flat.
            guard code != FormatCode.described else { throw sub.error(.invalidArrayConstructor, at: codeAt) }
        }
        guard let type = AMQPType(formatCode: code) else {
            throw sub.error(.unknownConstructor, detail: "0x" + Hex.encode([code]), at: codeAt)
        }
        let bodyOffset = sub.absoluteOffset
        let body = try sub.readSlice(sub.remaining)
        // Every element takes at least its fixed width, or one byte of size prefix.
        let minWidth = fixedWidth(code) ?? 1
        guard count &* minWidth <= body.count else {
            throw sub.error(.countExceedsSize, detail: "count \(count), \(body.count) bytes", at: countAt)
        }
        // Elements that take no bytes are not bounded by the input: they get their own cap.
        guard minWidth > 0 || count <= limits.maxZeroWidthElements else {
            throw sub.error(.tooManyElements, detail: "count \(count) of zero-width elements", at: countAt)
        }
        return ArrayView(
            count: count, elementType: type, elementCode: code, descriptor: descriptor,
            body: body, bodyOffset: bodyOffset, depth: depth, limits: limits)
    }
}
