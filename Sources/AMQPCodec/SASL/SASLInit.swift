/// The client's choice of mechanism and its first response: `amqp:sasl-init:list`
/// (part 5, section 5.3.3.2).
public struct SASLInit: Hashable, Sendable {
    /// The chosen mechanism, e.g. `PLAIN` (mandatory).
    public var mechanism: Symbol
    /// The mechanism's initial response (for PLAIN: `\0user\0password`).
    public var initialResponse: [UInt8]?
    /// The host the client wants to reach, as in a URL.
    public var hostname: String?

    /// Creates a sasl-init.
    public init(mechanism: Symbol, initialResponse: [UInt8]? = nil, hostname: String? = nil) {
        self.mechanism = mechanism
        self.initialResponse = initialResponse
        self.hostname = hostname
    }

    /// Decodes an `amqp:sasl-init:list`.
    public init(decoding d: DescribedView) throws(DecodeError) {
        var r = try FieldReader(d, code: Descriptors.saslInit, composite: "sasl-init")
        mechanism = try r.required(try r.symbol("mechanism"), "mechanism")
        initialResponse = try r.binary("initial-response")
        hostname = try r.string("hostname")
    }

    /// Encodes as an `amqp:sasl-init:list`, dropping trailing absent fields.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        var w = try FieldWriter(descriptor: Descriptors.saslInit, &e)
        try w.symbol(mechanism, &e)
        try w.binary(initialResponse, &e)
        try w.string(hostname, &e)
        try w.finish(&e)
    }
}
