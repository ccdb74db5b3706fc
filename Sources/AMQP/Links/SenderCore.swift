import AMQPEngine
import AMQPReactor

/// Called once with what became of one sent message.
typealias SendCompletion = @Sendable (Result<Outcome, AMQPClientError>) -> Void

/// A sending link's engine side: queues payloads on the engine and completes each send
/// when the peer settles it.
final class SenderCore: LinkCore, @unchecked Sendable {
    /// Sends wait for their outcome here, by the engine's handle (driving thread only).
    private var pending: [DeliveryHandle: SendCompletion] = [:]
    /// Sends the engine reported `lost`, completed when the link's end says why.
    private var lost: [(SendCompletion, sent: Bool)] = []

    /// Every delivery goes settled (sender settle mode `settled`).
    var presettled: Bool { configuration.sndSettleMode == .settled }
    /// Every TRANSFER carries `batchable` (`MessageSender.init`'s `batchable`).
    let batchable: Bool

    init(session: SessionCore, configuration: LinkConfiguration, batchable: Bool = false) {
        self.batchable = batchable
        super.init(session: session, configuration: configuration)
    }

    override func register(in binding: EngineBinding, as id: LinkID) {
        binding.senders[id] = self
    }

    /// Queues `payload` (an encoded message); `completion` runs on the driving thread.
    func send(_ payload: [UInt8], completion: @escaping SendCompletion) {
        send(payload, timed: nil, completion: completion)
    }

    private func send(_ payload: [UInt8], timed: TimedSend?, completion: @escaping SendCompletion) {
        if let error = closedError {
            completion(.failure(Self.notSent(error)))
            return
        }
        let queued = reactor.perform { [self] r in start(payload, completion, r, timed: timed) }
        if !queued { completion(.failure(Self.notSent(policy.clientError("the reactor is not available")))) }
    }

    /// `send(_:completion:)` with a bound: when no outcome came within `timeout`,
    /// `completion` gets a `.timeout` error, and the outcome, should it come later, is
    /// dropped. A message that had not left yet (no credit, or no room to write it) is
    /// withdrawn first: the error then says it was never sent, so sending it again makes
    /// no duplicate. Otherwise its fate is unknown (it may have reached the peer, which
    /// never settled it). `completion` runs once, on the driving thread.
    ///
    /// The timer is the shared `DeadlineScheduler`'s (a thread of its own, not a task:
    /// a blocked caller on a pool thread must not hold up its own time-out); when it
    /// fires it hands the time-out to the driving thread, so it is ordered with the
    /// outcome the reactor may be delivering at that moment.
    func send(_ payload: [UInt8], timeout: Duration, completion: @escaping SendCompletion) {
        let once = FirstResult(completion)
        let policy = self.policy
        let reactor = self.reactor
        let timed = TimedSend()
        weak let link = self
        let timer = DeadlineScheduler.shared.schedule(after: timeout) {
            let error = policy.timeoutError("no outcome for the message within \(timeout)")
            let queued = reactor.perform { r in
                let withdrawn = link?.withdraw(timed, r) ?? false
                once.complete(.failure(Self.withFate(error, sent: !withdrawn)))
            }
            if !queued {
                // No driving thread any more: the reactor is gone, nothing else will call.
                once.complete(.failure(Self.withFate(error, sent: true)))
            }
        }
        send(payload, timed: timed) { result in
            DeadlineScheduler.shared.cancel(timer)
            once.complete(result)
        }
    }

    /// A timed send's time-out came (driving thread): takes the message back if none of
    /// it was written. True when it will never be sent.
    private func withdraw(_ timed: TimedSend, _ r: Reactor<ConnectionReactor.Machine>) -> Bool {
        timed.timedOut = true
        // Not started yet: `start` sees the flag and leaves it.
        guard let handle = timed.handle else { return true }
        guard pending[handle] != nil, let b = binding, let id, b.withEngine(r, { $0.withdraw(handle, on: id) }) == true else {
            return false
        }
        pending.removeValue(forKey: handle)
        return true
    }

    private func start(
        _ payload: [UInt8], _ completion: @escaping SendCompletion, _ r: Reactor<ConnectionReactor.Machine>, timed: TimedSend?
    ) {
        // Its time-out came first, and completed it as never sent.
        if timed?.timedOut == true { return }
        guard let b = binding, let id else {
            completion(.failure(Self.notSent(closedError ?? policy.clientError("the link did not attach"))))
            return
        }
        do throws(EngineError) {
            guard let handle = try b.withEngine(r, { (e) throws(EngineError) in try e.send(on: id, payload: payload, batchable: batchable) }) else {
                completion(.failure(Self.notSent(closedError ?? b.core.terminalError(for: b, transport: nil))))
                return
            }
            if presettled {
                completion(.success(.presettled))
            } else {
                pending[handle] = completion
                timed?.handle = handle
            }
        } catch {
            if let ending = b.endingError(r) {
                // Not this message's fault: the connection is ending under it, and its
                // error says why.
                completion(.failure(Self.notSent(closedError ?? ending)))
                return
            }
            var e = AMQPClientError(
                kind: ErrorPolicy.knownConditions.contains(error.condition) ? .messageSendFailed : .messageException,
                condition: error.condition, description: error.error.errorDescription, info: error.error.info,
                origin: .local)
            e = b.policy.classified(e)
            completion(.failure(Self.notSent(e)))
        }
    }

    /// `error` for a message that never left: sending it again makes no duplicate.
    static func notSent(_ error: AMQPClientError) -> AMQPClientError { withFate(error, sent: false) }

    /// `error`, saying what became of the message: whether the peer may have it.
    static func withFate(_ error: AMQPClientError, sent: Bool) -> AMQPClientError {
        var e = error
        let fate = sent
            ? "the message may have reached the peer, which never settled it"
            : "the message was never sent, so sending it again is safe"
        e.errorDescription = (e.errorDescription.map { $0 + "; " } ?? "") + fate
        e.messageMayHaveReachedPeer = sent
        return e
    }

    /// Deliveries the engine holds for this link that are not completely written yet:
    /// waiting for credit or for room in the outbound buffer (driving thread).
    func unsent(_ r: Reactor<ConnectionReactor.Machine>) -> Int {
        guard let b = binding, let id else { return 0 }
        return b.withEngine(r) { $0.queuedDeliveries(on: id) } ?? 0
    }

    /// The peer settled a delivery (driving thread).
    func settled(_ handle: DeliveryHandle, state: DeliveryState?) {
        guard let completion = pending.removeValue(forKey: handle) else { return }
        completion(.success(Outcome(state) ?? .accepted))
    }

    /// The delivery's fate is unknown; its link's end follows and says why.
    func lost(_ handle: DeliveryHandle, sent: Bool) {
        guard let completion = pending.removeValue(forKey: handle) else { return }
        lost.append((completion, sent))
    }

    override func ended(_ error: AMQPClientError?) {
        super.ended(error)
        let cause = error ?? policy.clientError("the link was closed before the peer settled the message")
        var waiting = lost
        for completion in pending.values { waiting.append((completion, true)) }
        pending = [:]
        lost = []
        for (completion, sent) in waiting {
            completion(.failure(Self.withFate(cause, sent: sent)))
        }
    }
}

/// A send with a time-out, as the driving thread sees it (only that thread touches it).
final class TimedSend: @unchecked Sendable {
    /// The engine's handle for the delivery, once queued.
    var handle: DeliveryHandle?
    /// The time-out came: the send is complete, and must not start if it has not.
    var timedOut = false
}

/// A completion that runs once: for the first of a send's outcome and its time-out.
final class FirstResult: Sendable {
    private let completion: Locked<SendCompletion?>

    init(_ completion: @escaping SendCompletion) {
        self.completion = Locked(completion)
    }

    /// Calls the completion with `result` unless it was called already.
    func complete(_ result: Result<Outcome, AMQPClientError>) {
        let c = completion.withLock { c -> SendCompletion? in
            defer { c = nil }
            return c
        }
        c?(result)
    }
}
