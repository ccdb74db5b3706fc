public import AMQPCodec

/// What happened to a session (`ConnectionEvent.session`).
public enum SessionEvent {
    /// The peer began a session; answer with `acceptSession` or refuse with `endSession`.
    /// Not reported when `ConnectionConfiguration.autoAccept` is set.
    indirect case remoteBegin(SessionID, Begin)
    /// Both BEGINs are exchanged: the session is usable. Reported once per session:
    /// when the peer answers ours, or when we accept the peer's. Carries the peer's BEGIN.
    indirect case begun(SessionID, Begin)
    /// The session is over and its channel may be reused: END went both ways, or the
    /// connection closed. `error` is why, with who raised it; `nil` for a clean end.
    /// Its links were reported `detached` just before.
    indirect case ended(SessionID, EngineError?)
}
