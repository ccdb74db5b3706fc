public import AMQPEngine
import AMQPReactor

/// An AMQP 1.0 connection: the reference client's `Connection`, made Swift-native.
///
/// ```swift
/// let connection = try Connection(hostname: "amqp://user:secret@broker.example.com")
/// let session = try Session(connection: connection)
/// let sender = try MessageSender(session: session, target: "orders")
/// let outcome = try await sender.send(Message(body: Array("hello".utf8)))
/// connection.destroy()
/// ```
///
/// The connection opens lazily: the first session (or `open()`) connects. It runs on a
/// `ConnectionReactor`; the default, `ConnectionReactor.shared`, has a thread of its own,
/// so heartbeats, idle checks and I/O happen whether or not anyone calls `work()` (the
/// reference needed the application to keep pumping, or the broker dropped it). With a
/// `.manual` reactor, nothing happens unless `work()` (or another stepping call) runs.
///
/// Thread-safe: any thread or task may use it. The lock (`lock(timeout:)`, `release()`,
/// `sleep(seconds:)`) is the reference's, owner-checked: only the thread that took it
/// can release it.
public final class Connection: Sendable {
    let core: ConnectionCore

    /// A connection with `settings`, on `reactor`. Nothing is sent until it opens.
    public init(settings: ConnectionSettings, reactor: ConnectionReactor = .shared) {
        core = ConnectionCore(settings: settings, reactor: reactor)
    }

    /// A connection with the reference constructor's parameters (see
    /// `ConnectionSettings` for each), on `reactor`. With `tokenAuthentication`, the
    /// connection puts a CBS token on `$cbs` as it starts and keeps it fresh.
    public convenience init(
        hostname: String,
        sasl: SASLCredentials? = nil,
        containerID: String? = nil,
        maxFrameSize: UInt32 = ConnectionSettings.defaultMaxFrameSize,
        channelMax: UInt16 = .max,
        idleTimeout: UInt32? = nil,
        properties: Fields? = nil,
        remoteIdleTimeoutEmptyFrameSendRatio: Double = ConnectionSettings.defaultEmptyFrameSendRatio,
        errorPolicy: ErrorPolicy = ErrorPolicy(),
        debug: Bool = false,
        encoding: String = "UTF-8",
        tokenAuthentication: TokenAuthentication? = nil,
        reactor: ConnectionReactor = .shared
    ) throws(ConfigurationError) {
        var settings = try ConnectionSettings(
            hostname: hostname, sasl: sasl, containerID: containerID, maxFrameSize: maxFrameSize,
            channelMax: channelMax, idleTimeout: idleTimeout, properties: properties,
            remoteIdleTimeoutEmptyFrameSendRatio: remoteIdleTimeoutEmptyFrameSendRatio,
            errorPolicy: errorPolicy, debug: debug, encoding: encoding)
        settings.tokenAuthentication = tokenAuthentication
        self.init(settings: settings, reactor: reactor)
    }

    deinit {
        // Dropped without destroy(): say goodbye without waiting (this may run on the
        // reactor's thread, which must not block).
        core.destroy(grace: nil)
    }

    // MARK: Attributes

    /// The reactor the connection runs on.
    public var reactor: ConnectionReactor { core.reactor }
    /// The settings (as redirected, after a `redirect`).
    public var settings: ConnectionSettings { core.state.withLock { $0.settings } }
    /// The host name sent in OPEN.
    public var hostname: String { settings.hostname }
    /// Our container id.
    public var containerID: String { settings.containerID }
    /// The largest frame we accept (OPEN's `max-frame-size`).
    public var maxFrameSize: UInt32 { settings.maxFrameSize }
    /// The highest channel number we accept (OPEN's `channel-max`).
    public var channelMax: UInt16 { settings.channelMax }
    /// Our idle time-out in milliseconds, `nil` for none (OPEN's `idle-time-out` is half
    /// of it: part 2, section 2.4.5).
    public var idleTimeout: UInt32? { settings.idleTimeout }
    /// OPEN's `properties`.
    public var properties: Fields? { settings.properties }
    /// The largest frame the peer accepts: 512 until its OPEN arrives, then its value.
    public var remoteMaxFrameSize: UInt32 { core.state.withLock { $0.remoteMaxFrameSize } }
    /// The peer's OPEN, once it arrived.
    public var remoteOpen: Open? { core.state.withLock { $0.remoteOpen } }
    /// The state, with the reference's numeric values (`state.rawValue`).
    public var state: ConnectionState { core.state.withLock { $0.connectionState } }
    /// The stored error `work()` rethrows, if any.
    public var error: AMQPClientError? { core.storedError }

    // MARK: Settings (before the connection starts)

    /// Changes settings; allowed only before the connection starts (state START, nothing
    /// sent), as in the reference. Throws `ConfigurationError.Code.settingsLocked` after
    /// that, or the first invalid setting (and then nothing changes).
    public func updateSettings(_ body: (inout ConnectionSettings) -> Void) throws(ConfigurationError) {
        try core.state.withLock { (s) throws(ConfigurationError) in
            guard s.binding == nil, s.connectionState == .start else {
                throw ConfigurationError(
                    .settingsLocked, setting: "settings",
                    detail: "the connection has started (state \(s.connectionState)); settings can change only before it starts")
            }
            var updated = s.settings
            body(&updated)
            try updated.validate()
            s.settings = updated
        }
    }

    /// Sets `maxFrameSize` (at least 512) before the connection starts.
    public func setMaxFrameSize(_ value: UInt32) throws(ConfigurationError) { try updateSettings { $0.maxFrameSize = value } }
    /// Sets `channelMax` before the connection starts.
    public func setChannelMax(_ value: UInt16) throws(ConfigurationError) { try updateSettings { $0.channelMax = value } }
    /// Sets `idleTimeout` (milliseconds; `nil` or 0 for none) before the connection starts.
    public func setIdleTimeout(_ value: UInt32?) throws(ConfigurationError) {
        try updateSettings { $0.idleTimeout = value == 0 ? nil : value }
    }
    /// Sets `properties` before the connection starts.
    public func setProperties(_ value: Fields?) throws(ConfigurationError) { try updateSettings { $0.properties = value } }

    // MARK: Opening and stepping

    /// Starts the connection now instead of with the first session: connects, then
    /// exchanges protocol headers, SASL and OPEN. Returns without waiting for them.
    public func open() throws(AMQPClientError) {
        _ = try core.start()
    }

    /// Starts the connection if needed and blocks until it is OPENED (stepping a manual
    /// reactor meanwhile), at most `timeout`. Throws the connection's error if it ends
    /// first, or a time-out error.
    public func waitUntilOpened(timeout: Duration = .seconds(30)) throws(AMQPClientError) {
        _ = try core.start()
        // A final state alone does not end the wait: the driving thread reports ERROR
        // before it stores the error that explains it, and a waiter woken in between
        // reported a time-out instead of, say, the failed login. Every end we did not
        // ask for stores an error.
        var sawOpened = false
        _ = core.waitUntil(deadline(after: timeout)) {
            core.state.withLock { s in
                if s.connectionState == .opened { sawOpened = true }
                return sawOpened || s.error != nil || (s.connectionState.isFinal && (s.closing || s.destroyed))
            }
        }
        if let error = core.storedError { throw error }
        // `sawOpened` is what the wait saw: the state may have moved on since (a peer that
        // strikes right after its OPEN ends the connection a moment later, and the error
        // that explains it is stored after the state moves). Re-reading the state here
        // turned such an end into a time-out.
        guard sawOpened else {
            throw core.policy.timeoutError("the connection did not open within \(timeout) (state \(state))")
        }
    }

    /// One iteration of the connection (the reference's `work()`).
    ///
    /// Rethrows the stored error, on every call until `redirect` clears it. Otherwise
    /// takes the lock (waiting at most 3 s; a time-out is swallowed, as in the
    /// reference, and nothing else happens) and runs one tick of this connection: on a
    /// manual reactor, `tick(only:)` (reads, deadlines, writes, events, without
    /// blocking); on an own-thread reactor, which serves the connection anyway, it waits
    /// for one tick that served it (so what was queued before has been written). A thread
    /// that holds the lock may call it without releasing first. Afterwards rethrows an
    /// error the tick stored.
    public func work() throws(AMQPClientError) {
        if let error = core.storedError { throw error }
        let acquired = core.lock.acquire(timeout: 3.0)
        if acquired == .timedOut { return }
        defer { if acquired == .acquired { core.lock.release() } }
        core.workOnce()
        if let error = core.storedError { throw error }
    }

    // MARK: The lock

    /// Takes the connection lock, waiting at most `timeout` seconds (negative: without
    /// limit). Not reentrant: a thread that holds it gets a client error at once instead
    /// of a deadlock.
    ///
    /// - Throws: `AMQPClientError` of kind `.timeout` when another thread held the lock
    ///   for the whole time-out; of kind `.clientError` when the caller already holds it.
    public func lock(timeout: Double = 3.0) throws(AMQPClientError) {
        switch core.lock.acquire(timeout: timeout) {
        case .acquired:
            return
        case .alreadyHeld:
            throw core.policy.clientError("this thread already holds the connection lock, which is not reentrant")
        case .timedOut:
            throw core.policy.timeoutError("the connection lock was not acquired within \(timeout) s: another thread holds it")
        }
    }

    /// Releases the lock if the calling thread holds it; otherwise does nothing (the
    /// reference released whoever held it). Never throws.
    public func release() {
        core.lock.release()
    }

    /// Holds the lock for `seconds` (the reference uses it to back off between retries),
    /// so no other thread's `work()` runs meanwhile. With an own-thread reactor the
    /// connection keeps its heartbeats regardless. Waits at most 3 s for the lock; a
    /// time-out is swallowed, and then it does not sleep.
    public func sleep(seconds: Double) {
        let acquired = core.lock.acquire(timeout: 3.0)
        if acquired == .timedOut { return }
        sleepThread(seconds: seconds)
        if acquired == .acquired { core.lock.release() }
    }

    // MARK: Ending

    /// Closes the connection: under the lock (waiting at most 3 s for it, then going on
    /// without it, so shutdown never deadlocks), sends CLOSE, waits up to `grace` for the
    /// peer's CLOSE and the end of the transport, then closes the socket regardless.
    /// Sessions and links end with it. Idempotent; afterwards the connection cannot be
    /// used (only `redirect` revives it). From a callback it does not wait.
    public func destroy(grace: Duration = .seconds(1)) {
        let acquired = core.lock.acquire(timeout: 3.0)
        defer { if acquired == .acquired { core.lock.release() } }
        core.destroy(grace: grace)
    }

    /// Points the connection at a redirect's target (from an `amqp:connection:redirect`
    /// CLOSE or an `amqp:link:redirect` DETACH: `AMQPClientError.redirect`).
    ///
    /// Does nothing when the target is where the connection already goes (same host,
    /// port and virtual host; the reference compared the host name only, and so ignored
    /// a redirect to another port of the same host). Otherwise: closes the current
    /// connection (CLOSE, without waiting), keeps every setting but the endpoint (and
    /// the credentials, when `auth` is given), forgets the stored error, and goes back to
    /// START; the next session or `open()` connects to the new host. Sessions and links
    /// of the old connection end; their owners create them again.
    public func redirect(_ info: RedirectInfo, auth: SASLCredentials? = nil) {
        let acquired = core.lock.acquire(timeout: 3.0)
        defer { if acquired == .acquired { core.lock.release() } }
        let target = core.state.withLock { $0.settings.redirected(to: info, sasl: auth) }
        _ = core.redirect(to: target)
    }

    // MARK: Observing

    /// Calls `handler` for every state transition, repeats included, on the thread
    /// driving the reactor (keep it short; do not block). Keep the returned observation
    /// and `cancel()` it to stop.
    @discardableResult
    public func onStateChange(_ handler: @escaping @Sendable (ConnectionStateTransition) -> Void) -> StateObservation {
        StateObservation(core: core, id: core.addObserver(handler))
    }

    /// Every state transition from now on, as an async sequence (it ends when the task
    /// iterating it is cancelled).
    public func stateTransitions() -> AsyncStream<ConnectionStateTransition> {
        core.makeStream()
    }
}

/// A registration made with `Connection.onStateChange(_:)`.
public struct StateObservation: Sendable {
    let core: ConnectionCore
    let id: UInt64

    /// Stops the callbacks.
    public func cancel() { core.removeObserver(id) }
}
