// Shortcuts to the fields applications touch most. Reading a field of an absent section
// gives its default (or nil); setting one creates the section, and setting `nil` on an
// absent section leaves it absent.

extension Message {
    /// `properties.message-id`.
    public var messageID: MessageID? {
        get { properties?.messageID }
        set { setProperty(\.messageID, newValue) }
    }
    /// `properties.correlation-id`.
    public var correlationID: MessageID? {
        get { properties?.correlationID }
        set { setProperty(\.correlationID, newValue) }
    }
    /// `properties.to`.
    public var to: String? {
        get { properties?.to }
        set { setProperty(\.to, newValue) }
    }
    /// `properties.subject`.
    public var subject: String? {
        get { properties?.subject }
        set { setProperty(\.subject, newValue) }
    }
    /// `properties.reply-to`.
    public var replyTo: String? {
        get { properties?.replyTo }
        set { setProperty(\.replyTo, newValue) }
    }
    /// `properties.content-type`.
    public var contentType: Symbol? {
        get { properties?.contentType }
        set { setProperty(\.contentType, newValue) }
    }
    /// `properties.content-encoding`.
    public var contentEncoding: Symbol? {
        get { properties?.contentEncoding }
        set { setProperty(\.contentEncoding, newValue) }
    }
    /// `properties.group-id`.
    public var groupID: String? {
        get { properties?.groupID }
        set { setProperty(\.groupID, newValue) }
    }
    /// `properties.creation-time`.
    public var creationTime: Timestamp? {
        get { properties?.creationTime }
        set { setProperty(\.creationTime, newValue) }
    }
    /// `properties.absolute-expiry-time`.
    public var absoluteExpiryTime: Timestamp? {
        get { properties?.absoluteExpiryTime }
        set { setProperty(\.absoluteExpiryTime, newValue) }
    }

    /// `header.durable` (`false` without a header).
    public var durable: Bool {
        get { header?.durable ?? false }
        set { setHeader(\.durable, newValue) }
    }
    /// `header.priority` (4 without a header).
    public var priority: UInt8 {
        get { header?.priority ?? MessageHeader.defaultPriority }
        set { setHeader(\.priority, newValue) }
    }
    /// `header.ttl` in milliseconds (`nil` without a header).
    public var ttl: UInt32? {
        get { header?.ttl }
        set {
            guard newValue != nil || header != nil else { return }
            setHeader(\.ttl, newValue)
        }
    }
    /// `header.delivery-count` (0 without a header).
    public var deliveryCount: UInt32 {
        get { header?.deliveryCount ?? 0 }
        set { setHeader(\.deliveryCount, newValue) }
    }

    /// The body's bytes when it is exactly one `data` section; `nil` otherwise.
    public var data: [UInt8]? {
        guard case .data(let sections) = body, sections.count == 1 else { return nil }
        return sections[0]
    }
    /// The body's value when it is an `amqp-value` section; `nil` otherwise.
    public var value: AMQPValue? {
        guard case .value(let v) = body else { return nil }
        return v
    }

    private mutating func setProperty<T>(_ field: WritableKeyPath<MessageProperties, T?>, _ value: T?) {
        if properties == nil {
            guard value != nil else { return }
            properties = MessageProperties()
        }
        properties![keyPath: field] = value
    }

    private mutating func setHeader<T>(_ field: WritableKeyPath<MessageHeader, T>, _ value: T) {
        if header == nil { header = MessageHeader() }
        header![keyPath: field] = value
    }
}

extension MessageView {
    /// `properties.message-id`.
    public var messageID: MessageIDView? { properties?.messageID }
    /// `properties.correlation-id`.
    public var correlationID: MessageIDView? { properties?.correlationID }
    /// `properties.to`.
    public var to: StringView? { properties?.to }
    /// `properties.subject`.
    public var subject: StringView? { properties?.subject }
    /// `properties.reply-to`.
    public var replyTo: StringView? { properties?.replyTo }
    /// `properties.content-type`.
    public var contentType: SymbolView? { properties?.contentType }
    /// `properties.content-encoding`.
    public var contentEncoding: SymbolView? { properties?.contentEncoding }
    /// `header.durable` (`false` without a header).
    public var durable: Bool { header?.durable ?? false }
    /// `header.priority` (4 without a header).
    public var priority: UInt8 { header?.priority ?? MessageHeader.defaultPriority }
    /// `header.ttl` in milliseconds (`nil` without a header).
    public var ttl: UInt32? { header?.ttl }
    /// `header.delivery-count` (0 without a header).
    public var deliveryCount: UInt32 { header?.deliveryCount ?? 0 }
    /// The body's `data` sections; `nil` for other bodies or none.
    public var data: DataSectionsView? {
        guard case .data(let d) = body else { return nil }
        return d
    }
    /// The body's `amqp-value`; `nil` for other bodies or none.
    public var value: AMQPValueView? {
        guard case .value(let v) = body else { return nil }
        return v
    }
}
