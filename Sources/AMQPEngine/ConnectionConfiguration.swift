public import AMQPCodec

/// Everything a connection announces and enforces, fixed before it starts.
public struct ConnectionConfiguration: Sendable {
    /// Which end of the connection this engine plays.
    public enum Role: Hashable, Sendable {
        /// Sends its protocol header first; the reference `Connection`.
        case client
        /// Answers a client's protocol header; the embedded peer and listeners.
        case server
    }

    /// Client or server.
    public var role: Role
    /// Our container id (OPEN's `container-id`).
    public var containerID: String
    /// The host we connect to (OPEN's `hostname`; virtual hosting, SNI-like).
    public var hostname: String?
    /// The largest frame we accept (OPEN's `max-frame-size`, at least 512). uamqp's
    /// default, 63,488 bytes, fits a 64 KiB TCP window with room for headers.
    public var maxFrameSize: UInt32 = 63_488
    /// The highest channel number we accept (OPEN's `channel-max`).
    public var channelMax: UInt16 = 65_535
    /// Close the connection when nothing arrives for this many milliseconds; `nil` for no
    /// limit. OPEN's `idle-time-out` announces half of it (`announcedIdleTimeout`).
    public var idleTimeout: UInt32? = nil
    /// Send an empty frame once this fraction of the peer's idle time-out has passed
    /// without sending anything; in (0, 1].
    public var emptyFrameSendRatio: Double = 0.5
    /// Connection properties (OPEN's `properties`).
    public var properties: Fields? = nil
    /// OPEN's `offered-capabilities`.
    public var offeredCapabilities: [Symbol] = []
    /// OPEN's `desired-capabilities`.
    public var desiredCapabilities: [Symbol] = []
    /// OPEN's `outgoing-locales`.
    public var outgoingLocales: [Symbol] = []
    /// OPEN's `incoming-locales`.
    public var incomingLocales: [Symbol] = []
    /// SASL to run before AMQP, or `nil` to start with the AMQP header directly.
    public var sasl: SASLConfiguration? = nil
    /// How long to wait for the peer's CLOSE after sending ours, in milliseconds, before
    /// giving up and ending anyway (so DISCARDING can never last forever).
    public var closeTimeout: UInt32 = 30_000
    /// Bounds on what a peer can make us hold.
    public var limits: EngineLimits = .init()
    /// Listener convenience: accept every session and link the peer begins or attaches,
    /// without `remoteBegin`/`remoteAttach` events. `nil` (the default) leaves each to
    /// the application.
    public var autoAccept: AutoAcceptPolicy? = nil
    /// Record a trace line for every frame sent and received (`ConnectionEvent.trace`).
    public var trace: Bool = false

    /// Creates a configuration.
    public init(role: Role, containerID: String, hostname: String? = nil) {
        self.role = role
        self.containerID = containerID
        self.hostname = hostname
    }

    /// Checks the values a peer would reject; returns what is wrong.
    public func validate() -> String? {
        if maxFrameSize < FrameHeader.minimumMaxFrameSize {
            return "max-frame-size \(maxFrameSize) is below the minimum of 512"
        }
        if !(emptyFrameSendRatio > 0 && emptyFrameSendRatio <= 1) {
            return "the empty-frame send ratio \(emptyFrameSendRatio) is not in (0, 1]"
        }
        if idleTimeout == 0 { return "an idle time-out of 0 ms means none: use nil" }
        if case .clientPreferring(let preferences)? = sasl, preferences.isEmpty {
            return "a SASL client needs credentials for at least one mechanism"
        }
        return nil
    }
}

/// Limits on what a peer can make a connection hold. Breaking one closes the connection
/// (or link) with the condition the specification names.
public struct EngineLimits: Hashable, Sendable {
    /// Nesting and element bounds for every decoded frame.
    public var decode: DecodeLimits = .default
    /// Bytes of partly received (multi-frame) deliveries buffered across the connection.
    public var maxBufferedDeliveryBytes: Int = 64 << 20
    /// Largest SASL frame accepted (512 until negotiated, per part 5 section 5.3.1).
    public var maxSASLFrameSize: UInt32 = 512
    /// Most SASL challenge/response rounds before the exchange is refused.
    public var maxSASLRounds: Int = 8
    /// Creates the default limits.
    public init() {}
}

extension ConnectionConfiguration {
    /// OPEN's `idle-time-out`: half of `idleTimeout` (at least 1 ms). "To avoid spurious
    /// timeouts, the value in idle-time-out SHOULD be half the peer's actual timeout
    /// threshold" (part 2, section 2.4.5): a peer may send its first empty frame as late
    /// as the value it was given (Qpid Proton's first one comes about one announced
    /// time-out after its last frame), so announcing the threshold itself lost
    /// connections to such peers. Proton and RabbitMQ announce half of theirs too.
    public var announcedIdleTimeout: UInt32? { idleTimeout.map { Swift.max(1, $0 / 2) } }
}
