/// A client's answer to a challenge: `amqp:sasl-response:list` (part 5, section 5.3.3.4).
public struct SASLResponse: Hashable, Sendable {
    /// The response data (mandatory).
    public var response: [UInt8]

    /// Creates a response.
    public init(response: [UInt8]) { self.response = response }

    /// Decodes an `amqp:sasl-response:list`.
    public init(decoding d: DescribedView) throws(DecodeError) {
        var r = try FieldReader(d, code: Descriptors.saslResponse, composite: "sasl-response")
        response = try r.required(try r.binary("response"), "response")
    }

    /// Encodes as an `amqp:sasl-response:list`.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        var w = try FieldWriter(descriptor: Descriptors.saslResponse, &e)
        try w.binary(response, &e)
        try w.finish(&e)
    }
}
