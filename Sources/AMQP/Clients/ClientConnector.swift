/// A link a client keeps open: a `MessageSender` or a `MessageReceiver`.
protocol ClientLink: AnyObject, Sendable {
    var isAttached: Bool { get }
    var error: AMQPClientError? { get }
    func close()
}

extension MessageSender: ClientLink {}
extension MessageReceiver: ClientLink {}

/// What `SendClient` and `ReceiveClient` share: one connection, session and link, opened
/// on demand and opened again as redirects and the reconnect policy say.
///
/// `open(until:)` loops until the link is attached: it makes what is missing (a new
/// connection when the last one failed, a new session and link otherwise), waits for CBS
/// when tokens are used, then for the ATTACH; a redirect (CLOSE or DETACH) points it at
/// the new host or address, at most `maxRedirects` times; a lost connection, with a
/// reconnect policy, waits a back-off and tries the next host, at most `maxAttempts`
/// times in a row. Blocking: it runs on the caller's thread (the async forms run it on a
/// thread of their own).
final class ClientConnector<Link: ClientLink>: Sendable {
    private enum Plan { case reuse(Parts), newLink(Connection, String), newConnection(ConnectionSettings, String) }

    /// The objects of one attached (or attaching) link.
    struct Parts: Sendable {
        let connection: Connection
        let session: Session
        let link: Link
    }

    private struct State {
        var settings: ConnectionSettings
        var address: String
        var parts: Parts? = nil
        var hostIndex = 0
        var attempts = 0
        var redirectsFollowed = 0
        var reconnects = 0
        var closed = false
    }

    let options: ClientOptions
    let policy: ErrorPolicy
    /// The target's host first, then the reconnect policy's alternates.
    let hosts: [AMQPEndpoint]
    private let makeLink: @Sendable (Session, String) throws(AMQPClientError) -> Link
    private let state: Locked<State>
    /// One opener at a time: threads that call `open` together wait for the first
    /// instead of each making a connection.
    private let gate = ThreadCondition()
    /// The keep-alive thread sleeps on it; `close` wakes it to end.
    private let keepAlive = ThreadCondition()

    init(
        settings: ConnectionSettings, address: String, options: ClientOptions,
        makeLink: @escaping @Sendable (Session, String) throws(AMQPClientError) -> Link
    ) throws(ConfigurationError) {
        var hosts = [settings.endpoint]
        for text in options.reconnect?.alternateHosts ?? [] {
            var e = try AMQPEndpoint(parsing: text)
            if e.username == nil {
                e.username = settings.endpoint.username
                e.password = settings.endpoint.password
            }
            hosts.append(e)
        }
        self.hosts = hosts
        self.options = options
        self.policy = settings.errorPolicy
        self.makeLink = makeLink
        state = Locked(State(settings: settings, address: address))
        if let interval = options.keepAliveInterval, options.reactor.driving == .manual, interval > .zero {
            startKeepAlive(every: interval)
        }
    }

    /// The reference's keep-alive thread: `work()` on the current connection every
    /// `interval` until the client closes (or is released).
    private func startKeepAlive(every interval: Duration) {
        let gate = keepAlive
        startDetachedThread { [weak self] in
            while true {
                gate.withLock { _ = gate.wait(until: monotonicDeadline(after: interval)) }
                guard let connector = self, !connector.isClosed else { return }
                if let c = connector.parts?.connection, c.error == nil { try? c.work() }
            }
        }
    }

    /// The address the link attaches to now (after link redirects).
    var address: String { state.withLock { $0.address } }
    /// Where the connection goes now (after redirects and reconnects).
    var endpoint: AMQPEndpoint { state.withLock { $0.settings.endpoint } }
    /// The current parts, attached or not.
    var parts: Parts? { state.withLock { $0.parts } }
    /// Redirects followed so far, over the client's life.
    var redirectsFollowed: Int { state.withLock { $0.redirectsFollowed } }
    /// Connections made again after a loss, over the client's life.
    var reconnects: Int { state.withLock { $0.reconnects } }
    var isClosed: Bool { state.withLock { $0.closed } }

    // MARK: Opening

    /// The clients' `open(timeout:)`: attached parts within `timeout` (by default
    /// `ClientOptions.openTimeout`), blocking the calling thread.
    func open(timeout: Duration?) throws(AMQPClientError) {
        _ = try open(until: deadline(after: timeout ?? options.openTimeout))
    }

    /// The same from async code: the wait runs on a thread of its own, never on the
    /// cooperative pool.
    func open(timeout: Duration?) async throws(AMQPClientError) {
        let d = deadline(after: timeout ?? options.openTimeout)
        try await onOwnThread { [self] () -> Result<Void, AMQPClientError> in
            do throws(AMQPClientError) {
                _ = try open(until: d)
                return .success(())
            } catch {
                return .failure(error)
            }
        }.get()
    }

    /// Returns attached parts, making and remaking them as needed, until `deadline`.
    func open(until deadline: UInt64?) throws(AMQPClientError) -> Parts {
        gate.lock()
        defer { gate.unlock() }
        var redirects = 0
        while true {
            // A connection that died since the last call is a loss like any other: the
            // reconnect policy decides (next host, back-off), or its error is thrown once
            // and the next call starts afresh.
            if let old = parts, let lost = old.connection.error {
                try recover(from: lost, parts: old, until: deadline)
            }
            let parts: Parts
            do throws(AMQPClientError) {
                parts = try currentOrNewParts(until: deadline)
            } catch {
                // No link yet (the connection failed to start or to authenticate). A
                // peer that answers OPEN with a redirect at once can end the connection
                // before its session or link exists: that redirect is followed too.
                if try followedRedirect(in: error, parts: nil, redirects: &redirects) { continue }
                try recover(from: error, parts: nil, until: deadline)
                continue
            }
            let failure: AMQPClientError
            do throws(AMQPClientError) {
                try authenticate(parts.connection, until: deadline)
                if try waitForAttach(parts, until: deadline) {
                    state.withLock { $0.attempts = 0 }
                    return parts
                }
                // The connection's error first: links that end with their connection report
                // its condition as a DETACH (a connection redirect included).
                failure = parts.connection.error ?? parts.link.error
                    ?? policy.clientError("the link ended while attaching")
            } catch {
                failure = error
            }
            if try followedRedirect(in: failure, parts: parts, redirects: &redirects) { continue }
            try recover(from: failure, parts: parts, until: deadline)
        }
    }

    /// When `failure` is a redirect: follows it (true), or throws it once `redirects`
    /// has reached `ClientOptions.maxRedirects`. False for any other failure.
    private func followedRedirect(in failure: AMQPClientError, parts: Parts?, redirects: inout Int) throws(AMQPClientError) -> Bool {
        guard let redirect = failure.redirect ?? (try? RedirectInfo(condition: failure.condition, info: failure.info)) else {
            return false
        }
        let kind: AMQPClientError.Kind = redirect.condition == .linkRedirect ? .linkRedirect : .connectionRedirect
        redirects += 1
        guard redirects <= options.maxRedirects else {
            if let parts { discard(parts) }
            var e = failure
            e.kind = kind
            e.redirect = redirect
            e.errorDescription = (e.errorDescription.map { $0 + "; " } ?? "")
                + "gave up after following \(options.maxRedirects) redirect(s) (ClientOptions.maxRedirects)"
            throw e
        }
        follow(redirect, kind: kind, from: parts)
        return true
    }

    /// After `failure` on `parts`: with a reconnect policy and a failure that a new
    /// connection can cure, drops the connection, waits the back-off and moves to the
    /// next host; otherwise (or when attempts are used up) throws `failure`.
    func recover(from failure: AMQPClientError, parts: Parts?, until deadline: UInt64?) throws(AMQPClientError) {
        guard let reconnect = options.reconnect, isConnectionLoss(failure, parts: parts) else {
            if let parts, parts.connection.error != nil || parts.connection.state.isFinal { discard(parts) }
            throw failure
        }
        let attempt = try state.withLock { (s) throws(AMQPClientError) -> Int in
            guard !s.closed else { throw policy.clientError("the client was closed") }
            s.attempts += 1
            guard s.attempts <= reconnect.maxAttempts else {
                var e = failure
                e.errorDescription = (e.errorDescription.map { $0 + "; " } ?? "")
                    + "gave up after \(reconnect.maxAttempts) reconnect attempt(s) (ReconnectPolicy.maxAttempts)"
                s.attempts = 0
                throw e
            }
            s.hostIndex = (s.hostIndex + 1) % hosts.count
            s.settings.endpoint = hosts[s.hostIndex]
            s.settings.virtualHost = nil
            s.reconnects += 1
            return s.attempts
        }
        if let parts { discard(parts) }
        var pause = reconnect.backoff(attempt: attempt, unit: Double.random(in: 0..<1))
        if let deadline {
            let now = monotonicNanoseconds()
            guard now < deadline else { throw policy.timeoutError("the client did not reconnect before its deadline: \(failure)") }
            pause = min(pause, .nanoseconds(Int64(deadline - now)))
        }
        sleepThread(seconds: Double(pause.wholeMilliseconds) / 1000)
    }

    /// True when a new connection is the cure: the connection failed (or never came
    /// up) with an error the policy retries.
    func isConnectionLoss(_ e: AMQPClientError, parts: Parts?) -> Bool {
        guard e.action.retry || e.origin == .transport else { return false }
        switch e.kind {
        case .connectionClose, .vendorConnectionClose, .messageFateUnknown: return true
        default: return parts?.connection.error != nil || parts.map { $0.connection.state.isFinal } == true
        }
    }

    /// Closes the link and connection; later opens fail.
    func close() {
        let parts = state.withLock { s -> Parts? in
            s.closed = true
            let p = s.parts
            s.parts = nil
            return p
        }
        keepAlive.withLock { keepAlive.broadcast() }
        guard let parts else { return }
        // Let what is queued (dispositions of messages just accepted) be written first:
        // the engine drops session frames still unwritten when CLOSE is queued in the
        // same tick, and the peer would deliver those messages again.
        try? parts.connection.work()
        parts.link.close()
        parts.connection.destroy()
    }

    // MARK: Steps

    private func currentOrNewParts(until deadline: UInt64?) throws(AMQPClientError) -> Parts {
        let plan = try state.withLock { (s) throws(AMQPClientError) -> Plan in
            guard !s.closed else { throw policy.clientError("the client was closed") }
            guard let p = s.parts else { return .newConnection(s.settings, s.address) }
            let connectionUsable = p.connection.error == nil && !p.connection.state.isFinal
            if connectionUsable && p.link.error == nil && p.session.error == nil { return .reuse(p) }
            if connectionUsable { return .newLink(p.connection, s.address) }
            return .newConnection(s.settings, s.address)
        }
        let connection: Connection
        let address: String
        switch plan {
        case .reuse(let p):
            return p
        case .newLink(let c, let a):
            connection = c
            address = a
        case .newConnection(let settings, let a):
            if let old = state.withLock({ $0.parts }) { discard(old) }
            connection = Connection(settings: settings, reactor: options.reactor)
            address = a
        }
        do throws(AMQPClientError) {
            let session = try Session(
                connection: connection, incomingWindow: options.incomingWindow, outgoingWindow: options.outgoingWindow,
                handleMax: options.handleMax)
            // The link waits for the token: a CBS node refuses links to protected
            // addresses until one is in force.
            try authenticate(connection, until: deadline)
            let parts = Parts(connection: connection, session: session, link: try makeLink(session, address))
            state.withLock { $0.parts = parts }
            return parts
        } catch {
            if case .newConnection = plan { connection.destroy(grace: .milliseconds(200)) }
            throw error
        }
    }

    private func authenticate(_ connection: Connection, until deadline: UInt64?) throws(AMQPClientError) {
        guard connection.tokenAuthentication != nil else { return }
        if case .authenticated = connection.authenticationStatus { return }
        let timeout: Duration = deadline.map { d in
            let now = monotonicNanoseconds()
            return .nanoseconds(Int64(d > now ? d - now : 0))
        } ?? .seconds(3600)
        try connection.waitUntilAuthenticated(timeout: timeout)
    }

    /// True once attached; false when the link or connection failed first.
    private func waitForAttach(_ parts: Parts, until deadline: UInt64?) throws(AMQPClientError) -> Bool {
        let done = parts.connection.core.waitUntil(deadline) {
            parts.link.isAttached || parts.link.error != nil || parts.connection.error != nil
        }
        if parts.link.isAttached && parts.link.error == nil { return true }
        guard done else {
            throw policy.timeoutError("the link to \(address) at \(endpoint) was not attached in time")
        }
        return false
    }

    /// Moves the client to `redirect`'s target. `parts`: what the redirect ended, if the
    /// link existed (nil when the connection ended before its link was made; that
    /// connection is already gone).
    private func follow(_ redirect: RedirectInfo, kind: AMQPClientError.Kind, from parts: Parts?) {
        let sameHost = state.withLock { s -> Bool in
            s.redirectsFollowed += 1
            if kind == .linkRedirect, let a = redirect.address { s.address = Self.nodeAddress(a) }
            let target = redirect.endpoint(from: s.settings.endpoint)
            let same = kind == .linkRedirect && target.host == s.settings.endpoint.host && target.port == s.settings.endpoint.port
            if !same { s.settings = s.settings.redirected(to: redirect) }
            return same
        }
        guard let parts else { return }
        if sameHost {
            // The connection stays; the next round attaches a new link on a new session.
            parts.session.close()
        } else {
            discard(parts)
        }
    }

    /// Drops `parts` (closing its connection without waiting long) unless newer ones
    /// replaced them.
    private func discard(_ parts: Parts) {
        state.withLock { s in if s.parts?.connection === parts.connection { s.parts = nil } }
        parts.link.close()
        parts.connection.destroy(grace: .milliseconds(200))
    }

    /// A redirect's `address` as a node address: the path of a URL (Azure sends
    /// `amqps://host:5671/entity/`), else the text itself.
    static func nodeAddress(_ text: String) -> String {
        guard text.contains("://"), let url = try? AMQPEndpoint(parsing: text), let path = url.path else { return text }
        var p = Substring(path)
        while p.hasPrefix("/") { p = p.dropFirst() }
        while p.hasSuffix("/") { p = p.dropLast() }
        return String(p)
    }
}
