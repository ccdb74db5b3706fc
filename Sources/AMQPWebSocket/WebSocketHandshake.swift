/// The opening handshake (RFC 6455 section 4): the client's upgrade request and the
/// check of the server's answer; the server's check of a request and its answer.
enum WebSocketHandshake {
    /// The client's request for `configuration`, with `key` (16 random bytes, base64).
    static func request(_ configuration: WebSocketConfiguration, key: String) -> [UInt8] {
        var text = "GET \(configuration.path ?? WebSocketConfiguration.defaultPath) HTTP/1.1\r\n"
        text += "Host: \(configuration.host)\r\n"
        text += "Upgrade: websocket\r\n"
        text += "Connection: Upgrade\r\n"
        text += "Sec-WebSocket-Key: \(key)\r\n"
        text += "Sec-WebSocket-Version: 13\r\n"
        text += "Sec-WebSocket-Protocol: \(configuration.subprotocol)\r\n"
        for h in configuration.headers { text += "\(h.name): \(h.value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// A fresh `Sec-WebSocket-Key`: 16 random bytes, base64.
    static func makeKey(using random: inout some RandomNumberGenerator) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        for _ in 0..<2 {
            let v = random.next() as UInt64
            for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(i * 8))) }
        }
        return Base64.encode(bytes)
    }

    /// Client: checks the server's answer (its head, up to and with the blank line).
    static func checkResponse(_ head: UnsafeRawBufferPointer, key: String, configuration: WebSocketConfiguration) throws(WebSocketError) {
        let h = try HTTPHeaders(parsing: head)
        let parts = h.startLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let status = Int(parts[1]) else {
            throw WebSocketError(.malformedHandshake, detail: "the server's answer does not start with an HTTP status line: \"\(h.startLine.prefix(80))\"")
        }
        guard status == 101 else {
            let reason = parts.count > 2 ? " \(parts[2])" : ""
            var hint = ""
            switch status {
            case 401, 403: hint = ": the server wants credentials (add them with the transport's headers)"
            case 404: hint = ": no WebSocket endpoint at \(configuration.path ?? "")"
            case 426: hint = ": the server wants WebSocket version \(h["sec-websocket-version"] ?? "other than 13")"
            default: break
            }
            throw WebSocketError(.unexpectedStatus, detail: "the server answered the upgrade request with \(status)\(reason)\(hint)", httpStatus: status)
        }
        guard parts[0] == "HTTP/1.1" else {
            throw WebSocketError(.malformedHandshake, detail: "the server answered with \(parts[0]), not HTTP/1.1", httpStatus: status)
        }
        guard h.list("upgrade", contains: "websocket") else {
            throw WebSocketError(.missingUpgrade, detail: "the 101 answer has no \"Upgrade: websocket\" (it has \(h["upgrade"].map { "\"\($0)\"" } ?? "none"))", httpStatus: status)
        }
        guard h.list("connection", contains: "upgrade") else {
            throw WebSocketError(.missingUpgrade, detail: "the 101 answer has no \"Connection: Upgrade\"", httpStatus: status)
        }
        let expected = webSocketAccept(forKey: key)
        guard let accept = h["sec-websocket-accept"] else {
            throw WebSocketError(.invalidAccept, detail: "the 101 answer has no Sec-WebSocket-Accept", httpStatus: status)
        }
        guard accept == expected else {
            throw WebSocketError(.invalidAccept, detail: "Sec-WebSocket-Accept is \"\(accept.prefix(64))\", expected \"\(expected)\" for our key", httpStatus: status)
        }
        if let ext = h["sec-websocket-extensions"], !ext.isEmpty {
            throw WebSocketError(.unexpectedExtension, detail: "the server turned on extensions we did not offer: \(ext.prefix(80))", httpStatus: status)
        }
        guard let chosen = h["sec-websocket-protocol"] else {
            throw WebSocketError(
                .missingSubprotocol,
                detail: "the server accepted the upgrade but chose no subprotocol; it must answer Sec-WebSocket-Protocol: \(configuration.subprotocol)",
                httpStatus: status)
        }
        guard chosen == configuration.subprotocol else {
            throw WebSocketError(.subprotocolMismatch, detail: "the server chose subprotocol \"\(chosen.prefix(64))\"; we offered only \"\(configuration.subprotocol)\"", httpStatus: status)
        }
    }

    /// What a server answers a request with.
    struct Answer {
        /// The response to send.
        var response: [UInt8]
        /// Why the request was refused (`nil`: upgraded).
        var refusal: WebSocketError?
    }

    /// Server: checks a request's head and makes the answer: 101 with the accept value
    /// and subprotocol, or a refusal (400, 404, 426) saying why.
    static func answer(_ head: UnsafeRawBufferPointer, configuration: WebSocketConfiguration) -> Answer {
        func refuse(_ status: Int, _ reason: String, _ detail: String, extra: String = "") -> Answer {
            let text = "HTTP/1.1 \(status) \(reason)\r\n\(extra)Content-Length: 0\r\nConnection: close\r\n\r\n"
            return Answer(response: Array(text.utf8), refusal: WebSocketError(.requestRefused, detail: detail, httpStatus: status))
        }
        let h: HTTPHeaders
        do throws(WebSocketError) {
            h = try HTTPHeaders(parsing: head)
        } catch {
            return refuse(400, "Bad Request", "the client's request is not HTTP: \(error.detail)")
        }
        let parts = h.startLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "GET", parts[2] == "HTTP/1.1", parts[1].hasPrefix("/") || parts[1].hasPrefix("http") else {
            return refuse(400, "Bad Request", "the request line \"\(h.startLine.prefix(80))\" is not GET <path> HTTP/1.1")
        }
        guard h["host"] != nil else { return refuse(400, "Bad Request", "the request has no Host header") }
        guard h.list("upgrade", contains: "websocket"), h.list("connection", contains: "upgrade") else {
            return refuse(400, "Bad Request", "the request does not ask to upgrade to websocket (Upgrade: websocket, Connection: Upgrade)")
        }
        guard h["sec-websocket-version"] == "13" else {
            return refuse(
                426, "Upgrade Required", "the client asked for WebSocket version \(h["sec-websocket-version"] ?? "none"); only 13 is spoken",
                extra: "Sec-WebSocket-Version: 13\r\n")
        }
        guard let key = h["sec-websocket-key"], Base64.decodedCount(Substring(key)) == 16 else {
            return refuse(400, "Bad Request", "Sec-WebSocket-Key is missing or not 16 bytes in base64")
        }
        if let path = configuration.path {
            var target = parts[1]
            if let q = target.firstIndex(of: "?") { target = target[..<q] }
            // An absolute-form target (http://host/path) names the path after the authority.
            if target.hasPrefix("http"), let scheme = target.firstRange(of: "://") {
                let rest = target[scheme.upperBound...]
                target = rest.firstIndex(of: "/").map { rest[$0...] } ?? "/"
            }
            guard target == path else { return refuse(404, "Not Found", "the client asked for \(target.prefix(80)); WebSocket is served at \(path)") }
        }
        var chosen: String? = nil
        if h["sec-websocket-protocol"] != nil {
            guard h.list("sec-websocket-protocol", contains: configuration.subprotocol) else {
                return refuse(
                    400, "Bad Request",
                    "the client offered subprotocols \"\(h["sec-websocket-protocol"]!.prefix(80))\", not \"\(configuration.subprotocol)\"")
            }
            chosen = configuration.subprotocol
        }
        var text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        text += "Sec-WebSocket-Accept: \(webSocketAccept(forKey: key))\r\n"
        if let chosen { text += "Sec-WebSocket-Protocol: \(chosen)\r\n" }
        for extra in configuration.headers { text += "\(extra.name): \(extra.value)\r\n" }
        text += "\r\n"
        return Answer(response: Array(text.utf8), refusal: nil)
    }
}
