/// Ends a session: `amqp:end:list` (part 2, section 2.7.8).
public struct End: Hashable, Sendable {
    /// Why the session ends, when it is an error.
    public var error: AMQPError?

    /// Creates an end.
    public init(error: AMQPError? = nil) { self.error = error }

    /// Decodes an `amqp:end:list`.
    public init(decoding d: DescribedView) throws(DecodeError) {
        var r = try FieldReader(d, code: Descriptors.end, composite: "end")
        error = try r.error("error")
    }

    /// Encodes as an `amqp:end:list` (an empty list without an error).
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        var w = try FieldWriter(descriptor: Descriptors.end, &e)
        try w.error(error, &e)
        try w.finish(&e)
    }
}
