/// A borrowed message body, checked in full when the message view was made.
public enum MessageBodyView {
    /// One or more `data` sections.
    case data(DataSectionsView)
    /// One or more `amqp-sequence` sections.
    case sequence(SequenceSectionsView)
    /// The `amqp-value` section's value.
    case value(AMQPValueView)

    /// An owned copy.
    public func materialize() throws(DecodeError) -> MessageBody {
        switch self {
        case .data(let sections):
            var out: [[UInt8]] = []
            out.reserveCapacity(sections.count)
            for bytes in sections { out.append(bytes.array) }
            return .data(out)
        case .sequence(let sections):
            var out: [[AMQPValue]] = []
            out.reserveCapacity(sections.count)
            for list in sections {
                var items: [AMQPValue] = []
                items.reserveCapacity(list.count)
                var c = list.makeCursor()
                while let v = try c.next() { items.append(try v.materialize()) }
                out.append(items)
            }
            return .sequence(out)
        case .value(let v):
            return .value(try v.materialize())
        }
    }
}

/// The consecutive body sections of one kind, as they lie in the payload.
///
/// Iterating re-reads the sections from the payload (they were checked when the message
/// view was made), so a body of any number of sections is described in a fixed size and
/// walked without allocating.
struct BodyRegion {
    /// The sections' bytes, descriptors included.
    let bytes: UnsafeRawBufferPointer
    /// Absolute offset of `bytes[0]`.
    let offset: Int
    let limits: DecodeLimits

    /// Walks the sections' described values.
    struct Walker {
        var reader: ByteReader
        let limits: DecodeLimits
        mutating func next() -> AMQPValueView? {
            guard !reader.isAtEnd,
                case .described(let d)? = try? ValueDecoder.decode(&reader, depth: 1, limits: limits)
            else { return nil }
            return try? d.value()
        }
    }

    func makeWalker() -> Walker { Walker(reader: ByteReader(bytes, baseOffset: offset), limits: limits) }
}

/// One or more `data` sections: the body's bytes in pieces, each borrowed from the
/// payload.
public struct DataSectionsView: Sequence {
    let region: BodyRegion
    /// Number of `data` sections (at least one).
    public let count: Int
    /// Total bytes across all sections.
    public let byteCount: Int
    /// The first section's bytes (the whole body in the usual one-section case).
    public let first: BytesView

    /// Walks the sections in order.
    public struct Iterator: IteratorProtocol {
        var walker: BodyRegion.Walker
        /// The next section's bytes, or `nil` after the last.
        public mutating func next() -> BytesView? {
            guard case .binary(let b)? = walker.next() else { return nil }
            return b
        }
    }

    /// An iterator over the sections' bytes.
    public func makeIterator() -> Iterator { Iterator(walker: region.makeWalker()) }
    /// `count`, without walking.
    public var underestimatedCount: Int { count }

    /// Copies every section's bytes, in order, into `buffer`, which must hold at least
    /// `byteCount` bytes; returns the number copied.
    @discardableResult
    public func copyBytes(to buffer: UnsafeMutableRawBufferPointer) -> Int {
        var n = 0
        for piece in self where !piece.bytes.isEmpty {
            let k = Swift.min(piece.count, buffer.count &- n)
            guard k > 0 else { break }
            (buffer.baseAddress! + n).copyMemory(from: piece.bytes.baseAddress!, byteCount: k)
            n &+= k
        }
        return n
    }
}

/// One or more `amqp-sequence` sections, each a borrowed list.
public struct SequenceSectionsView: Sequence {
    let region: BodyRegion
    /// Number of `amqp-sequence` sections (at least one).
    public let count: Int

    /// Walks the sections in order.
    public struct Iterator: IteratorProtocol {
        var walker: BodyRegion.Walker
        /// The next section's list, or `nil` after the last.
        public mutating func next() -> ListView? {
            guard case .list(let l)? = walker.next() else { return nil }
            return l
        }
    }

    /// An iterator over the sections' lists.
    public func makeIterator() -> Iterator { Iterator(walker: region.makeWalker()) }
    /// `count`, without walking.
    public var underestimatedCount: Int { count }
}
