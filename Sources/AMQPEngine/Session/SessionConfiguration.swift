public import AMQPCodec

/// What a session announces in its BEGIN and enforces afterwards.
public struct SessionConfiguration: Sendable {
    /// Transfer frames the peer may send before we widen the window again (BEGIN's
    /// `incoming-window`). The engine hands every frame to the application at once and
    /// refills the window when half is used, so this bounds frames in flight, not
    /// memory: link credit is the per-message flow control, and partly received
    /// deliveries are capped by `EngineLimits.maxBufferedDeliveryBytes`. 5,000 frames
    /// (go-amqp's default) cover the bandwidth-delay product of small messages on a
    /// fast network while costing one session FLOW per 2,500 frames.
    public var incomingWindow: UInt32 = 5_000
    /// Transfer frames we allow ourselves to send before announcing more (BEGIN's
    /// `outgoing-window`). Only we are limited by it, so the default (2^31 - 1, as
    /// Proton) never holds anything back; lower it to make a session yield.
    public var outgoingWindow: UInt32 = 2_147_483_647
    /// The highest link handle the peer may use (BEGIN's `handle-max`). It bounds the
    /// links a peer can make us hold; 65,535 is Proton-J's default.
    public var handleMax: UInt32 = 65_535
    /// BEGIN's `offered-capabilities`.
    public var offeredCapabilities: [Symbol] = []
    /// BEGIN's `desired-capabilities`.
    public var desiredCapabilities: [Symbol] = []
    /// BEGIN's `properties`.
    public var properties: Fields? = nil

    /// Creates the default configuration.
    public init() {}

    /// Checks values the engine cannot work with; returns what is wrong.
    public func validate() -> String? {
        if incomingWindow == 0 { return "an incoming window of 0 lets the peer send nothing" }
        if outgoingWindow == 0 { return "an outgoing window of 0 lets us send nothing" }
        return nil
    }
}

/// How a listener answers what peers begin and attach without asking the application:
/// every session is accepted with `session`, every link with the peer's own terminus,
/// settle modes and the credit policy below. Set `ConnectionConfiguration.autoAccept`.
public struct AutoAcceptPolicy: Sendable {
    /// The configuration of accepted sessions.
    public var session: SessionConfiguration = .init()
    /// How accepted receiving links grant credit.
    public var credit: CreditPolicy = .prefetch(300)
    /// Whether accepted receiving links stream deliveries frame by frame.
    public var streaming: Bool = false
    /// The largest message accepted receiving links take; `nil` for no limit.
    public var maxMessageSize: UInt64? = nil
    /// Accept links too. With `false` only sessions are accepted automatically and each
    /// link the peer attaches is reported (`remoteAttach`) for the application to accept
    /// or refuse, as a broker that routes by address does. (Accepting the session at once
    /// also keeps the frames a peer pipelines behind its BEGIN: ATTACH and FLOW that
    /// arrive while a session waits for `acceptSession` are not acted upon.)
    public var links: Bool = true

    /// Creates the default policy.
    public init() {}
}
