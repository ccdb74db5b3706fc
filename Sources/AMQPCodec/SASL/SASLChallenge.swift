/// A server's security challenge: `amqp:sasl-challenge:list` (part 5, section 5.3.3.3).
public struct SASLChallenge: Hashable, Sendable {
    /// The challenge data (mandatory).
    public var challenge: [UInt8]

    /// Creates a challenge.
    public init(challenge: [UInt8]) { self.challenge = challenge }

    /// Decodes an `amqp:sasl-challenge:list`.
    public init(decoding d: DescribedView) throws(DecodeError) {
        var r = try FieldReader(d, code: Descriptors.saslChallenge, composite: "sasl-challenge")
        challenge = try r.required(try r.binary("challenge"), "challenge")
    }

    /// Encodes as an `amqp:sasl-challenge:list`.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        var w = try FieldWriter(descriptor: Descriptors.saslChallenge, &e)
        try w.binary(challenge, &e)
        try w.finish(&e)
    }
}
