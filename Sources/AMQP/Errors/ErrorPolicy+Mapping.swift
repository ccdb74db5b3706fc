public import AMQPEngine

// From what the engine reports to `AMQPClientError`, as the reference's
// `_process_connection_error`, `_process_link_error` and `_process_send_error` do: a
// known condition gives the specific kind, any other the vendor kind; redirects carry
// their parsed target; and the policy decides the action.

extension ErrorPolicy {
    /// The error for a connection that ended with `error` (`ConnectionEvent.closed`).
    public func connectionError(_ error: EngineError) -> AMQPClientError {
        let kind: AMQPClientError.Kind
        if error.condition == .connectionRedirect {
            kind = .connectionRedirect
        } else {
            kind = ErrorPolicy.knownConditions.contains(error.condition) ? .connectionClose : .vendorConnectionClose
        }
        return make(kind, from: error)
    }

    /// The error for a peer that closed the connection without giving one. The reference
    /// surfaces this as "Connection in an unexpected error state"; here it says what
    /// happened and is retried.
    public func connectionClosedByPeer() -> AMQPClientError {
        classified(AMQPClientError(
            kind: .connectionClose, condition: .connectionForced,
            description: "the peer closed the connection without giving a reason", origin: .remote))
    }

    /// The error for a session that ended with `error` (`SessionEvent.ended`).
    public func sessionError(_ error: EngineError) -> AMQPClientError {
        make(.sessionEnd, from: error)
    }

    /// The error for a link that detached with `error` (`LinkEvent.detached`).
    public func linkError(_ error: EngineError) -> AMQPClientError {
        let kind: AMQPClientError.Kind
        if error.condition == .linkRedirect {
            kind = .linkRedirect
        } else {
            kind = ErrorPolicy.knownConditions.contains(error.condition) ? .linkDetach : .vendorLinkDetach
        }
        return make(kind, from: error)
    }

    /// The error for a message the peer rejected (the `rejected` outcome's error, which
    /// may be absent: then `amqp:internal-error`, as in the reference).
    public func sendError(_ error: AMQPError?) -> AMQPClientError {
        let e = error ?? AMQPError(condition: .internalError, description: "the peer rejected the message without giving a reason")
        let kind: AMQPClientError.Kind = ErrorPolicy.knownConditions.contains(e.condition) ? .messageSendFailed : .messageException
        return make(kind, from: EngineError(e, origin: .remote))
    }

    /// The error for a failed SASL exchange: the outcome `code` and the engine's error
    /// (`ConnectionEvent.saslOutcome` followed by `.closed`).
    public func authenticationError(code: SASLCode, _ error: EngineError? = nil) -> AMQPClientError {
        var e = AMQPClientError(
            kind: .authentication, condition: error?.condition ?? (code == .auth ? .unauthorizedAccess : .internalError),
            description: error?.error.errorDescription ?? "SASL outcome \(code)", info: error?.error.info,
            origin: error.map { AMQPClientError.Origin($0.origin) } ?? .remote)
        e.saslCode = code
        return classified(e)
    }

    /// The error for a CBS put-token response whose `status-code` is not 200 or 202. The
    /// condition follows the status: 401 and 403 `amqp:unauthorized-access`, 404
    /// `amqp:not-found`, 400 `amqp:invalid-field`, others `amqp:internal-error`.
    public func tokenError(statusCode: Int, description: String?) -> AMQPClientError {
        let condition: ErrorCondition
        switch statusCode {
        case 401, 403: condition = .unauthorizedAccess
        case 404: condition = .notFound
        case 400: condition = .invalidField
        default: condition = .internalError
        }
        var e = AMQPClientError(kind: .tokenAuthFailure, condition: condition, description: description, origin: .remote)
        e.statusCode = statusCode
        return classified(e)
    }

    /// The error for an operation that did not complete within `limit`.
    public func timeoutError(_ what: String) -> AMQPClientError {
        classified(AMQPClientError(kind: .timeout, condition: .internalError, description: what, origin: .client))
    }

    /// The error for an invalid setting.
    public func configurationError(_ error: ConfigurationError) -> AMQPClientError {
        classified(AMQPClientError(kind: .configuration, condition: .invalidField, description: error.description, origin: .client))
    }

    /// The error for misuse of the API (the reference's `amqp:client-error`).
    public func clientError(_ what: String) -> AMQPClientError {
        classified(AMQPClientError(kind: .clientError, condition: .clientError, description: what, origin: .client))
    }

    func make(_ kind: AMQPClientError.Kind, from error: EngineError) -> AMQPClientError {
        var e = AMQPClientError(
            kind: kind, condition: error.condition, description: error.error.errorDescription,
            info: error.error.info, origin: AMQPClientError.Origin(error.origin))
        // A plaintext connection at a TLS port: typed as a TLS error, where users look for
        // "wrong TLS set-up" (its mirror, TLS at a plaintext port, is `.plaintextPeer`).
        if let mismatch = error.headerMismatch, mismatch.peerSpeaksTLS {
            e.tls = TLSError(.peerRequiresTLS, detail: error.error.errorDescription ?? "\(mismatch)")
        }
        if kind == .connectionRedirect || kind == .linkRedirect {
            do {
                e.redirect = try RedirectInfo(condition: error.condition, info: error.error.info)
            } catch {
                e.redirectProblem = error
            }
        }
        return classified(e)
    }
}
