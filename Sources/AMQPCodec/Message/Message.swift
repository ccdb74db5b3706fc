/// An owned AMQP message (part 3, section 3.2), for building messages to send and for
/// keeping received ones beyond the life of their buffer.
///
/// Each section is optional; `nil` means the section is absent and is not encoded. A
/// section that is present is encoded even when every field holds its default (a default
/// header is `00 53 70 45`), so what was decoded encodes back the same.
public struct Message: Hashable, Sendable {
    /// The header section: delivery details for intermediaries.
    public var header: MessageHeader?
    /// The delivery-annotations section: for the next hop only.
    public var deliveryAnnotations: Annotations?
    /// The message-annotations section: for every intermediary on the way.
    public var messageAnnotations: Annotations?
    /// The properties section: the standard fields of the bare message.
    public var properties: MessageProperties?
    /// The application-properties section: the application's own fields.
    public var applicationProperties: ApplicationProperties?
    /// The body.
    ///
    /// `nil` only for messages received without a body section (see `MessageView`);
    /// encoding a `nil` body writes an `amqp-value` of `null`, because the specification
    /// requires every message to have a body.
    public var body: MessageBody?
    /// The footer section: details computed over the bare message (hashes, signatures).
    public var footer: Annotations?

    /// Creates a message from its sections.
    public init(
        header: MessageHeader? = nil, deliveryAnnotations: Annotations? = nil, messageAnnotations: Annotations? = nil,
        properties: MessageProperties? = nil, applicationProperties: ApplicationProperties? = nil,
        body: MessageBody? = nil, footer: Annotations? = nil
    ) {
        self.header = header
        self.deliveryAnnotations = deliveryAnnotations
        self.messageAnnotations = messageAnnotations
        self.properties = properties
        self.applicationProperties = applicationProperties
        self.body = body
        self.footer = footer
    }

    /// A message whose body is one `data` section holding `bytes`.
    public init(body bytes: [UInt8]) { self.init(body: .data([bytes])) }

    /// A message whose body is one `amqp-value` section holding `value`.
    public init(value: AMQPValue) { self.init(body: .value(value)) }

    /// A message whose body is one `amqp-sequence` section holding `items`.
    public init(sequence items: [AMQPValue]) { self.init(body: .sequence([items])) }

    /// Encodes every present section in the specification's order.
    ///
    /// Encodes straight into the encoder's buffer: nothing is allocated when the
    /// message's arrays and strings are already built. On `EncodeError.bufferTooSmall`
    /// the encoder's `count` is where it stopped; rewind to retry with more room.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        if let header { try header.encode(into: &e) }
        if let deliveryAnnotations { try deliveryAnnotations.encode(as: .deliveryAnnotations, into: &e) }
        if let messageAnnotations { try messageAnnotations.encode(as: .messageAnnotations, into: &e) }
        if let properties { try properties.encode(into: &e) }
        if let applicationProperties {
            try e.encodeDescriptor(Descriptors.applicationProperties)
            try applicationProperties.encode(into: &e)
        }
        if let body {
            try body.encode(into: &e)
        } else {
            try e.encodeDescriptor(Descriptors.amqpValue)
            try e.encodeNull()
        }
        if let footer { try footer.encode(as: .footer, into: &e) }
    }

    /// The message's encoding as a new array (for tools and tests; senders encode into
    /// their own buffers with `encode(into:)`).
    public func encoded() throws(EncodeError) -> [UInt8] {
        try AMQPEncoder.encode { (e) throws(EncodeError) in try encode(into: &e) }
    }

    /// Decodes a whole payload into owned values (see `MessageView` for the checks).
    public init(decoding bytes: UnsafeRawBufferPointer, limits: DecodeLimits = .default) throws(DecodeError) {
        self = try MessageView(bytes, limits: limits).materialize()
    }

    /// Decodes a whole payload into owned values.
    public init(decoding bytes: [UInt8], limits: DecodeLimits = .default) throws(DecodeError) {
        self = try withArrayBytes(bytes) { (raw) throws(DecodeError) -> Message in try Message(decoding: raw, limits: limits) }
    }
}
