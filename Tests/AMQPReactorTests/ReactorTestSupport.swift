import AMQPCodec
import AMQPEngine
import AMQPReactor
import CAMQPLinux
import Glibc
import Testing

/// A backend configuration a reactor test runs on.
struct TestBackend: Sendable, CustomTestStringConvertible {
    var backend: ReactorOptions.Backend
    /// io_uring with SINGLE_ISSUER/DEFER_TASKRUN: tests are synchronous, so the thread that
    /// creates the reactor is the one that drives it.
    var singleIssuer = false

    func apply(to options: inout ReactorOptions) {
        options.backend = backend
        options.uringSingleIssuer = singleIssuer
    }

    func options() -> ReactorOptions {
        var o = ReactorOptions()
        apply(to: &o)
        return o
    }

    var testDescription: String {
        backend == .epoll ? "epoll" : singleIssuer ? "io_uring (single issuer)" : "io_uring"
    }
}

/// io_uring_setup works here (a sandbox may refuse it).
let uringAvailable: Bool = {
    var err: Int32 = 0
    return camqp_uring_probe(0, &err) == 0
}()

/// The backends every reactor test runs on: epoll always; io_uring, in both its
/// any-thread and its single-issuer set-up, when this kernel lets a ring be set up.
let testBackends: [TestBackend] =
    [TestBackend(backend: .epoll)]
    + (uringAvailable ? [TestBackend(backend: .uring), TestBackend(backend: .uring, singleIssuer: true)] : [])

/// Why a bounded wait gave up.
struct WaitTimedOut: Error, CustomStringConvertible {
    let what: String
    let seconds: Double
    var description: String { "gave up after \(seconds) s waiting for: \(what)" }
}

/// Everything one connection reported, in order.
final class ConnectionLog {
    var connected = false
    var peer: SocketAddress? = nil
    /// `.some(nil)`: closed cleanly; `.some(error)`: failed; `nil`: still open.
    var closed: ReactorError?? = nil
    var states: [ConnectionState] = []
    var remoteOpen = false
    var remoteClose = false
    var engineClosed: EngineError?? = nil
    var traces: [String] = []
    var eventCount = 0

    var isClosed: Bool { closed != nil }
    var closeError: ReactorError? { closed ?? nil }
    var state: ConnectionState? { states.last }

    func record(_ event: ReactorEvent<ConnectionEvent>) {
        eventCount += 1
        switch event {
        case .connected(let peer):
            connected = true
            self.peer = peer
        case .closed(let error):
            closed = .some(error)
        case .connection(let e):
            switch e {
            case .stateChanged(_, let to): states.append(to)
            case .remoteOpen: remoteOpen = true
            case .remoteClose: remoteClose = true
            case .closed(let error): engineClosed = .some(error)
            case .trace(let line): traces.append(line)
            default: break
            }
        }
    }
}

/// A reactor of AMQP connection engines with a log per connection.
final class EngineHarness {
    let reactor: Reactor<ConnectionEngine>
    private(set) var logs: [ConnectionID: ConnectionLog] = [:]
    /// Connections accepted by listeners, in order.
    private(set) var accepted: [ConnectionID] = []
    /// Called after each event is logged (to react: open, close).
    var onEvent: ((EngineHarness, ConnectionID, ReactorEvent<ConnectionEvent>) -> Void)? = nil

    init(backend: TestBackend, configure: (inout ReactorOptions) -> Void = { _ in }) throws {
        var options = backend.options()
        configure(&options)
        reactor = try Reactor(options: options)
    }

    func log(_ id: ConnectionID) -> ConnectionLog {
        if let log = logs[id] { return log }
        let log = ConnectionLog()
        logs[id] = log
        return log
    }

    var handler: Reactor<ConnectionEngine>.Handler {
        { [unowned self] _, id, event in
            if case .connected = event, logs[id] == nil { accepted.append(id) }
            log(id).record(event)
            onEvent?(self, id, event)
        }
    }

    /// Listens on `address` with engines from `configuration`, each asked to open at once
    /// (a server answers the client's OPEN).
    func listen(on address: SocketAddress = .loopbackIPv4(), _ configuration: ConnectionConfiguration, options: ListenOptions = ListenOptions()) throws -> (ListenerID, SocketAddress) {
        let id = try reactor.listen(on: address, options: options, accept: { _ in
            var engine = ConnectionEngine(configuration: configuration)
            engine.open()
            return engine
        }, handler: handler)
        return (id, reactor.address(of: id)!)
    }

    /// Connects an engine from `configuration` (opened before the socket is up).
    @discardableResult
    func connect(to address: SocketAddress, _ configuration: ConnectionConfiguration, options: ConnectOptions = ConnectOptions()) throws -> ConnectionID {
        var engine = ConnectionEngine(configuration: configuration)
        engine.open()
        let id = try reactor.connect(to: address, connection: engine, options: options, handler: handler)
        _ = log(id)
        return id
    }

    /// Runs ticks until `condition` holds, for at most `seconds`.
    func pump(_ what: String, within seconds: Double = 10, until condition: () -> Bool) throws {
        let deadline = secondsNow() + seconds
        while !condition() {
            guard secondsNow() < deadline else { throw WaitTimedOut(what: what, seconds: seconds) }
            try reactor.runOnce(timeout: .milliseconds(20))
        }
    }

    /// Runs ticks for `seconds` of real time.
    func run(for seconds: Double) throws {
        let end = secondsNow() + seconds
        while secondsNow() < end {
            let left = end - secondsNow()
            try reactor.runOnce(timeout: .milliseconds(max(1, min(50, Int(left * 1000)))))
        }
    }
}

func clientConfiguration(idleTimeout: UInt32? = nil, maxFrameSize: UInt32 = 63_488) -> ConnectionConfiguration {
    var c = ConnectionConfiguration(role: .client, containerID: "reactor-client", hostname: "localhost")
    c.idleTimeout = idleTimeout
    c.maxFrameSize = maxFrameSize
    return c
}

func serverConfiguration(idleTimeout: UInt32? = nil, maxFrameSize: UInt32 = 63_488) -> ConnectionConfiguration {
    var c = ConnectionConfiguration(role: .server, containerID: "reactor-server")
    c.idleTimeout = idleTimeout
    c.maxFrameSize = maxFrameSize
    return c
}
