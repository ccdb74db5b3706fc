extension AMQPValue {
    /// Encodes the value with its smallest encoding.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        switch self {
        case .null: try e.encodeNull()
        case .boolean(let v): try e.encode(v)
        case .ubyte(let v): try e.encode(v)
        case .ushort(let v): try e.encode(v)
        case .uint(let v): try e.encode(v)
        case .ulong(let v): try e.encode(v)
        case .byte(let v): try e.encode(v)
        case .short(let v): try e.encode(v)
        case .int(let v): try e.encode(v)
        case .long(let v): try e.encode(v)
        case .float(let v): try e.encode(v)
        case .double(let v): try e.encode(v)
        case .decimal32(let v): try e.encode(v)
        case .decimal64(let v): try e.encode(v)
        case .decimal128(let v): try e.encode(v)
        case .char(let v): try e.encode(v)
        case .timestamp(let v): try e.encode(v)
        case .uuid(let v): try e.encode(v)
        case .binary(let v): try e.encodeBinary(v)
        case .string(let v): try e.encode(v)
        case .symbol(let v): try e.encode(v)
        case .list(let items):
            let m = try e.beginList()
            for item in items { try item.encode(into: &e) }
            try e.endList(m, count: items.count)
        case .map(let map): try map.encode(into: &e)
        case .array(let array): try array.encode(into: &e)
        case .described(let descriptor, let value):
            try e.writeByte(FormatCode.described)
            try descriptor.encode(into: &e)
            try value.encode(into: &e)
        }
    }

    /// The value's encoding as a new array.
    public func encoded() throws(EncodeError) -> [UInt8] {
        try AMQPEncoder.encode { (e) throws(EncodeError) in try encode(into: &e) }
    }

    /// Decodes one value that fills `bytes` exactly.
    public init(decoding bytes: [UInt8], limits: DecodeLimits = .default) throws(DecodeError) {
        self = try withArrayBytes(bytes) { (raw) throws(DecodeError) -> AMQPValue in
            let (view, consumed) = try ValueDecoder.decode(raw, limits: limits)
            guard consumed == raw.count else { throw DecodeError(.sizeMismatch, at: consumed, detail: "bytes after the value") }
            return try view.materialize()
        }
    }
}

extension AMQPMap {
    /// Encodes as `map8` or `map32`.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        let m = try e.beginMap()
        for entry in entries {
            try entry.key.encode(into: &e)
            try entry.value.encode(into: &e)
        }
        try e.endMap(m, count: entries.count * 2)
    }
}

extension AMQPArray {
    /// Encodes as `array8` or `array32`, with the narrowest element constructor that every
    /// element fits (e.g. `smalluint` when all are below 256).
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        let code = try elementCode()
        let m = try e.beginArray()
        if let descriptor {
            try e.writeByte(FormatCode.described)
            try descriptor.encode(into: &e)
        }
        try e.writeByte(code)
        for element in elements { try Self.encodeBody(element, code: code, into: &e) }
        try e.endArray(m, count: elements.count)
    }

    /// Picks the element constructor and checks that every element is of `elementType`.
    func elementCode() throws(EncodeError) -> UInt8 {
        for element in elements where element.type != elementType {
            throw EncodeError(.heterogeneousArray, detail: "\(element.type?.rawValue ?? "described") in an array of \(elementType.rawValue)")
        }
        func all(_ test: (AMQPValue) -> Bool) -> Bool { elements.allSatisfy(test) }
        func variableFits(_ count: (AMQPValue) -> Int) -> Bool { elements.allSatisfy { count($0) <= 255 } }
        switch elementType {
        case .null: return FormatCode.null
        case .boolean: return FormatCode.boolean
        case .ubyte: return FormatCode.ubyte
        case .ushort: return FormatCode.ushort
        case .uint: return all { if case .uint(let v) = $0 { v < 256 } else { false } } ? FormatCode.smallUInt : FormatCode.uint
        case .ulong: return all { if case .ulong(let v) = $0 { v < 256 } else { false } } ? FormatCode.smallULong : FormatCode.ulong
        case .byte: return FormatCode.byte
        case .short: return FormatCode.short
        case .int: return all { if case .int(let v) = $0 { v >= -128 && v <= 127 } else { false } } ? FormatCode.smallInt : FormatCode.int
        case .long: return all { if case .long(let v) = $0 { v >= -128 && v <= 127 } else { false } } ? FormatCode.smallLong : FormatCode.long
        case .float: return FormatCode.float
        case .double: return FormatCode.double
        case .decimal32: return FormatCode.decimal32
        case .decimal64: return FormatCode.decimal64
        case .decimal128: return FormatCode.decimal128
        case .char: return FormatCode.char
        case .timestamp: return FormatCode.timestamp
        case .uuid: return FormatCode.uuid
        case .binary: return variableFits { if case .binary(let b) = $0 { b.count } else { 0 } } ? FormatCode.vbin8 : FormatCode.vbin32
        case .string: return variableFits { if case .string(let s) = $0 { s.utf8.count } else { 0 } } ? FormatCode.str8 : FormatCode.str32
        case .symbol: return variableFits { if case .symbol(let s) = $0 { s.rawValue.utf8.count } else { 0 } } ? FormatCode.sym8 : FormatCode.sym32
        // Compound elements always take the 32-bit form: one constructor must fit all.
        case .list: return FormatCode.list32
        case .map: return FormatCode.map32
        case .array: return FormatCode.array32
        }
    }

    /// Writes one element without its constructor.
    static func encodeBody(_ v: AMQPValue, code: UInt8, into e: inout AMQPEncoder) throws(EncodeError) {
        // Encode with a constructor into the same buffer, then drop or rewrite it: the
        // primitive bodies are identical, only the constructor differs.
        switch v {
        case .null: return
        case .boolean(let b): try e.writeByte(b ? 1 : 0)
        case .ubyte(let x): try e.writeByte(x)
        case .ushort(let x): try e.writeBigEndian(x)
        case .uint(let x): if code == FormatCode.smallUInt { try e.writeByte(UInt8(x)) } else { try e.writeBigEndian(x) }
        case .ulong(let x): if code == FormatCode.smallULong { try e.writeByte(UInt8(x)) } else { try e.writeBigEndian(x) }
        case .byte(let x): try e.writeByte(UInt8(bitPattern: x))
        case .short(let x): try e.writeBigEndian(x)
        case .int(let x): if code == FormatCode.smallInt { try e.writeByte(UInt8(bitPattern: Int8(x))) } else { try e.writeBigEndian(x) }
        case .long(let x): if code == FormatCode.smallLong { try e.writeByte(UInt8(bitPattern: Int8(x))) } else { try e.writeBigEndian(x) }
        case .float(let x): try e.writeBigEndian(x.bitPattern)
        case .double(let x): try e.writeBigEndian(x.bitPattern)
        case .decimal32(let x): try e.writeBigEndian(x.bits)
        case .decimal64(let x): try e.writeBigEndian(x.bits)
        case .decimal128(let x):
            try e.writeBigEndian(x.high)
            try e.writeBigEndian(x.low)
        case .char(let x): try e.writeBigEndian(x.value)
        case .timestamp(let x): try e.writeBigEndian(x.millisecondsSinceEpoch)
        case .uuid(let x):
            try e.writeBigEndian(x.high)
            try e.writeBigEndian(x.low)
        case .binary(let b): try withArrayBytes(b) { (raw) throws(EncodeError) in try writeSized(raw, wide: code == FormatCode.vbin32, into: &e) }
        case .string(let s): try withUTF8Bytes(s) { (u) throws(EncodeError) in try writeSized(u, wide: code == FormatCode.str32, into: &e) }
        case .symbol(let sym):
            try withUTF8Bytes(sym.rawValue) { (u) throws(EncodeError) in
                guard TextValidation.firstNonASCII(u) == nil else { throw EncodeError(.nonASCIISymbol) }
                try writeSized(u, wide: code == FormatCode.sym32, into: &e)
            }
        case .list(let items):
            let m = try e.beginWideElement()
            for item in items { try item.encode(into: &e) }
            try e.endWideElement(m, count: items.count)
        case .map(let map):
            let m = try e.beginWideElement()
            for entry in map.entries {
                try entry.key.encode(into: &e)
                try entry.value.encode(into: &e)
            }
            try e.endWideElement(m, count: map.entries.count * 2)
        case .array(let inner):
            let innerCode = try inner.elementCode()
            let m = try e.beginWideElement()
            if let d = inner.descriptor {
                try e.writeByte(FormatCode.described)
                try d.encode(into: &e)
            }
            try e.writeByte(innerCode)
            for element in inner.elements { try encodeBody(element, code: innerCode, into: &e) }
            try e.endWideElement(m, count: inner.elements.count)
        case .described:
            throw EncodeError(.heterogeneousArray, detail: "described element; put the descriptor on the array")
        }
    }

    static func writeSized(_ bytes: UnsafeRawBufferPointer, wide: Bool, into e: inout AMQPEncoder) throws(EncodeError) {
        if wide {
            guard bytes.count <= UInt32.max else { throw EncodeError(.valueTooLarge) }
            try e.writeBigEndian(UInt32(bytes.count))
        } else {
            try e.writeByte(UInt8(bytes.count))
        }
        try e.writeBytes(bytes)
    }
}

extension AMQPValueView {
    /// An owned copy of the value and everything inside it, checking every nested
    /// element (depth and element limits apply).
    public func materialize() throws(DecodeError) -> AMQPValue {
        switch self {
        case .null: return .null
        case .boolean(let v): return .boolean(v)
        case .ubyte(let v): return .ubyte(v)
        case .ushort(let v): return .ushort(v)
        case .uint(let v): return .uint(v)
        case .ulong(let v): return .ulong(v)
        case .byte(let v): return .byte(v)
        case .short(let v): return .short(v)
        case .int(let v): return .int(v)
        case .long(let v): return .long(v)
        case .float(let v): return .float(v)
        case .double(let v): return .double(v)
        case .decimal32(let v): return .decimal32(v)
        case .decimal64(let v): return .decimal64(v)
        case .decimal128(let v): return .decimal128(v)
        case .char(let v): return .char(v)
        case .timestamp(let v): return .timestamp(v)
        case .uuid(let v): return .uuid(v)
        case .binary(let v): return .binary(v.array)
        case .string(let v): return .string(v.string)
        case .symbol(let v): return .symbol(v.symbol)
        case .list(let list):
            var items: [AMQPValue] = []
            items.reserveCapacity(list.count)
            var c = list.makeCursor()
            while let v = try c.next() { items.append(try v.materialize()) }
            return .list(items)
        case .map(let map):
            var entries: [AMQPMap.Entry] = []
            entries.reserveCapacity(map.entryCount)
            var c = map.makeCursor()
            while let (k, v) = try c.nextEntry() {
                entries.append(AMQPMap.Entry(key: try k.materialize(), value: try v.materialize()))
            }
            return .map(AMQPMap(entries))
        case .array(let array):
            var items: [AMQPValue] = []
            items.reserveCapacity(array.count)
            var c = array.makeCursor()
            while let v = try c.next() { items.append(try v.materialize()) }
            return .array(AMQPArray(array.elementType, descriptor: try array.descriptor?.materialize(), items))
        case .described(let d):
            return .described(descriptor: try d.descriptor.materialize(), value: try d.value().materialize())
        }
    }
}

extension DescriptorView {
    /// The descriptor as an owned value (symbolic descriptors stay symbols).
    public func materialize() throws(DecodeError) -> AMQPValue {
        switch self {
        case .code(let c): return .ulong(c)
        case .symbol(let s): return .symbol(s.symbol)
        case .other(let v): return try v.decode().materialize()
        }
    }
}
