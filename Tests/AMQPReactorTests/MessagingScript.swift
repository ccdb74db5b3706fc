import AMQPCodec
import AMQPEngine
import AMQPReactor

/// What every connection of a messaging test does, driven from its events: the client
/// opens, begins a session, attaches a sender, sends `messages` copies of `payload` as
/// credit allows, and closes once every outcome is back; the listener (auto-accepting)
/// accepts each delivery. Counters only, so ten thousand connections cost little.
final class MessagingScript {
    let payload: [UInt8]
    let messages: Int
    var senderCapabilities: [Symbol] = []
    /// Close each client connection once its last outcome is in; otherwise it stays open
    /// (`done` counts it) until the test closes it.
    var closeWhenDone = true
    /// Client connections whose every outcome is in.
    private(set) var done = 0

    /// Per client connection: deliveries sent and outcomes seen.
    private var sent: [ConnectionID: Int] = [:]
    private var senders: [ConnectionID: LinkID] = [:]
    private var outcomesSeen: [ConnectionID: Int] = [:]
    private(set) var opened = 0
    private(set) var accepted = 0
    private(set) var outcomes = 0
    private(set) var delivered = 0
    /// Deliveries that arrived in one frame (their payload still a view into the ring).
    private(set) var deliveredInOneFrame = 0
    private(set) var deliveredBytes = 0
    private(set) var closedCleanly = 0
    private(set) var failures: [String] = []

    init(payload: [UInt8], messages: Int) {
        self.payload = payload
        self.messages = messages
    }

    /// An engine that auto-accepts sessions and links, granting `credit`.
    static func listenerEngine(maxFrameSize: UInt32 = 63_488, credit: UInt32 = 100) -> ConnectionEngine {
        var policy = AutoAcceptPolicy()
        policy.credit = .prefetch(credit)
        var c = serverConfiguration(maxFrameSize: maxFrameSize)
        c.autoAccept = policy
        var engine = ConnectionEngine(configuration: c)
        engine.open()
        return engine
    }

    static func clientEngine(maxFrameSize: UInt32 = 63_488) -> ConnectionEngine {
        var engine = ConnectionEngine(configuration: clientConfiguration(maxFrameSize: maxFrameSize))
        engine.open()
        return engine
    }

    /// Everything has happened for `connections` client connections.
    func finished(_ connections: Int) -> Bool { closedCleanly + failures.count >= 2 * connections }

    func client(_ reactor: Reactor<ConnectionEngine>, _ id: ConnectionID, _ event: ReactorEvent<ConnectionEvent>) {
        switch event {
        case .connection(.remoteOpen):
            opened += 1
            let capabilities = senderCapabilities
            reactor.withConnection(id) { engine in
                do {
                    let session = try engine.beginSession()
                    var link = LinkConfiguration.sender(name: "scale", to: "queue://scale")
                    link.offeredCapabilities = capabilities
                    senders[id] = try engine.attachLink(session: session, link)
                } catch {
                    failures.append("\(id): \(error)")
                    engine.close()
                }
            }
        case .connection(.link(.credit(let link, let credit, _))) where credit > 0:
            let already = sent[id, default: 0]
            guard already < messages else { return }
            reactor.withConnection(id) { engine in
                var n = already
                while n < messages && engine.sendable(on: link) > 0 {
                    _ = try? engine.send(on: link, payload: payload)
                    n += 1
                }
                sent[id] = n
            }
        case .connection(.link(.outcomes(_, let handles, let state, _))):
            outcomes += handles.count
            if case .accepted? = state {} else { failures.append("\(id): outcome \(String(describing: state))") }
            let seen = outcomesSeen[id, default: 0] + handles.count
            outcomesSeen[id] = seen
            // Each unsettled delivery has one outcome: the last one closes.
            if seen == messages {
                done += 1
                if closeWhenDone { reactor.withConnection(id) { $0.close() } }
            }
        case .closed(let error):
            sent[id] = nil
            senders[id] = nil
            outcomesSeen[id] = nil
            if let error { failures.append("\(id): \(error)") } else { closedCleanly += 1 }
        default:
            break
        }
    }
    func listener(_ reactor: Reactor<ConnectionEngine>, _ id: ConnectionID, _ event: ReactorEvent<ConnectionEvent>) {
        switch event {
        case .connection(.remoteOpen):
            accepted += 1
        case .connection(.link(.delivery(let link, let d))):
            delivered += 1
            deliveredBytes += d.payload.count
            if case .borrowed = d.payload { deliveredInOneFrame += 1 }
            reactor.withConnection(id) { try? $0.settle(link, delivery: d.id, state: .accepted) }
        case .closed(let error):
            if let error { failures.append("listener \(id): \(error)") } else { closedCleanly += 1 }
        default:
            break
        }
    }
}
