import AMQPEngine

/// A session on a connection (part 2, section 2.5): the reference's `Session`.
///
/// Creating one opens the connection if it has not opened yet, and sends BEGIN; links
/// may be attached at once (their ATTACHes follow the BEGIN). Sessions use the lowest
/// free channel, bounded by the connection's channel-max. Dropping the last reference
/// ends the session.
public final class Session: Sendable {
    /// The connection the session belongs to.
    public let connection: Connection
    let core: SessionCore

    /// Begins a session.
    ///
    /// - Parameters:
    ///   - incomingWindow: transfer frames the peer may send before we widen the window.
    ///   - outgoingWindow: transfer frames we allow ourselves before announcing more.
    ///   - handleMax: the highest link handle the peer may use.
    /// - Throws: the connection's stored error, a client error when it was destroyed, or
    ///   a client error for a window of 0.
    public init(
        connection: Connection, incomingWindow: UInt32 = 5_000, outgoingWindow: UInt32 = 2_147_483_647,
        handleMax: UInt32 = 65_535
    ) throws(AMQPClientError) {
        var configuration = SessionConfiguration()
        configuration.incomingWindow = incomingWindow
        configuration.outgoingWindow = outgoingWindow
        configuration.handleMax = handleMax
        if let why = configuration.validate() {
            throw connection.core.policy.clientError("Session: \(why)")
        }
        self.connection = connection
        core = SessionCore(connection: connection.core, configuration: configuration)
        let binding = try connection.core.start()
        core.begin(on: binding)
    }

    deinit {
        core.end()
    }

    /// BEGIN's `incoming-window`.
    public var incomingWindow: UInt32 { core.configuration.incomingWindow }
    /// BEGIN's `outgoing-window`.
    public var outgoingWindow: UInt32 { core.configuration.outgoingWindow }
    /// BEGIN's `handle-max`.
    public var handleMax: UInt32 { core.configuration.handleMax }

    /// True once the peer answered the BEGIN and until the session ends.
    public var isOpen: Bool { core.status.withLock { if case .open = $0 { true } else { false } } }

    /// Why the session ended, if it ended with an error.
    public var error: AMQPClientError? {
        core.status.withLock { if case .closed(let e) = $0 { e } else { nil } }
    }

    /// Ends the session (END); its links end with it.
    public func close() {
        core.end()
    }

    func checkUsable() throws(AMQPClientError) {
        if let error = core.closedError { throw error }
    }
}
