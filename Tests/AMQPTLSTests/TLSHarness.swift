import AMQPTestCertificates
import AMQPCodec
import AMQPEngine
import AMQPReactor
import AMQPTLS
import Glibc
import Testing

typealias Machine = TLSConnection<ConnectionEngine>

/// epoll always; io_uring when this kernel lets a ring be set up.
let tlsBackends: [ReactorOptions.Backend] = {
    var o = ReactorOptions()
    o.backend = .uring
    return (try? Reactor<Machine>(options: o)) != nil ? [.epoll, .uring] : [.epoll]
}()

func certificates() throws -> TestCertificates { try TestCertificates.shared.get() }

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

struct GaveUp: Error, CustomStringConvertible {
    let what: String
    var description: String { "gave up waiting for: \(what)" }
}

/// What one connection reported.
final class TLSLog {
    var closed: ReactorError?? = nil
    var engineClosed: EngineError?? = nil
    var remoteOpen = false
    var identity: String? = nil
    var outcomes = 0
    var delivered = 0
    var deliveredBytes = 0
    /// Deliveries whose payload was still a view into the decrypted bytes (zero-copy).
    var deliveredInPlace = 0
    /// Deliveries whose bytes differ from the payload sent.
    var corrupted = 0
    var sent = 0
    var isClosed: Bool { closed != nil }
}

/// A reactor of TLS (or plaintext) AMQP engines: an auto-accepting listener and clients
/// that send `messages` copies of `payload` and close once every outcome is in.
final class TLSHarness {
    let reactor: Reactor<Machine>
    var logs: [ConnectionID: TLSLog] = [:]
    var clientSessions: [ConnectionID: TLSSession] = [:]
    var clientIDs: Set<ConnectionID> = []
    var serverSessions: [TLSSession] = []
    var payload: [UInt8] = Array(repeating: 0x5A, count: 1000)
    var messages = 0
    /// The client attaches a receiver and the listener sends (instead of the reverse).
    var clientReceives = false

    init(backend: ReactorOptions.Backend) throws {
        var o = ReactorOptions()
        o.backend = backend
        reactor = try Reactor(options: o)
    }

    func log(_ id: ConnectionID) -> TLSLog {
        if let l = logs[id] { return l }
        let l = TLSLog()
        logs[id] = l
        return l
    }

    /// Listens with auto-accepting engines, over TLS when `context` is given.
    func listen(tls context: TLSContext?, sasl: SASLConfiguration? = nil) throws -> SocketAddress {
        let id = try reactor.listen(on: .loopbackIPv4(), accept: { [unowned self] _ in
            var policy = AutoAcceptPolicy()
            policy.credit = .prefetch(100)
            var c = ConnectionConfiguration(role: .server, containerID: "tls-server")
            c.autoAccept = policy
            c.sasl = sasl
            var engine = ConnectionEngine(configuration: c)
            engine.open()
            guard let context else { return Machine(plaintext: engine) }
            guard let session = try? TLSSession(context: context) else { return nil }
            serverSessions.append(session)
            return Machine(engine, session: session) { engine, peer in engine.setExternalIdentity(peer.verifiedSubject) }
        }, handler: { [unowned self] r, id, event in server(r, id, event) })
        return reactor.address(of: id)!
    }

    /// Connects a client engine, over TLS when `context` is given.
    @discardableResult
    func connect(to address: SocketAddress, tls context: TLSContext?, serverName: String? = "localhost", sasl: SASLCredentials? = nil) throws -> ConnectionID {
        var c = ConnectionConfiguration(role: .client, containerID: "tls-client", hostname: "localhost")
        c.sasl = sasl.map { .client($0) }
        var engine = ConnectionEngine(configuration: c)
        engine.open()
        let machine: Machine
        var session: TLSSession? = nil
        if let context {
            session = try TLSSession(context: context, serverName: serverName)
            machine = Machine(engine, session: session!)
        } else {
            machine = Machine(plaintext: engine)
        }
        let id = try reactor.connect(to: address, connection: machine) { [unowned self] r, id, event in client(r, id, event) }
        clientSessions[id] = session
        clientIDs.insert(id)
        _ = log(id)
        return id
    }

    func pump(_ what: String, within seconds: Double = 10, until condition: () -> Bool) throws {
        let deadline = monotonicSeconds() + seconds
        while !condition() {
            guard monotonicSeconds() < deadline else { throw GaveUp(what: what) }
            try reactor.runOnce(timeout: .milliseconds(20))
        }
    }

    func client(_ r: Reactor<Machine>, _ id: ConnectionID, _ event: ReactorEvent<ConnectionEvent>) {
        let l = log(id)
        switch event {
        case .closed(let e): l.closed = .some(e)
        case .connection(.closed(let e)): l.engineClosed = .some(e)
        case .connection(.remoteOpen):
            l.remoteOpen = true
            guard messages > 0 else { return }
            let receives = clientReceives
            r.withConnection(id) { m in
                do {
                    let s = try m.inner.beginSession()
                    if receives {
                        _ = try m.inner.attachLink(session: s, .receiver(name: "tls-in", from: "queue", credit: .prefetch(4)))
                    } else {
                        _ = try m.inner.attachLink(session: s, .sender(name: "tls", to: "queue"))
                    }
                } catch {
                    m.inner.close()
                }
            }
        case .connection(.link(.delivery(let link, let d))):
            l.delivered += 1
            l.deliveredBytes += d.payload.count
            if d.payload.withUnsafeBytes({ !$0.elementsEqual(payload) }) { l.corrupted += 1 }
            r.withConnection(id) { m in
                _ = try? m.inner.settle(link, delivery: d.id, state: .accepted)
                if l.delivered == messages { m.inner.close() }
            }
        case .connection(.link(.credit(let link, let credit, _))) where credit > 0:
            r.withConnection(id) { m in
                while l.sent < messages && m.inner.sendable(on: link) > 0 {
                    _ = try? m.inner.send(on: link, payload: payload)
                    l.sent += 1
                }
            }
        case .connection(.link(.outcomes(_, let handles, _, _))):
            l.outcomes += handles.count
            if l.outcomes == messages { r.withConnection(id) { $0.inner.close() } }
        default: break
        }
    }

    func server(_ r: Reactor<Machine>, _ id: ConnectionID, _ event: ReactorEvent<ConnectionEvent>) {
        let l = log(id)
        switch event {
        case .closed(let e): l.closed = .some(e)
        case .connection(.closed(let e)): l.engineClosed = .some(e)
        case .connection(.remoteOpen): l.remoteOpen = true
        case .connection(.authenticated(_, let identity)): l.identity = identity
        case .connection(.link(.delivery(let link, let d))):
            l.delivered += 1
            l.deliveredBytes += d.payload.count
            if case .borrowed = d.payload { l.deliveredInPlace += 1 }
            r.withConnection(id) { try? $0.inner.settle(link, delivery: d.id, state: .accepted) }
        case .connection(.link(.credit(let link, let credit, _))) where credit > 0 && clientReceives:
            // The client's receiver gave credit: the listener's end of its link sends.
            r.withConnection(id) { m in
                while l.sent < messages && m.inner.sendable(on: link) > 0 {
                    _ = try? m.inner.send(on: link, payload: payload)
                    l.sent += 1
                }
            }
        default: break
        }
    }

    var serverLogs: [TLSLog] { logs.filter { !clientIDs.contains($0.key) }.map(\.value) }
}
