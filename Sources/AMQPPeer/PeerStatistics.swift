/// What an `EmbeddedPeer` has done so far.
public struct PeerStatistics: Hashable, Sendable {
    /// Connections accepted.
    public var connectionsAccepted = 0
    /// Connections refused at accept (over `PeerLimits.maxConnections`).
    public var connectionsRefused = 0
    /// Clients that authenticated.
    public var authenticated = 0
    /// Messages stored from clients' senders.
    public var messagesStored = 0
    /// Messages refused because a bound was reached.
    public var messagesRefused = 0
    /// Deliveries sent to clients' receivers (redeliveries included).
    public var deliveriesSent = 0
    /// Deliveries the clients accepted (or settled without an outcome).
    public var messagesAccepted = 0
    /// Deliveries that came back to their queue: released, modified, or unsettled when
    /// their link or connection ended.
    public var messagesReturned = 0
    /// Deliveries the clients rejected.
    public var messagesRejected = 0
    /// Rejected messages kept in the dead-letter queue.
    public var deadLettered = 0
    /// Put-token requests answered 200.
    public var tokensAccepted = 0
    /// Put-token requests answered otherwise.
    public var tokensRefused = 0

    /// Creates zeroed statistics.
    public init() {}
}
