import AMQPCodec

// Deadlines: the local idle time-out, heartbeats for the peer's, and the wait for the
// peer's CLOSE. The engine owns no timer; it says when it next needs `poll(now:)`.

extension ConnectionEngine {
    /// When `poll(now:)` must next be called, or `nil` if no deadline is pending.
    public var nextDeadline: EngineInstant? {
        guard !state.isFinal else { return nil }
        var next: EngineInstant? = closeDeadline
        func consider(_ d: EngineInstant?) {
            guard let d else { return }
            if next == nil || d < next! { next = d }
        }
        consider(idleDeadline)
        consider(heartbeatDeadline)
        // Ending after a flush: poll at once to start the flush's clock, then at its end.
        if endAfterFlush { consider(flushDeadline ?? lastReceived) }
        return next
    }

    /// Runs the deadlines that are due at `now`: closes on the local idle time-out, queues
    /// an empty frame when a heartbeat is due, gives up on a peer that never answers
    /// our CLOSE, and on one that does not take our last frames (`closeTimeout`, or the
    /// idle time-out after it expired).
    public mutating func poll(now: EngineInstant) {
        guard !state.isFinal else { return }
        if endAfterFlush {
            guard let d = flushDeadline else {
                flushDeadline = now.advanced(byMilliseconds: UInt64(configuration.closeTimeout))
                return
            }
            if now >= d {
                flushDeadline = nil
                if failure == nil {
                    failure = EngineError(
                        .connectionForced, "the peer did not take our last frames within \(configuration.closeTimeout) ms", origin: .local)
                }
                sessionsConnectionClosed(error: failure?.error)
                control.removeAll()
                phase = .finished
                transition(to: failure?.origin == .transport || !saslDone ? .error : .end)
            }
            return
        }
        if let d = closeDeadline, now >= d {
            closeDeadline = nil
            if failure == nil {
                failure = EngineError(.connectionForced, "the peer did not answer CLOSE within \(configuration.closeTimeout) ms", origin: .local)
            }
            sessionsConnectionClosed(error: failure?.error)
            control.removeAll()
            phase = .finished
            transition(to: .end)
            return
        }
        if let d = idleDeadline, now >= d, let timeout = configuration.idleTimeout {
            let error = EngineError(
                .resourceLimitExceeded,
                "local idle time-out expired: no frame received for \(timeout) ms", origin: .local)
            if failure == nil { failure = error }
            if !closeSent {
                closeSent = true
                control.append(.amqp(channel: 0, .close(Close(error: error.error))))
            }
            sessionsConnectionClosed(error: error.error)
            // A silent peer will not answer our CLOSE either: end once it is written, or
            // after another idle time-out if it cannot be (the peer does not read).
            endAfterFlush = true
            flushDeadline = now.advanced(byMilliseconds: UInt64(timeout))
            phase = .finished
            if control.isEmpty { transition(to: .end) }
            return
        }
        if let d = heartbeatDeadline, now >= d, control.isEmpty {
            control.append(.empty)
        }
    }

    /// Local idle time-out: counted from our OPEN or the last bytes received.
    var idleDeadline: EngineInstant? {
        guard let timeout = configuration.idleTimeout, let since = idleSince, !endAfterFlush else { return nil }
        let from = Swift.max(since, lastReceived)
        return from.advanced(byMilliseconds: UInt64(timeout))
    }

    /// Next empty frame: `ratio × the peer's idle time-out` after we last sent anything.
    var heartbeatDeadline: EngineInstant? {
        guard remoteIdleTimeout > 0, openSent, !closeSent || state == .closeSent, !endAfterFlush else { return nil }
        let interval = Double(remoteIdleTimeout) * configuration.emptyFrameSendRatio * 1_000_000
        return lastSent.advanced(byNanoseconds: UInt64(interval.rounded(.down)))
    }
}

// Heartbeats outside the rings: a driver that gives an idle connection's buffers back
// to the kernel asks these, so that one empty frame each way does not take a page back.
extension ConnectionEngine {
    /// True when all the engine would write now is one empty frame (a heartbeat).
    public var onlyEmptyFrameDue: Bool {
        guard control.count == 1, case .empty? = control.first else { return false }
        return !sessionsHaveOutput
    }

    /// True when `bytes` are one or more whole empty frames (8 bytes each: size 8, data
    /// offset 2, type AMQP, any channel) and AMQP frames flow, so `receive` consumes them
    /// whole and raises no event that borrows them.
    public func areEmptyFrames(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard phase == .amqpFrames, !bytes.isEmpty, bytes.count % 8 == 0 else { return false }
        var at = 0
        while at < bytes.count {
            // size 00 00 00 08, doff 02, type 00; bytes 6 and 7 are the channel.
            guard bytes[at] == 0, bytes[at + 1] == 0, bytes[at + 2] == 0, bytes[at + 3] == 8, bytes[at + 4] == 2, bytes[at + 5] == 0
            else { return false }
            at += 8
        }
        return true
    }
}
