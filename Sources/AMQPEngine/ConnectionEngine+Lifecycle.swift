import AMQPCodec

// Protocol headers, SASL, OPEN and CLOSE: the connection's own state machine
// (part 2, section 2.4; part 5, section 5.3).

extension ConnectionEngine {
    enum HeaderResult {
        case needMore
        case consumed(Int)
    }

    /// Queues what the current state and the application's requests call for next.
    mutating func advance() {
        guard !state.isFinal, !endAfterFlush else { return }
        let client = configuration.role == .client
        if client && openRequested && !saslDone && saslClient != nil && phase == .saslHeader && control.isEmpty && !saslHeaderQueued {
            saslHeaderQueued = true
            control.append(.header(.sasl))
        }
        guard saslDone else { return }
        if client && openRequested && !amqpHeaderSent {
            amqpHeaderSent = true
            control.append(.header(.amqp))
            transition(to: amqpHeaderReceived ? .headerExchanged : .headerSent)
        }
        guard amqpHeaderSent, openRequested else { return }
        // A server answers the client's OPEN, unless it is closing first: then it opens
        // at once so that its CLOSE can follow (OPEN is always the first frame).
        if !openSent && (client || remoteOpenReceived || closeRequested != nil) {
            openSent = true
            control.append(.amqp(channel: 0, .open(localOpen)))
            switch state {
            case .headerSent: transition(to: .openPipe)
            case .headerExchanged: transition(to: .openSent)
            case .openReceived: transition(to: .opened)
            default: break
            }
        }
        // An application's close lets the sessions' queued frames go first (`produce`
        // calls back here once they have).
        if let requested = closeRequested, openSent, !closeSent, !(flushSessionsBeforeClose && sessionsHaveOutput) {
            closeSent = true
            control.append(.amqp(channel: 0, .close(Close(error: requested))))
            if requested != nil && failure == nil {
                failure = EngineError(requested!, origin: .local)
            }
            switch state {
            case .openPipe: transition(to: .openClosePipe)
            case .openSent: transition(to: .closePipe)
            case .opened: transition(to: requested == nil ? .closeSent : .discarding)
            case .closeReceived:
                transition(to: .end)
            default: break
            }
        }
    }

    /// Our OPEN, from the configuration.
    var localOpen: Open {
        Open(
            containerID: configuration.containerID, hostname: configuration.hostname,
            maxFrameSize: configuration.maxFrameSize, channelMax: configuration.channelMax,
            idleTimeOut: configuration.announcedIdleTimeout, outgoingLocales: configuration.outgoingLocales,
            incomingLocales: configuration.incomingLocales, offeredCapabilities: configuration.offeredCapabilities,
            desiredCapabilities: configuration.desiredCapabilities, properties: configuration.properties)
    }

    /// Bookkeeping once a control frame is in the output buffer.
    mutating func wrote(_ frame: OutboundFrame, now: EngineInstant) {
        switch frame {
        case .amqp(_, .open):
            idleSince = now
        case .amqp(_, .close):
            if state.awaitsPeerClose && !endAfterFlush {
                closeDeadline = now.advanced(byMilliseconds: UInt64(configuration.closeTimeout))
            }
        default:
            break
        }
        if endAfterFlush && control.isEmpty {
            phase = .finished
            // A failed SASL exchange never opened an AMQP connection: like a lost transport,
            // it ends in ERROR on both sides (the client side goes there directly).
            if !state.isFinal { transition(to: failure?.origin == .transport || !saslDone ? .error : .end) }
        }
    }

    // MARK: Headers

    mutating func receiveHeader(_ bytes: UnsafeRawBufferPointer, offset: Int) -> HeaderResult {
        let expected: ProtocolHeader = phase == .saslHeader ? .sasl : .amqp
        let header: ProtocolHeader
        do {
            switch try ProtocolHeader.decode(bytes, baseOffset: offset) {
            case .needMore: return .needMore
            case .header(let h): header = h
            }
        } catch {
            // A TLS endpoint reached without TLS is the common cause: name it, so the
            // person reading the error learns to use amqps://, not that the peer is broken.
            guard let tls = ProtocolHeaderMismatch.looksLikeTLSRecord(bytes) else { return .needMore }
            if configuration.role == .server { control.append(.header(expected)) }
            if tls {
                transportFailed(Self.tlsRecordText(bytes, role: configuration.role, expected: expected),
                                mismatch: ProtocolHeaderMismatch(.tlsRecord, expected: expected))
            } else {
                transportFailed("the peer does not speak AMQP: \(error)", mismatch: ProtocolHeaderMismatch(.notAMQP, expected: expected))
            }
            return .consumed(bytes.count)
        }
        guard header == expected else {
            if configuration.role == .server {
                // Tell the client what we speak before closing (part 2, section 2.2).
                control.append(.header(expected))
            }
            let wanted = expected.id == .sasl ? "\(expected) (SASL)" : "\(expected)"
            var why = "the peer sent protocol header \(header); expected \(wanted)"
            if header.id == .tls {
                why += configuration.role == .client
                    ? ": the peer speaks TLS (the AMQP TLS header, part 5.2.1) and this connection does not; connect with amqps://, or start TLS after the header"
                    : ": the client asks for TLS, which this listener does not offer"
            }
            transportFailed(why, mismatch: ProtocolHeaderMismatch(.otherHeader, expected: expected, received: header))
            return .consumed(ProtocolHeader.size)
        }
        if configuration.trace { events.append(.trace(FrameTraceFormatter.header(header, .incoming))) }
        if phase == .saslHeader {
            phase = .saslFrames
            if let server = saslServer {
                control.append(.header(.sasl))
                control.append(.sasl(server.greeting))
            }
        } else {
            amqpHeaderReceived = true
            phase = .amqpFrames
            frameDecoder.maxFrameSize = configuration.maxFrameSize
            if configuration.role == .server {
                transition(to: .headerReceived)
                amqpHeaderSent = true
                control.append(.header(.amqp))
                transition(to: .headerExchanged)
            } else {
                switch state {
                case .headerSent: transition(to: .headerExchanged)
                case .openPipe: transition(to: .openSent)
                case .openClosePipe: transition(to: .closePipe)
                default: transition(to: .headerReceived)
                }
            }
            advance()
        }
        return .consumed(ProtocolHeader.size)
    }

    /// Says that the peer speaks TLS, naming the record it sent (the first three bytes
    /// of `bytes`, which `looksLikeTLSRecord` accepted) and what to do about it.
    static func tlsRecordText(_ bytes: UnsafeRawBufferPointer, role: ConnectionConfiguration.Role, expected: ProtocolHeader) -> String {
        let record: String
        switch bytes[0] {
        case 20: record = "change_cipher_spec"
        case 21: record = "alert"
        case 22: record = "handshake"
        default: record = "application_data"
        }
        let hex = bytes.prefix(3).map { "0x" + String($0, radix: 16, uppercase: true).leftPadded(2) }.joined(separator: " ")
        return role == .client
            ? "the peer speaks TLS: it answered our \(expected) protocol header with a TLS \(record) record (\(hex)); this port wants TLS: connect with amqps://"
            : "the peer speaks TLS: it opened with a TLS \(record) record (\(hex)) where its \(expected) protocol header belongs; this listener is plaintext (the client wants amqp://, or a TLS listener)"
    }

    // MARK: Frames

    /// Session frames from the peer are acted upon: its OPEN has arrived and the
    /// connection is open or closing from our side.
    @inline(__always)
    var sessionFramesFlow: Bool {
        remoteOpenReceived && (state == .opened || state == .closeSent || state == .closePipe)
    }

    mutating func receiveFrame(_ frame: FrameView, now: EngineInstant) {
        if phase == .saslFrames {
            receiveSASLFrame(frame)
            return
        }
        guard frame.header.type == .amqp else {
            protocolFailed(EngineError(.framingError, "a SASL frame arrived after SASL finished", origin: .local))
            return
        }
        if configuration.trace { events.append(.trace(Self.traceLine(received: frame))) }
        guard let body = frame.performative else { return }  // empty frame: only keeps the connection alive
        // The per-message performatives, once the connection is open, skip the
        // `Performative` enum: wrapping a TRANSFER in it and matching it out again copies
        // the struct twice per frame. Every other case, and every error, takes the
        // general path below.
        if sessionFramesFlow {
            switch body.descriptor.knownCode {
            case Descriptors.transfer:
                do {
                    let t = try TransferView(decoding: body)
                    receiveTransfer(t, channel: frame.header.channel, payload: frame.payload.bytes)
                } catch {
                    malformed(error)
                }
                return
            case Descriptors.disposition:
                do {
                    let d = try Disposition(decoding: body)
                    receiveDisposition(d, channel: frame.header.channel)
                } catch {
                    malformed(error)
                }
                return
            case Descriptors.flow:
                do {
                    let f = try Flow(decoding: body)
                    receiveFlow(f, channel: frame.header.channel)
                } catch {
                    malformed(error)
                }
                return
            default:
                break
            }
        }
        let performative: Performative
        do {
            guard let p = try frame.performativeValue() else { return }
            performative = p
        } catch {
            malformed(error)
            return
        }
        if state == .discarding, case .close = performative {} else if state == .discarding { return }
        switch performative {
        case .open(let open):
            guard frame.header.channel == 0 else {
                protocolFailed(EngineError(.framingError, "OPEN on channel \(frame.header.channel); it must use channel 0", origin: .local))
                return
            }
            guard !remoteOpenReceived else {
                protocolFailed(EngineError(.illegalState, "a second OPEN arrived", origin: .local))
                return
            }
            receiveOpen(open)
        case .close(let close):
            receiveClose(close)
        default:
            guard remoteOpenReceived else {
                protocolFailed(EngineError(.illegalState, "\(performative.name) arrived before OPEN", origin: .local))
                return
            }
            guard state == .opened || state == .closeSent || state == .closePipe else {
                // After our CLOSE (or before our OPEN completes) session traffic is
                // ignored rather than acted upon.
                return
            }
            receiveSessionFrame(channel: frame.header.channel, performative, payload: frame.payload, now: now)
        }
    }

    /// A performative that could not be decoded: a protocol error, unless we are
    /// already discarding everything until the peer's CLOSE.
    mutating func malformed(_ error: DecodeError) {
        if state == .discarding { return }
        protocolFailed(EngineError(AMQPError(condition: error.condition, description: "malformed performative: \(error)"), origin: .local))
    }

    mutating func receiveSASLFrame(_ frame: FrameView) {
        guard frame.header.type == .sasl, let body = frame.performative else {
            transportFailed("expected a SASL frame during SASL negotiation, got \(frame.header.type == .sasl ? "an empty frame" : "an AMQP frame")")
            return
        }
        let p: SASLPerformative
        do {
            p = try SASLPerformative(decoding: body)
        } catch {
            transportFailed("malformed SASL frame: \(error)")
            return
        }
        if configuration.trace { events.append(.trace(FrameTraceFormatter.sasl(p, .incoming))) }
        let step: SASLStep
        if saslClient != nil {
            step = saslClient!.receive(p)
        } else {
            step = saslServer!.receive(p)
        }
        switch step {
        case .none:
            break
        case .send(let reply):
            control.append(.sasl(reply))
        case .succeeded(let reply, let mechanism, let identity):
            if let reply { control.append(.sasl(reply)) }
            if case .saslOutcome(let outcome) = p { events.append(.saslOutcome(outcome)) }
            if let identity { events.append(.authenticated(mechanism: mechanism, identity: identity)) }
            saslDone = true
            phase = .amqpHeader
            frameDecoder.maxFrameSize = configuration.maxFrameSize
            advance()
        case .failed(let reply, let error):
            if let reply { control.append(.sasl(reply)) }
            if case .saslOutcome(let outcome) = p { events.append(.saslOutcome(outcome)) }
            failure = error
            // Sessions, links and deliveries a client pipelined behind SASL end here:
            // without this a refused login left a queued delivery unreported for ever
            // (found by Tools/Fuzz FuzzSASLClient).
            sessionsConnectionClosed(error: error.error)
            endAfterFlush = true
            phase = .finished
            if control.isEmpty { transition(to: .error) }
        }
    }

    mutating func receiveOpen(_ open: Open) {
        remoteOpen = open
        remoteOpenReceived = true
        remoteMaxFrameSize = Swift.max(open.maxFrameSize, FrameHeader.minimumMaxFrameSize)
        negotiatedChannelMax = Swift.min(configuration.channelMax, open.channelMax)
        remoteIdleTimeout = open.idleTimeOut ?? 0
        events.append(.remoteOpen(open))
        switch state {
        case .openSent: transition(to: .opened)
        case .closePipe: transition(to: .closeSent)
        case .headerExchanged: transition(to: .openReceived)
        default: break
        }
        advance()
    }

    mutating func receiveClose(_ close: Close) {
        events.append(.remoteClose(close.error))
        if failure == nil, let error = close.error { failure = EngineError(error, origin: .remote) }
        sessionsConnectionClosed(error: close.error)
        if closeSent {
            closeDeadline = nil
            phase = .finished
            transition(to: .end)
        } else {
            transition(to: .closeReceived)
            sendOpenBeforeClose()
            closeRequested = .some(nil)
            phase = .finished
            advance()
        }
    }

    // MARK: Failures

    /// The peer broke the protocol in a frame we could read whole: close with the error
    /// and discard everything until its CLOSE (part 2, section 2.4.4.2).
    mutating func protocolFailed(_ error: EngineError) {
        guard !state.isFinal, state != .discarding else { return }
        if failure == nil { failure = error }
        guard amqpHeaderSent else {
            transportFailed(error.error.errorDescription ?? "\(error)")
            return
        }
        sendOpenBeforeClose()
        if !closeSent {
            closeRequested = .some(error.error)
            closeSent = true
            control.append(.amqp(channel: 0, .close(Close(error: error.error))))
            transition(to: .discarding)
        }
        sessionsConnectionClosed(error: error.error)
    }

    /// The byte stream can no longer be cut into frames: say why in a CLOSE if the AMQP
    /// layer is up, then end without reading more.
    mutating func framingFailed(_ decodeError: DecodeError) {
        let error = EngineError(AMQPError(condition: decodeError.condition, description: "\(decodeError)"), origin: .local)
        guard phase == .amqpFrames, amqpHeaderSent else {
            transportFailed("\(decodeError)")
            return
        }
        if failure == nil { failure = error }
        sendOpenBeforeClose()
        if !closeSent {
            closeSent = true
            control.append(.amqp(channel: 0, .close(Close(error: error.error))))
        }
        sessionsConnectionClosed(error: error.error)
        endAfterFlush = true
        phase = .finished
        if control.isEmpty { transition(to: .end) }
    }

    /// Closing before our OPEN went out: the peer must still see OPEN first (part 2,
    /// section 2.4.1: each side sends OPEN before any other frame), even from a server
    /// that has not seen the client's OPEN.
    mutating func sendOpenBeforeClose() {
        guard amqpHeaderSent, !openSent else { return }
        openRequested = true
        advance()
        if !openSent {
            openSent = true
            control.append(.amqp(channel: 0, .open(localOpen)))
        }
    }

    /// Below AMQP: wrong header, SASL failure, lost framing before OPEN. Nothing more is
    /// read; whatever is queued (our header, a SASL outcome) is still written.
    mutating func transportFailed(_ why: String, mismatch: ProtocolHeaderMismatch? = nil) {
        if failure == nil {
            failure = EngineError(AMQPError(condition: .framingError, description: why), origin: .transport, headerMismatch: mismatch)
        }
        sessionsConnectionClosed(error: failure!.error)
        endAfterFlush = true
        phase = .finished
        if control.isEmpty && !state.isFinal { transition(to: .error) }
    }

    /// Tells the engine that the byte stream below it failed or ended before the
    /// connection did (a reset, end of stream, a write error, a time-out at the socket).
    ///
    /// Nothing more can be sent or received: the connection goes to ERROR with an
    /// `amqp:connection:forced` error from the transport (retryable by the reference's
    /// policy), every session and link ends, and every unsettled outgoing delivery is
    /// reported `.lost` so no message's fate is silently dropped. Does nothing once the
    /// connection has ended.
    public mutating func transportClosed(_ description: String) {
        guard !state.isFinal else { return }
        if failure == nil {
            failure = EngineError(.connectionForced, "the transport closed: \(description)", origin: .transport)
        }
        sessionsConnectionClosed(error: failure?.error)
        control.removeAll()
        endAfterFlush = false
        phase = .finished
        transition(to: .error)
    }

    /// A local error that needs no CLOSE (or one that is already queued).
    mutating func fail(_ error: EngineError, sendClose: Bool) {
        if sendClose {
            protocolFailed(error)
        } else {
            if failure == nil { failure = error }
            sessionsConnectionClosed(error: error.error)
            endAfterFlush = true
            phase = .finished
            if control.isEmpty && !state.isFinal { transition(to: .error) }
        }
    }

    static func traceLine(received frame: FrameView) -> String {
        FrameTraceFormatter.frame(frame, .incoming)
    }
}
