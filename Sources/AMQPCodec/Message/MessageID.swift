/// A message-id or correlation-id (part 3, section 3.2.11–3.2.15): a ulong, a uuid,
/// binary or a string.
public enum MessageID: Hashable, Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// `message-id-ulong`.
    case ulong(UInt64)
    /// `message-id-uuid`.
    case uuid(AMQPUUID)
    /// `message-id-binary`.
    case binary([UInt8])
    /// `message-id-string`.
    case string(String)

    /// A string literal is a string id.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An integer literal is a ulong id.
    public init(integerLiteral value: UInt64) { self = .ulong(value) }

    /// The id as text: the number, the uuid, the binary in hex, or the string.
    public var description: String {
        switch self {
        case .ulong(let v): "\(v)"
        case .uuid(let v): v.description
        case .binary(let v): Hex.encode(v)
        case .string(let v): v
        }
    }

    /// Encodes the id with its type's smallest encoding.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        switch self {
        case .ulong(let v): try e.encode(v)
        case .uuid(let v): try e.encode(v)
        case .binary(let v): try e.encodeBinary(v)
        case .string(let v): try e.encode(v)
        }
    }
}

/// A borrowed message-id or correlation-id, valid while the decoded buffer is.
public enum MessageIDView: CustomStringConvertible {
    /// `message-id-ulong`.
    case ulong(UInt64)
    /// `message-id-uuid`.
    case uuid(AMQPUUID)
    /// `message-id-binary`.
    case binary(BytesView)
    /// `message-id-string`.
    case string(StringView)

    /// An owned copy.
    public func materialize() -> MessageID {
        switch self {
        case .ulong(let v): .ulong(v)
        case .uuid(let v): .uuid(v)
        case .binary(let v): .binary(v.array)
        case .string(let v): .string(v.string)
        }
    }

    /// True when the id has the same type and value as `id`, without copying (for
    /// matching a reply's correlation-id to a request).
    public func equals(_ id: MessageID) -> Bool {
        switch (self, id) {
        case (.ulong(let a), .ulong(let b)): return a == b
        case (.uuid(let a), .uuid(let b)): return a == b
        case (.string(let a), .string(let b)): return a.equals(b)
        case (.binary(let a), .binary(let b)):
            return withArrayBytes(b) { raw in
                raw.count == a.count && (raw.isEmpty || ViewCompare.memcmpEqual(raw.baseAddress!, a.bytes.baseAddress!, raw.count))
            }
        default: return false
        }
    }

    /// The id as text, as `MessageID.description`.
    public var description: String { materialize().description }
}
