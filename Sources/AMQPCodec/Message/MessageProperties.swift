/// The properties section (part 3, section 3.2.4): the bare message's standard fields.
///
/// Every field is optional; an absent field is encoded as null (trailing nulls dropped).
public struct MessageProperties: Hashable, Sendable {
    /// `message-id`: identifies the message, e.g. for de-duplication.
    public var messageID: MessageID?
    /// `user-id`: the identity of the user who produced the message.
    public var userID: [UInt8]?
    /// `to`: the address of the node the message is destined for.
    public var to: String?
    /// `subject`: an application-defined summary, like an e-mail subject.
    public var subject: String?
    /// `reply-to`: the address of the node to send replies to.
    public var replyTo: String?
    /// `correlation-id`: the id of the message this one relates to (e.g. a request).
    public var correlationID: MessageID?
    /// `content-type`: the MIME type of the body, e.g. `application/json`.
    public var contentType: Symbol?
    /// `content-encoding`: a further encoding applied to the body, e.g. `gzip`.
    public var contentEncoding: Symbol?
    /// `absolute-expiry-time`: when the message is considered expired.
    public var absoluteExpiryTime: Timestamp?
    /// `creation-time`: when the message was created.
    public var creationTime: Timestamp?
    /// `group-id`: the group the message belongs to.
    public var groupID: String?
    /// `group-sequence`: the message's position in its group.
    public var groupSequence: UInt32?
    /// `reply-to-group-id`: the group that replies should belong to.
    public var replyToGroupID: String?

    /// Creates properties; every field defaults to absent.
    public init(
        messageID: MessageID? = nil, userID: [UInt8]? = nil, to: String? = nil, subject: String? = nil,
        replyTo: String? = nil, correlationID: MessageID? = nil, contentType: Symbol? = nil,
        contentEncoding: Symbol? = nil, absoluteExpiryTime: Timestamp? = nil, creationTime: Timestamp? = nil,
        groupID: String? = nil, groupSequence: UInt32? = nil, replyToGroupID: String? = nil
    ) {
        self.messageID = messageID
        self.userID = userID
        self.to = to
        self.subject = subject
        self.replyTo = replyTo
        self.correlationID = correlationID
        self.contentType = contentType
        self.contentEncoding = contentEncoding
        self.absoluteExpiryTime = absoluteExpiryTime
        self.creationTime = creationTime
        self.groupID = groupID
        self.groupSequence = groupSequence
        self.replyToGroupID = replyToGroupID
    }

    /// Encodes as an `amqp:properties:list`.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        var w = try FieldWriter(descriptor: Descriptors.properties, &e)
        try w.custom(present: messageID != nil, &e) { (e) throws(EncodeError) in try messageID?.encode(into: &e) }
        try w.binary(userID, &e)
        try w.string(to, &e)
        try w.string(subject, &e)
        try w.string(replyTo, &e)
        try w.custom(present: correlationID != nil, &e) { (e) throws(EncodeError) in try correlationID?.encode(into: &e) }
        try w.symbol(contentType, &e)
        try w.symbol(contentEncoding, &e)
        try w.timestamp(absoluteExpiryTime, &e)
        try w.timestamp(creationTime, &e)
        try w.string(groupID, &e)
        try w.uint(groupSequence, &e)
        try w.string(replyToGroupID, &e)
        try w.finish(&e)
    }
}
