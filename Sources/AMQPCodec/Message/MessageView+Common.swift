// The sections nearly every message carries, read in one pass without the general
// decoder: a header and a properties section as `list8`s of fields in their usual
// forms, and `data` sections as `vbin8` or `vbin32`. Reading them through the general
// path (a described value, then a field reader with a cursor over `AMQPValueView`s)
// cost about three quarters of decoding a small message; this reads the same bytes
// with a position and a count.
//
// What this accepts, the general path accepts and reads the same; anything else (any
// other form, a field cut short, an invalid string, a list that its fields do not fill
// exactly) returns `nil` having consumed nothing, and the general path then reads the
// section, or says what is wrong with it, as it always has. MessageViewFastPathTests
// compare the two over every form of every field.

extension MessageView {
    /// Reads the whole payload when it is the usual message: an optional header, an
    /// optional properties section, then one or more data sections and nothing else,
    /// each in a form the readers below read. Sets the sections exactly as the general
    /// loop of `init` would, and returns true; otherwise changes nothing and returns
    /// false, and the general loop reads the payload from the start.
    ///
    /// The general loop keeps every section's state across iterations (order, bare
    /// message and body bounds, each view) in one large frame; for the usual message
    /// this straight line costs a fraction of it.
    @inline(__always)
    mutating func readCommonMessage(limits: DecodeLimits) -> Bool {
        var r = ByteReader(bytes, baseOffset: baseOffset)
        var header: MessageHeader? = nil
        if Self.nextDescriptor(r) == 0x70 {
            guard let h = Self.readCommonHeader(&r, limits: limits) else { return false }
            header = h
        }
        let bareStart = r.position
        var properties: MessagePropertiesView? = nil
        if Self.nextDescriptor(r) == 0x73 {
            guard let v = Self.readCommonProperties(&r, limits: limits) else { return false }
            properties = v
        }
        let bodyStart = r.position
        guard let first = Self.readCommonData(&r, limits: limits) else { return false }
        var count = 1
        var byteCount = first.count
        while !r.isAtEnd {
            guard let next = Self.readCommonData(&r, limits: limits) else { return false }
            count &+= 1
            byteCount &+= next.count
        }
        let end = r.position
        let base = bytes.baseAddress.unsafelyUnwrapped  // not empty: a data section was read
        self.header = header
        self.properties = properties
        let region = BodyRegion(
            bytes: UnsafeRawBufferPointer(start: base + bodyStart, count: end &- bodyStart), offset: baseOffset &+ bodyStart,
            limits: limits)
        body = .data(DataSectionsView(region: region, count: count, byteCount: byteCount, first: first))
        bareMessage = BytesView(UnsafeRawBufferPointer(start: base + bareStart, count: end &- bareStart), offset: baseOffset &+ bareStart)
        return true
    }

    /// The descriptor code of the section at `r`'s position if it starts `00 53`;
    /// -1 otherwise.
    @inline(__always)
    static func nextDescriptor(_ r: ByteReader) -> Int {
        guard r.buffer.count &- r.position >= 3, let base = r.buffer.baseAddress else { return -1 }
        let s = base + r.position
        guard s.load(as: UInt8.self) == 0x00, s.load(fromByteOffset: 1, as: UInt8.self) == 0x53 else { return -1 }
        return Int(s.load(fromByteOffset: 2, as: UInt8.self))
    }

    /// The start of the section at `r`'s position when it is `00 53 <code>
    /// <constructor>` with at least one more byte, within the depth limit (the checks
    /// `readSection` makes before the section's value); `nil` otherwise.
    @inline(__always)
    static func commonStart(_ r: ByteReader, code: UInt8, constructor: UInt8, limits: DecodeLimits) -> UnsafeRawPointer? {
        guard r.buffer.count &- r.position >= 5, limits.storedMaxDepth >= 2, let base = r.buffer.baseAddress else { return nil }
        let s = base + r.position
        // described, smallulong, code, constructor (little-endian load)
        let expected = UInt32(0x5300) | UInt32(code) &<< 16 | UInt32(constructor) &<< 24
        guard s.loadUnaligned(as: UInt32.self) == UInt32(littleEndian: expected) else { return nil }
        return s
    }

    /// A `list8` section value's fields (after `commonStart`): a scanner over them,
    /// with the checks `ValueDecoder.readCompoundHeader` makes of a list8.
    @inline(__always)
    static func commonList(_ s: UnsafeRawPointer, left: Int, limits: DecodeLimits) -> CommonFieldScanner? {
        let size = Int(s.load(fromByteOffset: 4, as: UInt8.self))
        guard size >= 1, size <= left &- 5 else { return nil }
        let count = Int(s.load(fromByteOffset: 5, as: UInt8.self))
        guard count <= size &- 1, UInt32(count) <= limits.storedMaxElements else { return nil }
        return CommonFieldScanner(base: s + 6, size: size &- 1, left: count)
    }

    /// A data section as `vbin8` or `vbin32`, advancing `r` past it.
    @inline(__always)
    static func readCommonData(_ r: inout ByteReader, limits: DecodeLimits) -> BytesView? {
        let p = r.position
        let left = r.buffer.count &- p
        if let s = commonStart(r, code: 0x75, constructor: 0xA0, limits: limits) {
            let n = Int(s.load(fromByteOffset: 4, as: UInt8.self))
            guard left &- 5 >= n else { return nil }
            r.position = p &+ 5 &+ n
            return BytesView(UnsafeRawBufferPointer(start: s + 5, count: n), offset: r.baseOffset &+ p &+ 5)
        }
        if let s = commonStart(r, code: 0x75, constructor: 0xB0, limits: limits) {
            guard left >= 8 else { return nil }
            let n = Int(UInt32(bigEndian: s.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
            guard left &- 8 >= n else { return nil }
            r.position = p &+ 8 &+ n
            return BytesView(UnsafeRawBufferPointer(start: s + 8, count: n), offset: r.baseOffset &+ p &+ 8)
        }
        return nil
    }

    /// A header section as a `list8` of its five fields in their usual forms (fields
    /// beyond them are left to the general path, which checks them), advancing `r`.
    @inline(__always)
    static func readCommonHeader(_ r: inout ByteReader, limits: DecodeLimits) -> MessageHeader? {
        let p = r.position
        guard let s = commonStart(r, code: 0x70, constructor: 0xC0, limits: limits),
            var f = commonList(s, left: r.buffer.count &- p, limits: limits), f.left <= 5
        else { return nil }
        let durable = f.bool()
        let priority = f.ubyte()
        let ttl = f.uint()
        let firstAcquirer = f.bool()
        let deliveryCount = f.uint()
        // Every field read, and the list filled exactly (`finishChecked` refuses a
        // size mismatch).
        guard f.ok, f.i == f.size else { return nil }
        r.position = p &+ 6 &+ f.size
        return MessageHeader(
            durable: durable == 1, priority: priority.present ? priority.value : MessageHeader.defaultPriority,
            ttl: ttl.present ? ttl.value : nil, firstAcquirer: firstAcquirer == 1, deliveryCount: deliveryCount.value)
    }

    /// A properties section as a `list8` of its thirteen fields in their usual forms,
    /// each checked as `MessagePropertiesView(decoding:)` checks it, advancing `r`.
    @inline(__always)
    static func readCommonProperties(_ r: inout ByteReader, limits: DecodeLimits) -> MessagePropertiesView? {
        let p = r.position
        guard let s = commonStart(r, code: 0x73, constructor: 0xC0, limits: limits),
            var f = commonList(s, left: r.buffer.count &- p, limits: limits), f.left <= 13
        else { return nil }
        let count = f.left
        f.messageID()  // message-id
        f.variable(0xA0)  // user-id
        f.string()  // to
        f.string()  // subject
        f.string()  // reply-to
        f.messageID()  // correlation-id
        f.symbol()  // content-type
        f.symbol()  // content-encoding
        f.timestamp()  // absolute-expiry-time
        f.timestamp()  // creation-time
        f.string()  // group-id
        _ = f.uint()  // group-sequence
        f.string()  // reply-to-group-id
        guard f.ok, f.i == f.size else { return nil }
        r.position = p &+ 6 &+ f.size
        return MessagePropertiesView(
            fields: ListView(
                count: count, body: UnsafeRawBufferPointer(start: s + 6, count: f.size), bodyOffset: r.baseOffset &+ p &+ 6, depth: 2,
                limits: limits))
    }
}

extension CommonFieldScanner {
    /// A `ubyte` field (null, absent, or `ubyte`).
    @inline(__always)
    mutating func ubyte() -> (present: Bool, value: UInt8) {
        switch code() {
        case -1, 0x40:
            return (false, 0)
        case 0x50:
            guard i < size else { break }
            let v = base.load(fromByteOffset: i, as: UInt8.self)
            i &+= 1
            return (true, v)
        default:
            break
        }
        ok = false
        return (false, 0)
    }

    /// Skips `n` bytes of the current field's body, if they are there.
    @inline(__always)
    mutating func skip(_ n: Int) {
        guard size &- i >= n else {
            ok = false
            return
        }
        i &+= n
    }

    /// The body of a field in the 8-bit sized form just consumed: its bytes, or `nil`
    /// when the list ends first.
    @inline(__always)
    mutating func sized8() -> UnsafeRawBufferPointer? {
        guard i < size else { return nil }
        let n = Int(base.load(fromByteOffset: i, as: UInt8.self))
        guard size &- i &- 1 >= n else { return nil }
        let bytes = UnsafeRawBufferPointer(start: base + (i &+ 1), count: n)
        i &+= 1 &+ n
        return bytes
    }

    /// A field that is null, absent, or in the 8-bit sized form `code8`.
    @inline(__always)
    mutating func variable(_ code8: Int) {
        let c = code()
        if c == -1 || c == 0x40 { return }
        if c != code8 || sized8() == nil { ok = false }
    }

    /// A string field: null, absent, or a `str8` of valid UTF-8.
    @inline(__always)
    mutating func string() {
        let c = code()
        if c == -1 || c == 0x40 { return }
        guard c == 0xA1, let bytes = sized8(), TextValidation.isValidUTF8(bytes) else {
            ok = false
            return
        }
    }

    /// A symbol field: null, absent, or a `sym8` of ASCII.
    @inline(__always)
    mutating func symbol() {
        let c = code()
        if c == -1 || c == 0x40 { return }
        guard c == 0xA3, let bytes = sized8(), TextValidation.firstNonASCII(bytes) == nil else {
            ok = false
            return
        }
    }

    /// A timestamp field: null, absent, or `timestamp`.
    @inline(__always)
    mutating func timestamp() {
        let c = code()
        if c == -1 || c == 0x40 { return }
        guard c == 0x83 else {
            ok = false
            return
        }
        skip(8)
    }

    /// A message-id or correlation-id: null, absent, a ulong (`ulong0`, `smallulong`,
    /// `ulong`), a `uuid`, a `vbin8`, or a `str8` of valid UTF-8.
    @inline(__always)
    mutating func messageID() {
        switch code() {
        case -1, 0x40, 0x44: return
        case 0x53: skip(1)
        case 0x80: skip(8)
        case 0x98: skip(16)
        case 0xA0: if sized8() == nil { ok = false }
        case 0xA1:
            guard let bytes = sized8(), TextValidation.isValidUTF8(bytes) else {
                ok = false
                return
            }
        default: ok = false
        }
    }
}
