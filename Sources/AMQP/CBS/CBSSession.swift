import AMQPEngine
import AMQPReactor

/// Where a connection's token authentication stands (`Connection.authenticationStatus`).
public enum TokenAuthenticationStatus: Sendable, CustomStringConvertible {
    /// The connection has no token authentication, or has not started.
    case notStarted
    /// The first token is on its way (or is being retried after a failure the error
    /// policy retries).
    case authenticating
    /// A token is in force until `expiresAt`; it is refreshed before then.
    case authenticated(expiresAt: Timestamp)
    /// Authentication failed and is not retried; the error says why.
    case failed(AMQPClientError)

    /// `authenticated until 1700000000`, `failed: …`.
    public var description: String {
        switch self {
        case .notStarted: "not started"
        case .authenticating: "authenticating"
        case .authenticated(let e): "authenticated until \(e.secondsSinceEpoch)"
        case .failed(let e): "failed: \(e)"
        }
    }

    var isSettled: Bool {
        switch self {
        case .authenticated, .failed: true
        default: false
        }
    }
}

/// The live side of CBS on one connection engine: a session of its own, a sender to
/// `$cbs` and a receiver from it, and `CBSAuthenticator` run against them.
///
/// Everything the authenticator decides is driven by events, handled one at a time in
/// the order posted: tokens from the provider, put-token send results, responses (taken
/// on the reactor's thread as they arrive), and timer ticks. Whoever posts into an idle
/// mailbox drains it, so no thread or task is set aside for CBS, and no lock is held while
/// the provider, the reactor or a waiter is entered. The timer is one entry in
/// `DeadlineScheduler`, set to the authenticator's next deadline (refresh, response
/// time-out, expiry) and replaced whenever that changes: an authenticated connection costs
/// nothing until its refresh is due.
final class CBSSession: @unchecked Sendable {
    enum Event: Sendable {
        case tick(UInt64)
        case token(UInt64, Result<CBSToken, any Error>)
        case sent(Result<Outcome, AMQPClientError>)
        case response(Message)
        case retry
    }

    let core: ConnectionCore
    let auth: TokenAuthentication
    let policy: ErrorPolicy
    let session: SessionCore
    let sender: SenderCore
    let receiver: ReceiverCore

    typealias Waiter = CheckedContinuation<Result<Timestamp, AMQPClientError>, Never>

    struct Shared {
        var status: TokenAuthenticationStatus = .authenticating
        var waiters: [Waiter] = []
        var stopped = false
        var events: [Event] = []
        var draining = false
        var timer: UInt64? = nil
        /// Put-token requests accepted so far (the first token and refreshes).
        var accepted = 0
    }
    let shared = Locked(Shared())

    // Touched only by the thread draining the mailbox (one at a time).
    private var authenticator: CBSAuthenticator
    private var timerDeadline: Timestamp? = nil
    private var timerGeneration: UInt64 = 0
    private var tokenRequest: UInt64 = 0
    private var retries = 0

    init(core: ConnectionCore, auth: TokenAuthentication, policy: ErrorPolicy) {
        self.core = core
        self.auth = auth
        self.policy = policy
        authenticator = CBSAuthenticator(
            audience: auth.audience, replyTo: auth.replyTo, responseTimeout: auth.responseTimeout,
            refreshFraction: auth.refreshFraction, errorPolicy: policy)
        session = SessionCore(connection: core, configuration: SessionConfiguration())
        sender = SenderCore(session: session, configuration: .sender(name: "cbs-sender", to: CBS.nodeAddress))
        var replies = LinkConfiguration.receiver(name: "cbs-receiver", from: CBS.nodeAddress, credit: .manual)
        replies.target = .target(Target(address: auth.replyTo))
        receiver = ReceiverCore(session: session, configuration: replies, prefetch: 16, autoAccept: false)
    }

    var status: TokenAuthenticationStatus { shared.withLock { $0.status } }
    /// Tokens the CBS node accepted on this connection (the first and each refresh).
    var acceptedCount: Int { shared.withLock { $0.accepted } }

    /// Begins the session, attaches the link pair and starts the exchange (the
    /// session's BEGIN and the ATTACHes are queued behind the connection's OPEN).
    func start(on binding: EngineBinding) {
        receiver.setBorrowedHandler { [weak self] delivery in
            // On the reactor's thread, while the bytes are in the ring: decode, hand over,
            // accept. An unreadable response is rejected; the request then times out.
            guard let message = try? delivery.materialize() else {
                return .reject(AMQPError(condition: .decodeError, description: "the CBS response could not be decoded"))
            }
            self?.post(.response(message))
            return .accept
        }
        session.begin(on: binding)
        sender.attach()
        receiver.attach()
        post(.tick(0))
    }

    /// Ends the CBS session (its END goes out before anything queued after this call,
    /// such as the connection's CLOSE) and fails waiters with `reason`.
    func stop(reason: AMQPClientError) {
        let (timer, waiters) = shared.withLock { s -> (UInt64?, [Waiter]) in
            guard !s.stopped else { return (nil, []) }
            s.stopped = true
            s.events = []
            if !s.status.isSettled { s.status = .failed(reason) }
            let w = s.waiters
            s.waiters = []
            return (s.timer, w)
        }
        if let timer { DeadlineScheduler.shared.cancel(timer) }
        receiver.setBorrowedHandler(nil)
        session.end()
        for w in waiters { w.resume(returning: .failure(reason)) }
        core.changes.signal()
    }

    // MARK: Waiting

    /// Blocks until a token is in force, authentication failed, or `deadline` passed.
    func wait(until deadline: UInt64?) -> TokenAuthenticationStatus {
        _ = core.waitUntil(deadline) { status.isSettled }
        return status
    }

    /// Waits without blocking a thread until a token is in force (its expiry) or
    /// authentication failed.
    func authenticated() async -> Result<Timestamp, AMQPClientError> {
        await withCheckedContinuation { (c: Waiter) in
            let now = shared.withLock { s -> Result<Timestamp, AMQPClientError>? in
                switch s.status {
                case .authenticated(let e): return .success(e)
                case .failed(let e): return .failure(e)
                default:
                    s.waiters.append(c)
                    return nil
                }
            }
            if let now { c.resume(returning: now) }
        }
    }

    // MARK: The mailbox

    /// Queues `event`; drains the mailbox unless another thread is draining it.
    func post(_ event: Event) {
        let drain = shared.withLock { s -> Bool in
            guard !s.stopped else { return false }
            s.events.append(event)
            guard !s.draining else { return false }
            s.draining = true
            return true
        }
        guard drain else { return }
        while let next = shared.withLock({ s -> Event? in
            guard !s.stopped, !s.events.isEmpty else {
                s.draining = false
                return nil
            }
            return s.events.removeFirst()
        }) {
            handle(next)
            advance()
        }
    }

    private func handle(_ event: Event) {
        let now = Timestamp.now()
        switch event {
        case .tick(let generation):
            // The timer fired: the next `advance` arms a new one if still needed.
            if generation == timerGeneration { timerDeadline = nil }
        case .retry:
            if case .failed = authenticator.state { authenticator.reset() }
        case .token(let request, let result):
            guard request == tokenRequest else { return }  // answers a request given up on
            switch result {
            case .success(let token):
                do throws(AMQPClientError) {
                    let message = try authenticator.putToken(token, now: now)
                    let payload = try encode(message)
                    sender.send(payload) { [weak self] in self?.post(.sent($0)) }
                } catch {
                    // putToken has recorded the failure; the next poll reports it.
                }
            case .failure(let error):
                authenticator.tokenUnavailable("\(error)")
            }
        case .sent(.success(let outcome)):
            if let e = outcome.error(policy: policy) { settle(.failed(e)) }
        case .sent(.failure(let e)):
            // The link pair (or the connection under it) is gone: no token can be put on
            // this engine any more. A new connection starts a new CBS session.
            settle(.failed(e))
        case .response(let message):
            switch authenticator.receive(message, now: now) {
            case .accepted(let expiresAt):
                retries = 0
                shared.withLock { $0.accepted += 1 }
                settle(.authenticated(expiresAt: expiresAt))
            case .rejected, .ignored:
                break  // a rejection is reported by the next poll
            }
        }
    }

    /// Asks the authenticator what to do now, and does it.
    private func advance() {
        guard !shared.withLock({ $0.stopped || $0.status.isFailed }) else { return }
        switch authenticator.poll(now: Timestamp.now()) {
        case .requestToken:
            tokenRequest &+= 1
            requestToken(tokenRequest)
            arm(authenticator.nextDeadline)
        case .wait(let until):
            arm(until)
        case .fail(let error):
            var retries = self.retries
            if let backoff = policy.nextRetry(after: error, retries: &retries) {
                self.retries = retries
                // At least a short pause, so a CBS node that fails at once is not asked
                // again in a tight loop.
                arm(nil)
                DeadlineScheduler.shared.schedule(after: max(backoff, .milliseconds(200))) { [weak self] in
                    self?.post(.retry)
                }
            } else {
                arm(nil)
                // Stored first, so a waiter woken by `settle` finds it there too.
                core.storeIfNone(error)
                settle(.failed(error))
            }
        }
    }

    /// Asks the provider: at once when it can answer so, else in a task.
    private func requestToken(_ request: UInt64) {
        let (provider, audience) = (auth.provider, auth.audience)
        if let immediate = provider as? any ImmediateTokenProvider {
            let result: Result<CBSToken, any Error>?
            do {
                result = try immediate.immediateToken(for: audience).map { .success($0) }
            } catch {
                result = .failure(error)
            }
            if let result {
                post(.token(request, result))
                return
            }
        }
        Task { [weak self] in
            let result: Result<CBSToken, any Error>
            do { result = .success(try await provider.token(for: audience)) } catch { result = .failure(error) }
            self?.post(.token(request, result))
        }
    }

    /// Arms the timer for `deadline` (wall clock), replacing the one armed before.
    private func arm(_ deadline: Timestamp?) {
        guard deadline != timerDeadline else { return }
        timerDeadline = deadline
        timerGeneration &+= 1
        let generation = timerGeneration
        var id: UInt64? = nil
        if let deadline {
            id = DeadlineScheduler.shared.schedule(after: deadline.duration(since: Timestamp.now())) { [weak self] in
                self?.post(.tick(generation))
            }
        }
        let old = shared.withLock { s -> UInt64? in
            let old = s.timer
            s.timer = id
            return old
        }
        if let old { DeadlineScheduler.shared.cancel(old) }
    }

    private func settle(_ status: TokenAuthenticationStatus) {
        let waiters = shared.withLock { s -> [Waiter] in
            if case .failed = s.status { return [] }
            s.status = status
            let w = s.waiters
            s.waiters = []
            return w
        }
        let result: Result<Timestamp, AMQPClientError>
        switch status {
        case .authenticated(let e): result = .success(e)
        case .failed(let e): result = .failure(e)
        default: return
        }
        for w in waiters { w.resume(returning: result) }
        core.changes.signal()
    }

    private func encode(_ message: Message) throws(AMQPClientError) -> [UInt8] {
        do throws(EncodeError) {
            return try message.encoded()
        } catch {
            throw policy.clientError("the put-token request could not be encoded: \(error)")
        }
    }
}

extension TokenAuthenticationStatus {
    var isFailed: Bool {
        if case .failed = self { return true }
        return false
    }
}
