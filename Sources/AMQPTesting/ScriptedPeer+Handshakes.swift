public import AMQPCodec
import AMQPEngine

// The usual opening moves, written once: header exchange, SASL, OPEN. Each plays the
// peer's part for whichever role the engine has and checks the engine's part.

extension ScriptedPeer {
    /// Exchanges protocol headers: a client engine must have written `header` (the peer
    /// answers with it); a server engine gets `header` and must answer with it.
    public mutating func exchangeHeaders(_ header: ProtocolHeader = .amqp, fileID: String = #fileID, line: Int = #line) throws(ScriptFailure) {
        if engineRole == .client {
            try expectHeader(header, fileID: fileID, line: line)
            try send(header: header, fileID: fileID, line: line)
        } else {
            try send(header: header, fileID: fileID, line: line)
            try expectHeader(header, fileID: fileID, line: line)
        }
    }

    /// Runs a whole SASL exchange that ends in `outcome`.
    ///
    /// - Client engine: expects the SASL header, offers `mechanisms`, expects sasl-init
    ///   (returned), and answers with `outcome`.
    /// - Server engine: sends the SASL header, expects it back and the server's
    ///   mechanisms (`mechanisms`), sends sasl-init with `mechanisms[0]` and
    ///   `initialResponse`, and expects `outcome`.
    @discardableResult
    public mutating func exchangeSASL(
        mechanisms: [Symbol], initialResponse: [UInt8]? = nil, outcome: SASLCode = .ok,
        fileID: String = #fileID, line: Int = #line
    ) throws(ScriptFailure) -> SASLInit? {
        try exchangeHeaders(.sasl, fileID: fileID, line: line)
        if engineRole == .client {
            try send(.saslMechanisms(SASLMechanisms(saslServerMechanisms: mechanisms)), fileID: fileID, line: line)
            let initFrame = try expectSASLInit(fileID: fileID, line: line)
            try send(.saslOutcome(SASLOutcome(code: outcome)), fileID: fileID, line: line)
            return initFrame
        } else {
            try expectSASLMechanisms(mechanisms, fileID: fileID, line: line)
            try send(.saslInit(SASLInit(mechanism: mechanisms[0], initialResponse: initialResponse)), fileID: fileID, line: line)
            try expectSASLOutcome(outcome, fileID: fileID, line: line)
            return nil
        }
    }

    /// Exchanges OPEN: a client engine must have written OPEN (returned) and gets
    /// `peerOpen`; a server engine gets `peerOpen` and must answer with OPEN (returned).
    /// Expects the engine to be OPENED afterwards.
    @discardableResult
    public mutating func exchangeOpen(_ peerOpen: Open, fileID: String = #fileID, line: Int = #line) throws(ScriptFailure) -> Open {
        let open: Open
        if engineRole == .client {
            open = try expectOpen(fileID: fileID, line: line)
            try send(.open(peerOpen), fileID: fileID, line: line)
        } else {
            try send(.open(peerOpen), fileID: fileID, line: line)
            open = try expectOpen(fileID: fileID, line: line)
        }
        try expectState(.opened, fileID: fileID, line: line)
        return open
    }

    /// Opens the engine (`open()`), exchanges AMQP headers and OPEN: the shortest way to
    /// an OPENED connection without SASL. Returns the engine's OPEN.
    @discardableResult
    public mutating func openConnection(peerOpen: Open = Open(containerID: "scripted-peer"), fileID: String = #fileID, line: Int = #line) throws(ScriptFailure) -> Open {
        try perform(fileID: fileID, line: line) { $0.open() }
        try exchangeHeaders(.amqp, fileID: fileID, line: line)
        return try exchangeOpen(peerOpen, fileID: fileID, line: line)
    }
}
