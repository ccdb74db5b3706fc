// The values the public API speaks in (messages, AMQP values, symbols, fields, errors)
// come from the codec; re-exporting it spares users a second import.
@_exported public import AMQPCodec
public import AMQPEngine
public import AMQPTLS

/// A connection's state, with the reference client's numeric values, which its users
/// rely on: START 0, HDR_RCVD 1, HDR_SENT 2, HDR_EXCH 3, OPEN_PIPE 4, OC_PIPE 5,
/// OPEN_RCVD 6, OPEN_SENT 7, CLOSE_PIPE 8, OPENED 9, CLOSE_RCVD 10, CLOSE_SENT 11,
/// DISCARDING 12, END 13, ERROR 14 (`rawValue`; `description` gives the name).
public typealias ConnectionState = AMQPEngine.ConnectionState

/// SASL credentials: `.anonymous()`, `.plain(username:password:)`, `.external()`.
public typealias SASLCredentials = AMQPEngine.SASLCredentials

/// Renders frames in uAMQP-C's trace style (`-> [OPEN]* {…}`); see `FrameTraceLogger`.
public typealias FrameTraceFormatter = AMQPEngine.FrameTraceFormatter

/// How a connection speaks TLS (`ConnectionSettings.tls`): trust, client certificate,
/// verification, how TLS starts.
public typealias TLSConfiguration = AMQPTLS.TLSConfiguration

/// What failed in TLS (`AMQPClientError.tls`).
public typealias TLSError = AMQPTLS.TLSError
