/// Sends messages to one address, owning its connection, session and link: the
/// reference's `SendClient`, Swift-native.
///
/// ```swift
/// let client = try SendClient(target: "amqp://broker.example.com/orders")
/// defer { client.close() }
/// client.queueMessage(Message(body: Array("one".utf8)), Message(body: Array("two".utf8)))
/// let results = client.sendAllMessages(timeout: .seconds(30))   // one Result per message
/// let outcome = try await client.send(Message(body: Array("three".utf8)))
/// ```
///
/// The client opens on first use (or `open()`): it connects, authenticates (SASL, or a
/// CBS token with `.token`), attaches, follows redirects (at most
/// `ClientOptions.maxRedirects`) and, with a `ReconnectPolicy`, reconnects after a lost
/// connection and sends again what never left. Messages sent but unsettled when the
/// connection went fail with `messageFateUnknown` unless the policy says to resend them.
///
/// Blocking calls are for threads; the async ones never block the cooperative pool.
/// The default reactor sends heartbeats on its own thread; on a manual one,
/// `ClientOptions.keepAliveInterval` steps the connection as the reference's
/// `keep_alive_interval` did.
public final class SendClient: Sendable {
    let connector: ClientConnector<MessageSender>
    /// How long a queued message may wait to be sent (the reference's `msg_timeout`).
    public let messageTimeout: Duration?

    private struct Queued: Sendable {
        var message: Message
        var queuedAt: UInt64
    }
    private let queue = Locked<[Queued]>([])

    /// Creates a client; nothing is sent until it opens.
    ///
    /// - Parameters:
    ///   - target: `amqp://[user:password@]host[:port]/address`.
    ///   - auth: SASL credentials or CBS token authentication; by default PLAIN with the
    ///     URL's user and password, else ANONYMOUS.
    ///   - clientName: the container id; a random UUID by default.
    ///   - debug: trace frames at info level.
    ///   - messageTimeout: queued messages not sent within this time fail with a time-out
    ///     instead of being sent late; `nil` (the default) for no limit.
    ///   - errorPolicy: which errors are retried (also by reconnects).
    ///   - sendSettleMode: `.unsettled` (default: every message gets an outcome) or
    ///     `.settled` (at most once).
    ///   - maxMessageSize, linkProperties, desiredCapabilities: the link's ATTACH fields.
    ///   - options: connection and session settings, redirects, reconnect, reactor.
    public init(
        target: String, auth: ClientAuthentication? = nil, clientName: String? = nil, debug: Bool = false,
        messageTimeout: Duration? = nil, errorPolicy: ErrorPolicy = ErrorPolicy(),
        sendSettleMode: SenderSettleMode = .unsettled, maxMessageSize: UInt64? = nil, linkProperties: Fields? = nil,
        desiredCapabilities: [Symbol] = [], options: ClientOptions = ClientOptions()
    ) throws(ConfigurationError) {
        let (settings, address) = try ConnectionSettings.client(
            url: target, auth: auth, clientName: clientName, debug: debug, errorPolicy: errorPolicy, options: options)
        self.messageTimeout = messageTimeout
        connector = try ClientConnector(settings: settings, address: address, options: options) { (session, address) throws(AMQPClientError) in
            try MessageSender(
                session: session, target: address, sendSettleMode: sendSettleMode, maxMessageSize: maxMessageSize,
                properties: linkProperties, desiredCapabilities: desiredCapabilities)
        }
    }

    deinit {
        connector.close()
    }

    /// The address messages go to (after link redirects).
    public var target: String { connector.address }
    /// Where the connection goes (after redirects and reconnects).
    public var endpoint: AMQPEndpoint { connector.endpoint }
    /// The current connection, once opened.
    public var connection: Connection? { connector.parts?.connection }
    /// Redirects followed so far.
    public var redirectsFollowed: Int { connector.redirectsFollowed }
    /// Reconnect attempts made so far.
    public var reconnects: Int { connector.reconnects }

    // MARK: Opening and closing

    /// Connects, authenticates and attaches (following redirects and reconnecting as
    /// configured), blocking until the link is attached, at most `timeout` (by default
    /// `ClientOptions.openTimeout`).
    public func open(timeout: Duration? = nil) throws(AMQPClientError) {
        try connector.open(timeout: timeout)
    }

    /// `open(timeout:)` without blocking the calling task's thread.
    public func open(timeout: Duration? = nil) async throws(AMQPClientError) {
        try await connector.open(timeout: timeout)
    }

    /// Closes the link and the connection. Messages still queued stay in
    /// `pendingMessages`.
    public func close() {
        connector.close()
    }

    // MARK: The queue

    /// Queues messages for `sendAllMessages`.
    public func queueMessage(_ messages: Message...) {
        queueMessages(messages)
    }

    /// Queues messages for `sendAllMessages`.
    public func queueMessages(_ messages: [Message]) {
        let now = monotonicNanoseconds()
        queue.withLock { $0 += messages.map { Queued(message: $0, queuedAt: now) } }
    }

    /// The messages queued and not yet sent.
    public var pendingMessages: [Message] { queue.withLock { $0.map(\.message) } }
    /// True while messages are queued.
    public var messagesPending: Bool { queue.withLock { !$0.isEmpty } }

    /// Sends every queued message and blocks until each has an outcome (at most
    /// `timeout`; `nil`: `ClientOptions.openTimeout` for opening, then no limit). Returns
    /// one result per message, in queue order: the outcome, or why it failed (a
    /// time-out, `messageFateUnknown` after a lost connection, the open's error).
    public func sendAllMessages(timeout: Duration? = nil) -> [Result<Outcome, AMQPClientError>] {
        let items = queue.withLock { q -> [Queued] in
            defer { q = [] }
            return q
        }
        return deliver(items, until: deadline(after: timeout))
    }

    /// `sendAllMessages(timeout:)` without blocking the calling task's thread.
    public func sendAllMessages(timeout: Duration? = nil) async -> [Result<Outcome, AMQPClientError>] {
        let items = queue.withLock { q -> [Queued] in
            defer { q = [] }
            return q
        }
        let d = deadline(after: timeout)
        return await onOwnThread { [self] in deliver(items, until: d) }
    }

    /// Sends one message and blocks until its outcome, at most `timeout`.
    public func send(_ message: Message, timeout: Duration? = nil) throws(AMQPClientError) -> Outcome {
        try deliver([Queued(message: message, queuedAt: monotonicNanoseconds())], until: deadline(after: timeout))[0].get()
    }

    /// Sends one message and waits, without blocking a thread, for its outcome. Opening
    /// and recovery (redirects, reconnects) run on a thread of their own; an attached
    /// link sends at once.
    public func send(_ message: Message) async throws(AMQPClientError) -> Outcome {
        try await send(message, deadline: nil)
    }

    /// `send(_:)` within `timeout`, opening and recovery included: a message with no
    /// outcome by then fails with a `.timeout` error whose `messageMayHaveReachedPeer` is
    /// true (it may still be delivered: a peer that took it and went silent), or, if it
    /// never left, says so. `ClientOptions.idleTimeout` is what ends the connection to a
    /// silent peer; this bounds the send whether or not one is set.
    public func send(_ message: Message, within timeout: Duration) async throws(AMQPClientError) -> Outcome {
        try await send(message, deadline: deadline(after: timeout))
    }

    private func send(_ message: Message, deadline: UInt64?) async throws(AMQPClientError) -> Outcome {
        if let parts = connector.parts, parts.link.isAttached, parts.link.error == nil {
            let left: Duration? = deadline.map { .nanoseconds(Int64(clamping: $0 &- min($0, monotonicNanoseconds()))) }
            let result = await withCheckedContinuation { (c: CheckedContinuation<Result<Outcome, AMQPClientError>, Never>) in
                parts.link.send(message, timeout: left) { c.resume(returning: $0) }
            }
            // Only a lost link needs the slow path (it decides whether to send again).
            if case .failure(let e) = result, connector.options.reconnect != nil, connector.isConnectionLoss(e, parts: parts) {
                if e.messageMayHaveReachedPeer == false || connector.options.reconnect?.resendUnsettled == true {
                    let item = Queued(message: message, queuedAt: monotonicNanoseconds())
                    return try await onOwnThread { [self] in deliver([item], until: deadline)[0] }.get()
                }
                throw Self.fateUnknown(e)
            }
            return try result.get()
        }
        let item = Queued(message: message, queuedAt: monotonicNanoseconds())
        return try await onOwnThread { [self] in deliver([item], until: deadline)[0] }.get()
    }

    // MARK: Sending, with recovery

    /// Sends `items`, reopening after a lost connection as the reconnect policy allows,
    /// until each has a result or `deadline` passes.
    private func deliver(_ items: [Queued], until deadline: UInt64?) -> [Result<Outcome, AMQPClientError>] {
        var results = [Result<Outcome, AMQPClientError>?](repeating: nil, count: items.count)
        var todo = Array(items.indices)
        let policy = connector.policy
        while !todo.isEmpty {
            let parts: ClientConnector<MessageSender>.Parts
            do throws(AMQPClientError) {
                parts = try connector.open(until: deadline ?? monotonicDeadline(after: connector.options.openTimeout))
            } catch {
                for i in todo { results[i] = .failure(SenderCore.notSent(error)) }
                break
            }
            // Messages that waited longer than the message time-out are not sent late.
            if let limit = messageTimeout {
                let now = monotonicNanoseconds()
                let limitNs = UInt64(max(limit.wholeMilliseconds, 0)) &* 1_000_000
                todo.removeAll { i in
                    guard now &- items[i].queuedAt > limitNs else { return false }
                    results[i] = .failure(SenderCore.notSent(policy.timeoutError(
                        "the message waited more than \(limit) (messageTimeout) to be sent, and was not sent")))
                    return true
                }
                if todo.isEmpty { break }
            }
            let round = Locked<[Int: Result<Outcome, AMQPClientError>]>([:])
            let changes = parts.connection.core.changes
            for i in todo {
                parts.link.send(items[i].message) { r in
                    round.withLock { $0[i] = r }
                    changes.signal()
                }
            }
            let count = todo.count
            let finished = parts.connection.core.waitUntil(deadline) { round.withLock { $0.count } == count }
            let got = round.withLock { $0 }
            var again: [Int] = []
            var loss: AMQPClientError? = nil
            for i in todo {
                guard let r = got[i] else {
                    results[i] = .failure(SenderCore.withFate(policy.timeoutError("no outcome before the deadline"), sent: true))
                    continue
                }
                guard case .failure(let e) = r, connector.options.reconnect != nil, connector.isConnectionLoss(e, parts: parts) else {
                    results[i] = r
                    continue
                }
                loss = loss ?? e
                if e.messageMayHaveReachedPeer == false || connector.options.reconnect?.resendUnsettled == true {
                    again.append(i)
                } else {
                    results[i] = .failure(Self.fateUnknown(e))
                }
            }
            _ = finished
            todo = again
            if let loss, !todo.isEmpty {
                do throws(AMQPClientError) {
                    try connector.recover(from: loss, parts: parts, until: deadline)
                } catch {
                    for i in todo { results[i] = .failure(SenderCore.notSent(error)) }
                    break
                }
            }
        }
        return results.map { $0 ?? .failure(policy.clientError("the message was not sent")) }
    }

    /// A send lost with its connection: the peer may have the message.
    static func fateUnknown(_ e: AMQPClientError) -> AMQPClientError {
        var f = e
        f.kind = .messageFateUnknown
        f.messageMayHaveReachedPeer = true
        return f
    }
}

/// `deadline(after:)`, for scopes where a parameter named `deadline` hides it.
func monotonicDeadline(after duration: Duration?) -> UInt64? { deadline(after: duration) }
