// Reading and writing composite types: a descriptor followed by a list of fields
// (part 1, section 1.4). Field order is the specification's; a null or absent field
// takes its default.

/// Reads the fields of a composite in order, with type checks that name the field.
struct FieldReader {
    var cursor: ValueCursor
    let composite: StaticString
    let offset: Int

    /// Checks that `described` carries descriptor `code` (numeric, or the symbolic name
    /// AMQP 1.0 gives it), then opens its list.
    init(_ described: DescribedView, code: UInt64, composite: StaticString) throws(DecodeError) {
        guard described.descriptor.knownCode == code else {
            throw DecodeError(
                .unexpectedDescriptor, at: described.encodedValue.offset,
                detail: "\(composite): descriptor \(described.descriptor.text) is not \(Descriptors.name(forCode: code) ?? "known")")
        }
        try self.init(described, composite: composite)
    }

    /// Reads the fields of an already opened list.
    init(list: ListView, composite: StaticString) {
        self.composite = composite
        offset = list.bodyOffset
        cursor = list.makeCursor()
    }

    /// The list being read, from its first field (for views that re-read it later).
    var list: ListView {
        ListView(count: cursor.remaining, body: cursor.reader.buffer, bodyOffset: cursor.reader.baseOffset, depth: cursor.depth &- 1, limits: cursor.limits)
    }

    /// Steps over the next field. Short scalars, nulls and 8-bit sized values are skipped
    /// in place; anything else goes through the general decoder.
    @inline(__always)
    mutating func skipField() throws(DecodeError) {
        guard let code = nextCode else { return }
        let r = cursor.reader
        let p = r.position
        var length = -1
        switch code {
        case FormatCode.null, FormatCode.booleanTrue, FormatCode.booleanFalse, FormatCode.uint0, FormatCode.ulong0, FormatCode.list0:
            length = 1
        case FormatCode.smallUInt, FormatCode.smallULong, FormatCode.ubyte, FormatCode.byte, FormatCode.smallInt, FormatCode.smallLong:
            length = 2
        case FormatCode.uint, FormatCode.int:
            length = 5
        case FormatCode.ulong, FormatCode.long, FormatCode.timestamp:
            length = 9
        case FormatCode.str8, FormatCode.sym8, FormatCode.vbin8:
            if r.buffer.count &- p >= 2 { length = 2 &+ Int(r.buffer[p &+ 1]) }
        default:
            break
        }
        if length > 0 && r.buffer.count &- p >= length {
            cursor.reader.position = p &+ length
            cursor.remaining &-= 1
        } else {
            _ = try cursor.next()
        }
    }

    /// Opens the list of `described`; anything but a list is a decode error.
    init(_ described: DescribedView, composite: StaticString) throws(DecodeError) {
        self.composite = composite
        let encoded = described.encodedValue
        offset = encoded.offset
        // Fast path: open a list8 (what every small composite is) in place; the decoder
        // that cut out `described` has already checked its header.
        if encoded.bytes.count >= 3, encoded.bytes[0] == FormatCode.list8, encoded.depth <= encoded.limits.maxDepth {
            // The header was checked when the value was cut out: its size is what the
            // value spans, so only the cheap checks are repeated here.
            let size = Int(encoded.bytes[1])
            let count = Int(encoded.bytes[2])
            if size == encoded.bytes.count &- 2, count < size, count <= encoded.limits.maxElements {
                let body = UnsafeRawBufferPointer(rebasing: encoded.bytes[3...])
                cursor = ListView(count: count, body: body, bodyOffset: offset &+ 3, depth: encoded.depth, limits: encoded.limits).makeCursor()
                return
            }
            var reader = ByteReader(encoded.bytes, baseOffset: offset)
            reader.position = 1
            let (count2, body, bodyOffset) = try ValueDecoder.readCompoundHeader(&reader, wide: false, limits: encoded.limits)
            cursor = ListView(count: count2, body: body, bodyOffset: bodyOffset, depth: encoded.depth, limits: encoded.limits).makeCursor()
            return
        }
        guard case .list(let list) = try described.value() else {
            throw DecodeError(.unexpectedType, at: offset, detail: "\(composite) is not a list")
        }
        cursor = list.makeCursor()
    }

    /// The next field, or `nil` when it is null or beyond the end of the list.
    @inline(__always)
    mutating func next() throws(DecodeError) -> AMQPValueView? {
        guard cursor.remaining > 0, let v = try cursor.next() else { return nil }
        if case .null = v { return nil }
        return v
    }

    // Fast paths. Transfers, flows and dispositions are made almost entirely of nulls,
    // booleans and small unsigned integers; reading those in place, instead of through
    // the general decoder and its large `AMQPValueView`, makes decoding them several
    // times faster. Anything else (and any malformed byte) takes the general path, so the
    // errors stay the same.

    /// True while the list has fields left (absent fields read as null).
    @inline(__always)
    var hasFields: Bool { cursor.remaining > 0 }

    /// The next field's constructor byte, if there is a next field.
    @inline(__always)
    var nextCode: UInt8? {
        guard cursor.remaining > 0, cursor.reader.position < cursor.reader.buffer.count else { return nil }
        return cursor.reader.buffer[cursor.reader.position]
    }
    /// Consumes the constructor `nextCode` returned.
    @inline(__always)
    mutating func takeCode() {
        cursor.reader.position &+= 1
        cursor.remaining &-= 1
    }
    /// Consumes the constructor `nextCode` returned and the `T` after it.
    @inline(__always)
    mutating func take<T: FixedWidthInteger>(_: T.Type) throws(DecodeError) -> T {
        takeCode()
        return try cursor.reader.read(T.self)
    }

    /// The next field's raw encoding, or `nil` when it is null or absent.
    mutating func nextEncoded() throws(DecodeError) -> EncodedValueView? {
        guard cursor.remaining > 0, let v = try cursor.nextEncoded() else { return nil }
        return v.bytes.first == FormatCode.null ? nil : v
    }

    func wrongType(_ field: StaticString, _ v: AMQPValueView, _ expected: StaticString) -> DecodeError {
        DecodeError(.unexpectedType, at: cursor.reader.absoluteOffset, detail: "\(composite).\(field) is \(v.typeName), expected \(expected)")
    }

    func missing(_ field: StaticString) -> DecodeError {
        DecodeError(.missingMandatoryField, at: cursor.reader.absoluteOffset, detail: "\(composite).\(field)")
    }

    func invalid(_ field: StaticString, _ why: String) -> DecodeError {
        DecodeError(.invalidFieldValue, at: cursor.reader.absoluteOffset, detail: "\(composite).\(field): \(why)", condition: .invalidField)
    }

    /// Requires a value that `get` accepted.
    @inline(__always)
    func required<T>(_ v: T?, _ field: StaticString) throws(DecodeError) -> T {
        guard let v else { throw missing(field) }
        return v
    }

    @inline(__always)
    mutating func bool(_ field: StaticString) throws(DecodeError) -> Bool? {
        switch nextCode {
        case .some(FormatCode.null): takeCode(); return nil
        case .some(FormatCode.booleanTrue): takeCode(); return true
        case .some(FormatCode.booleanFalse): takeCode(); return false
        default: break
        }
        guard let v = try next() else { return nil }
        guard case .boolean(let b) = v else { throw wrongType(field, v, "boolean") }
        return b
    }
    @inline(__always)
    mutating func ubyte(_ field: StaticString) throws(DecodeError) -> UInt8? {
        switch nextCode {
        case .some(FormatCode.null): takeCode(); return nil
        case .some(FormatCode.ubyte): return try take(UInt8.self)
        default: break
        }
        guard let v = try next() else { return nil }
        guard case .ubyte(let x) = v else { throw wrongType(field, v, "ubyte") }
        return x
    }
    @inline(__always)
    mutating func ushort(_ field: StaticString) throws(DecodeError) -> UInt16? {
        switch nextCode {
        case .some(FormatCode.null): takeCode(); return nil
        case .some(FormatCode.ushort): return try take(UInt16.self)
        default: break
        }
        guard let v = try next() else { return nil }
        guard case .ushort(let x) = v else { throw wrongType(field, v, "ushort") }
        return x
    }
    @inline(__always)
    mutating func uint(_ field: StaticString) throws(DecodeError) -> UInt32? {
        switch nextCode {
        case .some(FormatCode.null): takeCode(); return nil
        case .some(FormatCode.uint0): takeCode(); return 0
        case .some(FormatCode.smallUInt): return UInt32(try take(UInt8.self))
        case .some(FormatCode.uint): return try take(UInt32.self)
        default: break
        }
        guard let v = try next() else { return nil }
        guard case .uint(let x) = v else { throw wrongType(field, v, "uint") }
        return x
    }
    @inline(__always)
    mutating func ulong(_ field: StaticString) throws(DecodeError) -> UInt64? {
        switch nextCode {
        case .some(FormatCode.null): takeCode(); return nil
        case .some(FormatCode.ulong0): takeCode(); return 0
        case .some(FormatCode.smallULong): return UInt64(try take(UInt8.self))
        case .some(FormatCode.ulong): return try take(UInt64.self)
        default: break
        }
        guard let v = try next() else { return nil }
        guard case .ulong(let x) = v else { throw wrongType(field, v, "ulong") }
        return x
    }
    mutating func timestamp(_ field: StaticString) throws(DecodeError) -> Timestamp? {
        switch nextCode {
        case .some(FormatCode.null): takeCode(); return nil
        case .some(FormatCode.timestamp): return Timestamp(millisecondsSinceEpoch: try take(Int64.self))
        default: break
        }
        guard let v = try next() else { return nil }
        guard case .timestamp(let x) = v else { throw wrongType(field, v, "timestamp") }
        return x
    }
    mutating func string(_ field: StaticString) throws(DecodeError) -> String? {
        guard let v = try next() else { return nil }
        guard case .string(let s) = v else { throw wrongType(field, v, "string") }
        return s.string
    }
    mutating func symbol(_ field: StaticString) throws(DecodeError) -> Symbol? {
        guard let v = try next() else { return nil }
        guard case .symbol(let s) = v else { throw wrongType(field, v, "symbol") }
        return s.symbol
    }
    mutating func binary(_ field: StaticString) throws(DecodeError) -> [UInt8]? {
        guard let v = try next() else { return nil }
        guard case .binary(let b) = v else { throw wrongType(field, v, "binary") }
        return b.array
    }
    @inline(__always)
    mutating func deliveryTag(_ field: StaticString) throws(DecodeError) -> DeliveryTag? {
        switch nextCode {
        case .some(FormatCode.null): takeCode(); return nil
        case .some(FormatCode.vbin8):
            let n = Int(try take(UInt8.self))
            let offset = cursor.reader.absoluteOffset
            guard let tag = DeliveryTag(bytes: try cursor.reader.readSlice(n)) else {
                throw DecodeError(.deliveryTagTooLong, at: offset, detail: "\(n) bytes")
            }
            return tag
        default: break
        }
        guard let v = try next() else { return nil }
        guard case .binary(let b) = v else { throw wrongType(field, v, "binary") }
        guard let tag = DeliveryTag(bytes: b.bytes) else {
            throw DecodeError(.deliveryTagTooLong, at: b.offset, detail: "\(b.count) bytes")
        }
        return tag
    }
    /// A delivery tag field as a view of its bytes (at most `DeliveryTag.maxLength`).
    @inline(__always)
    mutating func deliveryTagBytes(_ field: StaticString) throws(DecodeError) -> BytesView? {
        switch nextCode {
        case .some(FormatCode.null): takeCode(); return nil
        case .some(FormatCode.vbin8):
            let n = Int(try take(UInt8.self))
            let offset = cursor.reader.absoluteOffset
            guard n <= DeliveryTag.maxLength else { throw DecodeError(.deliveryTagTooLong, at: offset, detail: "\(n) bytes") }
            return BytesView(try cursor.reader.readSlice(n), offset: offset)
        default: break
        }
        guard let v = try next() else { return nil }
        guard case .binary(let b) = v else { throw wrongType(field, v, "binary") }
        guard b.count <= DeliveryTag.maxLength else {
            throw DecodeError(.deliveryTagTooLong, at: b.offset, detail: "\(b.count) bytes")
        }
        return b
    }
    /// A `multiple` symbol field: one symbol or an array of symbols (part 1, 1.4).
    mutating func symbols(_ field: StaticString) throws(DecodeError) -> [Symbol]? {
        guard let v = try next() else { return nil }
        switch v {
        case .symbol(let s): return [s.symbol]
        case .array(let a) where a.elementType == .symbol && a.descriptor == nil:
            var out: [Symbol] = []
            out.reserveCapacity(a.count)
            var c = a.makeCursor()
            while let e = try c.next() {
                guard case .symbol(let s) = e else { throw wrongType(field, e, "symbol") }
                out.append(s.symbol)
            }
            return out
        default: throw wrongType(field, v, "symbol or array of symbol")
        }
    }
    mutating func fields(_ field: StaticString) throws(DecodeError) -> Fields? {
        guard let v = try next() else { return nil }
        guard case .map(let m) = v else { throw wrongType(field, v, "map") }
        return try Fields(m)
    }
    mutating func map(_ field: StaticString) throws(DecodeError) -> AMQPMap? {
        guard let v = try next() else { return nil }
        guard case .map = v else { throw wrongType(field, v, "map") }
        guard case .map(let m) = try v.materialize() else { return nil }
        return m
    }
    /// Any value (a `*` field), owned.
    mutating func value(_ field: StaticString) throws(DecodeError) -> AMQPValue? {
        guard let v = try next() else { return nil }
        return try v.materialize()
    }
    /// A described field, for composite-typed fields (error, source, target, states).
    mutating func described(_ field: StaticString) throws(DecodeError) -> DescribedView? {
        guard let v = try next() else { return nil }
        guard case .described(let d) = v else { throw wrongType(field, v, "described") }
        return d
    }
    mutating func error(_ field: StaticString) throws(DecodeError) -> AMQPError? {
        guard let d = try described(field) else { return nil }
        return try AMQPError(decoding: d)
    }
}

/// Writes the fields of a composite, dropping trailing fields that are null (absent or
/// equal to their default) by rewinding to the end of the last one kept.
struct FieldWriter {
    let mark: AMQPEncoder.Mark
    var written = 0
    var kept = 0
    var keptEnd: Int

    /// Writes the descriptor and opens the field list.
    @inline(__always)
    init(descriptor: UInt64, _ e: inout AMQPEncoder) throws(EncodeError) {
        try e.encodeDescriptor(descriptor)
        mark = try e.beginList()
        keptEnd = e.count
    }

    @inline(__always)
    mutating func null(_ e: inout AMQPEncoder) throws(EncodeError) {
        // `finish` drops trailing nulls, so a null is written only while there is room:
        // in a full buffer it is either trailing (and dropped) or followed by a kept
        // field that cannot fit anyway. So a composite fits a buffer of its exact size.
        if e.free > 0 { try e.encodeNull() }
        written &+= 1
    }
    @inline(__always)
    mutating func wrote(_ e: inout AMQPEncoder) {
        written &+= 1
        kept = written
        keptEnd = e.count
    }

    @inline(__always)
    mutating func bool(_ v: Bool?, default d: Bool? = nil, _ e: inout AMQPEncoder) throws(EncodeError) {
        guard let v, v != d else { return try null(&e) }
        try e.encode(v)
        wrote(&e)
    }
    @inline(__always)
    mutating func ubyte(_ v: UInt8?, default d: UInt8? = nil, _ e: inout AMQPEncoder) throws(EncodeError) {
        guard let v, v != d else { return try null(&e) }
        try e.encode(v)
        wrote(&e)
    }
    @inline(__always)
    mutating func ushort(_ v: UInt16?, default d: UInt16? = nil, _ e: inout AMQPEncoder) throws(EncodeError) {
        guard let v, v != d else { return try null(&e) }
        try e.encode(v)
        wrote(&e)
    }
    @inline(__always)
    mutating func uint(_ v: UInt32?, default d: UInt32? = nil, _ e: inout AMQPEncoder) throws(EncodeError) {
        guard let v, v != d else { return try null(&e) }
        try e.encode(v)
        wrote(&e)
    }
    @inline(__always)
    mutating func ulong(_ v: UInt64?, default d: UInt64? = nil, _ e: inout AMQPEncoder) throws(EncodeError) {
        guard let v, v != d else { return try null(&e) }
        try e.encode(v)
        wrote(&e)
    }
    @inline(__always)
    mutating func timestamp(_ v: Timestamp?, _ e: inout AMQPEncoder) throws(EncodeError) {
        guard let v else { return try null(&e) }
        try e.encode(v)
        wrote(&e)
    }
    @inline(__always)
    mutating func string(_ v: String?, _ e: inout AMQPEncoder) throws(EncodeError) {
        guard let v else { return try null(&e) }
        try e.encode(v)
        wrote(&e)
    }
    @inline(__always)
    mutating func symbol(_ v: Symbol?, default d: Symbol? = nil, _ e: inout AMQPEncoder) throws(EncodeError) {
        guard let v, v != d else { return try null(&e) }
        try e.encode(v)
        wrote(&e)
    }
    @inline(__always)
    mutating func binary(_ v: [UInt8]?, _ e: inout AMQPEncoder) throws(EncodeError) {
        guard let v else { return try null(&e) }
        try e.encodeBinary(v)
        wrote(&e)
    }
    @inline(__always)
    mutating func deliveryTag(_ v: DeliveryTag?, _ e: inout AMQPEncoder) throws(EncodeError) {
        guard let v else { return try null(&e) }
        try e.encode(v)
        wrote(&e)
    }
    /// A `multiple` symbol field, always as an array (an empty list is omitted).
    mutating func symbols(_ v: [Symbol]?, _ e: inout AMQPEncoder) throws(EncodeError) {
        guard let v, !v.isEmpty else { return try null(&e) }
        let m = try e.beginArray()
        let wide = v.contains { $0.rawValue.utf8.count > 255 }
        try e.writeByte(wide ? FormatCode.sym32 : FormatCode.sym8)
        for s in v {
            try withUTF8Bytes(s.rawValue) { (u) throws(EncodeError) in
                guard TextValidation.firstNonASCII(u) == nil else { throw EncodeError(.nonASCIISymbol) }
                try AMQPArray.writeSized(u, wide: wide, into: &e)
            }
        }
        try e.endArray(m, count: v.count)
        wrote(&e)
    }
    mutating func fields(_ v: Fields?, _ e: inout AMQPEncoder) throws(EncodeError) {
        guard let v else { return try null(&e) }
        try v.encode(into: &e)
        wrote(&e)
    }
    mutating func map(_ v: AMQPMap?, _ e: inout AMQPEncoder) throws(EncodeError) {
        guard let v else { return try null(&e) }
        try v.encode(into: &e)
        wrote(&e)
    }
    mutating func value(_ v: AMQPValue?, _ e: inout AMQPEncoder) throws(EncodeError) {
        guard let v else { return try null(&e) }
        try v.encode(into: &e)
        wrote(&e)
    }
    mutating func error(_ v: AMQPError?, _ e: inout AMQPEncoder) throws(EncodeError) {
        guard let v else { return try null(&e) }
        try v.encode(into: &e)
        wrote(&e)
    }
    /// A field written by `body` (composite-typed fields); `present: false` writes null.
    @inline(__always)
    mutating func custom(present: Bool, _ e: inout AMQPEncoder, _ body: (inout AMQPEncoder) throws(EncodeError) -> Void) throws(EncodeError) {
        guard present else { return try null(&e) }
        try body(&e)
        wrote(&e)
    }

    /// Drops trailing nulls and closes the list.
    @inline(__always)
    func finish(_ e: inout AMQPEncoder) throws(EncodeError) {
        e.rewind(to: keptEnd)
        try e.endList(mark, count: kept)
    }
}

extension DescriptorView {
    /// The descriptor as error details print it: `0x10`, a symbol's text, or a placeholder.
    var text: String {
        switch self {
        case .code(let c): "0x" + String(c, radix: 16)
        case .symbol(let s): s.description
        case .other: "(neither ulong nor symbol)"
        }
    }
}

extension AMQPError {
    /// Decodes an `amqp:error:list`.
    public init(decoding d: DescribedView) throws(DecodeError) {
        guard d.descriptor.knownCode == Descriptors.error else {
            throw DecodeError(.unexpectedDescriptor, at: d.encodedValue.offset, detail: "expected amqp:error:list")
        }
        var r = try FieldReader(d, composite: "error")
        condition = ErrorCondition(try r.required(try r.symbol("condition"), "condition"))
        errorDescription = try r.string("description")
        info = try r.fields("info")
    }

    /// Encodes as an `amqp:error:list`.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        var w = try FieldWriter(descriptor: Descriptors.error, &e)
        try w.symbol(condition.symbol, &e)
        try w.string(errorDescription, &e)
        try w.fields(info, &e)
        try w.finish(&e)
    }
}
