import AMQPCodec

// PLACEHOLDER for the session and link layer (replaced by the sessions/links work).

/// Events about sessions.
public enum SessionEvent {}
/// Events about links.
public enum LinkEvent {}

struct SessionTable {}

extension ConnectionEngine {
    var sessionsHaveOutput: Bool { false }
    mutating func produceSessionFrames(into e: inout AMQPEncoder, now: EngineInstant) {}
    mutating func receiveSessionFrame(channel: UInt16, _ p: Performative, payload: BytesView, now: EngineInstant) {
        protocolFailed(EngineError(.notImplemented, "sessions are not implemented yet", origin: .local))
    }
    mutating func sessionsConnectionClosed(error: AMQPError?) {}
}
