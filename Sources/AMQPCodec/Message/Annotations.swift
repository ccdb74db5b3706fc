/// A key of an `annotations` map (part 3, section 3.2.10): a symbol or a ulong.
///
/// Every ulong key and every symbol key not starting with `x-` is reserved for the
/// specification and its extensions; applications use `x-` symbols.
public enum AnnotationKey: Hashable, Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// A symbolic key, e.g. `x-opt-partition-key`.
    case symbol(Symbol)
    /// A numeric key (reserved).
    case ulong(UInt64)

    /// A string literal is a symbol key.
    public init(stringLiteral value: String) { self = .symbol(Symbol(value)) }
    /// An integer literal is a ulong key.
    public init(integerLiteral value: UInt64) { self = .ulong(value) }

    /// The symbol's text or the number.
    public var description: String {
        switch self {
        case .symbol(let s): s.rawValue
        case .ulong(let v): "\(v)"
        }
    }
}

/// An `annotations` map, in wire order: the delivery-annotations, message-annotations
/// and footer sections.
public struct Annotations: Hashable, Sendable, ExpressibleByDictionaryLiteral, OrderedEntries {
    /// One key/value pair.
    public struct Entry: Hashable, Sendable, KeyedEntry {
        /// The key.
        public var key: AnnotationKey
        /// The value, of any type.
        public var value: AMQPValue
        /// Creates an entry.
        public init(key: AnnotationKey, value: AMQPValue) {
            self.key = key
            self.value = value
        }
    }

    /// The entries in wire order.
    public var entries: [Entry]

    /// Creates annotations from entries.
    public init(_ entries: [Entry] = []) { self.entries = entries }
    /// Creates annotations from a literal, keeping its order.
    public init(dictionaryLiteral elements: (AnnotationKey, AMQPValue)...) {
        entries = elements.map { Entry(key: $0.0, value: $0.1) }
    }


    /// Encodes the map (without a descriptor).
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        let m = try e.beginMap()
        // Index loops: `for … in` over an array allocates per element in unoptimised
        // builds, and the tests count allocations in those.
        for i in 0..<entries.count {
            let entry = entries[i]
            switch entry.key {
            case .symbol(let s): try e.encode(s)
            case .ulong(let v): try e.encode(v)
            }
            try entry.value.encode(into: &e)
        }
        try e.endMap(m, count: entries.count &* 2)
    }

    /// Encodes the map as `section` (delivery-annotations, message-annotations or footer).
    func encode(as section: MessageSection, into e: inout AMQPEncoder) throws(EncodeError) {
        try e.encodeDescriptor(section.descriptor)
        try encode(into: &e)
    }
}

/// A borrowed annotation key.
public enum AnnotationKeyView: CustomStringConvertible {
    /// A symbolic key.
    case symbol(SymbolView)
    /// A numeric key.
    case ulong(UInt64)

    /// An owned copy.
    public func materialize() -> AnnotationKey {
        switch self {
        case .symbol(let s): .symbol(s.symbol)
        case .ulong(let v): .ulong(v)
        }
    }

    /// The symbol's text or the number.
    public var description: String { materialize().description }
}

/// A borrowed `annotations` map whose keys were checked to be symbols or ulongs and
/// whose values were decoded in full when the message view was made; iterating it
/// allocates nothing.
public struct AnnotationsView: Sequence {
    /// The underlying map.
    public let map: MapView

    /// Checks every key and value of `map` as the annotations of `section`.
    init(validating map: MapView, section: MessageSection) throws(DecodeError) {
        var c = map.makeCursor()
        while let (k, v) = try c.nextEntry() {
            switch k {
            case .symbol, .ulong: break
            default:
                throw DecodeError(
                    .unexpectedType, at: c.reader.absoluteOffset,
                    detail: "\(section.name) key is \(k.typeName), expected symbol or ulong")
            }
            try v.validateDeep()
        }
        self.map = map
    }

    /// Number of entries.
    public var count: Int { map.entryCount }
    /// True when there are no entries.
    public var isEmpty: Bool { map.count == 0 }

    /// The value for the symbol key `key` (e.g. `x-opt-partition-key`), without copying.
    public subscript(symbol key: String) -> AMQPValueView? {
        for (k, v) in self {
            if case .symbol(let s) = k, s.equals(key) { return v }
        }
        return nil
    }

    /// The value for the ulong key `key`.
    public subscript(ulong key: UInt64) -> AMQPValueView? {
        for (k, v) in self {
            if case .ulong(let x) = k, x == key { return v }
        }
        return nil
    }

    /// Walks the entries in wire order.
    public struct Iterator: IteratorProtocol {
        var cursor: ValueCursor
        /// The next entry, or `nil` after the last.
        public mutating func next() -> (key: AnnotationKeyView, value: AMQPValueView)? {
            // The map was decoded in full when the view was made, so this cannot fail;
            // `try?` only turns the impossible into the end of the walk.
            guard let entry = try? cursor.nextEntry() else { return nil }
            switch entry.key {
            case .symbol(let s): return (.symbol(s), entry.value)
            case .ulong(let x): return (.ulong(x), entry.value)
            default: return nil
            }
        }
    }

    /// An iterator over the entries.
    public func makeIterator() -> Iterator { Iterator(cursor: map.makeCursor()) }

    /// An owned copy.
    public func materialize() throws(DecodeError) -> Annotations {
        var out: [Annotations.Entry] = []
        out.reserveCapacity(count)
        for (k, v) in self { out.append(Annotations.Entry(key: k.materialize(), value: try v.materialize())) }
        return Annotations(out)
    }
}
