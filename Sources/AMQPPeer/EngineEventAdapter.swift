import AMQPCodec
import AMQPEngine
import AMQPReactor

// The one place that reads the engine's and the reactor's event shapes. The broker
// logic sees only `PeerEvent`, so when those shapes change, only this file follows.

/// What the broker acts upon, for one connection.
enum PeerEvent {
    /// The socket is up.
    case connected
    /// The client authenticated.
    case authenticated(mechanism: String, identity: String)
    /// The client's OPEN arrived (ours is already queued).
    case opened(containerID: String, hostname: String?)
    /// The client began a session.
    case sessionRequested(SessionID)
    /// The client attached a link; our answer is pending.
    case linkRequested(LinkID, Attach)
    /// A link is gone (both DETACHes, or its session or connection ended).
    case linkGone(LinkID)
    /// Our sender got credit (`drain`: use it or give it back).
    case credit(LinkID, drain: Bool)
    /// A whole message arrived from a client sender; `payload` may be borrowed from the
    /// receive buffer (valid while the event is handled: the store copies what it keeps).
    case message(LinkID, DeliveryNumber, settled: Bool, messageFormat: UInt32, payload: DeliveryPayload)
    /// Deliveries we sent (a run of handles) are finished (`settled`) or have a state.
    case outcomes(LinkID, ClosedRange<DeliveryHandle>, DeliveryState?, settled: Bool)
    /// A delivery we sent will get no outcome: its link, session or connection ended.
    case lost(LinkID, DeliveryHandle)
    /// The AMQP connection ended (the socket may still be closing).
    case connectionEnded(EngineError?)
    /// The socket is closed: the last event for the connection.
    case socketClosed(ReactorError?)
    /// A frame trace line (with `PeerConfiguration.trace`).
    case trace(String)
}

extension PeerEvent {
    /// Translates a reactor event; `nil` for what the broker ignores.
    init?(_ event: ReactorEvent<ConnectionEvent>) {
        switch event {
        case .connected: self = .connected
        case .closed(let error): self = .socketClosed(error)
        case .connection(let e):
            switch e {
            case .authenticated(let mechanism, let identity): self = .authenticated(mechanism: mechanism.rawValue, identity: identity)
            case .remoteOpen(let open): self = .opened(containerID: open.containerID, hostname: open.hostname)
            case .closed(let error): self = .connectionEnded(error)
            case .trace(let line): self = .trace(line)
            case .session(.remoteBegin(let id, _)): self = .sessionRequested(id)
            case .link(let l):
                switch l {
                case .remoteAttach(let id, let attach): self = .linkRequested(id, attach)
                case .detached(let id, _, _): self = .linkGone(id)
                case .credit(let id, _, let drain): self = .credit(id, drain: drain)
                case .delivery(let id, let d):
                    self = .message(id, d.id, settled: d.settled, messageFormat: d.messageFormat, payload: d.payload)
                case .outcomes(let id, let handles, let state, let settled): self = .outcomes(id, handles, state, settled: settled)
                case .lost(let id, let handle, _): self = .lost(id, handle)
                default: return nil
                }
            default: return nil
            }
        }
    }
}
