/// Closes a connection: `amqp:close:list` (part 2, section 2.7.9).
public struct Close: Hashable, Sendable {
    /// Why the connection closes, when it is an error.
    public var error: AMQPError?

    /// Creates a close.
    public init(error: AMQPError? = nil) { self.error = error }

    /// Decodes an `amqp:close:list`.
    public init(decoding d: DescribedView) throws(DecodeError) {
        var r = try FieldReader(d, code: Descriptors.close, composite: "close")
        error = try r.error("error")
    }

    /// Encodes as an `amqp:close:list` (an empty list without an error).
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        var w = try FieldWriter(descriptor: Descriptors.close, &e)
        try w.error(error, &e)
        try w.finish(&e)
    }
}
