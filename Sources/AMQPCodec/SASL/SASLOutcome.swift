/// The result of a SASL exchange (part 5, section 5.3.3.6), a `ubyte`.
public enum SASLCode: UInt8, Hashable, Sendable {
    /// Authentication succeeded.
    case ok = 0
    /// Authentication failed: bad credentials.
    case auth = 1
    /// A system error that will not go away by itself.
    case sys = 2
    /// A permanent system error.
    case sysPerm = 3
    /// A transient system error; retrying may succeed.
    case sysTemp = 4
}

/// The server's verdict: `amqp:sasl-outcome:list` (part 5, section 5.3.3.5).
public struct SASLOutcome: Hashable, Sendable {
    /// The result (mandatory).
    public var code: SASLCode
    /// Extra data for the client on success, by the mechanism's rules.
    public var additionalData: [UInt8]?

    /// Creates an outcome.
    public init(code: SASLCode, additionalData: [UInt8]? = nil) {
        self.code = code
        self.additionalData = additionalData
    }

    /// Decodes an `amqp:sasl-outcome:list`; a code above 4 is `invalidFieldValue`.
    public init(decoding d: DescribedView) throws(DecodeError) {
        var r = try FieldReader(d, code: Descriptors.saslOutcome, composite: "sasl-outcome")
        let raw = try r.required(try r.ubyte("code"), "code")
        guard let code = SASLCode(rawValue: raw) else { throw r.invalid("code", "\(raw) is not a sasl-code") }
        self.code = code
        additionalData = try r.binary("additional-data")
    }

    /// Encodes as an `amqp:sasl-outcome:list`.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        var w = try FieldWriter(descriptor: Descriptors.saslOutcome, &e)
        try w.ubyte(code.rawValue, &e)
        try w.binary(additionalData, &e)
        try w.finish(&e)
    }
}
