import AMQPEngine
import AMQPReactor
import AMQPTLS
import AMQPWebSocket
import Synchronization

/// One `ConnectionEngine` on the reactor, and the sessions and links opened on it, so
/// its events find their way to the objects the application holds.
///
/// A `Connection` has at most one binding at a time; `redirect` replaces it. Everything
/// here except `finished` is touched only by the thread driving the reactor (inside
/// jobs and event handlers), which is what the unchecked conformance relies on.
final class EngineBinding: @unchecked Sendable {
    let core: ConnectionCore
    let generation: UInt64
    let policy: ErrorPolicy
    let tracer: FrameTraceLogger?

    /// The reactor's id for the engine, once `connect` has run.
    var id: ConnectionID? = nil
    /// The connection's TLS state, when it uses TLS (set before `connect`): kept here so
    /// its failure can be read after the reactor has let the connection go.
    var tlsSession: TLSSession? = nil
    /// The connection's WebSocket state, when it uses WebSocket (set before `connect`).
    var webSocketSession: WebSocketSession? = nil
    var sessions: [SessionID: SessionCore] = [:]
    var senders: [LinkID: SenderCore] = [:]
    var receivers: [LinkID: ReceiverCore] = [:]
    /// The transport is closed (read by waiters on other threads).
    private let finished = Atomic<Bool>(false)

    init(core: ConnectionCore, generation: UInt64, policy: ErrorPolicy, tracer: FrameTraceLogger?) {
        self.core = core
        self.generation = generation
        self.policy = policy
        self.tracer = tracer
    }

    var isFinished: Bool { finished.load(ordering: .acquiring) }

    /// Creates the engine, asks it to open, and connects it, inside WebSocket when
    /// `webSocketSession` is set, over TLS when `tlsSession` is set (both made when the
    /// connection started, naming the server).
    func connect(
        _ reactor: Reactor<ConnectionReactor.Machine>, to addresses: [SocketAddress], configuration: ConnectionConfiguration,
        options: ConnectOptions
    ) {
        var engine = ConnectionEngine(configuration: configuration)
        engine.open()
        let framed = webSocketSession.map { WebSocketConnection(engine, session: $0) } ?? WebSocketConnection(passThrough: engine)
        let machine = tlsSession.map { ConnectionReactor.Machine(framed, session: $0) } ?? ConnectionReactor.Machine(plaintext: framed)
        do throws(ReactorError) {
            id = try reactor.connect(to: addresses, connection: machine, options: options) { [self] reactor, _, event in
                handle(event, reactor: reactor)
                core.changes.signal()
            }
        } catch {
            transportClosed(error)
        }
    }

    /// Runs `body` with the engine and lets the reactor write what it queued; `nil` when
    /// the engine is gone (or was never connected).
    func withEngine<R, E: Error>(
        _ reactor: Reactor<ConnectionReactor.Machine>, _ body: (inout ConnectionEngine) throws(E) -> R
    ) throws(E) -> R? {
        guard let id, !isFinished else { return nil }
        return try reactor.withConnection(id) { (m) throws(E) -> R in try body(&m.innermost) }
    }

    /// Why the engine refuses new sessions, links and transfers because the connection is
    /// ending, or `nil` while it is not. The connection's own error once it is stored;
    /// before that (the engine has failed, the socket is not yet closed: a TLS alert is
    /// still going out, or the close is a tick away) the engine's reason, with what TLS or
    /// WebSocket reported, as the connection's error will carry it. Without this, a
    /// session begun in that window ended with "amqp:illegal-state: the connection is
    /// closing or closed" and no word of the refused certificate, and a send queued on it
    /// said nothing of TLS either (seen once in a ThreadSanitizer run).
    func endingError(_ reactor: Reactor<ConnectionReactor.Machine>) -> AMQPClientError? {
        guard let id else { return nil }
        guard let engine = reactor.inspectInner(id, { (closing: $0.isClosing, failure: $0.failure) }) else {
            // The reactor let the connection go: the transport closed.
            return core.terminalError(for: self, transport: nil)
        }
        guard engine.closing else { return nil }
        if let failure = engine.failure, core.awaitsError(self) {
            return ConnectionCore.withTLS(policy.connectionError(failure), self)
        }
        return core.terminalError(for: self, transport: nil)
    }

    /// Closes the socket at once (after a CLOSE that got no answer in time).
    func abort(_ reactor: Reactor<ConnectionReactor.Machine>) {
        guard let id, !isFinished else { return }
        reactor.abort(id)
    }

    /// The transport is gone (or could not be made): the state mirror moves on, and
    /// every session and link still registered ends with the connection's error, since
    /// the engine went with the socket and will report nothing more.
    func transportClosed(_ error: ReactorError?) {
        guard !finished.exchange(true, ordering: .acquiringAndReleasing) else { return }
        core.transportClosed(self, error)
        let failure = core.terminalError(for: self, transport: error)
        let senders = self.senders.values
        let receivers = self.receivers.values
        let sessions = self.sessions.values
        self.senders = [:]
        self.receivers = [:]
        self.sessions = [:]
        for s in senders { s.ended(failure) }
        for r in receivers { r.ended(failure) }
        for s in sessions { s.ended(failure) }
        core.changes.signal()
    }
}
