/// Detaches a link, or closes it: `amqp:detach:list` (part 2, section 2.7.7).
public struct Detach: Hashable, Sendable {
    /// The link (mandatory).
    public var handle: UInt32
    /// The link is closed, not just detached. Default `false`.
    public var closed: Bool
    /// Why the link is detached, when it is an error.
    public var error: AMQPError?

    /// Creates a detach.
    public init(handle: UInt32, closed: Bool = false, error: AMQPError? = nil) {
        self.handle = handle
        self.closed = closed
        self.error = error
    }

    /// Decodes an `amqp:detach:list`.
    public init(decoding d: DescribedView) throws(DecodeError) {
        var r = try FieldReader(d, code: Descriptors.detach, composite: "detach")
        handle = try r.required(try r.uint("handle"), "handle")
        closed = try r.bool("closed") ?? false
        error = try r.error("error")
    }

    /// Encodes as an `amqp:detach:list`, dropping trailing defaults.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        var w = try FieldWriter(descriptor: Descriptors.detach, &e)
        try w.uint(handle, &e)
        try w.bool(closed, default: false, &e)
        try w.error(error, &e)
        try w.finish(&e)
    }
}
