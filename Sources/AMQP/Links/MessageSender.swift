import AMQPEngine

/// A sending link (the reference's `MessageSender`): messages to one target address.
///
/// ```swift
/// let sender = try MessageSender(session: session, target: "orders")
/// let outcome = try await sender.send(message)          // awaits the peer's outcome
/// sender.send(other) { result in … }                    // or a completion, any thread
/// ```
///
/// ATTACH goes out when the sender is made; sends may start at once and wait in the
/// engine for the peer's credit. Any number of sends may be in flight. A send ends with
/// the peer's outcome (`rejected` included: it is an outcome, not a failure) or throws
/// when the message could not be sent or its fate is unknown (link detached, session or
/// connection gone: the error says whether the peer may have it). Dropping the last
/// reference detaches the link.
public final class MessageSender: Sendable {
    /// The session the link belongs to.
    public let session: Session
    let core: SenderCore

    /// Attaches a sender.
    ///
    /// - Parameters:
    ///   - target: the address of the node messages go to.
    ///   - name: the link's name; by default `sender-<uuid>`.
    ///   - sendSettleMode: `.unsettled` (default, the reference's: every message gets an
    ///     outcome), `.settled` (at most once, no outcomes) or `.mixed`.
    ///   - receiveSettleMode: the receiver settle mode asked of the peer.
    ///   - maxMessageSize: ATTACH's `max-message-size` (`nil`: no limit).
    ///   - properties: ATTACH's `properties`.
    ///   - desiredCapabilities: ATTACH's `desired-capabilities`.
    ///   - batchable: mark every message's TRANSFER `batchable`: the peer need not send
    ///     its outcome at once and may gather outcomes into fewer frames (a hint it may
    ///     ignore; outcomes may then arrive later). Off by default.
    public init(
        session: Session, target: String, name: String? = nil, sendSettleMode: SenderSettleMode = .unsettled,
        receiveSettleMode: ReceiverSettleMode = .first, maxMessageSize: UInt64? = nil, properties: Fields? = nil,
        desiredCapabilities: [Symbol] = [], batchable: Bool = false
    ) throws(AMQPClientError) {
        try session.checkUsable()
        var c = LinkConfiguration.sender(name: name ?? "sender-\(AMQPUUID.random())", to: target)
        c.sndSettleMode = sendSettleMode
        c.rcvSettleMode = receiveSettleMode
        c.maxMessageSize = maxMessageSize
        c.properties = properties
        c.desiredCapabilities = desiredCapabilities
        self.session = session
        core = SenderCore(session: session.core, configuration: c, batchable: batchable)
        core.attach()
    }

    deinit {
        core.detach()
    }

    /// The link's name.
    public var name: String { core.configuration.name }
    /// The target address.
    public var target: String? {
        if case .target(let t)? = core.configuration.target { return t.address }
        return nil
    }
    /// True once the peer answered the ATTACH and until the link ends.
    public var isAttached: Bool { core.isAttached }
    /// Why the link ended, or `nil` while it is usable.
    public var error: AMQPClientError? { core.closedError }

    /// Sends `message` and waits, without blocking a thread, for its outcome.
    ///
    /// Cancelling the task does not recall the message: it is on its way.
    public func send(_ message: Message) async throws(AMQPClientError) -> Outcome {
        let payload = try encode(message)
        return try await send(encoded: payload)
    }

    /// Sends an already encoded message (`Message.encoded()`) and waits for its outcome.
    public func send(encoded payload: [UInt8]) async throws(AMQPClientError) -> Outcome {
        let result = await withCheckedContinuation { (c: CheckedContinuation<Result<Outcome, AMQPClientError>, Never>) in
            core.send(payload) { c.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Sends `message` and waits, without blocking a thread, for its outcome, at most
    /// `timeout`.
    ///
    /// A peer that takes the message and never settles it, or never reads, or gives no
    /// credit, cannot hold the send longer than that: it throws a `.timeout` error, and
    /// an outcome that comes later is dropped. A message that had not left yet (no
    /// credit, no room to write it) is withdrawn and never sent:
    /// `messageMayHaveReachedPeer` is false, and sending it again is safe. Otherwise it
    /// is true: the fate of the message is unknown (it may have been delivered). The connection
    /// stays open; its idle time-out (`ClientOptions.idleTimeout`) is what ends a
    /// connection to a silent peer, failing every send still waiting.
    public func send(_ message: Message, within timeout: Duration) async throws(AMQPClientError) -> Outcome {
        let payload = try encode(message)
        return try await send(encoded: payload, within: timeout)
    }

    /// `send(_:within:)` for an already encoded message (`Message.encoded()`).
    public func send(encoded payload: [UInt8], within timeout: Duration) async throws(AMQPClientError) -> Outcome {
        let result = await withCheckedContinuation { (c: CheckedContinuation<Result<Outcome, AMQPClientError>, Never>) in
            core.send(payload, timeout: timeout) { c.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Queues `message` and returns at once; `completion` gets its outcome or failure,
    /// on the thread driving the reactor (keep it short; do not block in it). With a
    /// `timeout`, a send with no outcome by then completes with a `.timeout` error, as
    /// `send(_:within:)` throws.
    public func send(
        _ message: Message, timeout: Duration? = nil, completion: @escaping @Sendable (Result<Outcome, AMQPClientError>) -> Void
    ) {
        do {
            let payload = try encode(message)
            if let timeout {
                core.send(payload, timeout: timeout, completion: completion)
            } else {
                core.send(payload, completion: completion)
            }
        } catch {
            completion(.failure(error))
        }
    }

    /// Sends `message` and blocks the calling thread until its outcome, at most
    /// `timeout` (stepping a manual reactor meanwhile). For threads, not tasks: from
    /// async code use `send(_:)`.
    ///
    /// - Throws: the send's failure, or a `.timeout` error as `send(_:within:)` throws
    ///   it (`messageMayHaveReachedPeer` false for a message withdrawn before it left).
    public func send(_ message: Message, timeout: Duration?) throws(AMQPClientError) -> Outcome {
        let payload = try encode(message)
        let box = ResultBox()
        let changes = core.connection.changes
        let done: @Sendable (Result<Outcome, AMQPClientError>) -> Void = {
            box.set($0)
            changes.signal()
        }
        if let timeout {
            core.send(payload, timeout: timeout, completion: done)
        } else {
            core.send(payload, completion: done)
        }
        // The time-out completes the send on the driving thread (which this wait steps
        // for a manual reactor); the extra second covers a driving thread late to run it.
        _ = core.connection.waitUntil(deadline(after: timeout.map { $0 + .seconds(1) })) { box.result != nil }
        guard let result = box.result else {
            throw SenderCore.withFate(
                core.policy.timeoutError("no outcome for the message within \(timeout.map { "\($0)" } ?? "the time-out")"), sent: true)
        }
        return try result.get()
    }

    /// Messages sent on this link that are not completely written yet: waiting for the
    /// peer's credit or for room in the connection's outbound buffer. Pre-settled sends
    /// complete as soon as the link has taken them, so this is how to tell they have
    /// left before closing (a CLOSE drops what is still queued). Asks the driving thread,
    /// so it may wait for the reactor's current tick.
    public var unsentCount: Int {
        let core = self.core
        return core.reactor.withReactor { r in core.unsent(r) }
    }

    /// Detaches (closes) the link; sends still waiting fail.
    public func close() {
        core.detach()
    }

    private func encode(_ message: Message) throws(AMQPClientError) -> [UInt8] {
        do throws(EncodeError) {
            return try message.encoded()
        } catch {
            throw core.policy.clientError("the message cannot be encoded: \(error)")
        }
    }
}

/// One send's result, set from the driving thread, read by a blocked caller.
final class ResultBox: Sendable {
    private let value = Locked<Result<Outcome, AMQPClientError>?>(nil)
    func set(_ r: Result<Outcome, AMQPClientError>) { value.withLock { $0 = r } }
    var result: Result<Outcome, AMQPClientError>? { value.withLock { $0 } }
}
