/// Receives messages from one address, owning its connection, session and link: the
/// reference's `ReceiveClient`, Swift-native.
///
/// ```swift
/// let client = try ReceiveClient(source: "amqp://broker.example.com/orders", timeout: .seconds(5))
/// defer { client.close() }
/// let batch = try client.receiveMessageBatch(maxBatchSize: 10)    // blocking
/// for try await received in client.receiveMessagesIter() {        // async; ends after 5 s idle
///     print(received.message)
/// }
/// ```
///
/// With `autoComplete` (the default, as the reference's `auto_complete`), each message is
/// accepted as it is handed to the application; a message whose acceptance cannot reach
/// the peer (the link went meanwhile) is not handed over, since the peer still has it and
/// delivers it again. Without it, settle each `ReceivedMessage` yourself. Credit
/// (`prefetch`) bounds what the peer sends ahead of the application.
///
/// Opening follows redirects and, with a `ReconnectPolicy`, a lost connection is opened
/// again (the peer delivers again what was not settled). Blocking calls are for threads;
/// async ones never block the cooperative pool.
public final class ReceiveClient: Sendable {
    let connector: ClientConnector<MessageReceiver>
    /// Stop waiting after this long without a message (the reference's `timeout`);
    /// `nil` waits without limit.
    public let timeout: Duration?
    /// Accept each message as it is handed over.
    public let autoComplete: Bool
    /// Messages the peer may send ahead of the application.
    public let prefetch: UInt32

    /// Creates a client; nothing is sent until it opens.
    ///
    /// - Parameters:
    ///   - source: `amqp://[user:password@]host[:port]/address`.
    ///   - auth: SASL credentials or CBS token authentication; by default PLAIN with the
    ///     URL's user and password, else ANONYMOUS.
    ///   - clientName: the container id; a random UUID by default.
    ///   - debug: trace frames at info level.
    ///   - timeout: how long receiving waits without a message before it returns (a
    ///     batch) or ends (the iteration, `receiveMessages`); `nil` for no limit.
    ///   - autoComplete: accept each message as it is handed over (default true).
    ///   - errorPolicy: which errors are retried (also by reconnects).
    ///   - prefetch: link credit; 300 by default, as the reference's.
    ///   - receiveSettleMode, sendSettleMode, maxMessageSize, linkProperties,
    ///     desiredCapabilities, filter: the link's ATTACH fields.
    ///   - options: connection and session settings, redirects, reconnect, reactor.
    public init(
        source: String, auth: ClientAuthentication? = nil, clientName: String? = nil, debug: Bool = false,
        timeout: Duration? = nil, autoComplete: Bool = true, errorPolicy: ErrorPolicy = ErrorPolicy(),
        prefetch: UInt32 = 300, receiveSettleMode: ReceiverSettleMode = .first, sendSettleMode: SenderSettleMode = .unsettled,
        maxMessageSize: UInt64? = nil, linkProperties: Fields? = nil, desiredCapabilities: [Symbol] = [],
        filter: Fields? = nil, options: ClientOptions = ClientOptions()
    ) throws(ConfigurationError) {
        let (settings, address) = try ConnectionSettings.client(
            url: source, auth: auth, clientName: clientName, debug: debug, errorPolicy: errorPolicy, options: options)
        self.timeout = timeout
        self.autoComplete = autoComplete
        self.prefetch = max(1, prefetch)
        connector = try ClientConnector(settings: settings, address: address, options: options) { (session, address) throws(AMQPClientError) in
            try MessageReceiver(
                session: session, source: address, prefetch: prefetch, receiveSettleMode: receiveSettleMode,
                sendSettleMode: sendSettleMode, maxMessageSize: maxMessageSize, properties: linkProperties,
                desiredCapabilities: desiredCapabilities, filter: filter)
        }
    }

    deinit {
        connector.close()
    }

    /// The address messages come from (after link redirects).
    public var source: String { connector.address }
    /// Where the connection goes (after redirects and reconnects).
    public var endpoint: AMQPEndpoint { connector.endpoint }
    /// The current connection, once opened.
    public var connection: Connection? { connector.parts?.connection }
    /// Redirects followed so far.
    public var redirectsFollowed: Int { connector.redirectsFollowed }
    /// Reconnect attempts made so far.
    public var reconnects: Int { connector.reconnects }

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

    /// Detaches and closes the connection. Messages received and not handed over are
    /// released by the peer when the link goes, and delivered again.
    public func close() {
        connector.close()
    }

    // MARK: Receiving

    /// Blocks until at least one message is there, then returns up to `maxBatchSize`
    /// (default: the prefetch); an empty array when `timeout` (default: the client's)
    /// passes first. Opens the client if needed and, with a reconnect policy, reopens it
    /// after a lost connection within the same wait.
    public func receiveMessageBatch(maxBatchSize: Int? = nil, timeout: Duration? = nil) throws(AMQPClientError) -> [ReceivedMessage] {
        try batch(max: maxBatchSize ?? Int(prefetch), until: deadline(after: timeout ?? self.timeout))
    }

    /// `receiveMessageBatch(maxBatchSize:timeout:)` without blocking the calling task's
    /// thread.
    public func receiveMessageBatch(maxBatchSize: Int? = nil, timeout: Duration? = nil) async throws(AMQPClientError) -> [ReceivedMessage] {
        let max = maxBatchSize ?? Int(prefetch)
        let d = deadline(after: timeout ?? self.timeout)
        return try await onOwnThread { [self] () -> Result<[ReceivedMessage], AMQPClientError> in
            do throws(AMQPClientError) {
                return .success(try batch(max: max, until: d))
            } catch {
                return .failure(error)
            }
        }.get()
    }

    /// Calls `handler` with each message as it arrives, on the calling thread, until
    /// `timeout` passes without a message, the client is closed, or `handler` throws.
    public func receiveMessages(_ handler: (ReceivedMessage) throws -> Void) throws {
        while !connector.isClosed {
            let messages = try receiveMessageBatch()
            if messages.isEmpty { return }
            for m in messages { try handler(m) }
        }
    }

    /// The messages as an async sequence, which ends after `timeout` without a message
    /// or when the client is closed (the reference's `receive_messages_iter`).
    public func receiveMessagesIter() -> ReceiveClientMessages { ReceiveClientMessages(client: self) }

    private func batch(max: Int, until deadline: UInt64?) throws(AMQPClientError) -> [ReceivedMessage] {
        while true {
            let parts = try connector.open(until: deadline ?? monotonicDeadline(after: connector.options.openTimeout))
            let remaining: Duration? = deadline.map { d in
                let now = monotonicNanoseconds()
                return .nanoseconds(Int64(d > now ? d - now : 0))
            }
            do throws(AMQPClientError) {
                let taken = try parts.link.receive(maxCount: Swift.max(1, max), timeout: remaining)
                return autoComplete ? taken.filter { (try? $0.settle(.accept)) != nil || $0.isSettled } : taken
            } catch {
                try connector.recover(from: error, parts: parts, until: deadline)
            }
        }
    }
}

/// The messages of a `ReceiveClient` (`receiveMessagesIter()`), fetched a batch at a
/// time; ends after the client's `timeout` without a message, or when it is closed.
public struct ReceiveClientMessages: AsyncSequence, Sendable {
    /// A received message.
    public typealias Element = ReceivedMessage
    /// Iteration fails with the client's error.
    public typealias Failure = AMQPClientError

    let client: ReceiveClient

    /// Makes an iterator.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(client: client) }

    /// Hands out one batch's messages, then fetches the next batch.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let client: ReceiveClient
        var buffered: [ReceivedMessage] = []

        /// The next message; `nil` after the client's `timeout` without one, or once closed.
        public mutating func next() async throws(AMQPClientError) -> ReceivedMessage? {
            if buffered.isEmpty {
                guard !client.connector.isClosed else { return nil }
                buffered = try await client.receiveMessageBatch()
                if buffered.isEmpty { return nil }
            }
            return buffered.removeFirst()
        }

        /// The next message (the isolation-aware form the runtime calls).
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(AMQPClientError) -> ReceivedMessage? {
            if buffered.isEmpty {
                guard !client.connector.isClosed else { return nil }
                buffered = try await client.receiveMessageBatch()
                if buffered.isEmpty { return nil }
            }
            return buffered.removeFirst()
        }
    }
}
