public import AMQPCodec

/// Something the application should know, produced by a step of the engine and drained
/// with `ConnectionEngine.nextEvent()` after the step returns (never in the middle of one).
///
/// Events about sessions and links are grouped under `.session` and `.link`. Views inside
/// an event (a delivery's payload) borrow the bytes passed to the `receive` call that
/// produced it: drain events before reusing those bytes.
public enum ConnectionEvent {
    /// The connection moved between states; repeats are reported too.
    case stateChanged(from: ConnectionState, to: ConnectionState)
    /// Client: SASL finished with this outcome (failures also end the connection).
    case saslOutcome(SASLOutcome)
    /// Server: a client authenticated as `identity` with `mechanism`.
    case authenticated(mechanism: Symbol, identity: String)
    /// The peer's OPEN arrived.
    case remoteOpen(Open)
    /// The peer's CLOSE arrived, with its error if any.
    case remoteClose(AMQPError?)
    /// The connection reached END or ERROR; `error` says why, when it was not a clean
    /// close that both sides asked for.
    case closed(EngineError?)
    /// A session event.
    case session(SessionEvent)
    /// A link event.
    case link(LinkEvent)
    /// A frame crossed the wire (only when `ConnectionConfiguration.trace` is on), in the
    /// reference's style: `-> [OPEN]* {…}`, `<- [CLOSE]…`, `-> Empty frame`.
    case trace(String)
}
