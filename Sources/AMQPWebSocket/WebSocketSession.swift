import AMQPEngine
public import AMQPReactor

/// One connection's WebSocket state: the handshake, the frame reader, the payload bytes
/// waiting for the protocol above, what is queued to send, and how it ended.
///
/// A class, so a `WebSocketConnection` (a value the reactor stores) stays small and whoever
/// made the connection can keep a reference to read `failure` after the reactor has let
/// it go. Made on any thread and handed to the thread that drives the reactor, which is
/// then the only one to touch it (hence unchecked).
public final class WebSocketSession: @unchecked Sendable {
    enum Phase {
        /// Client: the request is out (or going); the answer must come. Server: the
        /// request must come.
        case handshaking
        case open
        case failed
    }

    /// The configuration in use.
    public let configuration: WebSocketConfiguration
    /// Why the layer failed, once it has (a handshake refusal, a protocol violation by
    /// either side, or the peer closing while AMQP was open).
    public internal(set) var failure: WebSocketError? = nil
    /// The close status the peer sent, once its close frame arrived.
    public internal(set) var peerCloseStatus: WebSocketCloseStatus? = nil
    /// The reason text of the peer's close frame.
    public internal(set) var peerCloseReason: String? = nil
    /// Server: the request target of the upgrade it accepted.
    public internal(set) var requestedPath: String? = nil
    /// Payload bytes the protocol above parsed where they arrived (a client, for units
    /// that lie whole inside a frame).
    public internal(set) var payloadBytesInPlace = 0
    /// Payload bytes copied into the layer's ring (a server's, all; a client's, units
    /// split across frames and what follows them in the same input).
    public internal(set) var payloadBytesCopied = 0

    var phase: Phase = .handshaking
    /// Client: the `Sec-WebSocket-Key` sent.
    let key: String
    /// Handshake bytes and control frames queued to send, in order; data frames go out
    /// only when this is empty, so nothing interleaves inside a frame.
    var outgoing: [UInt8] = []
    var outgoingSent = 0
    var reader: WebSocketFrameReader
    /// Payload bytes: the protocol above parses them in place, and they are released
    /// after delivery (as `TLSSession`'s decrypted ring).
    var data: ByteRing? = nil
    /// Bytes of `data` the protocol above consumed whose events may still borrow them.
    var parsed = 0
    /// The payload ring's size: a whole unit of the protocol above must fit.
    var dataCapacity = 64 << 10
    /// The payload ring's storage, as the reactor's rings.
    public var dataStorage: ByteRing.StoragePreference = .automatic
    var inputStalled = false
    var sentClose = false
    var receivedClose = false
    /// The peer's close was reported to the protocol above.
    var closeReported = false
    var handshakeDeadline: EngineInstant? = nil
    private var random = SystemRandomNumberGenerator()
    private var spareMask: UInt32? = nil

    /// A session for `configuration`; a client's queues its upgrade request at once.
    ///
    /// - Throws: `WebSocketError` (`.invalidConfiguration`) for a configuration that would
    ///   make a broken request.
    public init(configuration: WebSocketConfiguration) throws(WebSocketError) {
        try configuration.validate()
        self.configuration = configuration
        let client = configuration.role == .client
        reader = WebSocketFrameReader(readsServerFrames: client, maxPayload: configuration.maxFramePayload)
        if client {
            key = WebSocketHandshake.makeKey(using: &random)
            outgoing = WebSocketHandshake.request(configuration, key: key)
        } else {
            key = ""
        }
    }

    /// True once the handshake completed and nothing has failed.
    public var isOpen: Bool { phase == .open }
    var isClient: Bool { configuration.role == .client }
    var hasOutgoing: Bool { outgoingSent < outgoing.count }

    /// A fresh mask key for each frame a client sends (section 5.3): two per draw from
    /// the system's generator.
    func nextMask() -> UInt32 {
        if let m = spareMask {
            spareMask = nil
            return m
        }
        let v = random.next() as UInt64
        spareMask = UInt32(truncatingIfNeeded: v >> 32)
        return UInt32(truncatingIfNeeded: v)
    }

    func armDeadline(_ now: EngineInstant) {
        guard handshakeDeadline == nil, phase == .handshaking else { return }
        let (seconds, attoseconds) = configuration.handshakeTimeout.components
        let ns = UInt64(max(0, seconds)) &* 1_000_000_000 &+ UInt64(max(0, attoseconds) / 1_000_000_000)
        handshakeDeadline = now.advanced(byNanoseconds: ns)
    }

    // MARK: Failing and closing

    /// Ends the layer with `error`; a close frame with its status goes out when the
    /// WebSocket was open and none was sent.
    func fail(_ error: WebSocketError) {
        guard phase != .failed else { return }
        if phase == .open, let status = error.closeStatus, !sentClose {
            queueClose(status, reason: error.detail)
        }
        phase = .failed
        failure = error
        inputStalled = false
    }

    /// Queues a close frame (reason cut to fit the 125-byte control payload).
    func queueClose(_ status: WebSocketCloseStatus, reason: String = "") {
        guard !sentClose else { return }
        sentClose = true
        var payload: [UInt8] = [UInt8(status.rawValue >> 8), UInt8(status.rawValue & 0xFF)]
        var text = Array(reason.utf8.prefix(123))
        // Never cut a UTF-8 sequence in half (the reason must be valid UTF-8).
        while !text.isEmpty && String(validating: text, as: UTF8.self) == nil { text.removeLast() }
        payload += text
        queueControl(.close, payload)
    }

    func queueControl(_ opcode: WebSocketOpcode, _ payload: [UInt8]) {
        if !hasOutgoing {
            outgoing.removeAll(keepingCapacity: true)
            outgoingSent = 0
        }
        let mask: UInt32? = isClient ? nextMask() : nil
        var header = [UInt8](repeating: 0, count: 14)
        let n = header.withUnsafeMutableBytes { WebSocketFrame.writeHeader(opcode, payload: payload.count, mask: mask, into: $0) }
        outgoing += header[..<n]
        let start = outgoing.count
        outgoing += payload
        if let mask {
            outgoing.withUnsafeMutableBytes { b in
                _ = WebSocketFrame.applyMask(mask, to: UnsafeMutableRawBufferPointer(rebasing: b[start...]))
            }
        }
    }

    /// Writes queued handshake and control bytes.
    func writeOutgoing(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard hasOutgoing, !buffer.isEmpty else { return 0 }
        let n = min(buffer.count, outgoing.count - outgoingSent)
        outgoing.withUnsafeBytes { src in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[outgoingSent..<(outgoingSent + n)]))
        }
        outgoingSent += n
        if outgoingSent == outgoing.count {
            outgoing.removeAll(keepingCapacity: outgoing.count <= 512)
            outgoingSent = 0
        }
        return n
    }

    // MARK: Handshake

    /// Takes the peer's handshake head once it is whole (0 until then): a client checks
    /// the answer, a server answers the request. Returns the bytes consumed.
    func receiveHandshake(_ bytes: UnsafeRawBufferPointer) -> Int {
        // A plain AMQP peer sends (or answers with) its protocol header at once: say so
        // now rather than wait for a head that never ends.
        if bytes.count >= 4 && bytes.prefix(4).elementsEqual("AMQP".utf8) {
            let detail = isClient
                ? "the server answered with an AMQP protocol header: it is a plain AMQP listener, not a WebSocket server (use amqp:// or amqps://)"
                : "the client sent an AMQP protocol header: it does not speak WebSocket (use amqpws:// or amqpwss://)"
            if !isClient {
                outgoing = Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
                outgoingSent = 0
            }
            fail(WebSocketError(isClient ? .malformedHandshake : .requestRefused, detail: detail, httpStatus: isClient ? nil : 400))
            return bytes.count
        }
        // A TLS ClientHello (a handshake record, 0x16) at a listener without TLS: the
        // client wants amqpwss://. No HTTP answer: it would only confuse its TLS layer.
        if !isClient, bytes.first == 0x16 {
            fail(WebSocketError(
                .requestRefused,
                detail: "the client started a TLS handshake: this listener takes WebSocket without TLS (amqpws://)"))
            return bytes.count
        }
        guard let end = HTTPHeaders.headEnd(bytes) else {
            if bytes.count >= configuration.maxHandshakeBytes {
                let detail = "the \(isClient ? "server's answer" : "client's request") has no end of headers within \(configuration.maxHandshakeBytes) bytes"
                if !isClient {
                    outgoing = Array("HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
                    outgoingSent = 0
                }
                fail(WebSocketError(.handshakeTooLong, detail: detail, httpStatus: isClient ? nil : 431))
                return bytes.count
            }
            return 0
        }
        let head = UnsafeRawBufferPointer(rebasing: bytes[..<end])
        if isClient {
            do throws(WebSocketError) {
                try WebSocketHandshake.checkResponse(head, key: key, configuration: configuration)
            } catch {
                fail(error)
                return bytes.count
            }
        } else {
            let answer = WebSocketHandshake.answer(head, configuration: configuration)
            outgoing = answer.response
            outgoingSent = 0
            if let refusal = answer.refusal {
                fail(refusal)
                return bytes.count
            }
            if let line = try? HTTPHeaders(parsing: head) {
                requestedPath = line.startLine.split(separator: " ").dropFirst().first.map(String.init)
            }
        }
        phase = .open
        handshakeDeadline = nil
        return end
    }

    // MARK: Frames in

    /// Reads frames into the payload ring until input or room runs out, answering pings
    /// and the peer's close. Returns the bytes consumed.
    func readFrames(_ input: UnsafeRawBufferPointer) -> Int {
        if data == nil {
            do {
                data = try ByteRing(minimumCapacity: dataCapacity, storage: dataStorage)
            } catch {
                fail(WebSocketError(.frameTooLarge, detail: "no memory for the payload ring: \(error)", closeStatus: .internalError))
                return input.count
            }
        }
        var used = 0
        while phase == .open && !receivedClose && used < input.count {
            guard let room = data?.writable else { break }
            let r = reader.read(UnsafeRawBufferPointer(rebasing: input[used...]), into: room)
            used += r.consumed
            if r.written > 0 {
                data?.commitWrite(r.written)
                payloadBytesCopied &+= r.written
            }
            if let error = r.error {
                fail(error)
                return input.count
            }
            if let control = r.control {
                handleControl(control.opcode, control.payload)
                continue
            }
            if r.consumed == 0 && r.written == 0 {
                // Either a partial header (more input needed) or a payload with no room.
                if !reader.isBetweenFrames && (data?.writable.isEmpty ?? true) { inputStalled = true }
                break
            }
        }
        // Nothing after a failure or the peer's close is read (RFC 6455 section 5.5.1).
        if phase == .failed || receivedClose { return input.count }
        return used
    }

    func handleControl(_ opcode: WebSocketOpcode, _ payload: [UInt8]) {
        switch opcode {
        case .ping:
            if !sentClose { queueControl(.pong, payload) }
        case .close:
            if payload.count == 1 {
                fail(WebSocketError(.invalidClosePayload, detail: "a close frame with a one-byte payload", closeStatus: .protocolError))
                return
            }
            var status: WebSocketCloseStatus? = nil
            if payload.count >= 2 {
                let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
                let allowed = (1000...1003).contains(code) || (1007...1014).contains(code) || (3000...4999).contains(code)
                guard allowed else {
                    fail(WebSocketError(.invalidClosePayload, detail: "a close frame with status \(code), which must not be sent", closeStatus: .protocolError))
                    return
                }
                guard let reason = String(validating: payload[2...], as: UTF8.self) else {
                    fail(WebSocketError(.invalidClosePayload, detail: "a close frame whose reason is not UTF-8", closeStatus: .invalidPayload))
                    return
                }
                status = WebSocketCloseStatus(rawValue: code)
                peerCloseReason = reason
            }
            peerCloseStatus = status ?? .noStatus
            receivedClose = true
            // Echo the status (section 5.5.1); none received: none echoed.
            if !sentClose {
                if let status { queueClose(status) } else { sentClose = true; queueControl(.close, []) }
            }
        default:
            break  // pong: nothing to do
        }
    }

    /// What the peer's close said, for the protocol above.
    var peerCloseDescription: String {
        let status = peerCloseStatus.map { "\($0)" } ?? "no status"
        if let reason = peerCloseReason, !reason.isEmpty { return "the WebSocket peer closed with \(status): \(reason)" }
        return "the WebSocket peer closed with \(status)"
    }

    // MARK: Payload for the protocol above

    func offer(_ body: (UnsafeRawBufferPointer) -> Int) {
        guard let readable = data?.readable, readable.count > parsed else { return }
        let unparsed = UnsafeRawBufferPointer(rebasing: readable[parsed...])
        let used = body(unparsed)
        precondition(used >= 0 && used <= unparsed.count, "receive consumed \(used) of \(unparsed.count) bytes")
        parsed += used
    }

    var unparsedPayload: Int { (data?.count ?? parsed) - parsed }

    func released() -> Bool {
        let consumed = parsed > 0
        if consumed {
            data?.consume(parsed)
            parsed = 0
        }
        // A compacting ring full of one partial unit past its front must move it there.
        let moved = data?.reclaim() ?? false
        let stalled = inputStalled
        inputStalled = false
        return stalled && (consumed || moved) && phase == .open
    }
}
