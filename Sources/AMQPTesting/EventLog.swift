public import AMQPCodec
public import AMQPEngine

/// The events one engine reported, in order, with views for assertions.
public struct EventLog {
    /// Every event, in the order `nextEvent()` returned them.
    public private(set) var events: [ConnectionEvent] = []

    /// Creates an empty log.
    public init() {}

    /// Records an event.
    public mutating func append(_ event: ConnectionEvent) { events.append(event) }

    /// Forgets every event recorded so far.
    public mutating func removeAll() { events.removeAll() }

    /// The number of events.
    public var count: Int { events.count }

    /// Every state change as `FROM->TO` in the reference's names, e.g. `START->HDR_SENT`.
    public var transitions: [String] {
        events.compactMap { if case .stateChanged(let a, let b) = $0 { "\(a)->\(b)" } else { nil } }
    }

    /// The states entered, in order (repeats included).
    public var states: [ConnectionState] {
        events.compactMap { if case .stateChanged(_, let b) = $0 { b } else { nil } }
    }

    /// True when every state change starts where the previous one ended, so no
    /// transition went unreported.
    public var transitionsAreChained: Bool {
        var last: ConnectionState? = nil
        for case .stateChanged(let from, let to) in events {
            if let last, last != from { return false }
            last = to
        }
        return true
    }

    /// Every event in compact form (see `EventLog.describe(_:)`).
    public var summaries: [String] { events.map(Self.describe) }

    /// The peer's OPEN, if reported.
    public var remoteOpen: Open? {
        for case .remoteOpen(let o) in events { return o }
        return nil
    }

    /// Each `.remoteClose` event's error (`nil` for a clean CLOSE).
    public var remoteCloses: [AMQPError?] {
        events.compactMap { if case .remoteClose(let e) = $0 { .some(e) } else { nil } }
    }

    /// Each `.closed` event's error.
    public var closures: [EngineError?] {
        events.compactMap { if case .closed(let e) = $0 { .some(e) } else { nil } }
    }

    /// SASL outcomes reported (client).
    public var saslOutcomes: [SASLOutcome] {
        events.compactMap { if case .saslOutcome(let o) = $0 { o } else { nil } }
    }

    /// A compact rendering of one event: `START->HDR_SENT`, `sasl-outcome(auth)`,
    /// `authenticated(PLAIN, guest)`, `remote-open(server)`, `remote-close(-)`,
    /// `remote-close(amqp:internal-error)`, `closed(-)`, `closed(local: amqp:…)`,
    /// `trace(…)`, `session`, `link`.
    public static func describe(_ event: ConnectionEvent) -> String {
        switch event {
        case .stateChanged(let from, let to): "\(from)->\(to)"
        case .saslOutcome(let o): "sasl-outcome(\(FrameDescription.describe(o.code)))"
        case .authenticated(let m, let id): "authenticated(\(m), \(id))"
        case .remoteOpen(let o): "remote-open(\(o.containerID))"
        case .remoteClose(let e): "remote-close(\(e.map { "\($0.condition)" } ?? "-"))"
        case .closed(let e): "closed(\(e.map { "\($0.origin): \($0.condition)" } ?? "-"))"
        case .trace(let t): "trace(\(t))"
        case .session: "session"
        case .link: "link"
        }
    }
}
