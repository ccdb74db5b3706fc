public import AMQPCodec

// The `$cbs` node's message formats, read and written here independently of the client
// in the AMQP target, so that the peer checks that client rather than echoing it.

/// Names of the `$cbs` node.
public enum CBSNode {
    /// The node's address.
    public static let address = "$cbs"
}

/// A put-token request as the `$cbs` node reads it: application properties
/// `operation` = `put-token`, `type`, `name` (the audience) and optionally `expiration`;
/// the token as an `amqp-value` string body; `message-id` and `reply-to` in properties.
public struct CBSRequest: Hashable, Sendable {
    /// The token text.
    public var token: String
    /// The token type, e.g. `servicebus.windows.net:sastoken` or `jwt`.
    public var type: String
    /// The entity the token is for.
    public var audience: String
    /// When the token expires, if the client said.
    public var expiration: Timestamp?
    /// The request's message-id (the response's correlation-id).
    public var messageID: MessageID?
    /// Where the client expects the response.
    public var replyTo: String?

    /// Creates a request.
    public init(token: String, type: String, audience: String, expiration: Timestamp? = nil, messageID: MessageID? = nil, replyTo: String? = nil) {
        self.token = token
        self.type = type
        self.audience = audience
        self.expiration = expiration
        self.messageID = messageID
        self.replyTo = replyTo
    }

    /// Why a message is not a put-token request: the status code and description to answer.
    public struct Refusal: Error, Hashable, Sendable {
        /// 400 for a malformed request, 501 for another operation.
        public var statusCode: Int32
        /// Says what is wrong.
        public var description: String
    }

    /// Reads a request.
    public init(_ message: Message) throws(Refusal) {
        let props = message.applicationProperties
        func text(_ key: String) -> String? {
            switch props?[key] {
            case .string(let s)?: s
            case .symbol(let s)?: s.rawValue
            default: nil
            }
        }
        guard let operation = text("operation") else { throw Refusal(statusCode: 400, description: "no operation") }
        guard operation == "put-token" else { throw Refusal(statusCode: 501, description: "operation \(operation) is not supported") }
        guard let type = text("type") else { throw Refusal(statusCode: 400, description: "put-token without a type") }
        guard let audience = text("name") else { throw Refusal(statusCode: 400, description: "put-token without a name (audience)") }
        let token: String
        switch message.body {
        case .value(.string(let s))?: token = s
        case .value(.binary(let b))?: token = String(decoding: b, as: UTF8.self)
        default: throw Refusal(statusCode: 400, description: "the token must be an amqp-value string")
        }
        var expiration: Timestamp? = nil
        switch props?["expiration"] {
        case .timestamp(let t)?: expiration = t
        case nil, .null?: break
        default: throw Refusal(statusCode: 400, description: "expiration must be a timestamp")
        }
        self.init(
            token: token, type: type, audience: audience, expiration: expiration, messageID: message.properties?.messageID,
            replyTo: message.properties?.replyTo)
    }

    /// The address the audience names: the path of a URL audience
    /// (`sb://ns.example/queue` → `queue`; no path → `""`, the whole namespace), else
    /// the audience itself.
    public var address: String { Self.address(ofAudience: audience) }

    static func address(ofAudience audience: String) -> String {
        guard let scheme = audience.firstRange(of: "://") else { return audience }
        let afterHost = audience[scheme.upperBound...]
        guard let slash = afterHost.firstIndex(of: "/") else { return "" }
        var path = afterHost[afterHost.index(after: slash)...]
        if let query = path.firstIndex(of: "?") { path = path[..<query] }
        while path.hasSuffix("/") { path = path.dropLast() }
        return String(path)
    }

    /// True when a token for `granted` (an address; `""` for everything) covers `address`.
    static func covers(_ granted: String, _ address: String) -> Bool {
        granted.isEmpty || address == granted || address.hasPrefix(granted + "/")
    }

    /// The answer: `status-code` (int) and `status-description` application properties,
    /// `correlation-id` = the request's message-id, an `amqp-value` null body.
    public func response(statusCode: Int32, description: String) -> Message {
        Self.response(statusCode: statusCode, description: description, correlationID: messageID)
    }

    static func response(statusCode: Int32, description: String, correlationID: MessageID?) -> Message {
        Message(
            properties: MessageProperties(correlationID: correlationID),
            applicationProperties: ["status-code": .int(statusCode), "status-description": .string(description)],
            body: .value(.null))
    }
}
