/// Keeps a CBS token in place: when to get a token, what to send, how to read the
/// answer, and when to refresh. A sans-I/O state machine: it never reads a clock or
/// touches a link; the driver passes the wall-clock `now` in and carries messages.
///
/// The driver's loop:
/// 1. `poll(now:)`. On `.requestToken`, ask the `TokenProvider`, then `putToken(_:now:)`
///    and send the message it returns on the `$cbs` sender link (or `tokenUnavailable`
///    if the provider failed). On `.fail`, the error says what happened; `reset()` to
///    try again when the error policy says so.
/// 2. Pass each message from the `$cbs` receiver link to `receive(_:now:)`.
/// 3. Call `poll(now:)` again at `nextDeadline` (refresh, response time-out, expiry).
///
/// A token is refreshed when `refreshFraction` (default 10 %, as the reference's
/// Python client) of the lifetime it had when accepted is left. The reference computes
/// this window but compares the wrong state variable, so it never refreshes; here it does.
/// A refresh that times out (provider or CBS node) is started again while the token in
/// force is valid; a first authentication that times out fails.
public struct CBSAuthenticator: Sendable {
    /// Where the exchange stands.
    public enum State: Hashable, Sendable {
        /// No token requested yet.
        case idle
        /// Waiting, since `since`, for the driver to bring a token (`refreshing`: one is
        /// still in force).
        case awaitingToken(since: Timestamp, refreshing: Bool)
        /// The put-token request is out; waiting for the response.
        case awaitingResponse(messageID: MessageID, sentAt: Timestamp, refreshing: Bool)
        /// A token is in force until `expiresAt`; refresh from `refreshAt`.
        case authenticated(expiresAt: Timestamp, refreshAt: Timestamp)
        /// Failed; `poll` reports the error until `reset()`.
        case failed
    }

    /// What the driver should do now.
    public enum Action: Sendable {
        /// Get a token from the provider and pass it to `putToken(_:now:)`.
        case requestToken
        /// Nothing until `until` (or until a response arrives); `nil`: no deadline.
        case wait(until: Timestamp?)
        /// Authentication failed: the error says why and whether to retry.
        case fail(AMQPClientError)
    }

    /// What a message from the CBS receiver link meant.
    public enum ResponseOutcome: Sendable {
        /// The token was accepted and is in force until `expiresAt`.
        case accepted(expiresAt: Timestamp)
        /// The token was refused, or the response could not be read.
        case rejected(AMQPClientError)
        /// The message answers no request of ours (wrong or missing correlation-id, or
        /// no request outstanding): it was ignored.
        case ignored(reason: String)
    }

    /// The entity the token is for (put-token `name`).
    public let audience: String
    /// The put-token `reply-to`.
    public let replyTo: String
    /// How long to wait for the token provider, and then for the CBS node's response,
    /// before failing with a time-out (so a hung provider or peer cannot stall
    /// authentication silently).
    public let responseTimeout: Duration
    /// The fraction of a token's lifetime left when it is refreshed, in (0, 1).
    public let refreshFraction: Double
    /// Classifies the errors reported.
    public let errorPolicy: ErrorPolicy

    /// Where the exchange stands.
    public private(set) var state: State = .idle
    /// The error `poll` reports while `failed`.
    public private(set) var failure: AMQPClientError? = nil
    /// The next request's message-id (counts from 0).
    public private(set) var nextMessageID: UInt64 = 0
    /// The token in force, if any.
    public private(set) var current: CBSToken? = nil
    /// The token sent and not yet answered.
    private var pending: CBSToken? = nil
    /// Why the last refresh attempt timed out, for the expiry error.
    private var lastRefreshProblem: String? = nil

    /// Creates an authenticator.
    ///
    /// - Precondition: `refreshFraction` is in (0, 1).
    public init(
        audience: String, replyTo: String = CBS.defaultReplyTo, responseTimeout: Duration = .seconds(60),
        refreshFraction: Double = 0.1, errorPolicy: ErrorPolicy = ErrorPolicy()
    ) {
        precondition(refreshFraction > 0 && refreshFraction < 1, "refreshFraction \(refreshFraction) is not in (0, 1)")
        self.audience = audience
        self.replyTo = replyTo
        self.responseTimeout = responseTimeout
        self.refreshFraction = refreshFraction
        self.errorPolicy = errorPolicy
    }

    /// True while an accepted token is in force (as of the last `poll`).
    public var isAuthenticated: Bool {
        switch state {
        case .authenticated: true
        case .awaitingToken(_, let refreshing), .awaitingResponse(_, _, let refreshing): refreshing
        default: false
        }
    }

    /// When `poll` must next be called, if anything is pending on time.
    public var nextDeadline: Timestamp? {
        switch state {
        case .authenticated(_, let refreshAt): return refreshAt
        case .awaitingResponse(_, let since, _), .awaitingToken(let since, _):
            let timeout = since.advanced(by: responseTimeout)
            if let e = current?.expiresAt, isAuthenticated, e < timeout { return e }
            return timeout
        default: return nil
        }
    }

    /// Advances on time and says what to do.
    public mutating func poll(now: Timestamp) -> Action {
        switch state {
        case .idle:
            state = .awaitingToken(since: now, refreshing: false)
            return .requestToken
        case .failed:
            return .fail(failure!)
        case .authenticated(let expiresAt, let refreshAt):
            if now >= expiresAt { return expire(now: now) }
            if now >= refreshAt {
                state = .awaitingToken(since: now, refreshing: true)
                return .requestToken
            }
            return .wait(until: refreshAt)
        case .awaitingToken(let since, let refreshing):
            if refreshing, let e = current?.expiresAt, now >= e { return expire(now: now) }
            if now >= since.advanced(by: responseTimeout) {
                return timedOut("the token provider gave no token for \(audience) within \(responseTimeout)", refreshing: refreshing, now: now)
            }
            return .wait(until: nextDeadline)
        case .awaitingResponse(let id, let sentAt, let refreshing):
            if refreshing, let e = current?.expiresAt, now >= e { return expire(now: now) }
            if now >= sentAt.advanced(by: responseTimeout) {
                return timedOut(
                    "no answer from the CBS node to put-token \(id) for \(audience) within \(responseTimeout)",
                    refreshing: refreshing, now: now)
            }
            return .wait(until: nextDeadline)
        }
    }

    /// Records the provider's token and returns the put-token request to send.
    ///
    /// Throws a `clientError` when no token was requested (call `poll` first), and a
    /// `tokenExpired` error when the token has already expired at `now`.
    public mutating func putToken(_ token: CBSToken, now: Timestamp) throws(AMQPClientError) -> Message {
        guard case .awaitingToken(_, let refreshing) = state else {
            throw errorPolicy.clientError("putToken called while \(state); call it after poll(now:) returns .requestToken")
        }
        guard token.expiresAt > now else {
            let e = errorPolicy.classified(AMQPClientError(
                kind: .tokenExpired, condition: .unauthorizedAccess,
                description: "the token provider returned a token that expired at \(token.expiresAt.secondsSinceEpoch), before now (\(now.secondsSinceEpoch))",
                origin: .client))
            _ = fail(e)
            throw e
        }
        let id = MessageID.ulong(nextMessageID)
        nextMessageID &+= 1
        pending = token
        state = .awaitingResponse(messageID: id, sentAt: now, refreshing: refreshing)
        return PutTokenRequest(token: token, audience: audience, messageID: id, replyTo: replyTo).message
    }

    /// Records that the provider could not supply a token.
    public mutating func tokenUnavailable(_ reason: String) {
        _ = fail(errorPolicy.classified(AMQPClientError(
            kind: .authentication, condition: .internalError,
            description: "the token provider failed: \(reason)", origin: .client)))
    }

    /// Reads a message from the CBS receiver link.
    public mutating func receive(_ response: Message, now: Timestamp) -> ResponseOutcome {
        guard case .awaitingResponse(let id, _, _) = state else {
            return .ignored(reason: "no put-token request is outstanding")
        }
        guard response.properties?.correlationID == id else {
            let got = response.properties?.correlationID.map { "\($0)" } ?? "none"
            return .ignored(reason: "correlation-id \(got) does not match the outstanding request \(id)")
        }
        let parsed: PutTokenResponse
        do {
            parsed = try PutTokenResponse(response, policy: errorPolicy)
        } catch {
            _ = fail(error)
            return .rejected(error)
        }
        guard parsed.isSuccess else {
            let e = errorPolicy.tokenError(statusCode: parsed.statusCode, description: parsed.statusDescription)
            _ = fail(e)
            return .rejected(e)
        }
        let token = pending!
        pending = nil
        lastRefreshProblem = nil
        current = token
        let lifetime = token.expiresAt.millisecondsSinceEpoch - now.millisecondsSinceEpoch
        let window = Int64((Double(max(lifetime, 0)) * refreshFraction).rounded(.down))
        let refreshAt = Timestamp(millisecondsSinceEpoch: token.expiresAt.millisecondsSinceEpoch - window)
        state = .authenticated(expiresAt: token.expiresAt, refreshAt: refreshAt)
        return .accepted(expiresAt: token.expiresAt)
    }

    /// Starts over after a failure (the next `poll` requests a token); the message-id
    /// counter keeps counting so late answers to old requests are ignored.
    public mutating func reset() {
        state = .idle
        failure = nil
        pending = nil
        lastRefreshProblem = nil
    }

    /// A time-out fails a first authentication. During a refresh the token in force is
    /// still good, so the refresh starts over instead, until that token expires.
    private mutating func timedOut(_ what: String, refreshing: Bool, now: Timestamp) -> Action {
        guard refreshing else { return fail(errorPolicy.timeoutError(what)) }
        lastRefreshProblem = what
        pending = nil
        state = .awaitingToken(since: now, refreshing: true)
        return .requestToken
    }

    private mutating func expire(now: Timestamp) -> Action {
        let e = current?.expiresAt.secondsSinceEpoch ?? 0
        var why = "the token for \(audience) expired at \(e) (Unix seconds) and no new token was accepted by \(now.secondsSinceEpoch)"
        if let lastRefreshProblem { why += "; the last refresh failed: \(lastRefreshProblem)" }
        return fail(errorPolicy.classified(AMQPClientError(
            kind: .tokenExpired, condition: .unauthorizedAccess, description: why, origin: .client)))
    }

    private mutating func fail(_ error: AMQPClientError) -> Action {
        state = .failed
        failure = error
        pending = nil
        return .fail(error)
    }
}
