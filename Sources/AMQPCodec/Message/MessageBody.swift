/// A message body (part 3, section 3.2): one or more data sections, one or more
/// amqp-sequence sections, or exactly one amqp-value section.
public enum MessageBody: Hashable, Sendable {
    /// Opaque bytes, one array per `data` section (at least one).
    case data([[UInt8]])
    /// Structured data, one list of values per `amqp-sequence` section (at least one).
    case sequence([[AMQPValue]])
    /// One AMQP value of any type (`amqp-value`).
    case value(AMQPValue)

    /// Encodes the body sections; an empty `data` or `sequence` (no sections at all) is
    /// refused, since the specification requires at least one.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        switch self {
        case .data(let sections):
            guard !sections.isEmpty else { throw EncodeError(.invalidFieldValue, detail: "body: data needs at least one section") }
            // Index loops, not `for … in`: see Annotations.encode.
            for i in 0..<sections.count {
                try e.encodeDescriptor(Descriptors.data)
                try e.encodeBinary(sections[i])
            }
        case .sequence(let sections):
            guard !sections.isEmpty else {
                throw EncodeError(.invalidFieldValue, detail: "body: amqp-sequence needs at least one section")
            }
            for i in 0..<sections.count {
                let items = sections[i]
                try e.encodeDescriptor(Descriptors.amqpSequence)
                let m = try e.beginList()
                for k in 0..<items.count { try items[k].encode(into: &e) }
                try e.endList(m, count: items.count)
            }
        case .value(let value):
            try e.encodeDescriptor(Descriptors.amqpValue)
            try value.encode(into: &e)
        }
    }
}
