import AMQPCodec
public import AMQPEngine
public import AMQPReactor
public import AMQPTLS
public import AMQPWebSocket

/// A small AMQP 1.0 broker on one reactor, for tests, demos and benchmarks: the
/// listening role of the engine with queues behind it.
///
/// - Queues by address, made on first use (a sender or receiver attaching, or a
///   message sent to it through an anonymous relay link).
/// - At least once: a message from a client's sender is accepted once stored (bounded
///   per queue and in total; refused with `amqp:resource-limit-exceeded` beyond).
///   Receivers get messages in order, as their credit allows, unsettled (unless they
///   asked for pre-settled); a delivery released, modified, or unsettled when its link or
///   connection ends goes back to its place in the queue. Rejected ones go to the
///   dead-letter address (`$dlq` by default).
/// - SASL ANONYMOUS and PLAIN against a user table; a `$cbs` node for put-token.
/// - Faults on request (`PeerFaults`): redirects, detach errors, dropped connections,
///   and a short idle time-out (`PeerConfiguration.idleTimeout`).
///
/// Everything runs on the reactor's thread; the peer may share its reactor with clients
/// (tests drive both with one thread). Use `serve()` to run a reactor of its own.
public final class EmbeddedPeer {
    /// What its reactor drives: an engine, inside WebSocket on a WebSocket listener
    /// (`PeerConfiguration.webSocket`), behind TLS on a TLS listener
    /// (`PeerConfiguration.tls`); each layer passes bytes through when not in use.
    public typealias Machine = TLSConnection<WebSocketConnection<ConnectionEngine>>

    /// The configuration it was made with.
    public let configuration: PeerConfiguration
    /// The reactor it runs on.
    public let reactor: Reactor<EmbeddedPeer.Machine>
    /// The address it listens on (with the port the kernel picked).
    public let address: SocketAddress
    /// Counters.
    public internal(set) var statistics = PeerStatistics()
    /// Receives a line for every connection opened and closed and, with
    /// `configuration.trace`, every frame.
    public var log: ((String) -> Void)? = nil

    var listener: ListenerID?
    var connections: [ConnectionID: PeerConnection] = [:]
    /// The queues and their receivers.
    var store: QueueStore
    var dynamicCounter = 0
    let authenticator: PeerAuthenticator
    let box: PeerBox
    /// The TLS listener's context, made once from `configuration.tls`.
    let tls: TLSContext?
    /// SASL EXTERNAL is offered (first): client certificates are verified.
    let offersExternal: Bool
    /// Some link has a fault to play (`PeerFaults.linkErrors`): only then are messages
    /// counted per link, which costs two lookups by link id per message.
    let hasLinkFaults: Bool

    /// Starts listening on `configuration.address` on `reactor`.
    ///
    /// - Throws: `ReactorError` when the address cannot be bound, or (code
    ///   `.invalidArgument`, operation `TLS`) when `configuration.tls` cannot be loaded.
    public init(configuration: PeerConfiguration = PeerConfiguration(), reactor: Reactor<EmbeddedPeer.Machine>) throws(ReactorError) {
        self.configuration = configuration
        self.reactor = reactor
        store = QueueStore(limits: configuration.limits, permanent: configuration.queues)
        hasLinkFaults = !configuration.faults.linkErrors.isEmpty
        authenticator = PeerAuthenticator(allowAnonymous: configuration.allowAnonymous, users: configuration.users)
        if let w = configuration.webSocket {
            do throws(WebSocketError) {
                guard w.role == .server else {
                    throw WebSocketError(.invalidConfiguration, detail: "the peer needs a server's WebSocket configuration (.server(path:))")
                }
                try w.validate()
            } catch {
                throw ReactorError(.invalidArgument, operation: "WebSocket", detail: error.description)
            }
        }
        if let t = configuration.tls {
            do throws(TLSError) {
                tls = try TLSContext(t)
            } catch {
                throw ReactorError(.invalidArgument, operation: "TLS", detail: error.description)
            }
        } else {
            tls = nil
        }
        // EXTERNAL only where there can be a verified client certificate; the engine
        // then authenticates it as the certificate's subject (the authenticator's
        // default `authenticateExternal`).
        let certificates: Set<TLSConfiguration.Verification> = [.optionalClientCertificate, .requiredClientCertificate, .full, .chainOnly]
        offersExternal = configuration.tls.map { $0.role == .server && certificates.contains($0.verification) } ?? false
        // The closures need `self`, which is not ready before `address` is set: listen
        // through a box and fill it in afterwards.
        let box = PeerBox()
        self.box = box
        let id = try reactor.listen(
            on: configuration.address,
            accept: { [box] _ in box.peer?.makeEngine() },
            handler: { [box] _, id, event in box.peer?.receive(id, event) })
        listener = id
        address = reactor.address(of: id)!
        box.peer = self
    }

    deinit {
        if let listener { reactor.stopListening(listener) }
        for id in connections.keys { reactor.abort(id) }
    }

    /// Makes a reactor of its own with `configuration.reactor`, listens, calls `ready`
    /// with the bound address, and serves until `reactor.handle.stop()` is called (from
    /// any thread, e.g. a signal handler's); then closes every connection (CLOSE with
    /// `amqp:connection:forced`) and waits up to `drainTime` for the goodbyes.
    public static func serve(
        _ configuration: PeerConfiguration, drainTime: Duration = .seconds(2),
        ready: (EmbeddedPeer) -> Void
    ) throws(ReactorError) {
        let reactor = try Reactor<EmbeddedPeer.Machine>(options: configuration.reactor)
        let peer = try EmbeddedPeer(configuration: configuration, reactor: reactor)
        ready(peer)
        try reactor.run()
        try peer.shutdown(within: drainTime)
    }

    /// Stops listening, closes every connection with `amqp:connection:forced` and runs
    /// the reactor until they are gone or `within` has passed (then aborts the rest).
    /// Must be called on the reactor's thread, outside its handlers.
    public func shutdown(within: Duration = .seconds(2)) throws(ReactorError) {
        beginShutdown()
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: within)
        while !connections.isEmpty && clock.now < deadline {
            try reactor.runOnce(timeout: .milliseconds(20))
        }
        for id in connections.keys { reactor.abort(id) }
        if !connections.isEmpty { try reactor.runOnce(timeout: .zero) }
    }

    /// Stops listening and asks every connection to close; the reactor must keep running
    /// for the CLOSEs to go out. May be called from handlers.
    public func beginShutdown() {
        if let listener { reactor.stopListening(listener) }
        listener = nil
        let goodbye = AMQPError(condition: .connectionForced, description: "the peer is shutting down")
        for id in connections.keys {
            reactor.withInner(id) { $0.close(error: goodbye) }
        }
    }

    /// Connections open now.
    public var connectionCount: Int { connections.count }

    /// Messages waiting in the queue at `address` (not counting those handed out).
    public func depth(of address: String) -> Int { store.depth(address) }

    /// The encoded messages waiting in the queue at `address`, oldest first.
    public func messages(at address: String) -> [[UInt8]] { store.messages(address).map(\.payload) }

    /// Addresses with a queue.
    public var addresses: [String] { store.addresses.sorted() }

    /// True when a client may use `address`: its queue exists, or queues are made on
    /// demand (`PeerConfiguration.autoCreateQueues`), or it is the dead-letter address.
    func knows(_ address: String) -> Bool {
        configuration.autoCreateQueues || store.exists(address) || address == configuration.deadLetterAddress
    }

    /// Bytes held: queued, and handed out but not settled.
    public var heldBytes: Int { store.heldBytes }

    // MARK: Connections

    func makeEngine() -> Machine? {
        guard connections.count < configuration.limits.maxConnections else {
            statistics.connectionsRefused += 1
            return nil
        }
        var c = ConnectionConfiguration(role: .server, containerID: configuration.containerID)
        c.maxFrameSize = configuration.maxFrameSize
        c.idleTimeout = configuration.idleTimeout
        c.sasl = .server(mechanisms: (offersExternal ? ["EXTERNAL"] : []) + authenticator.mechanisms, authenticator: authenticator)
        c.trace = configuration.trace
        c.closeTimeout = 5_000
        // Sessions at once, so what clients pipeline behind BEGIN (Proton does) is kept;
        // links are decided here, by address.
        var policy = AutoAcceptPolicy()
        policy.links = false
        c.autoAccept = policy
        var engine = ConnectionEngine(configuration: c)
        engine.open()
        var framed = WebSocketConnection(passThrough: engine)
        if let w = configuration.webSocket {
            // Validated when the peer started.
            guard let session = try? WebSocketSession(configuration: w) else {
                statistics.connectionsRefused += 1
                return nil
            }
            framed = WebSocketConnection(engine, session: session)
        }
        guard let tls else { return Machine(plaintext: framed) }
        guard let session = try? TLSSession(context: tls) else {
            statistics.connectionsRefused += 1
            return nil
        }
        // The verified client certificate is who SASL EXTERNAL authenticates.
        return Machine(framed, session: session) { m, peer in m.innermost.setExternalIdentity(peer.verifiedSubject) }
    }

    func receive(_ id: ConnectionID, _ event: ReactorEvent<ConnectionEvent>) {
        guard let e = PeerEvent(event) else { return }
        handle(id, e)
    }

    func handle(_ id: ConnectionID, _ event: PeerEvent) {
        if case .connected = event {
            connections[id] = PeerConnection(id: id)
            statistics.connectionsAccepted += 1
            return
        }
        guard let connection = connections[id] else { return }
        switch event {
        case .connected:
            break
        case .authenticated(let mechanism, let identity):
            connection.identity = identity
            statistics.authenticated += 1
            log?("\(id): authenticated \(identity) with \(mechanism)")
        case .opened(let containerID, let hostname):
            log?("\(id): opened by \(containerID)" + (hostname.map { " for \($0)" } ?? ""))
            if let redirect = configuration.faults.connectionRedirect {
                let error = AMQPError(condition: .connectionRedirect, description: "go to \(redirect)", info: redirect.info)
                reactor.withInner(id) { $0.close(error: error) }
            }
        case .sessionRequested(let session):
            reactor.withInner(id) { try? $0.acceptSession(session) }
        case .linkRequested(let link, let attach):
            linkRequested(connection, link, attach)
        case .linkGone(let link):
            linkGone(connection, link)
        case .credit(let link, let drain):
            creditArrived(connection, link, drain: drain)
        case .message(let link, let delivery, let settled, let format, let payload):
            messageArrived(connection, link, delivery, settled: settled, messageFormat: format, payload: payload)
        case .outcomes(let link, let handles, let state, let settled):
            // Stepped by hand: a debug build's range iterator allocates per step, which
            // would hide the peer's own allocations from PeerAllocationTests.
            var handle = handles.lowerBound
            while true {
                outcomeArrived(connection, link, handle, state, settled: settled)
                guard handle < handles.upperBound else { break }
                handle = handle.advanced(by: 1)
            }
        case .lost(_, let handle):
            deliveryLost(connection, handle)
        case .connectionEnded(let error):
            log?("\(id): closed" + (error.map { " (\($0))" } ?? ""))
        case .socketClosed(let error):
            socketClosed(connection, error)
        case .trace(let line):
            log?("\(id): \(line)")
        }
    }

    /// The socket is gone: whatever the client had unsettled goes back to its queue
    /// (a lost transport reports no `lost` events), and its links stop consuming.
    func socketClosed(_ connection: PeerConnection, _ error: ReactorError?) {
        connections[connection.id] = nil
        if let error { log?("\(connection.id): socket closed: \(error)") }
        var touched: Set<String> = []
        for (_, o) in connection.outstanding {
            store.putBack(o.address, o.message, previousSize: o.message.payload.count)
            statistics.messagesReturned += 1
            touched.insert(o.address)
        }
        connection.outstanding.removeAll()
        for (link, l) in connection.links {
            if case .outbound(let address, _) = l.kind { store.removeReceiver(Consumer(connection: connection.id, link: link), from: address) }
            if let address = l.kind.queueAddress { touched.insert(address) }
        }
        connection.links.removeAll()
        for address in touched.sorted() {
            pump(address)
            forgetIfUnused(address)
        }
    }

    /// Counts a message that crossed a connection, and plays the connection fault when
    /// its count is reached.
    func countMessage(_ connection: PeerConnection) {
        connection.messages += 1
        guard let fault = configuration.faults.dropConnections, !connection.dropping,
            connection.messages >= fault.afterMessages
        else { return }
        connection.dropping = true
        // Next tick: the engine drops session frames not yet written when CLOSE is
        // queued, and the outcomes of the messages counted so far must reach the client
        // first (they are written when this tick's handlers are done).
        let id = connection.id
        let mode = fault.mode
        reactor.execute { [box] reactor in
            guard box.peer != nil else { return }
            switch mode {
            case .close(let error): reactor.withInner(id) { $0.close(error: error) }
            case .abort: reactor.abort(id)
            }
        }
    }
}

/// Lets the reactor's closures reach the peer without keeping it alive.
///
/// `@unchecked Sendable` so that jobs (`Reactor.execute`) may carry it: jobs and handlers
/// run on the reactor's thread, the only thread that touches the peer.
final class PeerBox: @unchecked Sendable {
    weak var peer: EmbeddedPeer?
}

/// A receiver of a queue: one link of one connection.
struct Consumer: Hashable {
    let connection: ConnectionID
    let link: LinkID
}

/// What the peer keeps per connection.
final class PeerConnection {
    let id: ConnectionID
    var identity: String? = nil
    var links: [LinkID: PeerLink] = [:]
    /// Deliveries handed to the client and not settled, by the engine's handle.
    var outstanding: [DeliveryHandle: Outstanding] = [:]
    /// Addresses a `$cbs` token was accepted for (`""`: everything).
    var authorized: [String] = []
    /// `$cbs` responses waiting for the client's `$cbs` receiver.
    var cbsReplies = MessageQueue()
    /// Messages that crossed the connection, both ways.
    var messages = 0
    /// A connection fault is being played.
    var dropping = false

    init(id: ConnectionID) {
        self.id = id
    }

    func isAuthorized(for address: String) -> Bool {
        authorized.contains { CBSRequest.covers($0, address) }
    }
}

/// A message handed to a client's receiver.
struct Outstanding {
    let address: String
    /// Its queue's slot when it was sent (checked before use).
    let queue: QueueRef
    let message: StoredMessage
    let link: LinkID
}

/// One link a client attached.
struct PeerLink {
    enum Kind {
        /// The client sends to the queue at `address`; `nil`: an anonymous relay, routed
        /// by each message's `to`.
        case inbound(address: String?)
        /// The client receives from the queue at `address`; `presettled`: it asked for
        /// settled deliveries (at most once).
        case outbound(address: String, presettled: Bool)
        /// The client sends put-token requests to `$cbs`.
        case cbsRequests
        /// The client receives `$cbs` responses.
        case cbsReplies(presettled: Bool)

        var queueAddress: String? {
            switch self {
            case .inbound(let a): a
            case .outbound(let a, _): a
            case .cbsRequests, .cbsReplies: nil
            }
        }
    }

    var kind: Kind
    /// Its queue's slot when it attached (checked before use); nil for links without a
    /// queue of their own.
    var queue: QueueRef? = nil
    /// Messages the link carried (counted only when link faults are configured).
    var messages = 0
    /// The link fault to play, if any.
    var fault: LinkFault?
    /// The fault has been played (the link is detaching).
    var faulted = false
}
