public import AMQPEngine
import AMQPReactor
import AMQPTLS
import AMQPWebSocket

/// One transition of a connection's state (`Connection.onStateChange`,
/// `Connection.stateTransitions()`). Every transition is reported, repeats included, as
/// the reference reports them.
public struct ConnectionStateTransition: Hashable, Sendable, CustomStringConvertible {
    /// The state before.
    public let from: ConnectionState
    /// The state after.
    public let to: ConnectionState

    /// Creates a transition.
    public init(from: ConnectionState, to: ConnectionState) {
        self.from = from
        self.to = to
    }

    /// `OPEN_SENT -> OPENED`.
    public var description: String { "\(from) -> \(to)" }
}

/// What a `Connection` shares with the thread driving its reactor: settings, the engine
/// it currently runs (`EngineBinding`), the state mirror, the stored error, observers.
///
/// Cross-thread state is in `state` (a mutex, never held while user code, the reactor
/// or another lock of this connection is entered). Engine-side state lives on the
/// binding and is touched only by the driving thread.
final class ConnectionCore: Sendable {
    let reactor: ConnectionReactor
    /// The public lock (`Connection.lock(timeout:)`).
    let lock = OwnedLock()
    /// Wakes threads blocked in `waitUntil`.
    let changes = ChangeSignal()
    let state: Locked<State>
    /// The TLS context last made, kept for the next start (loading a trust store takes
    /// milliseconds) as long as the configuration stays the same.
    private let tlsContext = Locked<TLSContext?>(nil)

    struct State {
        var settings: ConnectionSettings
        /// The engine on the reactor: `nil` before the connection starts (and after a
        /// redirect, until it starts again).
        var binding: EngineBinding? = nil
        var connectionState: ConnectionState = .start
        var remoteOpen: Open? = nil
        var remoteMaxFrameSize: UInt32 = FrameHeader.minimumMaxFrameSize
        /// Rethrown by every `work()` until `redirect` clears it.
        var error: AMQPClientError? = nil
        /// We asked for the end (destroy, redirect): its consequences are not errors.
        var closing = false
        var destroyed = false
        var closeReceived = false
        var generation: UInt64 = 0
        /// The CBS session of the current engine, when token authentication is set.
        var cbs: CBSSession? = nil
        var observers: [UInt64: @Sendable (ConnectionStateTransition) -> Void] = [:]
        var streams: [UInt64: AsyncStream<ConnectionStateTransition>.Continuation] = [:]
        var nextObserverID: UInt64 = 0
    }

    init(settings: ConnectionSettings, reactor: ConnectionReactor) {
        self.reactor = reactor
        state = Locked(State(settings: settings))
    }

    var policy: ErrorPolicy { state.withLock { $0.settings.errorPolicy } }
    var storedError: AMQPClientError? { state.withLock { $0.error } }

    /// Whether `b` is still this connection's engine, no error is stored yet and no one
    /// asked for the end (its error, when it comes, will be the engine's).
    func awaitsError(_ b: EngineBinding) -> Bool {
        state.withLock { $0.binding === b && $0.error == nil && !$0.destroyed && !$0.closing }
    }

    // MARK: Starting

    /// The running engine, starting the connection first if it has not started (the
    /// lazy open: the first session, link or `open()` does it).
    ///
    /// Name resolution happens here, on the calling thread, so a slow DNS server never
    /// stalls the reactor (numeric hosts do not resolve at all).
    func start() throws(AMQPClientError) -> EngineBinding {
        enum Step { case running(EngineBinding), connect(EngineBinding, ConnectionConfiguration, AMQPEndpoint, ConnectOptions, CBSSession?) }
        let step = try state.withLock { (s) throws(AMQPClientError) -> Step in
            if s.destroyed {
                throw s.settings.errorPolicy.clientError("the connection was destroyed; create a new Connection")
            }
            if let error = s.error { throw error }
            if let b = s.binding { return .running(b) }
            let configuration: ConnectionConfiguration
            do throws(ConfigurationError) {
                configuration = try s.settings.engineConfiguration()
            } catch {
                throw s.settings.errorPolicy.configurationError(error)
            }
            if let setupError = reactor.setupError {
                throw Self.transportError(setupError, policy: s.settings.errorPolicy)
            }
            var tls: TLSSession? = nil
            if let t = s.settings.effectiveTLS {
                do throws(TLSError) {
                    tls = try TLSSession(context: try context(for: t))
                } catch {
                    throw s.settings.errorPolicy.configurationError(ConfigurationError(.invalidTLS, setting: "tls", detail: error.description))
                }
            }
            var ws: WebSocketSession? = nil
            if let w = s.settings.effectiveWebSocket {
                do throws(WebSocketError) {
                    ws = try WebSocketSession(configuration: w)
                } catch {
                    throw s.settings.errorPolicy.configurationError(ConfigurationError(.invalidWebSocket, setting: "transport", detail: error.detail))
                }
            }
            s.generation &+= 1
            s.closing = false
            s.closeReceived = false
            let b = EngineBinding(
                core: self, generation: s.generation, policy: s.settings.errorPolicy,
                tracer: FrameTraceLogger(settings: s.settings))
            b.tlsSession = tls
            b.webSocketSession = ws
            s.binding = b
            // A new engine needs its own CBS session; the old one (if any) went with
            // its engine (destroy and redirect stop it).
            s.cbs = s.settings.tokenAuthentication.map {
                CBSSession(core: self, auth: $0, policy: s.settings.errorPolicy)
            }
            return .connect(b, configuration, s.settings.endpoint, s.settings.tcp, s.cbs)
        }
        switch step {
        case .running(let b):
            return b
        case .connect(let b, let configuration, let endpoint, let tcp, let cbs):
            // Every address the name resolves to, tried in order ("localhost": ::1, then
            // 127.0.0.1) until one answers.
            let addresses: [SocketAddress]
            do throws(ReactorError) {
                addresses = try SocketAddress.resolve(host: endpoint.host, port: endpoint.port)
            } catch {
                reactor.perform { _ in b.transportClosed(error) }
                throw Self.transportError(error, policy: b.policy)
            }
            reactor.perform { r in b.connect(r, to: addresses, configuration: configuration, options: tcp) }
            cbs?.start(on: b)
            return b
        }
    }

    /// A context for `configuration`, reused while it does not change.
    private func context(for configuration: TLSConfiguration) throws(TLSError) -> TLSContext {
        if let c = tlsContext.withLock({ $0 }), c.configuration == configuration { return c }
        let c = try TLSContext(configuration)
        tlsContext.withLock { $0 = c }
        return c
    }

    /// `error` with what TLS and WebSocket reported, if either ended the connection.
    /// Certificates, plaintext peers, refused headers and upgrades do not fix themselves:
    /// those are not retried.
    static func withTLS(_ error: AMQPClientError, _ b: EngineBinding) -> AMQPClientError {
        var e = error
        if let failure = b.webSocketSession?.failure {
            e.webSocket = failure
            // A refused upgrade, a wrong accept key or subprotocol, a protocol violation:
            // trying again meets the same server. A lost or closed transport may not.
            let transient: Set<WebSocketError.Code> = [.closedDuringHandshake, .handshakeTimedOut, .peerClosed]
            if !transient.contains(failure.code) && !(failure.code == .unexpectedStatus && (failure.httpStatus ?? 0) >= 500) {
                e.action = .fail
            }
        }
        guard let failure = b.tlsSession?.failure else { return e }
        e.tls = failure
        let transient: Set<TLSError.Code> = [.handshakeTimedOut, .closedDuringHandshake, .protocolFailure]
        if !transient.contains(failure.code) { e.action = .fail }
        return e
    }

    static func transportError(_ error: ReactorError, policy: ErrorPolicy) -> AMQPClientError {
        policy.connectionError(EngineError(.connectionForced, error.description, origin: .transport))
    }

    // MARK: Engine reports (driving thread; called by EngineEventAdapter)

    /// Runs `body` on the state if `b` is still this connection's engine (a redirect
    /// replaces it; the old one's reports no longer concern the connection).
    private func ifCurrent<R>(_ b: EngineBinding, _ body: (inout State) -> R) -> R? {
        state.withLock { s in s.binding === b ? body(&s) : nil }
    }

    func stateChanged(_ b: EngineBinding, from: ConnectionState, to: ConnectionState) {
        let observers = ifCurrent(b) { s in
            s.connectionState = to
            return (Array(s.observers.values), Array(s.streams.values))
        }
        if let (callbacks, streams) = observers {
            notify(ConnectionStateTransition(from: from, to: to), callbacks, streams)
        }
    }

    func remoteOpened(_ b: EngineBinding, _ open: Open) {
        ifCurrent(b) { s in
            s.remoteOpen = open
            s.remoteMaxFrameSize = max(FrameHeader.minimumMaxFrameSize, open.maxFrameSize)
        }
    }

    func remoteClosed(_ b: EngineBinding, _ error: AMQPError?) {
        ifCurrent(b) { s in
            s.closeReceived = true
            if let error, !s.closing, s.error == nil {
                s.error = s.settings.errorPolicy.connectionError(EngineError(error, origin: .remote))
            }
        }
    }

    /// True once the peer's CLOSE arrived on `b` (driving thread: what ends afterwards
    /// ends with the connection).
    func peerClosed(_ b: EngineBinding) -> Bool {
        ifCurrent(b) { $0.closeReceived } ?? false
    }

    func saslFailed(_ b: EngineBinding, _ outcome: SASLOutcome) {
        ifCurrent(b) { s in
            if s.error == nil { s.error = s.settings.errorPolicy.authenticationError(code: outcome.code) }
        }
    }

    /// The engine reached END or ERROR, or began DISCARDING after a fault of its own:
    /// stores the error that explains the end, unless one is stored or we asked for it.
    func engineEnded(_ b: EngineBinding, _ error: EngineError?) {
        ifCurrent(b) { s in
            guard !s.closing, s.error == nil else { return }
            if let error, error.condition == .unauthorizedAccess, s.remoteOpen == nil {
                // Refused before the AMQP connection opened, without a SASL outcome (that
                // path is `saslFailed`): no mechanism in common, a challenge we cannot
                // answer. Still an authentication failure, not a lost connection; no
                // SASL code, since none was received.
                var e = s.settings.errorPolicy.connectionError(error)
                e.kind = .authentication
                s.error = s.settings.errorPolicy.classified(e)
            } else if let error {
                s.error = Self.withTLS(s.settings.errorPolicy.connectionError(error), b)
            } else {
                // A CLOSE without an error still ends the connection under the
                // application: surface it (the reference's "unexpected error state",
                // with what actually happened).
                s.error = s.settings.errorPolicy.connectionClosedByPeer()
            }
        }
    }

    /// The socket is closed; the engine is gone with it.
    func transportClosed(_ b: EngineBinding, _ error: ReactorError?) {
        let transition = ifCurrent(b) { s -> (ConnectionStateTransition, [@Sendable (ConnectionStateTransition) -> Void], [AsyncStream<ConnectionStateTransition>.Continuation])? in
            if !s.closing && s.error == nil {
                if let error {
                    s.error = Self.withTLS(Self.transportError(error, policy: s.settings.errorPolicy), b)
                } else if !s.connectionState.isFinal {
                    s.error = Self.transportError(
                        ReactorError(.endOfStream, operation: "recv", detail: "the transport closed before the connection ended"),
                        policy: s.settings.errorPolicy)
                }
            }
            if s.destroyed { s.binding = nil }
            guard !s.connectionState.isFinal else { return nil }
            // The socket died under the engine: the reference reports ERROR for an I/O
            // failure; an end we asked for is END.
            let to: ConnectionState = (error != nil && !s.closing) ? .error : .end
            let t = ConnectionStateTransition(from: s.connectionState, to: to)
            s.connectionState = to
            return (t, Array(s.observers.values), Array(s.streams.values))
        }
        if let (t, callbacks, streams) = transition ?? nil { notify(t, callbacks, streams) }
    }

    /// The error links and sessions of `b` end with when the transport goes without
    /// them having been told by the engine.
    func terminalError(for b: EngineBinding, transport: ReactorError?) -> AMQPClientError {
        state.withLock { s in
            if s.binding === b, let e = s.error { return e }
            if s.binding !== b && !s.destroyed {
                return s.settings.errorPolicy.clientError("the connection was redirected; create the session and link again")
            }
            if s.destroyed || s.closing {
                return s.settings.errorPolicy.clientError("the connection was closed by this client (destroy)")
            }
            if let transport { return Self.transportError(transport, policy: s.settings.errorPolicy) }
            return s.settings.errorPolicy.connectionClosedByPeer()
        }
    }

    private func notify(
        _ t: ConnectionStateTransition, _ callbacks: [@Sendable (ConnectionStateTransition) -> Void],
        _ streams: [AsyncStream<ConnectionStateTransition>.Continuation]
    ) {
        for c in callbacks { c(t) }
        for s in streams { s.yield(t) }
    }

    // MARK: Observers

    func addObserver(_ body: @escaping @Sendable (ConnectionStateTransition) -> Void) -> UInt64 {
        state.withLock { s in
            s.nextObserverID &+= 1
            s.observers[s.nextObserverID] = body
            return s.nextObserverID
        }
    }

    func removeObserver(_ id: UInt64) {
        _ = state.withLock { $0.observers.removeValue(forKey: id) }
    }

    func makeStream() -> AsyncStream<ConnectionStateTransition> {
        let (stream, continuation) = AsyncStream.makeStream(of: ConnectionStateTransition.self, bufferingPolicy: .unbounded)
        let id = state.withLock { s in
            s.nextObserverID &+= 1
            s.streams[s.nextObserverID] = continuation
            return s.nextObserverID
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.streams.removeValue(forKey: id) }
        }
        return stream
    }

    // MARK: Waiting and stepping

    /// Blocks until `done()` holds or `deadline` (monotonic ns) passes. On a manual
    /// reactor the wait steps the reactor (sleeping in the kernel until I/O or a
    /// deadline, never spinning); called from a callback it cannot wait and only checks.
    func waitUntil(_ deadline: UInt64?, _ done: () -> Bool) -> Bool {
        if reactor.isDriving { return done() }
        switch reactor.driving {
        case .ownThread:
            return changes.wait(until: deadline, done)
        case .manual:
            while !done() {
                var slice: Duration = .milliseconds(50)
                if let deadline {
                    let now = monotonicNanoseconds()
                    guard now < deadline else { return done() }
                    slice = min(slice, .nanoseconds(Int64(deadline - now)))
                }
                do throws(ReactorError) {
                    try reactor.runOnce(timeout: slice)
                } catch {
                    usleepMilliseconds(1)
                }
            }
            return true
        }
    }

    /// One iteration for this connection: `Connection.work()` without the lock and the
    /// error checks. Manual reactor: one `tick(only:)` of this connection. Own thread:
    /// the reactor serves the connection anyway; wait (briefly) for one tick that served
    /// it, so what was asked for before has been written when this returns.
    func workOnce() {
        guard let b = state.withLock({ $0.binding }), !b.isFinished else { return }
        switch reactor.driving {
        case .manual:
            guard !reactor.isDriving else { return }
            let failure: ReactorError? = reactor.drive { r in
                guard let id = b.id else { return nil }
                do throws(ReactorError) {
                    _ = try r.tick(only: id)
                    return nil
                } catch {
                    return error
                }
            }
            if let failure { b.core.storeIfNone(Self.transportError(failure, policy: b.policy)) }
        case .ownThread:
            reactor.flush(until: deadline(afterSeconds: 1)) { r in
                _ = b.withEngine(r) { _ in }
            }
        }
    }

    func storeIfNone(_ error: AMQPClientError) {
        state.withLock { s in if s.error == nil && !s.closing { s.error = error } }
    }

    // MARK: Ending

    /// Sends CLOSE and, unless `grace` is `nil` or the caller is a callback, waits up to
    /// `grace` for the peer's CLOSE and the end of the transport, then aborts the socket
    /// if it is still open. Idempotent.
    func destroy(grace: Duration?) {
        let b: EngineBinding? = state.withLock { s in
            guard !s.destroyed else { return nil }
            s.destroyed = true
            s.closing = true
            let b = s.binding
            if b?.isFinished == true { s.binding = nil }
            return b
        }
        // The CBS session ends first, before the connection (the reference's order): its
        // END is queued ahead of the CLOSE.
        stopCBS(policy.clientError("the connection was destroyed"))
        guard let b, !b.isFinished else { return }
        reactor.perform { r in _ = b.withEngine(r) { $0.close() } }
        guard let grace, !reactor.isDriving else { return }
        if !waitUntil(deadline(after: grace), { b.isFinished }) {
            reactor.perform { r in b.abort(r) }
            _ = waitUntil(deadline(after: .milliseconds(500)), { b.isFinished })
        }
    }

    /// Stops the current CBS session, if any.
    func stopCBS(_ reason: AMQPClientError) {
        let cbs = state.withLock { s -> CBSSession? in
            let c = s.cbs
            s.cbs = nil
            return c
        }
        cbs?.stop(reason: reason)
    }

    /// Closes the current engine (if any) without waiting, points the settings at the
    /// redirect's target and forgets the error, so the next session or `open()` starts
    /// a fresh connection there.
    func redirect(to settings: ConnectionSettings) -> Bool {
        let old: EngineBinding?? = state.withLock { s in
            let same = s.settings.endpoint.host == settings.endpoint.host
                && s.settings.endpoint.port == settings.endpoint.port
                && s.settings.hostname == settings.hostname
            guard !same else { return .none }
            let b = s.binding
            s.binding = nil
            s.settings = settings
            s.error = nil
            s.closing = false
            s.destroyed = false
            s.closeReceived = false
            s.remoteOpen = nil
            s.remoteMaxFrameSize = FrameHeader.minimumMaxFrameSize
            return .some(b)
        }
        guard case .some(let b) = old else { return false }
        stopCBS(policy.clientError("the connection was redirected; authentication starts again at the new host"))
        if let b, !b.isFinished {
            // Politely: CLOSE, and the engine ends when the old peer answers (or after its
            // close time-out). Its reports no longer reach this connection.
            reactor.perform { r in _ = b.withEngine(r) { $0.close() } }
        }
        let (from, callbacks, streams) = state.withLock { s in
            let from = s.connectionState
            s.connectionState = .start
            return (from, Array(s.observers.values), Array(s.streams.values))
        }
        notify(ConnectionStateTransition(from: from, to: .start), callbacks, streams)
        changes.signal()
        return true
    }
}
