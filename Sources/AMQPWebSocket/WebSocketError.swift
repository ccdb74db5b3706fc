/// A WebSocket close status code (RFC 6455 section 7.4).
public struct WebSocketCloseStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The code on the wire.
    public var rawValue: UInt16
    /// A status from its code.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// 1000: the purpose of the connection was fulfilled.
    public static let normal = WebSocketCloseStatus(rawValue: 1000)
    /// 1001: the endpoint is going away (server shutting down, page left).
    public static let goingAway = WebSocketCloseStatus(rawValue: 1001)
    /// 1002: the peer broke the protocol.
    public static let protocolError = WebSocketCloseStatus(rawValue: 1002)
    /// 1003: a kind of data the endpoint cannot take (AMQP takes binary frames only).
    public static let unsupportedData = WebSocketCloseStatus(rawValue: 1003)
    /// 1005: the close frame carried no status (never sent).
    public static let noStatus = WebSocketCloseStatus(rawValue: 1005)
    /// 1007: data inconsistent with the message's type.
    public static let invalidPayload = WebSocketCloseStatus(rawValue: 1007)
    /// 1008: a policy was violated.
    public static let policyViolation = WebSocketCloseStatus(rawValue: 1008)
    /// 1009: a frame or message too big to process.
    public static let messageTooBig = WebSocketCloseStatus(rawValue: 1009)
    /// 1010: the client wanted an extension the server did not offer.
    public static let mandatoryExtension = WebSocketCloseStatus(rawValue: 1010)
    /// 1011: the server met an unexpected condition.
    public static let internalError = WebSocketCloseStatus(rawValue: 1011)

    /// The code and its name, e.g. `1002 (protocol error)`.
    public var description: String {
        let name: String
        switch rawValue {
        case 1000: name = "normal closure"
        case 1001: name = "going away"
        case 1002: name = "protocol error"
        case 1003: name = "unsupported data"
        case 1005: name = "no status"
        case 1006: name = "abnormal closure"
        case 1007: name = "invalid payload"
        case 1008: name = "policy violation"
        case 1009: name = "message too big"
        case 1010: name = "mandatory extension"
        case 1011: name = "internal error"
        case 1012: name = "service restart"
        case 1013: name = "try again later"
        default: name = rawValue >= 4000 ? "application-defined" : "unknown"
        }
        return "\(rawValue) (\(name))"
    }
}

/// Why a WebSocket layer failed or ended: what went wrong, in words, and the HTTP status
/// or close status involved.
public struct WebSocketError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What failed.
    public enum Code: String, Hashable, Sendable {
        // The opening handshake (client side unless noted).
        /// The server answered with a status other than 101 (`httpStatus` says which).
        case unexpectedStatus
        /// The answer lacked `Upgrade: websocket` or `Connection: Upgrade`.
        case missingUpgrade
        /// `Sec-WebSocket-Accept` was missing or not the value for our key.
        case invalidAccept
        /// The server chose no subprotocol: it does not speak AMQP over WebSocket here.
        case missingSubprotocol
        /// The server chose a subprotocol we did not offer.
        case subprotocolMismatch
        /// The server turned on an extension we did not offer.
        case unexpectedExtension
        /// The request or response is not HTTP/1.1 as RFC 6455 requires.
        case malformedHandshake
        /// The request or response headers exceeded `maxHandshakeBytes`.
        case handshakeTooLong
        /// Server: the client's request was refused (`httpStatus` is what we answered).
        case requestRefused
        /// The transport ended before the handshake completed.
        case closedDuringHandshake
        /// The handshake did not complete within `handshakeTimeout`.
        case handshakeTimedOut

        // Frames (closed with 1002 unless noted).
        /// A client received a masked frame, or a server an unmasked one.
        case maskingViolation
        /// A reserved bit (RSV1-3) was set, and no extension was negotiated.
        case reservedBits
        /// A reserved opcode (3-7, 11-15).
        case reservedOpcode
        /// A control frame longer than 125 bytes, or fragmented.
        case invalidControlFrame
        /// A continuation frame with no message in progress, or a new message while one was.
        case invalidFragmentation
        /// A text frame: AMQP travels in binary frames only (closed with 1003).
        case textFrame
        /// A frame longer than `maxFramePayload`, or a length with its top bit set
        /// (closed with 1009).
        case frameTooLarge
        /// A close frame whose payload is malformed (one byte, a status that must not
        /// be sent, a reason that is not UTF-8).
        case invalidClosePayload

        /// The peer closed the WebSocket (`closeStatus` says how) while AMQP was still open.
        case peerClosed
        /// A configuration that cannot work (a header with a line break, an empty path).
        case invalidConfiguration
    }

    /// What failed.
    public var code: Code
    /// What happened, in words.
    public var detail: String
    /// The HTTP status involved (the server's answer, or the one we answered with).
    public var httpStatus: Int?
    /// The close status sent (our failures) or received (`.peerClosed`).
    public var closeStatus: WebSocketCloseStatus?

    /// An error with its code and detail.
    public init(_ code: Code, detail: String, httpStatus: Int? = nil, closeStatus: WebSocketCloseStatus? = nil) {
        self.code = code
        self.detail = detail
        self.httpStatus = httpStatus
        self.closeStatus = closeStatus
    }

    /// `WebSocket <what>: <detail>`.
    public var description: String {
        let what: String
        switch code {
        case .unexpectedStatus: what = "handshake refused"
        case .missingUpgrade: what = "handshake not upgraded"
        case .invalidAccept: what = "handshake accept key invalid"
        case .missingSubprotocol: what = "subprotocol missing"
        case .subprotocolMismatch: what = "subprotocol mismatch"
        case .unexpectedExtension: what = "unexpected extension"
        case .malformedHandshake: what = "malformed handshake"
        case .handshakeTooLong: what = "handshake too long"
        case .requestRefused: what = "request refused"
        case .closedDuringHandshake: what = "closed during the handshake"
        case .handshakeTimedOut: what = "handshake timed out"
        case .maskingViolation: what = "masking violation"
        case .reservedBits: what = "reserved bits set"
        case .reservedOpcode: what = "reserved opcode"
        case .invalidControlFrame: what = "invalid control frame"
        case .invalidFragmentation: what = "invalid fragmentation"
        case .textFrame: what = "text frame"
        case .frameTooLarge: what = "frame too large"
        case .invalidClosePayload: what = "invalid close frame"
        case .peerClosed: what = "closed by the peer"
        case .invalidConfiguration: what = "invalid configuration"
        }
        return "WebSocket \(what): \(detail)"
    }
}
