import AMQPCodec
import AMQPEngine
import AMQPPeer
import AMQPReactor
import AMQPWebSocket
import AMQPTLS
import Glibc
import Testing

/// Why a bounded wait gave up.
struct WaitTimedOut: Error, CustomStringConvertible {
    let what: String
    let seconds: Double
    var description: String { "gave up after \(seconds) s waiting for: \(what)" }
}

func secondsNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// An embedded peer and clients on one reactor, driven by the test's thread: every
/// step is the test's own, so nothing races.
final class PeerTestBed {
    let reactor: Reactor<EmbeddedPeer.Machine>
    let peer: EmbeddedPeer
    var peerLog: [String] = []

    init(backend: ReactorOptions.Backend = .automatic, _ configure: (inout PeerConfiguration) -> Void = { _ in }) throws {
        var options = ReactorOptions()
        options.backend = backend
        reactor = try Reactor(options: options)
        var configuration = PeerConfiguration()
        configure(&configuration)
        peer = try EmbeddedPeer(configuration: configuration, reactor: reactor)
        peer.log = { [unowned self] line in peerLog.append(line) }
    }

    /// Connects a client engine to the peer.
    func connect(
        _ credentials: SASLCredentials? = .anonymous(), idleTimeout: UInt32? = nil, to address: SocketAddress? = nil
    ) throws -> TestClient {
        var c = ConnectionConfiguration(role: .client, containerID: "peer-test-client", hostname: "localhost")
        c.sasl = credentials.map { .client($0) }
        c.idleTimeout = idleTimeout
        var engine = ConnectionEngine(configuration: c)
        engine.open()
        let client = TestClient(bed: self)
        client.id = try reactor.connect(to: address ?? peer.address, connection: EmbeddedPeer.Machine(plaintext: WebSocketConnection(passThrough: engine))) { [client] _, _, event in
            client.record(event)
        }
        return client
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
        while secondsNow() < end { try reactor.runOnce(timeout: .milliseconds(10)) }
    }

    /// Connects and waits for the peer's OPEN.
    func openClient(_ credentials: SASLCredentials? = .anonymous(), idleTimeout: UInt32? = nil) throws -> TestClient {
        let client = try connect(credentials, idleTimeout: idleTimeout)
        try pump("the peer's OPEN") { client.opened || client.isClosed }
        #expect(client.opened)
        return client
    }
}

/// A delivery as a test client saw it.
struct ReceivedDelivery {
    let id: DeliveryNumber
    let payload: [UInt8]
    let settled: Bool
}

/// One client connection and everything it reported, with helpers to drive it.
final class TestClient {
    unowned let bed: PeerTestBed
    var id: ConnectionID! = nil

    var opened = false
    var remoteClose: AMQPError?? = nil
    /// `.some(nil)`: the AMQP connection ended cleanly.
    var ended: EngineError?? = nil
    /// `.some(nil)`: the socket closed after a finished connection.
    var socketClosed: ReactorError?? = nil
    var session: SessionID? = nil
    var attached: [LinkID: Attach] = [:]
    var detached: [LinkID: EngineError?] = [:]
    var deliveries: [LinkID: [ReceivedDelivery]] = [:]
    /// Final states of our sent deliveries.
    var outcomes: [DeliveryHandle: DeliveryState?] = [:]
    var lost: [DeliveryHandle] = []
    var drained: [LinkID] = []
    /// Settle each delivery on arrival with this state; `nil` leaves it unsettled.
    var autoSettle: DeliveryState? = .accepted

    init(bed: PeerTestBed) {
        self.bed = bed
    }

    var isClosed: Bool { socketClosed != nil }

    func record(_ event: ReactorEvent<ConnectionEvent>) {
        switch event {
        case .connected: break
        case .closed(let error): socketClosed = .some(error)
        case .connection(let e):
            switch e {
            case .remoteOpen: opened = true
            case .remoteClose(let error): remoteClose = .some(error)
            case .closed(let error): ended = .some(error)
            case .session(.begun(let id, _)): session = id
            case .link(let l):
                switch l {
                case .attached(let id, let a): attached[id] = a
                case .detached(let id, _, let error): detached[id] = error
                case .delivery(let link, let d):
                    deliveries[link, default: []].append(ReceivedDelivery(id: d.id, payload: d.payload.bytes, settled: d.settled))
                    if let state = autoSettle, !d.settled {
                        bed.reactor.withInner(id) { try? $0.settle(link, delivery: d.id, state: state) }
                    }
                case .outcomes(_, let handles, let state, let settled):
                    if settled { for handle in handles { outcomes[handle] = state } }
                case .lost(_, let handle, _): lost.append(handle)
                case .drained(let link): drained.append(link)
                default: break
                }
            default: break
            }
        }
    }

    /// Begins a session and waits for it.
    func begin() throws -> SessionID {
        let sid = try engine { (e) throws(EngineError) in try e.beginSession() }
        try bed.pump("session begun") { session == sid || isClosed }
        return sid
    }

    /// Attaches a link and waits for the peer's answer (which may be a refusal).
    func attach(_ configuration: LinkConfiguration) throws -> LinkID {
        let sid = try session ?? begin()
        let link = try engine { (e) throws(EngineError) in try e.attachLink(session: sid, configuration) }
        try bed.pump("link \(configuration.name) answered") { attached[link] != nil || detached[link] != nil || isClosed }
        return link
    }

    func sender(to address: String?, name: String = "sender") throws -> LinkID {
        try attach(.sender(name: name, to: address))
    }

    func receiver(from address: String, name: String = "receiver", credit: CreditPolicy = .prefetch(300)) throws -> LinkID {
        try attach(.receiver(name: name, from: address, credit: credit))
    }

    /// Queues a message.
    @discardableResult
    func send(_ link: LinkID, _ payload: [UInt8], settled: Bool = false) throws -> DeliveryHandle {
        try engine { (e) throws(EngineError) in try e.send(on: link, payload: payload, settled: settled) }
    }

    /// Runs `body` with the engine; fails when the connection is gone.
    func engine<R>(_ body: (inout ConnectionEngine) throws(EngineError) -> R) throws -> R {
        guard let r = try bed.reactor.withInner(id, body) else { throw EngineError(.illegalState, "the connection is closed", origin: .local) }
        return r
    }

    /// Closes and waits for the socket to go.
    func close() throws {
        bed.reactor.withInner(id) { $0.close() }
        try bed.pump("connection closed") { isClosed }
    }

    func received(_ link: LinkID) -> [ReceivedDelivery] { deliveries[link] ?? [] }
}

/// An encoded message whose data body is `text`.
func message(_ text: String) -> [UInt8] {
    try! Message(body: Array(text.utf8)).encoded()
}

/// `count` bytes of a recognisable pattern, as an encoded data message.
func bigMessage(_ count: Int, seed: UInt8) -> [UInt8] {
    try! Message(body: (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }).encoded()
}
