public import AMQP

/// How `amqp send` and `amqp receive` end: one exit status per class of failure, so
/// scripts can tell a dead broker from a wrong password from a missing queue.
///
/// The numbers follow BSD's sysexits.h where one fits (ArgumentParser already exits
/// with 64, `EX_USAGE`, for bad usage).
public enum ClientExitStatus: Int32, Sendable, CaseIterable, CustomStringConvertible {
    /// Everything worked: every message accepted (or sent pre-settled), or received.
    case success = 0
    /// The peer answered some messages with `rejected`, `released` or `modified`.
    case notAccepted = 1
    /// Bad usage: unknown options, a malformed URL, TLS options without TLS, a CA,
    /// certificate or key file that cannot be read.
    case usage = 64
    /// The peer refused the link or detached it with an error (e.g. `amqp:not-found`
    /// for an unknown address, `amqp:unauthorized-access`, a link redirect).
    case linkRefused = 67
    /// The connection could not be made or broke: refused, unreachable, name not
    /// resolved, reset.
    case unreachable = 69
    /// A failure of this tool or library (a bug).
    case internalFailure = 70
    /// Nothing happened for `--timeout` seconds: no open, no credit, no outcome, or
    /// (with `--count`) no next message.
    case timeout = 75
    /// The peer closed the connection or ended the session with an error, or broke the
    /// protocol.
    case protocolError = 76
    /// SASL authentication failed, no SASL mechanism fits the credentials, the connection
    /// was closed with `amqp:unauthorized-access`, or a CBS token was refused.
    case authentication = 77
    /// TLS failed: the server's certificate is untrusted, expired or names another host,
    /// the server refused our certificate, or the other side does not speak TLS (the
    /// error's text says which). `EX_CONFIG`: it is fixed by configuration, not by
    /// trying again.
    case tls = 78

    /// The class an error from the library falls into.
    public init(classifying error: AMQPClientError) {
        if error.tls != nil && error.kind != .configuration {
            self = .tls
            return
        }
        switch error.kind {
        case .authentication, .tokenAuthFailure, .tokenExpired: self = .authentication
        case .timeout: self = .timeout
        case .configuration: self = .usage
        case .linkDetach, .vendorLinkDetach, .linkRedirect: self = .linkRefused
        case .messageSendFailed, .messageException: self = .notAccepted
        case .clientError: self = .internalFailure
        default:
            // Connection and session ends: the byte stream failing is the network's
            // doing; a connection refused for its credentials (no common SASL
            // mechanism, a broker closing with unauthorized-access) is a failed login;
            // anything else the peer's.
            if error.origin == .transport {
                self = .unreachable
            } else if error.condition == .unauthorizedAccess && error.kind != .sessionEnd {
                self = .authentication
            } else {
                self = .protocolError
            }
        }
    }

    /// What the status means, in a few words.
    public var description: String {
        switch self {
        case .success: "success"
        case .notAccepted: "some messages were rejected, released or modified"
        case .usage: "bad usage: unknown option, malformed URL, unreadable TLS file"
        case .linkRefused: "the peer refused or detached the link (e.g. amqp:not-found)"
        case .unreachable: "connection refused or lost, host unreachable or unknown"
        case .internalFailure: "internal failure (a bug: please report it)"
        case .timeout: "timed out: no open, credit, outcome or message in --timeout"
        case .protocolError: "the peer closed the connection or session with an error"
        case .authentication: "authentication failed (SASL, or unauthorized-access)"
        case .tls: "TLS failed: certificate untrusted, expired or for another host, ..."
        }
    }

    /// The table for the commands' help and the documentation.
    public static var table: String {
        allCases.map { "  \($0.rawValue)\(String(repeating: " ", count: 4 - String($0.rawValue).count))\($0)" }
            .joined(separator: "\n")
    }
}

extension AMQPClientError {
    /// The error as one line for `amqp send` and `amqp receive`: what happened, the
    /// condition and the peer's words, and what to do; `endpoint` names where.
    func oneLine(at endpoint: AMQPEndpoint) -> String {
        var s: String
        if origin == .transport {
            s = "the connection to \(endpoint) failed: \(errorDescription ?? condition.description)"
            return s
        }
        s = "\(summary): \(condition)"
        if let d = errorDescription, !d.isEmpty { s += ": \"\(d)\"" }
        s += ". \(advice.prefix(1).uppercased())\(advice.dropFirst())"
        return s
    }
}
