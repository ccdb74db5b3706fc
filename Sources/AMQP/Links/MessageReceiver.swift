import AMQPEngine

/// A receiving link (the reference's `MessageReceiver`): messages from one source
/// address.
///
/// ```swift
/// let receiver = try MessageReceiver(session: session, source: "orders", prefetch: 100)
/// for try await received in receiver.messages {      // async, with backpressure
///     handle(received.message)
///     try received.accept()
/// }
/// let batch = try receiver.receive(maxCount: 10, timeout: .seconds(5))   // blocking
/// ```
///
/// Backpressure is credit: the peer may send at most `prefetch` messages more than the
/// application has taken, so a slow consumer holds the sender back instead of growing a
/// buffer. (A peer that overruns its credit, as RabbitMQ 3.x does now and then, is
/// tolerated up to another `prefetch` messages; beyond that the link is detached with
/// `amqp:link:transfer-limit-exceeded`.) Messages arrive decoded and owned; `receiveBorrowed(_:)` hands them over
/// without a copy instead. Dropping the last reference detaches the link.
public final class MessageReceiver: Sendable {
    /// The session the link belongs to.
    public let session: Session
    let core: ReceiverCore

    /// Attaches a receiver.
    ///
    /// - Parameters:
    ///   - source: the address of the node messages come from.
    ///   - name: the link's name; by default `receiver-<uuid>`.
    ///   - prefetch: messages the peer may send ahead of the application (link credit);
    ///     300 by default, as the reference's.
    ///   - receiveSettleMode: `.first` (default): settling sends the outcome and is final.
    ///   - sendSettleMode: the sender settle mode asked of the peer: `.unsettled`
    ///     (default, every message awaits our outcome) or `.settled` (at most once).
    ///   - maxMessageSize: refuse larger messages (`nil`: no limit).
    ///   - properties: ATTACH's `properties`.
    ///   - desiredCapabilities: ATTACH's `desired-capabilities`.
    ///   - filter: the source's `filter` map (e.g. a selector).
    ///   - autoAccept: accept every message as it arrives (the reference's
    ///     `auto_complete`); otherwise the application settles each one.
    public init(
        session: Session, source: String, name: String? = nil, prefetch: UInt32 = 300,
        receiveSettleMode: ReceiverSettleMode = .first, sendSettleMode: SenderSettleMode = .unsettled,
        maxMessageSize: UInt64? = nil, properties: Fields? = nil, desiredCapabilities: [Symbol] = [],
        filter: Fields? = nil, autoAccept: Bool = false
    ) throws(AMQPClientError) {
        try session.checkUsable()
        var c = LinkConfiguration.receiver(name: name ?? "receiver-\(AMQPUUID.random())", from: source, credit: .manual)
        c.source?.filter = filter
        c.rcvSettleMode = receiveSettleMode
        c.sndSettleMode = sendSettleMode
        c.maxMessageSize = maxMessageSize
        c.properties = properties
        c.desiredCapabilities = desiredCapabilities
        // Tolerate up to a prefetch of transfers beyond our credit instead of detaching:
        // RabbitMQ 3.x overruns credit now and then (see Docs/interop.md). The buffer
        // stays bounded (at most twice the prefetch).
        c.creditOverrunAllowance = max(1, prefetch)
        self.session = session
        core = ReceiverCore(session: session.core, configuration: c, prefetch: prefetch, autoAccept: autoAccept)
        core.attach()
    }

    deinit {
        core.detach()
    }

    /// The link's name.
    public var name: String { core.configuration.name }
    /// The source address.
    public var source: String? { core.configuration.source?.address }
    /// Messages the peer may send ahead of the application.
    public var prefetch: UInt32 { core.prefetch }
    /// Messages received and not yet taken.
    public var bufferedCount: Int { core.bufferedCount }
    /// True once the peer answered the ATTACH and until the link ends.
    public var isAttached: Bool { core.isAttached }
    /// Why the link ended, or `nil` while it is usable.
    public var error: AMQPClientError? { core.closedError }

    /// Blocks until at least one message is there (or `timeout` passes, or the link
    /// ends), then returns up to `maxCount` (default: the prefetch) of them; an empty
    /// array after a time-out. On a manual reactor the wait steps it. For threads, not
    /// tasks: from async code use `messages`.
    ///
    /// - Parameter timeout: `nil` waits without limit.
    /// - Throws: the link's error once it ended with one and nothing is left to take.
    public func receive(maxCount: Int? = nil, timeout: Duration? = nil) throws(AMQPClientError) -> [ReceivedMessage] {
        try core.receive(maxCount: max(1, maxCount ?? Int(core.prefetch)), timeout: timeout)
    }

    /// The messages, as they arrive, for `for try await`. Waiting suspends the task (no
    /// thread blocks); credit is granted as messages are taken, so an iteration that
    /// stops pulling stops the sender. Ends (`nil`) when the link is closed by us or the
    /// task is cancelled; throws the link's error when it fails.
    public var messages: ReceivedMessages { ReceivedMessages(core: core) }

    /// From now on hands every delivery to `handler` instead of the buffer, on the thread
    /// driving the reactor, while the bytes are still in the inbound ring: no copy, no
    /// decode unless asked for (`BorrowedDelivery.view()`), no allocation by the library.
    /// Return how to settle it, or `nil` to settle later with `settle(deliveryID:_:)`.
    /// The handler must not block; the delivery is valid only during the call. Pass
    /// `nil` to go back to buffering.
    public func receiveBorrowed(_ handler: (@Sendable (BorrowedDelivery) -> Settlement?)?) {
        core.setBorrowedHandler(handler)
    }

    /// Settles a delivery by its id (for borrowed deliveries settled later).
    public func settle(deliveryID: UInt32, _ settlement: Settlement) throws(AMQPClientError) {
        try core.settle(deliveryID, settlement.state)
    }

    /// Drains the link: asks the peer to send at once what the credit it holds allows, or
    /// give the credit back (a FLOW with `drain`, part 2, section 2.6.7), and waits for
    /// its answer. Afterwards every message the peer had for us within that credit is
    /// buffered (take it with `receive`), and the peer holds no credit: nothing more
    /// arrives until a consumer waits again (`receive` or `messages` grant credit anew).
    ///
    /// Use it to end a batch ("what is there now, then stop") or before closing a link
    /// without leaving messages in flight.
    ///
    /// - Parameter timeout: `nil` waits without limit.
    /// - Throws: the link's error if it ended; a `.timeout` error if the peer did not
    ///   answer in time (some brokers never answer a drain; see Docs/interop.md).
    public func drain(timeout: Duration? = .seconds(10)) throws(AMQPClientError) {
        try core.drain(timeout: timeout)
    }

    /// Detaches (closes) the link. Waiting receivers get `nil` (async) or an empty array.
    public func close() {
        core.detach()
    }
}

/// The messages of a `MessageReceiver`, as an async sequence (`MessageReceiver.messages`).
public struct ReceivedMessages: AsyncSequence, Sendable {
    /// Each is a received message.
    public typealias Element = ReceivedMessage
    /// Iteration fails with the link's error.
    public typealias Failure = AMQPClientError

    let core: ReceiverCore

    /// Makes an iterator.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(core: core) }

    /// Takes the next message, suspending until there is one.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let core: ReceiverCore

        /// The next message; `nil` when the link was closed by us or the task cancelled.
        public mutating func next() async throws(AMQPClientError) -> ReceivedMessage? {
            try await core.next()
        }

        /// The next message (the isolation-aware form the runtime calls).
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(AMQPClientError) -> ReceivedMessage? {
            try await core.next()
        }
    }
}
