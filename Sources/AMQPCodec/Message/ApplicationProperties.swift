// Part 3, section 3.2.5: "The keys of this map are restricted to be of type string
// (which excludes the possibility of a null key) and the values are restricted to be of
// simple types only, that is, excluding map, list, and array types."
//
// Both directions enforce this: encoding refuses a compound value, and a received message
// carrying one is a decode error naming the key, so filters and selectors downstream can
// rely on the restriction. A described value counts as simple when its underlying value
// is (brokers send e.g. Service Bus's described `com.microsoft:datetime-offset` longs).
// `null` is a simple value and is allowed.

/// The application-properties section: string keys and simple values, in wire order.
public struct ApplicationProperties: Hashable, Sendable, ExpressibleByDictionaryLiteral, OrderedEntries {
    /// One key/value pair.
    public struct Entry: Hashable, Sendable, KeyedEntry {
        /// The key.
        public var key: String
        /// The value: any type but list, map and array.
        public var value: AMQPValue
        /// Creates an entry.
        public init(key: String, value: AMQPValue) {
            self.key = key
            self.value = value
        }
    }

    /// The entries in wire order.
    public var entries: [Entry]

    /// Creates properties from entries.
    public init(_ entries: [Entry] = []) { self.entries = entries }
    /// Creates properties from a literal, keeping its order.
    public init(dictionaryLiteral elements: (String, AMQPValue)...) {
        entries = elements.map { Entry(key: $0.0, value: $0.1) }
    }


    /// Encodes the map (without a descriptor); a list, map or array value is refused
    /// with `EncodeError.invalidFieldValue`.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        let m = try e.beginMap()
        for i in 0..<entries.count {  // not `for … in`: see Annotations.encode
            let entry = entries[i]
            guard entry.value.isSimple else {
                throw EncodeError(
                    .invalidFieldValue,
                    detail: "application-properties value for \"\(entry.key)\" is a \(entry.value.type?.rawValue ?? "described compound"), not a simple type")
            }
            try e.encode(entry.key)
            try entry.value.encode(into: &e)
        }
        try e.endMap(m, count: entries.count &* 2)
    }
}

/// A borrowed application-properties map whose keys were checked to be strings and whose
/// values were checked to be simple when the message view was made; lookups and
/// iteration allocate nothing.
public struct ApplicationPropertiesView: Sequence {
    /// The underlying map.
    public let map: MapView

    init(validating map: MapView) throws(DecodeError) {
        var c = map.makeCursor()
        while true {
            let at = c.reader.absoluteOffset
            guard let (k, v) = try c.nextEntry() else { break }
            guard case .string(let key) = k else {
                throw DecodeError(.unexpectedType, at: at, detail: "application-properties key is \(k.typeName), expected string")
            }
            guard try v.isSimple() else {
                throw DecodeError(
                    .invalidFieldValue, at: at,
                    detail: "application-properties value for \"\(key.string)\" is \(v.typeName), not a simple type",
                    condition: .invalidField)
            }
            try v.validateDeep()
        }
        self.map = map
    }

    /// Number of entries.
    public var count: Int { map.entryCount }
    /// True when there are no entries.
    public var isEmpty: Bool { map.count == 0 }

    /// The value for `key`, compared byte for byte without building a `String`.
    public subscript(key: String) -> AMQPValueView? {
        for (k, v) in self where k.equals(key) { return v }
        return nil
    }

    /// Walks the entries in wire order.
    public struct Iterator: IteratorProtocol {
        var cursor: ValueCursor
        /// The next entry, or `nil` after the last.
        public mutating func next() -> (key: StringView, value: AMQPValueView)? {
            // Checked in full when the view was made: `try?` cannot fire.
            guard let entry = try? cursor.nextEntry(), case .string(let k) = entry.key else { return nil }
            return (k, entry.value)
        }
    }

    /// An iterator over the entries.
    public func makeIterator() -> Iterator { Iterator(cursor: map.makeCursor()) }

    /// An owned copy.
    public func materialize() throws(DecodeError) -> ApplicationProperties {
        var out: [ApplicationProperties.Entry] = []
        out.reserveCapacity(count)
        for (k, v) in self { out.append(ApplicationProperties.Entry(key: k.string, value: try v.materialize())) }
        return ApplicationProperties(out)
    }
}
