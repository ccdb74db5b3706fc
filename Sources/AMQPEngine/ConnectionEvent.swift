public import AMQPCodec

/// Something the application should know, produced by a step of the engine and drained
/// with `ConnectionEngine.nextEvent()` after the step returns (never in the middle of one).
///
/// Events about sessions and links are grouped under `.session` and `.link`. Views inside
/// an event (a delivery's payload) borrow the bytes passed to the `receive` call that
/// produced it: drain events before reusing those bytes.
///
/// Cases that happen once per connection hold their payloads boxed (`indirect`), so an
/// event is as small as a delivery: every event is moved through the queue, and a large
/// enum would be moved and destroyed through its value witness, per message.
public enum ConnectionEvent {
    /// The connection moved between states; repeats are reported too.
    case stateChanged(from: ConnectionState, to: ConnectionState)
    /// Client: SASL finished with this outcome (failures also end the connection).
    case saslOutcome(SASLOutcome)
    /// Server: a client authenticated as `identity` with `mechanism`.
    indirect case authenticated(mechanism: Symbol, identity: String)
    /// The peer's OPEN arrived.
    indirect case remoteOpen(Open)
    /// The peer's CLOSE arrived, with its error if any.
    indirect case remoteClose(AMQPError?)
    /// The connection reached END or ERROR; `error` says why, when it was not a clean
    /// close that both sides asked for.
    indirect case closed(EngineError?)
    /// A session event.
    case session(SessionEvent)
    /// A link event.
    case link(LinkEvent)
    /// A frame crossed the wire (only when `ConnectionConfiguration.trace` is on), in the
    /// reference's style: `-> [OPEN]* {…}`, `<- [CLOSE]…`, `-> Empty frame`.
    case trace(String)
}
