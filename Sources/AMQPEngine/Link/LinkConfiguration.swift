public import AMQPCodec

/// How a receiving link grants credit to its sender (part 2, section 2.6.7).
public enum CreditPolicy: Hashable, Sendable {
    /// Keep about `n` messages in flight: grant `n` at attach and top the credit back up
    /// to `n` whenever it falls to half, as deliveries arrive. The application never
    /// calls `flow`.
    case prefetch(UInt32)
    /// The application grants credit itself with `ConnectionEngine.flow(on:credit:drain:)`.
    case manual
}

/// What a link announces in its ATTACH and how the engine runs it.
public struct LinkConfiguration: Sendable {
    /// The link's name, unique between the two containers.
    public var name: String
    /// Our end of the link.
    public var role: Role
    /// ATTACH's `source`: where messages come from (for a receiver, the node we read).
    public var source: Source?
    /// ATTACH's `target`: where messages go (for a sender, the node we write to).
    public var target: AttachTarget?
    /// How the sender settles (actual at a sender, desired at a receiver).
    public var sndSettleMode: SenderSettleMode = .mixed
    /// How the receiver settles (actual at a receiver, desired at a sender).
    public var rcvSettleMode: ReceiverSettleMode = .first
    /// The largest message we accept (receivers enforce it and detach with
    /// `amqp:link:message-size-exceeded` when a delivery grows beyond it); `nil` for none.
    public var maxMessageSize: UInt64? = nil
    /// A sender's first delivery-count.
    public var initialDeliveryCount: UInt32 = 0
    /// ATTACH's `properties`.
    public var properties: Fields? = nil
    /// ATTACH's `offered-capabilities`.
    public var offeredCapabilities: [Symbol] = []
    /// ATTACH's `desired-capabilities`.
    public var desiredCapabilities: [Symbol] = []
    /// How a receiver grants credit. The default keeps 300 messages in flight, as the
    /// reference client's `prefetch`.
    public var credit: CreditPolicy = .prefetch(300)
    /// A receiver hands each transfer frame to the application as it arrives
    /// (`LinkEvent.deliveryChunk`) instead of reassembling multi-frame deliveries, so
    /// messages of any size pass through without being buffered.
    public var streaming: Bool = false
    /// Sender: the application answers drain requests itself. A FLOW with `drain` is
    /// reported as `credit(…, drain: true)` and the credit is kept until the application
    /// has queued what it has and called `ConnectionEngine.completeDrain(on:)`; only then
    /// is unused credit given back. For applications that hold messages outside the
    /// engine and hand them over as credit arrives (a broker): without this, a drain
    /// finding the engine's queue empty is answered before they could send anything.
    public var manualDrain: Bool = false
    /// Receiver: transfers accepted beyond the credit we granted (since our last grant)
    /// before the link is detached with `amqp:link:transfer-limit-exceeded`. 0, the
    /// default, is strict. The specification lets a receiver handle such excess normally
    /// when it reduced credit with transfers in flight (part 2, section 2.6.7), and
    /// RabbitMQ 3.x's AMQP 1.0 plugin overruns credit by a few messages now and then
    /// (rabbitmq-server issue 2597, fixed only by 4.0's native AMQP 1.0), so clients
    /// that must work with it allow some. The excess stays bounded by this number.
    public var creditOverrunAllowance: UInt32 = 0

    /// Creates a configuration.
    public init(name: String, role: Role, source: Source? = nil, target: AttachTarget? = nil) {
        self.name = name
        self.role = role
        self.source = source
        self.target = target
    }

    /// A sender to the node at `address`.
    public static func sender(name: String, to address: String?) -> LinkConfiguration {
        LinkConfiguration(name: name, role: .sender, source: Source(), target: .target(Target(address: address)))
    }

    /// A receiver from the node at `address`.
    public static func receiver(name: String, from address: String?, credit: CreditPolicy = .prefetch(300)) -> LinkConfiguration {
        var c = LinkConfiguration(name: name, role: .receiver, source: Source(address: address), target: .target(Target()))
        c.credit = credit
        return c
    }

    /// The answer to the peer's `attach`: the opposite role, the same name, termini and
    /// requested settle modes.
    public static func accepting(_ attach: Attach) -> LinkConfiguration {
        var c = LinkConfiguration(
            name: attach.name, role: attach.role == .sender ? .receiver : .sender,
            source: attach.source, target: attach.target)
        c.sndSettleMode = attach.sndSettleMode
        c.rcvSettleMode = attach.rcvSettleMode
        return c
    }
}
