/// The server's offer of SASL mechanisms: `amqp:sasl-mechanisms:list`
/// (part 5, section 5.3.3.1).
public struct SASLMechanisms: Hashable, Sendable {
    /// The mechanisms the server supports, e.g. `PLAIN`, `ANONYMOUS` (mandatory, and
    /// never empty: a server that needs no authentication offers `ANONYMOUS`).
    public var saslServerMechanisms: [Symbol]

    /// Creates the offer.
    public init(saslServerMechanisms: [Symbol]) { self.saslServerMechanisms = saslServerMechanisms }

    /// Decodes an `amqp:sasl-mechanisms:list`; a single symbol counts as a list of one.
    /// Null is `missingMandatoryField`, an empty array `invalidFieldValue`.
    public init(decoding d: DescribedView) throws(DecodeError) {
        var r = try FieldReader(d, code: Descriptors.saslMechanisms, composite: "sasl-mechanisms")
        saslServerMechanisms = try r.required(try r.symbols("sasl-server-mechanisms"), "sasl-server-mechanisms")
        if saslServerMechanisms.isEmpty { throw r.invalid("sasl-server-mechanisms", "empty") }
    }

    /// Encodes as an `amqp:sasl-mechanisms:list`. Throws `invalidFieldValue` when there
    /// is no mechanism.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        guard !saslServerMechanisms.isEmpty else {
            throw EncodeError(.invalidFieldValue, detail: "sasl-mechanisms.sasl-server-mechanisms: empty")
        }
        var w = try FieldWriter(descriptor: Descriptors.saslMechanisms, &e)
        try w.symbols(saslServerMechanisms, &e)
        try w.finish(&e)
    }
}
