import AMQPEngine

// The put-token exchange with a CBS node (AMQP Claims-Based Security, as Azure
// implements it): a request message on the `$cbs` sender link, a response on the
// receiver link, matched by correlation-id.

/// Names used by CBS.
public enum CBS {
    /// The CBS node's address.
    public static let nodeAddress = "$cbs"
    /// The default reply-to address of put-token requests (uAMQP-C's).
    public static let defaultReplyTo = "cbs"
}

/// A put-token request.
///
/// Its message has the token as an `amqp-value` string body; application properties
/// `operation` = `put-token`, `type` (the token type), `name` (the audience) and
/// `expiration` (a timestamp, as Microsoft.Azure.Amqp and the Python `pyamqp` client send
/// it; uAMQP-C sends none, and Azure accepts either); and properties `message-id` (a ulong
/// counting from 0, as uAMQP-C's) and `reply-to`.
public struct PutTokenRequest: Hashable, Sendable {
    /// The token.
    public var token: CBSToken
    /// The entity the token is for (`name`).
    public var audience: String
    /// The request's message-id; the response's correlation-id must match it.
    public var messageID: MessageID
    /// Where the CBS node sends its response.
    public var replyTo: String

    /// Creates a request.
    public init(token: CBSToken, audience: String, messageID: MessageID, replyTo: String = CBS.defaultReplyTo) {
        self.token = token
        self.audience = audience
        self.messageID = messageID
        self.replyTo = replyTo
    }

    /// The message to send to `$cbs`.
    public var message: Message {
        Message(
            properties: MessageProperties(messageID: messageID, replyTo: replyTo),
            applicationProperties: [
                "operation": .string("put-token"),
                "type": .string(token.type.rawValue),
                "name": .string(audience),
                "expiration": .timestamp(token.expiresAt),
            ],
            body: .value(.string(token.token)))
    }
}

/// A CBS node's answer to a put-token request.
public struct PutTokenResponse: Hashable, Sendable {
    /// `status-code`: 200 or 202 when the token was accepted.
    public var statusCode: Int
    /// `status-description`, if given.
    public var statusDescription: String?
    /// The request this answers.
    public var correlationID: MessageID?

    /// Creates a response.
    public init(statusCode: Int, statusDescription: String? = nil, correlationID: MessageID? = nil) {
        self.statusCode = statusCode
        self.statusDescription = statusDescription
        self.correlationID = correlationID
    }

    /// Reads a response message. `status-code` may be any integer type (Azure sends an
    /// int); a missing or non-integer one is a `tokenAuthFailure` with `amqp:decode-error`.
    public init(_ message: Message, policy: ErrorPolicy = ErrorPolicy()) throws(AMQPClientError) {
        let props = message.applicationProperties
        let code: Int?
        switch props?["status-code"] {
        case .int(let v)?: code = Int(v)
        case .uint(let v)?: code = Int(v)
        case .long(let v)?: code = Int(v)
        case .ulong(let v)?: code = v <= UInt64(Int.max) ? Int(v) : nil
        case .short(let v)?: code = Int(v)
        case .ushort(let v)?: code = Int(v)
        case .byte(let v)?: code = Int(v)
        case .ubyte(let v)?: code = Int(v)
        default: code = nil
        }
        guard let code else {
            let found = props?["status-code"].map { FrameTraceFormatter.render($0) } ?? "nothing"
            throw policy.classified(AMQPClientError(
                kind: .tokenAuthFailure, condition: .decodeError,
                description: "the CBS response's status-code is \(found), expected an integer", origin: .remote))
        }
        let description: String?
        switch props?["status-description"] {
        case .string(let s)?: description = s
        case .symbol(let s)?: description = s.rawValue
        default: description = nil
        }
        self.init(statusCode: code, statusDescription: description, correlationID: message.properties?.correlationID)
    }

    /// True for 200 (OK) and 202 (Accepted), the codes Azure's CBS answers success with.
    public var isSuccess: Bool { statusCode == 200 || statusCode == 202 }
}
