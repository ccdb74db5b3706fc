import AMQPEngine
import AMQPReactor

/// Where a session or link is in its life, as other threads see it.
enum EndpointStatus {
    /// BEGIN or ATTACH asked for; the peer has not answered.
    case opening
    /// Both ends are up.
    case open
    /// Over: `nil` when we ended it without error, else why.
    case closed(AMQPClientError?)

    var isClosed: Bool {
        if case .closed = self { return true }
        return false
    }
}

/// A session's state shared between `Session` and the driving thread.
///
/// `binding` and `id` are written once, by the job that begins the session, and read
/// only by later jobs and handlers on the driving thread (jobs run in order, so a link's
/// attach job always sees the begin job's result).
final class SessionCore: @unchecked Sendable {
    let connection: ConnectionCore
    let configuration: SessionConfiguration
    let status = Locked<EndpointStatus>(.opening)

    // Driving thread only.
    private(set) var binding: EngineBinding? = nil
    private(set) var id: SessionID? = nil

    init(connection: ConnectionCore, configuration: SessionConfiguration) {
        self.connection = connection
        self.configuration = configuration
    }

    var policy: ErrorPolicy { connection.policy }

    /// The error the session ended with, or a client error when it was ended on purpose.
    var closedError: AMQPClientError? {
        status.withLock { s in
            guard case .closed(let e) = s else { return nil }
            return e ?? policy.clientError("the session was closed")
        }
    }

    /// Queues the BEGIN on `binding`'s engine.
    func begin(on binding: EngineBinding) {
        let queued = connection.reactor.perform { [self] r in
            do throws(EngineError) {
                guard let sid = try binding.withEngine(r, { (e) throws(EngineError) in try e.beginSession(configuration) }) else {
                    ended(binding.core.terminalError(for: binding, transport: nil))
                    return
                }
                self.binding = binding
                id = sid
                binding.sessions[sid] = self
            } catch {
                ended(binding.endingError(r) ?? binding.policy.sessionError(error))
            }
        }
        if !queued { ended(policy.clientError("the reactor is not available")) }
    }

    /// Sends END; `ended` follows when the peer answers.
    func end() {
        connection.reactor.perform { [self] r in
            guard let binding, let id else { return }
            _ = binding.withEngine(r) { $0.endSession(id) }
        }
    }

    /// The engine reported the session up.
    func begun() {
        status.withLock { s in if case .opening = s { s = .open } }
    }

    /// The session is over (the engine said so, or the transport went).
    func ended(_ error: AMQPClientError?) {
        status.withLock { s in if !s.isClosed { s = .closed(error) } }
        connection.changes.signal()
    }
}
