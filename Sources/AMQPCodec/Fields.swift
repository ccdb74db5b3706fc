/// AMQP `fields`: a map with symbol keys (connection, session and link properties,
/// error info, node properties), kept in wire order.
public struct Fields: Hashable, Sendable, ExpressibleByDictionaryLiteral, OrderedEntries {
    /// One entry.
    public struct Entry: Hashable, Sendable, KeyedEntry {
        /// The key.
        public var key: Symbol
        /// The value.
        public var value: AMQPValue
        /// Creates an entry.
        public init(key: Symbol, value: AMQPValue) {
            self.key = key
            self.value = value
        }
    }
    /// The entries in wire order.
    public var entries: [Entry]
    /// Creates fields from entries.
    public init(_ entries: [Entry] = []) { self.entries = entries }
    /// Creates fields from a literal, keeping its order.
    public init(dictionaryLiteral elements: (Symbol, AMQPValue)...) {
        entries = elements.map { Entry(key: $0.0, value: $0.1) }
    }

    /// Encodes as a map with symbol keys.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        let m = try e.beginMap()
        for entry in entries {
            try e.encode(entry.key)
            try entry.value.encode(into: &e)
        }
        try e.endMap(m, count: entries.count * 2)
    }

    /// Decodes a map whose keys must all be symbols.
    public init(_ map: MapView) throws(DecodeError) {
        var out: [Entry] = []
        out.reserveCapacity(map.entryCount)
        var c = map.makeCursor()
        while let (k, v) = try c.nextEntry() {
            guard case .symbol(let key) = k else {
                throw DecodeError(.unexpectedType, at: map.bodyOffset, detail: "fields key is \(k.typeName), not symbol")
            }
            out.append(Entry(key: key.symbol, value: try v.materialize()))
        }
        entries = out
    }
}

/// An AMQP `error` composite (part 2, section 2.8.14): a condition, a description and
/// extra information, carried by CLOSE, END, DETACH and the rejected outcome.
public struct AMQPError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The condition, e.g. `amqp:not-found`.
    public var condition: ErrorCondition
    /// Human-readable text.
    public var errorDescription: String?
    /// More detail, by the condition's conventions (e.g. redirect host and port).
    public var info: Fields?

    /// Creates an error.
    public init(condition: ErrorCondition, description: String? = nil, info: Fields? = nil) {
        self.condition = condition
        self.errorDescription = description
        self.info = info
    }

    /// `condition: description`.
    public var description: String {
        errorDescription.map { "\(condition): \($0)" } ?? "\(condition)"
    }
}
