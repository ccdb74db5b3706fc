/// A borrowed properties section: every field checked when the view is made, and read
/// in place when asked for; nothing is copied.
///
/// The view keeps only where the field list lies (a few words), and each accessor walks
/// to its field: a message view is built for every delivery, and carrying thirteen
/// decoded field views in it cost more in copies than reading the one or two fields a
/// consumer wants.
public struct MessagePropertiesView {
    let fields: ListView

    /// `message-id`.
    public var messageID: MessageIDView? {
        // The first field needs no walk: the usual forms (a str8, already checked to be
        // UTF-8 when the view was made, or null) are read in place.
        if fields.count == 0 { return nil }
        let body = fields.body
        if body.count >= 2, let base = body.baseAddress {
            let code = base.load(as: UInt8.self)
            if code == FormatCode.null { return nil }
            let n = Int(base.load(fromByteOffset: 1, as: UInt8.self))
            if code == FormatCode.str8, n <= body.count &- 2 {
                return .string(StringView(utf8: UnsafeRawBufferPointer(start: base + 2, count: n)))
            }
        }
        return read(0) { (r) throws(DecodeError) in try r.messageID("message-id") }
    }
    /// `user-id`.
    public var userID: BytesView? { read(1) { (r) throws(DecodeError) in try r.binaryView("user-id") } }
    /// `to`.
    public var to: StringView? { read(2) { (r) throws(DecodeError) in try r.stringView("to") } }
    /// `subject`.
    public var subject: StringView? { read(3) { (r) throws(DecodeError) in try r.stringView("subject") } }
    /// `reply-to`.
    public var replyTo: StringView? { read(4) { (r) throws(DecodeError) in try r.stringView("reply-to") } }
    /// `correlation-id`.
    public var correlationID: MessageIDView? { read(5) { (r) throws(DecodeError) in try r.messageID("correlation-id") } }
    /// `content-type`.
    public var contentType: SymbolView? { read(6) { (r) throws(DecodeError) in try r.symbolView("content-type") } }
    /// `content-encoding`.
    public var contentEncoding: SymbolView? { read(7) { (r) throws(DecodeError) in try r.symbolView("content-encoding") } }
    /// `absolute-expiry-time`.
    public var absoluteExpiryTime: Timestamp? { read(8) { (r) throws(DecodeError) in try r.timestamp("absolute-expiry-time") } }
    /// `creation-time`.
    public var creationTime: Timestamp? { read(9) { (r) throws(DecodeError) in try r.timestamp("creation-time") } }
    /// `group-id`.
    public var groupID: StringView? { read(10) { (r) throws(DecodeError) in try r.stringView("group-id") } }
    /// `group-sequence`.
    public var groupSequence: UInt32? { read(11) { (r) throws(DecodeError) in try r.uint("group-sequence") } }
    /// `reply-to-group-id`.
    public var replyToGroupID: StringView? { read(12) { (r) throws(DecodeError) in try r.stringView("reply-to-group-id") } }

    /// Decodes an `amqp:properties:list` in place, checking every field; a field of the
    /// wrong type is an error naming it (`properties.to is ulong, expected string`).
    public init(decoding d: DescribedView) throws(DecodeError) {
        guard d.descriptor.knownCode == Descriptors.properties else {
            throw DecodeError(.unexpectedDescriptor, at: d.encodedValue.offset, detail: "properties: expected amqp:properties:list")
        }
        var r = try FieldReader(d, composite: "properties")
        fields = r.list
        _ = try r.messageID("message-id")
        _ = try r.binaryView("user-id")
        _ = try r.stringView("to")
        _ = try r.stringView("subject")
        _ = try r.stringView("reply-to")
        _ = try r.messageID("correlation-id")
        _ = try r.symbolView("content-type")
        _ = try r.symbolView("content-encoding")
        _ = try r.timestamp("absolute-expiry-time")
        _ = try r.timestamp("creation-time")
        _ = try r.stringView("group-id")
        _ = try r.uint("group-sequence")
        _ = try r.stringView("reply-to-group-id")
        try r.finishChecked()
    }

    /// A view of a field list already checked field by field (`MessageView`'s
    /// `readCommonProperties`).
    init(fields: ListView) { self.fields = fields }

    /// Walks to field `index` and reads it with `get`. The init checked every field, so
    /// the walk cannot fail on the same bytes; `nil` covers absent fields.
    @inline(__always)
    func read<T>(_ index: Int, _ get: (inout FieldReader) throws(DecodeError) -> T?) -> T? {
        var r = FieldReader(list: fields, composite: "properties")
        do {
            for _ in 0..<index { try r.skipField() }
            return try get(&r)
        } catch {
            return nil
        }
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
