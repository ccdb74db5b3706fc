@testable import AMQP
import AMQPEngine
import AMQPReactor
import AMQPWebSocket

/// A small AMQP broker for tests: a listener on 127.0.0.1 (port 0) on a reactor thread
/// of its own, each accepted socket a server-role `ConnectionEngine` with `autoAccept`.
/// Messages sent to an address are queued there and handed to the receivers attached to
/// it as their credit allows; released and modified messages are queued again.
///
/// A message whose application property `outcome` is `reject`, `release` or `modify` is
/// settled that way instead of being accepted (to test a sender's outcomes).
final class TestBroker: Sendable {
    struct Options: Sendable {
        var idleTimeout: UInt32? = nil
        var maxFrameSize: UInt32 = 32_768
        /// Close every connection right after its OPEN with `amqp:connection:redirect`
        /// to this port on 127.0.0.1.
        var redirectToPort: UInt16? = nil
        /// Keep the trace line of every TRANSFER received (`transferTraces`).
        var traceTransfers = false
    }

    let loop: ConnectionReactor
    let state: BrokerState
    let port: UInt16

    init(_ options: Options = Options()) throws {
        loop = try ConnectionReactor(driving: .ownThread)
        let state = BrokerState(options: options)
        self.state = state
        var configuration = ConnectionConfiguration(role: .server, containerID: "test-broker")
        configuration.idleTimeout = options.idleTimeout
        configuration.maxFrameSize = options.maxFrameSize
        configuration.trace = options.traceTransfers
        configuration.autoAccept = AutoAcceptPolicy()
        configuration.sasl = .server(mechanisms: ["ANONYMOUS", "PLAIN"], authenticator: AcceptEveryone())
        let engineConfiguration = configuration
        port = try loop.withReactor { (r) throws(ReactorError) -> UInt16 in
            let id = try r.listen(
                on: .loopbackIPv4(),
                accept: { _ in
                    var engine = ConnectionEngine(configuration: engineConfiguration)
                    engine.open()
                    return ConnectionReactor.Machine(plaintext: WebSocketConnection(passThrough: engine))
                },
                handler: { reactor, id, event in state.handle(reactor, id, event) })
            return r.address(of: id)!.port
        }
    }

    /// Stops the broker's thread; its sockets close when the broker is released.
    func stop() {
        let state = self.state
        loop.withReactor { r in
            for id in state.connectionIDs { r.abort(id) }
        }
        loop.shutdown()
    }

    var hostname: String { "127.0.0.1:\(port)" }

    /// Messages waiting at `address`.
    func queued(_ address: String) -> [[UInt8]] { state.locked.withLock { $0.queues[address] ?? [] } }
    /// Outcomes receivers settled the broker's deliveries with (`accepted`, `rejected`…).
    var outcomes: [String] { state.locked.withLock { $0.outcomes } }
    /// The trace line of each TRANSFER received, with `Options.traceTransfers`.
    var transferTraces: [String] { state.locked.withLock { $0.transferTraces } }
    /// Messages accepted from senders, per address, in order.
    func received(_ address: String) -> Int { state.locked.withLock { $0.receivedCount[address] ?? 0 } }
    /// Connections accepted so far, and those whose socket has closed.
    var connectionCounts: (accepted: Int, closed: Int) { state.locked.withLock { ($0.accepted, $0.closed) } }
    /// The idle-time-out closes the broker saw (its engine ended with an error).
    var engineErrors: [String] { state.locked.withLock { $0.engineErrors } }
}

struct AcceptEveryone: SASLAuthenticator {
    func authenticate(mechanism: Symbol, initialResponse: [UInt8]?, hostname: String?) -> SASLDecision {
        .accept(identity: "tester")
    }
}

/// The broker's tables. Touched by the broker's reactor thread (in handlers) and read by
/// tests, hence the mutex; the reactor is never entered with it held.
final class BrokerState: Sendable {
    struct Key: Hashable, Sendable {
        var connection: ConnectionID
        var link: LinkID
    }
    struct Inflight: Sendable {
        var address: String
        var payload: [UInt8]
    }
    struct Tables: Sendable {
        var queues: [String: [[UInt8]]] = [:]
        /// Our sending links, by the address they serve.
        var consumers: [String: [Key]] = [:]
        /// Every link's address and whether we send on it.
        var links: [Key: (address: String, sending: Bool)] = [:]
        var inflight: [ConnectionID: [DeliveryHandle: Inflight]] = [:]
        var outcomes: [String] = []
        var receivedCount: [String: Int] = [:]
        var live: Set<ConnectionID> = []
        var accepted = 0
        var closed = 0
        var engineErrors: [String] = []
        var transferTraces: [String] = []
    }
    let options: TestBroker.Options
    let locked = Locked(Tables())

    init(options: TestBroker.Options) { self.options = options }

    var connectionIDs: [ConnectionID] { locked.withLock { Array($0.live) } }

    func handle(_ r: Reactor<ConnectionReactor.Machine>, _ id: ConnectionID, _ event: ReactorEvent<ConnectionEvent>) {
        switch event {
        case .connected:
            locked.withLock {
                $0.live.insert(id)
                $0.accepted += 1
            }
        case .closed:
            let addresses = locked.withLock { t -> [String] in
                t.live.remove(id)
                t.closed += 1
                var requeue: [String] = []
                for (handle, f) in t.inflight[id] ?? [:] {
                    _ = handle
                    t.queues[f.address, default: []].insert(f.payload, at: 0)
                    requeue.append(f.address)
                }
                t.inflight[id] = nil
                for (address, keys) in t.consumers { t.consumers[address] = keys.filter { $0.connection != id } }
                t.links = t.links.filter { $0.key.connection != id }
                return requeue
            }
            for a in Set(addresses) { pump(r, a) }
        case .connection(let e):
            handle(r, id, e)
        }
    }

    private func handle(_ r: Reactor<ConnectionReactor.Machine>, _ id: ConnectionID, _ event: ConnectionEvent) {
        switch event {
        case .remoteOpen:
            if let port = options.redirectToPort {
                let info: Fields = [
                    "hostname": .string("127.0.0.1"), "network-host": .string("127.0.0.1"), "port": .uint(UInt32(port)),
                ]
                r.withConnection(id) {
                    $0.innermost.close(error: AMQPError(condition: .connectionRedirect, description: "go elsewhere", info: info))
                }
            }
        case .closed(let error?):
            locked.withLock { $0.engineErrors.append("\(error.condition)") }
        case .trace(let line) where line.hasPrefix("<- [TRANSFER]"):
            locked.withLock { $0.transferTraces.append(line) }
        case .link(.attached(let link, let attach)):
            let key = Key(connection: id, link: link)
            // The peer's role is the opposite of ours: a peer sender feeds our receiver.
            let sending = attach.role == .receiver
            let address: String
            if sending {
                address = attach.source?.address ?? ""
            } else if case .target(let t)? = attach.target {
                address = t.address ?? ""
            } else {
                address = ""
            }
            locked.withLock { t in
                t.links[key] = (address, sending)
                if sending { t.consumers[address, default: []].append(key) }
            }
            if sending { pump(r, address) }
        case .link(.credit(let link, _, _)):
            if let address = locked.withLock({ $0.links[Key(connection: id, link: link)]?.address }) { pump(r, address) }
        case .link(.delivery(let link, let delivery)):
            let bytes = delivery.payload.bytes
            let state = Self.requestedOutcome(bytes)
            r.withConnection(id) { e in _ = try? e.innermost.settle(link, delivery: delivery.id, state: state) }
            guard state == .accepted, let address = locked.withLock({ $0.links[Key(connection: id, link: link)]?.address }) else {
                return
            }
            locked.withLock { t in
                t.queues[address, default: []].append(bytes)
                t.receivedCount[address, default: 0] += 1
            }
            pump(r, address)
        case .link(.outcomes(_, let handles, let state, let settled)):
            guard settled else { return }
            for handle in handles {
                let address = locked.withLock { t -> String? in
                    t.outcomes.append(state?.name ?? "settled")
                    guard let f = t.inflight[id]?.removeValue(forKey: handle) else { return nil }
                    switch state {
                    case .released?, .modified?:
                        t.queues[f.address, default: []].insert(f.payload, at: 0)
                        return f.address
                    default:
                        return nil
                    }
                }
                if let address { pump(r, address) }
            }
        case .link(.lost(_, let handle, _)):
            let address = locked.withLock { t -> String? in
                guard let f = t.inflight[id]?.removeValue(forKey: handle) else { return nil }
                t.queues[f.address, default: []].insert(f.payload, at: 0)
                return f.address
            }
            if let address { pump(r, address) }
        case .link(.detached(let link, _, _)):
            locked.withLock { t in
                let key = Key(connection: id, link: link)
                if let l = t.links.removeValue(forKey: key), l.sending {
                    t.consumers[l.address]?.removeAll { $0 == key }
                }
            }
        default:
            break
        }
    }

    /// Hands queued messages at `address` to its receivers while they have credit.
    private func pump(_ r: Reactor<ConnectionReactor.Machine>, _ address: String) {
        let consumers = locked.withLock { $0.consumers[address] ?? [] }
        for key in consumers {
            while true {
                let room = r.inspect(key.connection) { $0.innermost.sendable(on: key.link) } ?? 0
                guard room > 0, let payload = locked.withLock({ t -> [UInt8]? in
                    guard var q = t.queues[address], !q.isEmpty else { return nil }
                    let p = q.removeFirst()
                    t.queues[address] = q
                    return p
                }) else { break }
                let handle = r.withConnection(key.connection) { e in try? e.innermost.send(on: key.link, payload: payload) } ?? nil
                locked.withLock { t in
                    if let handle {
                        t.inflight[key.connection, default: [:]][handle] = Inflight(address: address, payload: payload)
                    } else {
                        t.queues[address, default: []].insert(payload, at: 0)
                    }
                }
                if handle == nil { break }
            }
        }
    }

    /// `accepted`, unless the message asks for another outcome (application property
    /// `outcome`).
    static func requestedOutcome(_ bytes: [UInt8]) -> DeliveryState {
        guard let m = try? Message(decoding: bytes), case .string(let want)? = m.applicationProperties?["outcome"] else {
            return .accepted
        }
        switch want {
        case "reject": return .rejected(AMQPError(condition: .notAllowed, description: "rejected on request"))
        case "release": return .released
        case "modify": return .modified(deliveryFailed: true, undeliverableHere: true, messageAnnotations: nil)
        default: return .accepted
        }
    }
}
