import AMQPCodec

/// Rebuilds an owned value from a view through the cursor API, a second decoding path
/// beside `materialize()`: list and map elements go through `nextEncoded()` and
/// `EncodedValueView.decode()`, map entries through `nextEntry()`, array elements through
/// `ArrayCursor`, and every view's own accessors are checked against each other on the way.
/// Described values it meets are also handed to `CompositeChecks`.
enum Walk {
    static func value(_ view: AMQPValueView) throws(DecodeError) -> AMQPValue {
        switch view {
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
        case .binary(let b):
            let copy = b.array
            expect(copy.count == b.count, "binary copy has \(copy.count) bytes, the view \(b.count)")
            return .binary(copy)
        case .string(let s):
            let text = s.string
            // A String built from valid UTF-8 keeps its bytes; a repaired one (U+FFFD)
            // means the decoder's validation let ill-formed UTF-8 through.
            expect(Array(text.utf8) == Array(s.utf8), "string bytes changed when copied: \(hexBrief(Array(s.utf8))) is not valid UTF-8")
            expect(s.equals(text), "StringView.equals rejects its own text")
            return .string(text)
        case .symbol(let s):
            let symbol = s.symbol
            expect(s.ascii.allSatisfy { $0 < 0x80 }, "symbol holds non-ASCII bytes \(hexBrief(Array(s.ascii)))")
            expect(s.equals(symbol.rawValue), "SymbolView.equals rejects its own text")
            return .symbol(symbol)
        case .list(let list):
            var cursor = list.makeCursor()
            var items: [AMQPValue] = []
            while let encoded = try cursor.nextEncoded() {
                expect(!encoded.bytes.isEmpty, "an encoded list element takes no bytes")
                items.append(try value(try encoded.decode()))
            }
            expect(items.count == list.count, "list of \(list.count) elements yielded \(items.count)")
            expect(cursor.remaining == 0, "list cursor ended with \(cursor.remaining) elements left")
            if list.count <= 64 { expect(try list.elements().count == list.count, "ListView.elements() lost elements") }
            return .list(items)
        case .map(let map):
            expect(map.count % 2 == 0, "map view with an odd count \(map.count)")
            var cursor = map.makeCursor()
            var entries: [AMQPMap.Entry] = []
            while let (k, v) = try cursor.nextEntry() {
                entries.append(AMQPMap.Entry(key: try value(k), value: try value(v)))
            }
            expect(entries.count == map.entryCount, "map of \(map.entryCount) entries yielded \(entries.count)")
            if map.count <= 64 { expect(try map.entries().count == map.entryCount, "MapView.entries() lost entries") }
            return .map(AMQPMap(entries))
        case .array(let array):
            expect(AMQPType(formatCode: array.elementCode) == array.elementType,
                   "array element code 0x\(Hex.encode([array.elementCode])) does not encode \(array.elementType)")
            var cursor = array.makeCursor()
            var items: [AMQPValue] = []
            while let element = try cursor.next() {
                expect(element.type == array.elementType, "array of \(array.elementType) yielded a \(element.typeName)")
                items.append(try value(element))
            }
            expect(items.count == array.count, "array of \(array.count) elements yielded \(items.count)")
            // After the elements, as materialize() does, so both report the same error
            // when the descriptor and an element are both malformed.
            let descriptor = try array.descriptor.map { (d) throws(DecodeError) -> AMQPValue in try Walk.descriptor(d) }
            return .array(AMQPArray(array.elementType, descriptor: descriptor, items))
        case .described(let d):
            let descriptor = try Walk.descriptor(d.descriptor)
            expect(!d.encodedValue.bytes.isEmpty, "a described value's encoding is empty")
            let inner = try value(try d.value())
            CompositeChecks.check(d)
            return .described(descriptor: descriptor, value: inner)
        }
    }

    /// The descriptor as an owned value, checking `knownCode` against `Descriptors`.
    static func descriptor(_ d: DescriptorView) throws(DecodeError) -> AMQPValue {
        switch d {
        case .code(let c):
            expect(d.knownCode == c, "numeric descriptor \(c) reports knownCode \(String(describing: d.knownCode))")
            return .ulong(c)
        case .symbol(let s):
            let name = s.description
            if let code = d.knownCode {
                expect(Descriptors.name(forCode: code) == name, "symbolic descriptor \(name) resolves to code \(code)")
            } else {
                expect(!Descriptors.all.contains { $0.name == name }, "known descriptor name \(name) is not resolved")
            }
            return .symbol(s.symbol)
        case .other(let encoded):
            expect(d.knownCode == nil, "a descriptor of another type has a knownCode")
            let v = try encoded.decode()
            switch v {
            case .ulong, .symbol: oracleFailure("a \(v.typeName) descriptor is classified as .other")
            default: return try value(v)
            }
        }
    }
}
