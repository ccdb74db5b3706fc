import AMQPEngine
import AMQPReactor

/// Handles each delivery on the driving thread while its bytes are still in the inbound
/// ring; returns how to settle it, or `nil` to leave it unsettled.
typealias BorrowedHandler = @Sendable (BorrowedDelivery) -> Settlement?

/// A receiving link's engine side: buffers decoded messages up to the prefetch, hands
/// them to consumers (blocking, async, or borrowed), and grants credit as they are taken.
///
/// Credit is the backpressure: the peer may send `prefetch` messages more than the
/// consumers have taken, never more. The link runs with manual credit in the engine;
/// credit is topped back up to `prefetch − buffered` once half of it is used, so a
/// steady stream costs one FLOW per `prefetch / 2` messages.
final class ReceiverCore: LinkCore, @unchecked Sendable {
    let prefetch: UInt32
    let autoAccept: Bool

    typealias Waiter = CheckedContinuation<Result<ReceivedMessage?, AMQPClientError>, Never>

    struct Shared {
        var buffer = MessageQueue()
        var waiters: [(id: UInt64, continuation: Waiter)] = []
        var nextWaiterID: UInt64 = 0
        /// Credit the peer holds, as far as we know: what we granted minus what arrived.
        var creditOutstanding: UInt32 = 0
        /// A job that tops credit up is queued.
        var topUpQueued = false
        var borrowed: BorrowedHandler? = nil
        /// `nil` while the link lives; `.some(nil)` closed by us; `.some(error)` failed.
        var terminal: AMQPClientError?? = nil
        /// A drain is in flight: no credit is granted until the peer answers it (a FLOW
        /// granting credit would replace the drain request).
        var draining = false
        /// Drains answered so far; a waiting `drain` compares with the count it began at.
        var drainsAnswered: UInt64 = 0
    }
    let shared = Locked(Shared())

    init(session: SessionCore, configuration: LinkConfiguration, prefetch: UInt32, autoAccept: Bool) {
        self.prefetch = max(1, prefetch)
        self.autoAccept = autoAccept
        super.init(session: session, configuration: configuration)
    }

    override func register(in binding: EngineBinding, as id: LinkID) {
        binding.receivers[id] = self
    }

    override func didAttach(_ reactor: Reactor<ConnectionEngine>, binding: EngineBinding, id: LinkID) {
        topUp(reactor, binding: binding, id: id)
    }

    // MARK: Driving thread

    /// A whole delivery arrived; `bytes` is valid only during this call.
    func delivered(
        number: DeliveryNumber, tag: DeliveryTag, settled: Bool, bytes: UnsafeRawBufferPointer,
        reactor: Reactor<ConnectionEngine>, binding: EngineBinding
    ) {
        guard let id else { return }
        let handler = shared.withLock { s -> BorrowedHandler? in
            if s.creditOutstanding > 0 { s.creditOutstanding -= 1 }
            return s.borrowed
        }
        if let handler {
            let settlement = handler(BorrowedDelivery(bytes: bytes, deliveryTag: tag, deliveryID: number, isSettled: settled))
            if !settled, let settlement { settle(reactor, binding, id, number, settlement.state) }
            topUp(reactor, binding: binding, id: id)
            return
        }
        let message: Message
        do throws(DecodeError) {
            message = try Message(decoding: bytes)
        } catch {
            // A message nobody can read is refused here rather than handed over: the
            // peer learns why, and the consumer never sees a half-decoded message.
            if !settled {
                settle(reactor, binding, id, number, .rejected(AMQPError(condition: .decodeError, description: "the message could not be decoded: \(error)")))
            }
            topUp(reactor, binding: binding, id: id)
            return
        }
        let received = ReceivedMessage(
            receiver: self, message: message, deliveryTag: tag, deliveryID: number, settled: settled || autoAccept)
        if autoAccept && !settled { settle(reactor, binding, id, number, .accepted) }
        let waiter = shared.withLock { s -> Waiter? in
            if !s.waiters.isEmpty { return s.waiters.removeFirst().continuation }
            s.buffer.append(received)
            return nil
        }
        waiter?.resume(returning: .success(received))
        topUp(reactor, binding: binding, id: id)
    }

    private func settle(
        _ reactor: Reactor<ConnectionEngine>, _ binding: EngineBinding, _ id: LinkID, _ number: DeliveryNumber, _ state: DeliveryState
    ) {
        _ = try? binding.withEngine(reactor) { (e) throws(EngineError) in try e.settle(id, delivery: number, state: state) }
    }

    /// Grants credit when enough of it is used (see the type's notes).
    ///
    /// The engine may have parsed deliveries whose events have not reached us yet (the
    /// reactor parses a whole read, then delivers): they hold room in the buffer too.
    /// They are the difference between what we think the peer holds and what the engine
    /// knows it holds, and the grant leaves room for them.
    private func topUp(_ reactor: Reactor<ConnectionEngine>, binding: EngineBinding, id: LinkID) {
        _ = binding.withEngine(reactor) { e in
            let held = e.credit(on: id) ?? 0
            let grant = shared.withLock { s -> UInt32? in
                s.topUpQueued = false
                guard s.terminal == nil, !s.draining else { return nil }
                let unseen = s.creditOutstanding > held ? s.creditOutstanding - held : 0
                let used = UInt32(clamping: s.buffer.count) &+ unseen
                let room = prefetch > used ? prefetch - used : 0
                guard room > held else { return nil }
                guard room - held >= max(1, prefetch / 2) || held == 0 else { return nil }
                s.creditOutstanding = room &+ unseen
                return room
            }
            if let grant { _ = try? e.flow(on: id, credit: grant) }
        }
    }

    /// Whether a top-up is due, by our own count (for consumers deciding to queue one).
    private func creditDue(_ s: Shared) -> UInt32? {
        let buffered = UInt32(clamping: s.buffer.count)
        let room = prefetch > buffered ? prefetch - buffered : 0
        guard room > s.creditOutstanding else { return nil }
        let missing = room - s.creditOutstanding
        guard missing >= max(1, prefetch / 2) || s.creditOutstanding == 0 else { return nil }
        return room
    }

    override func ended(_ error: AMQPClientError?) {
        // The terminal mark first: `super` wakes blocked receivers, which look for it.
        let waiters = shared.withLock { s -> [Waiter] in
            if s.terminal == nil { s.terminal = .some(error) }
            let w = s.waiters.map(\.continuation)
            s.waiters = []
            return w
        }
        super.ended(error)
        let result: Result<ReceivedMessage?, AMQPClientError> = error.map { .failure($0) } ?? .success(nil)
        for w in waiters { w.resume(returning: result) }
    }

    // MARK: Any thread

    /// Takes up to `max` buffered messages and queues a credit top-up if one is due.
    func take(_ max: Int) -> [ReceivedMessage] {
        let taken = shared.withLock { $0.buffer.popFirst(max) }
        if !taken.isEmpty { queueTopUpIfDue() }
        return taken
    }

    /// Taking messages made room: queue one job that grants credit, if it is due and
    /// none is queued yet (so consumers do not cost a job per message).
    private func queueTopUpIfDue() {
        let queue = shared.withLock { s -> Bool in
            guard !s.topUpQueued, s.terminal == nil, !s.draining, creditDue(s) != nil else { return false }
            s.topUpQueued = true
            return true
        }
        if queue { queueCreditTopUp() }
    }

    private func queueCreditTopUp() {
        reactor.perform { [self] r in
            guard let binding, let id else { return }
            topUp(r, binding: binding, id: id)
        }
    }

    /// Blocks until a message is buffered or the link ends, for at most `timeout`; then
    /// takes up to `maxCount`. Throws the link's error once nothing is left to take.
    func receive(maxCount: Int, timeout: Duration?) throws(AMQPClientError) -> [ReceivedMessage] {
        // After a drain the peer holds no credit: waiting is what asks for more.
        queueTopUpIfDue()
        let end = deadline(after: timeout)
        _ = connection.waitUntil(end) {
            shared.withLock { !$0.buffer.isEmpty || $0.terminal != nil }
        }
        let taken = take(maxCount)
        if taken.isEmpty, let terminal = shared.withLock({ $0.terminal }), let error = terminal {
            throw error
        }
        return taken
    }

    /// The next message, waiting without blocking a thread; `nil` when the link was
    /// closed by us or the task is cancelled.
    func next() async throws(AMQPClientError) -> ReceivedMessage? {
        let first = take(1)
        if let m = first.first { return m }
        queueTopUpIfDue()
        let waiterID = shared.withLock { s in
            s.nextWaiterID &+= 1
            return s.nextWaiterID
        }
        let result: Result<ReceivedMessage?, AMQPClientError> = await withTaskCancellationHandler {
            await withCheckedContinuation { (c: Waiter) in
                let immediate = shared.withLock { s -> Result<ReceivedMessage?, AMQPClientError>? in
                    if let m = s.buffer.popFirst(1).first { return .success(m) }
                    if let terminal = s.terminal { return terminal.map { .failure($0) } ?? .success(nil) }
                    // Checked under the lock the cancel handler also takes, so a cancel
                    // either sees this waiter or is seen here.
                    if Task.isCancelled { return .success(nil) }
                    s.waiters.append((waiterID, c))
                    return nil
                }
                if let immediate { c.resume(returning: immediate) }
            }
        } onCancel: {
            let c = shared.withLock { s -> Waiter? in
                guard let i = s.waiters.firstIndex(where: { $0.id == waiterID }) else { return nil }
                return s.waiters.remove(at: i).continuation
            }
            c?.resume(returning: .success(nil))
        }
        // A message taken from the buffer (not handed over directly) made room.
        queueTopUpIfDue()
        return try result.get()
    }

    /// The peer answered our drain: it holds no credit now (driving thread).
    func drained() {
        shared.withLock { s in
            s.draining = false
            s.creditOutstanding = 0
            s.drainsAnswered &+= 1
        }
        connection.changes.signal()
    }

    /// Asks the peer to use the credit it holds at once or give it back (a FLOW with
    /// `drain`), and waits for its answer, at most `timeout`. What it sends meanwhile is
    /// buffered as usual; no credit is granted while the drain is in flight, and none
    /// after it until a consumer waits for messages (`receive`, `messages`).
    func drain(timeout: Duration?) throws(AMQPClientError) {
        if let error = closedError { throw error }
        let start = shared.withLock { s -> UInt64 in
            s.draining = true
            return s.drainsAnswered
        }
        let queued = reactor.perform { [self] r in
            guard let binding, let id else { return }
            let requested = binding.withEngine(r) { e -> Bool in
                let held = e.credit(on: id) ?? 0
                guard held > 0 else { return false }
                return (try? e.flow(on: id, credit: held, drain: true)) != nil
            }
            // No credit out: there is nothing to drain, and no answer will come.
            if requested != true { drained() }
        }
        if !queued {
            shared.withLock { $0.draining = false }
            throw policy.clientError("the reactor is not available")
        }
        let answered = connection.waitUntil(deadline(after: timeout)) {
            shared.withLock { $0.drainsAnswered != start || $0.terminal != nil }
        }
        if let terminal = shared.withLock({ $0.terminal }) {
            throw terminal ?? policy.clientError("the link was closed by this client")
        }
        guard answered else {
            // Give up on the answer; the next grant replaces the drain request.
            shared.withLock { $0.draining = false }
            throw policy.timeoutError("the peer did not answer the drain within \(timeout.map { "\($0)" } ?? "the time-out")")
        }
    }

    func setBorrowedHandler(_ handler: BorrowedHandler?) {
        shared.withLock { $0.borrowed = handler }
    }

    var bufferedCount: Int { shared.withLock { $0.buffer.count } }

    /// Settles a delivery from any thread. Throws when the link is gone (the disposition
    /// could not reach the peer).
    func settle(_ number: DeliveryNumber, _ state: DeliveryState) throws(AMQPClientError) {
        if let error = closedError { throw error }
        reactor.perform { [self] r in
            guard let binding, let id else { return }
            settle(r, binding, id, number, state)
        }
    }
}

/// A FIFO of received messages: an array read from a moving head, compacted when the
/// dead prefix is at least half of it (amortized O(1) per message).
struct MessageQueue {
    private var items: [ReceivedMessage] = []
    private var head = 0

    var count: Int { items.count - head }
    var isEmpty: Bool { count == 0 }

    mutating func append(_ m: ReceivedMessage) { items.append(m) }

    mutating func popFirst(_ max: Int) -> [ReceivedMessage] {
        let n = Swift.min(max, count)
        guard n > 0 else { return [] }
        let taken = Array(items[head..<head + n])
        head += n
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= items.count / 2 {
            items.removeFirst(head)
            head = 0
        }
        return taken
    }
}
