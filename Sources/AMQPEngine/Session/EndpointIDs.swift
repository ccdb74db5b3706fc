// Names the application holds for sessions, links and deliveries. Each carries a
// generation so a name kept after its session or link ended cannot reach the next one
// that reuses the channel or handle.

/// A session of a connection, named by the local channel it uses.
public struct SessionID: Hashable, Sendable, CustomStringConvertible {
    /// The channel our frames for this session carry.
    public let channel: UInt16
    /// Tells apart sessions that reuse a channel.
    let generation: UInt32

    init(channel: UInt16, generation: UInt32) {
        self.channel = channel
        self.generation = generation
    }

    /// `session <channel>`.
    public var description: String { "session \(channel)" }
}

/// A link of a session, named by its local handle.
public struct LinkID: Hashable, Sendable, CustomStringConvertible {
    /// The session the link belongs to.
    public let session: SessionID
    /// The handle our frames for this link carry.
    public let handle: UInt32
    /// Tells apart links that reuse a handle.
    let generation: UInt32

    init(session: SessionID, handle: UInt32, generation: UInt32) {
        self.session = session
        self.handle = handle
        self.generation = generation
    }

    /// `link <channel>/<handle>`.
    public var description: String { "link \(session.channel)/\(handle)" }
}

/// A delivery-id: the number a session's sender gives each delivery, in order
/// (part 2, section 2.6.12). Dispositions name deliveries by ranges of these.
public typealias DeliveryNumber = UInt32

/// What `send` returns, to match the delivery with its outcome: the delivery-id is only
/// known once the first frame goes out, so the engine hands out its own number, unique
/// for the life of the connection engine. Strideable, so a range of handles
/// (`LinkEvent.outcomes`) can be walked.
public struct DeliveryHandle: Hashable, Sendable, Strideable, CustomStringConvertible {
    /// The number, counting up from 1.
    public let rawValue: UInt64

    /// Wraps a number (for tests and for applications that persist handles).
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Orders by number, which is the order of the `send` calls.
    public static func < (a: DeliveryHandle, b: DeliveryHandle) -> Bool { a.rawValue < b.rawValue }

    /// The number of `send` calls from `self` to `other`.
    public func distance(to other: DeliveryHandle) -> Int64 { Int64(bitPattern: other.rawValue &- rawValue) }

    /// The handle `n` `send` calls later.
    public func advanced(by n: Int64) -> DeliveryHandle { DeliveryHandle(rawValue: rawValue &+ UInt64(bitPattern: n)) }

    /// `#<number>`.
    public var description: String { "#\(rawValue)" }
}
