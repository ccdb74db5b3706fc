// CBS token authentication, as a connection offers it (`ConnectionSettings.tokenAuthentication`):
// the CBS session starts with each engine; these calls report on it and wait for it.

extension Connection {
    /// The token authentication the connection was configured with, if any.
    public var tokenAuthentication: TokenAuthentication? { settings.tokenAuthentication }

    /// Where token authentication stands on the current engine: `.notStarted` without
    /// token authentication or before the connection starts.
    public var authenticationStatus: TokenAuthenticationStatus {
        let (cbs, error) = core.state.withLock { ($0.cbs, $0.error) }
        guard let status = cbs?.status else { return .notStarted }
        // A token in force on a connection that failed meanwhile is no use.
        if case .authenticated = status, let error { return .failed(error) }
        return status
    }

    /// Tokens the CBS node accepted on the current engine: the first and each refresh.
    public var acceptedTokenCount: Int { core.state.withLock { $0.cbs }?.acceptedCount ?? 0 }

    /// Starts the connection if needed and blocks until its CBS token is in force (at most
    /// `timeout`; a manual reactor is stepped meanwhile). Returns when the token expires.
    ///
    /// - Throws: the CBS failure (`tokenAuthFailure` with the node's status code,
    ///   `tokenExpired`, or a time-out), the connection's error, or a client error when
    ///   the connection has no token authentication.
    @discardableResult
    public func waitUntilAuthenticated(timeout: Duration = .seconds(60)) throws(AMQPClientError) -> Timestamp {
        let cbs = try startedCBS()
        switch cbs.wait(until: deadline(after: timeout)) {
        case .authenticated(let expiresAt): return expiresAt
        case .failed(let error): throw error
        case .notStarted, .authenticating:
            if let error = core.storedError { throw error }
            throw core.policy.timeoutError("no CBS token was accepted for \(cbs.auth.audience) within \(timeout)")
        }
    }

    /// Starts the connection if needed and waits, without blocking a thread, until its
    /// CBS token is in force; returns when the token expires. Throws as
    /// `waitUntilAuthenticated(timeout:)` does (the provider's and the node's time-outs,
    /// `TokenAuthentication.responseTimeout`, bound the wait).
    @discardableResult
    public func authenticate() async throws(AMQPClientError) -> Timestamp {
        let cbs = try startedCBS()
        return try await cbs.authenticated().get()
    }

    private func startedCBS() throws(AMQPClientError) -> CBSSession {
        guard settings.tokenAuthentication != nil else {
            throw core.policy.clientError("the connection has no token authentication (ConnectionSettings.tokenAuthentication)")
        }
        _ = try core.start()
        guard let cbs = core.state.withLock({ $0.cbs }) else {
            throw core.storedError ?? core.policy.clientError("the connection's CBS session is not running")
        }
        return cbs
    }
}
