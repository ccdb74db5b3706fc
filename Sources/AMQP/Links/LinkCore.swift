import AMQPEngine
import AMQPReactor

/// What senders and receivers share: attaching through their session, the status other
/// threads read, and detaching.
///
/// `binding` and `id` are written by the attach job and read only on the driving thread.
class LinkCore: @unchecked Sendable {
    let session: SessionCore
    let configuration: LinkConfiguration
    let status = Locked<EndpointStatus>(.opening)

    // Driving thread only.
    var binding: EngineBinding? = nil
    var id: LinkID? = nil

    init(session: SessionCore, configuration: LinkConfiguration) {
        self.session = session
        self.configuration = configuration
    }

    var connection: ConnectionCore { session.connection }
    var reactor: ConnectionReactor { session.connection.reactor }
    var policy: ErrorPolicy { session.connection.policy }

    /// Why the link cannot be used, or `nil` while it can.
    var closedError: AMQPClientError? {
        status.withLock { s in
            guard case .closed(let e) = s else { return nil }
            return e ?? policy.clientError("the link was closed by this client")
        }
    }

    /// True once both ATTACHes are exchanged and until the link ends.
    var isAttached: Bool {
        status.withLock { if case .open = $0 { true } else { false } }
    }

    /// Queues the ATTACH on the session's engine.
    func attach() {
        let queued = reactor.perform { [self] r in
            guard let b = session.binding, let sid = session.id else {
                ended(session.closedError ?? policy.clientError("the session could not begin"))
                return
            }
            do throws(EngineError) {
                guard let lid = try b.withEngine(r, { (e) throws(EngineError) in try e.attachLink(session: sid, configuration) }) else {
                    ended(b.core.terminalError(for: b, transport: nil))
                    return
                }
                binding = b
                id = lid
                register(in: b, as: lid)
                didAttach(r, binding: b, id: lid)
            } catch {
                ended(b.endingError(r) ?? b.policy.linkError(error))
            }
        }
        if !queued { ended(policy.clientError("the reactor is not available")) }
    }

    /// Files the link in the binding's routing table (driving thread).
    func register(in binding: EngineBinding, as id: LinkID) {}

    /// Right after the ATTACH is queued (driving thread).
    func didAttach(_ reactor: Reactor<ConnectionReactor.Machine>, binding: EngineBinding, id: LinkID) {}

    /// Sends DETACH (closing the link); `ended` follows when the peer answers.
    func detach() {
        reactor.perform { [self] r in
            guard let binding, let id else { return }
            _ = binding.withEngine(r) { $0.detachLink(id) }
        }
    }

    /// The peer's ATTACH arrived; a null terminus is a refusal whose DETACH follows.
    func attached(refused: Bool) {
        guard !refused else { return }
        status.withLock { s in if case .opening = s { s = .open } }
    }

    /// The link is over (detached, or its session or connection went). Subclasses fail
    /// what is waiting on it, then call this.
    func ended(_ error: AMQPClientError?) {
        status.withLock { s in if !s.isClosed { s = .closed(error) } }
        connection.changes.signal()
    }
}
