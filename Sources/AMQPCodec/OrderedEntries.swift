/// A key/value pair of one of the codec's ordered maps.
public protocol KeyedEntry {
    /// The key's type.
    associatedtype Key: Equatable
    /// The key.
    var key: Key { get }
    /// The value.
    var value: AMQPValue { get set }
    /// Creates an entry.
    init(key: Key, value: AMQPValue)
}

/// The ordered maps AMQP uses for fields, annotations and application properties: entries
/// in wire order (AMQP maps are ordered), looked up by key.
///
/// The three differ in their key type and encoding rules, and share the lookup here.
public protocol OrderedEntries {
    /// The entry type.
    associatedtype Entry: KeyedEntry
    /// The entries in wire order.
    var entries: [Entry] { get set }
}

extension OrderedEntries {
    /// Number of entries.
    public var count: Int { entries.count }

    /// True when there are no entries.
    public var isEmpty: Bool { entries.isEmpty }

    /// The value of the first entry with `key`; setting appends a new key or replaces the
    /// value in place, and setting `nil` removes the entry.
    public subscript(key: Entry.Key) -> AMQPValue? {
        get { entries.first { $0.key == key }?.value }
        set {
            if let i = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[i].value = newValue } else { entries.remove(at: i) }
            } else if let newValue {
                entries.append(Entry(key: key, value: newValue))
            }
        }
    }
}
