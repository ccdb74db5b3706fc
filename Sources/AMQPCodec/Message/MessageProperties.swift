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
    ///
    /// Byte for byte what the field writer writes (absent fields null, trailing nulls
    /// dropped), but the fields kept are counted first, so that no null is written to
    /// be dropped and no field pays the writer's bookkeeping: a sender encodes this
    /// for every message.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        let fields =
            replyToGroupID != nil ? 13 : groupSequence != nil ? 12 : groupID != nil ? 11 : creationTime != nil ? 10
            : absoluteExpiryTime != nil ? 9 : contentEncoding != nil ? 8 : contentType != nil ? 7 : correlationID != nil ? 6
            : replyTo != nil ? 5 : subject != nil ? 4 : to != nil ? 3 : userID != nil ? 2 : messageID != nil ? 1 : 0
        try e.encodeDescriptor(Descriptors.properties)
        let m = try e.beginList()
        if fields > 0 {
            if let messageID { try messageID.encode(into: &e) } else { try e.encodeNull() }
        }
        if fields > 1 {
            if let userID { try e.encodeBinary(userID) } else { try e.encodeNull() }
        }
        if fields > 2 { try Self.encode(to, &e) }
        if fields > 3 { try Self.encode(subject, &e) }
        if fields > 4 { try Self.encode(replyTo, &e) }
        if fields > 5 {
            if let correlationID { try correlationID.encode(into: &e) } else { try e.encodeNull() }
        }
        if fields > 6 {
            if let contentType { try e.encode(contentType) } else { try e.encodeNull() }
        }
        if fields > 7 {
            if let contentEncoding { try e.encode(contentEncoding) } else { try e.encodeNull() }
        }
        if fields > 8 {
            if let absoluteExpiryTime { try e.encode(absoluteExpiryTime) } else { try e.encodeNull() }
        }
        if fields > 9 {
            if let creationTime { try e.encode(creationTime) } else { try e.encodeNull() }
        }
        if fields > 10 { try Self.encode(groupID, &e) }
        if fields > 11 {
            if let groupSequence { try e.encode(groupSequence) } else { try e.encodeNull() }
        }
        if fields > 12 { try Self.encode(replyToGroupID, &e) }
        try e.endList(m, count: fields)
    }

    /// A string field: the string, or null.
    @inline(__always)
    static func encode(_ s: String?, _ e: inout AMQPEncoder) throws(EncodeError) {
        if let s { try e.encode(s) } else { try e.encodeNull() }
    }
}
