public import AMQPCodec
public import AMQPEngine

// Expectations consume the engine's frames in the order it wrote them. Each failure
// says what was expected, what arrived (decoded), and where the engine stands.

extension ScriptedPeer {
    /// Expects the next frame the engine wrote to satisfy `predicate`, and returns it.
    ///
    /// - Parameter what: the expected frame in words, for the failure message.
    @discardableResult
    public mutating func expectFrame(
        _ what: String, fileID: String = #fileID, line: Int = #line, where predicate: (DecodedFrame) -> Bool
    ) throws(ScriptFailure) -> TimedFrame {
        guard let next = pendingFrames.first else {
            throw failure("expected \(what), but the engine wrote nothing more", fileID: fileID, line: line)
        }
        guard predicate(next.frame) else {
            throw failure("expected \(what), got \(next)", fileID: fileID, line: line)
        }
        consumeFrame()
        return next
    }

    /// Expects a protocol header.
    public mutating func expectHeader(_ header: ProtocolHeader = .amqp, fileID: String = #fileID, line: Int = #line) throws(ScriptFailure) {
        try expectFrame("HEADER \(header)", fileID: fileID, line: line) { $0 == .header(header) }
    }

    /// Expects an AMQP frame on `channel` whose performative satisfies `predicate`.
    @discardableResult
    public mutating func expectPerformative(
        _ what: String, channel: UInt16? = nil, fileID: String = #fileID, line: Int = #line,
        where predicate: (Performative) -> Bool
    ) throws(ScriptFailure) -> Performative {
        let onChannel = channel.map { " on channel \($0)" } ?? ""
        let frame = try expectFrame(what + onChannel, fileID: fileID, line: line) { frame in
            guard case .amqp(let c, let p, _) = frame else { return false }
            return (channel == nil || channel == c) && predicate(p)
        }
        return frame.frame.performative!
    }

    /// Expects OPEN on channel 0, optionally satisfying `predicate`, and returns it.
    @discardableResult
    public mutating func expectOpen(
        _ what: String = "OPEN", fileID: String = #fileID, line: Int = #line, where predicate: (Open) -> Bool = { _ in true }
    ) throws(ScriptFailure) -> Open {
        let p = try expectPerformative(what, channel: 0, fileID: fileID, line: line) {
            if case .open(let o) = $0 { return predicate(o) }
            return false
        }
        guard case .open(let open) = p else { preconditionFailure("matched a non-OPEN") }
        return open
    }

    /// Expects CLOSE on channel 0 with any error, and returns it.
    @discardableResult
    public mutating func expectClose(fileID: String = #fileID, line: Int = #line) throws(ScriptFailure) -> Close {
        let p = try expectPerformative("CLOSE", channel: 0, fileID: fileID, line: line) {
            if case .close = $0 { return true }
            return false
        }
        guard case .close(let close) = p else { preconditionFailure("matched a non-CLOSE") }
        return close
    }

    /// Expects CLOSE on channel 0 carrying `condition` (`nil`: a clean CLOSE without an
    /// error), and returns it.
    @discardableResult
    public mutating func expectClose(
        condition: ErrorCondition?, fileID: String = #fileID, line: Int = #line
    ) throws(ScriptFailure) -> Close {
        let what = condition.map { "CLOSE(error: \($0))" } ?? "CLOSE without an error"
        let p = try expectPerformative(what, channel: 0, fileID: fileID, line: line) {
            if case .close(let c) = $0 { return c.error?.condition == condition }
            return false
        }
        guard case .close(let close) = p else { preconditionFailure("matched a non-CLOSE") }
        return close
    }

    /// Expects an empty frame, written at `instant` when given.
    public mutating func expectEmptyFrame(at instant: EngineInstant? = nil, fileID: String = #fileID, line: Int = #line) throws(ScriptFailure) {
        let what = instant.map { "EMPTY at \($0)" } ?? "EMPTY"
        guard let next = pendingFrames.first else {
            throw failure("expected \(what), but the engine wrote nothing more", fileID: fileID, line: line)
        }
        guard next.frame.isEmptyFrame, instant == nil || next.at == instant else {
            throw failure("expected \(what), got \(next)", fileID: fileID, line: line)
        }
        consumeFrame()
    }

    /// Expects a SASL frame satisfying `predicate`, and returns its performative.
    @discardableResult
    public mutating func expectSASL(
        _ what: String, fileID: String = #fileID, line: Int = #line, where predicate: (SASLPerformative) -> Bool
    ) throws(ScriptFailure) -> SASLPerformative {
        let frame = try expectFrame(what, fileID: fileID, line: line) { frame in
            guard case .sasl(let p) = frame else { return false }
            return predicate(p)
        }
        return frame.frame.saslPerformative!
    }

    /// Expects sasl-mechanisms offering exactly `mechanisms`.
    public mutating func expectSASLMechanisms(_ mechanisms: [Symbol], fileID: String = #fileID, line: Int = #line) throws(ScriptFailure) {
        try expectSASL("SASL-MECHANISMS\(mechanisms)", fileID: fileID, line: line) {
            if case .saslMechanisms(let m) = $0 { return m.saslServerMechanisms == mechanisms }
            return false
        }
    }

    /// Expects sasl-init, optionally satisfying `predicate`, and returns it.
    @discardableResult
    public mutating func expectSASLInit(
        _ what: String = "SASL-INIT", fileID: String = #fileID, line: Int = #line, where predicate: (SASLInit) -> Bool = { _ in true }
    ) throws(ScriptFailure) -> SASLInit {
        let p = try expectSASL(what, fileID: fileID, line: line) {
            if case .saslInit(let i) = $0 { return predicate(i) }
            return false
        }
        guard case .saslInit(let i) = p else { preconditionFailure("matched a non-sasl-init") }
        return i
    }

    /// Expects sasl-outcome with `code`.
    public mutating func expectSASLOutcome(_ code: SASLCode, fileID: String = #fileID, line: Int = #line) throws(ScriptFailure) {
        try expectSASL("SASL-OUTCOME(code: \(FrameDescription.describe(code)))", fileID: fileID, line: line) {
            if case .saslOutcome(let o) = $0 { return o.code == code }
            return false
        }
    }

    /// Expects that the engine wrote nothing the script has not expected, and has
    /// nothing more to write.
    public func expectNothingMore(fileID: String = #fileID, line: Int = #line) throws(ScriptFailure) {
        guard pendingFrames.isEmpty, !engine.hasPendingOutput else {
            throw failure("expected nothing more from the engine", fileID: fileID, line: line)
        }
    }

    /// Expects the engine to be in `state`.
    public func expectState(_ state: ConnectionState, fileID: String = #fileID, line: Int = #line) throws(ScriptFailure) {
        guard engine.state == state else {
            throw failure("expected state \(state), the engine is in \(engine.state)", fileID: fileID, line: line)
        }
    }

    /// Expects the engine to have finished (everything written, transport may close) in
    /// `state`, having failed with `condition` (`nil`: no failure) raised by `origin`
    /// (any origin when `nil`), with a description containing `descriptionContains`.
    public func expectFinished(
        _ state: ConnectionState, condition: ErrorCondition?, origin: EngineError.Origin? = nil,
        descriptionContains: String? = nil, fileID: String = #fileID, line: Int = #line
    ) throws(ScriptFailure) {
        var problems: [String] = []
        if !engine.isFinished { problems.append("is not finished") }
        if engine.state != state { problems.append("is in \(engine.state), not \(state)") }
        if engine.failure?.condition != condition {
            problems.append("failed with \(engine.failure.map { "\($0.condition)" } ?? "no error"), not \(condition.map { "\($0)" } ?? "no error")")
        }
        if let origin, let f = engine.failure, f.origin != origin { problems.append("failure origin is \(f.origin), not \(origin)") }
        if let text = descriptionContains {
            let d = engine.failure?.error.errorDescription ?? ""
            if !d.contains(text) { problems.append("failure description \"\(d)\" does not contain \"\(text)\"") }
        }
        if engine.nextDeadline != nil { problems.append("still has a deadline") }
        guard problems.isEmpty else {
            throw failure("expected the engine to finish in \(state): it " + problems.joined(separator: "; "), fileID: fileID, line: line)
        }
    }

    /// Expects the transport to have failed below AMQP: the engine finished in ERROR
    /// with a `transport` failure (`amqp:connection:framing-error` unless told).
    public func expectTransportFailure(
        condition: ErrorCondition = .framingError, descriptionContains: String? = nil,
        fileID: String = #fileID, line: Int = #line
    ) throws(ScriptFailure) {
        try expectFinished(.error, condition: condition, origin: .transport, descriptionContains: descriptionContains, fileID: fileID, line: line)
    }

    /// Expects the connection to close with `condition`: the engine writes CLOSE with it
    /// (after OPEN if it had not sent one: `expectOpenFirst`), the peer answers with
    /// CLOSE if the engine waits for one, and the engine finishes in END having failed
    /// with `condition`, writing nothing more.
    public mutating func expectConnectionClosed(
        condition: ErrorCondition, expectOpenFirst: Bool = false, fileID: String = #fileID, line: Int = #line
    ) throws(ScriptFailure) {
        if expectOpenFirst { try expectOpen(fileID: fileID, line: line) }
        try expectClose(condition: condition, fileID: fileID, line: line)
        if !engine.state.isFinal {
            try send(.close(Close()), fileID: fileID, line: line)
        }
        try expectFinished(.end, condition: condition, fileID: fileID, line: line)
        try expectNothingMore(fileID: fileID, line: line)
    }

    /// Marks the next frame as expected.
    mutating func consumeFrame() {
        skipFrames(1)
    }
}
