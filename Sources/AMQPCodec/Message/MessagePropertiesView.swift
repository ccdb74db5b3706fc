/// A borrowed properties section: every field decoded in place, nothing copied.
public struct MessagePropertiesView {
    /// `message-id`.
    public let messageID: MessageIDView?
    /// `user-id`.
    public let userID: BytesView?
    /// `to`.
    public let to: StringView?
    /// `subject`.
    public let subject: StringView?
    /// `reply-to`.
    public let replyTo: StringView?
    /// `correlation-id`.
    public let correlationID: MessageIDView?
    /// `content-type`.
    public let contentType: SymbolView?
    /// `content-encoding`.
    public let contentEncoding: SymbolView?
    /// `absolute-expiry-time`.
    public let absoluteExpiryTime: Timestamp?
    /// `creation-time`.
    public let creationTime: Timestamp?
    /// `group-id`.
    public let groupID: StringView?
    /// `group-sequence`.
    public let groupSequence: UInt32?
    /// `reply-to-group-id`.
    public let replyToGroupID: StringView?

    /// Decodes an `amqp:properties:list` in place; a field of the wrong type is an
    /// error naming it (`properties.to is ulong, expected string`).
    public init(decoding d: DescribedView) throws(DecodeError) {
        guard d.descriptor.knownCode == Descriptors.properties else {
            throw DecodeError(.unexpectedDescriptor, at: d.encodedValue.offset, detail: "properties: expected amqp:properties:list")
        }
        var r = try FieldReader(d, composite: "properties")
        messageID = try r.messageID("message-id")
        userID = try r.binaryView("user-id")
        to = try r.stringView("to")
        subject = try r.stringView("subject")
        replyTo = try r.stringView("reply-to")
        correlationID = try r.messageID("correlation-id")
        contentType = try r.symbolView("content-type")
        contentEncoding = try r.symbolView("content-encoding")
        absoluteExpiryTime = try r.timestamp("absolute-expiry-time")
        creationTime = try r.timestamp("creation-time")
        groupID = try r.stringView("group-id")
        groupSequence = try r.uint("group-sequence")
        replyToGroupID = try r.stringView("reply-to-group-id")
        try r.finishChecked()
    }

    /// An owned copy.
    public func materialize() -> MessageProperties {
        MessageProperties(
            messageID: messageID?.materialize(), userID: userID?.array, to: to?.string, subject: subject?.string,
            replyTo: replyTo?.string, correlationID: correlationID?.materialize(), contentType: contentType?.symbol,
            contentEncoding: contentEncoding?.symbol, absoluteExpiryTime: absoluteExpiryTime, creationTime: creationTime,
            groupID: groupID?.string, groupSequence: groupSequence, replyToGroupID: replyToGroupID?.string)
    }
}
