/// The sections of an AMQP message (part 3, section 3.2), in the order they must appear.
///
/// A message is a run of described values, each one of these sections: zero or one of
/// each of header, delivery-annotations, message-annotations, properties and
/// application-properties, then the body (one or more `data`, one or more
/// `amqp-sequence`, or exactly one `amqp-value`), then zero or one footer.
public enum MessageSection: Int, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// `amqp:header:list` (0x70).
    case header
    /// `amqp:delivery-annotations:map` (0x71).
    case deliveryAnnotations
    /// `amqp:message-annotations:map` (0x72).
    case messageAnnotations
    /// `amqp:properties:list` (0x73).
    case properties
    /// `amqp:application-properties:map` (0x74).
    case applicationProperties
    /// `amqp:data:binary` (0x75), a body section.
    case data
    /// `amqp:amqp-sequence:list` (0x76), a body section.
    case amqpSequence
    /// `amqp:amqp-value:*` (0x77), a body section.
    case amqpValue
    /// `amqp:footer:map` (0x78).
    case footer

    /// The section for a descriptor code; `nil` for codes that are not message sections.
    public init?(descriptor code: UInt64) {
        guard code >= Descriptors.header, code <= Descriptors.footer else { return nil }
        self.init(rawValue: Int(code &- Descriptors.header))
    }

    /// The section's numeric descriptor.
    public var descriptor: UInt64 { Descriptors.header &+ UInt64(rawValue) }

    /// The specification's name, e.g. `application-properties`; decode errors start
    /// their detail with it.
    public var name: String {
        switch self {
        case .header: "header"
        case .deliveryAnnotations: "delivery-annotations"
        case .messageAnnotations: "message-annotations"
        case .properties: "properties"
        case .applicationProperties: "application-properties"
        case .data: "data"
        case .amqpSequence: "amqp-sequence"
        case .amqpValue: "amqp-value"
        case .footer: "footer"
        }
    }

    /// The name, as `name`.
    public var description: String { name }

    /// True for `data`, `amqp-sequence` and `amqp-value`.
    public var isBody: Bool { self == .data || self == .amqpSequence || self == .amqpValue }

    /// Position in the required order; the three body kinds share one.
    var rank: Int {
        switch self {
        case .header: 0
        case .deliveryAnnotations: 1
        case .messageAnnotations: 2
        case .properties: 3
        case .applicationProperties: 4
        case .data, .amqpSequence, .amqpValue: 5
        case .footer: 6
        }
    }

    /// Whether this section may follow `previous`: strictly later in the order, except
    /// that `data` may follow `data` and `amqp-sequence` may follow `amqp-sequence`.
    func mayFollow(_ previous: MessageSection) -> Bool {
        if self == previous { return self == .data || self == .amqpSequence }
        return rank > previous.rank
    }
}

extension DecodeError {
    /// The same error, its detail prefixed with the section's name unless it already
    /// starts with it (composite field errors read `properties.to is …`).
    func naming(_ section: MessageSection) -> DecodeError {
        var e = self
        let name = section.name
        if detail.isEmpty {
            e.detail = name
        } else if !(detail.hasPrefix(name + ".") || detail.hasPrefix(name + ":") || detail.hasPrefix(name + " ")) {
            e.detail = name + ": " + detail
        }
        return e
    }
}
