import AMQPCodec
import AMQPEngine
import AMQPReactor
import Synchronization

// `amqp bench --peer direct`: the receiving end is a listener, in the manner of Qpid
// Proton's `direct` example: it accepts the senders' connections, sessions and links,
// grants them credit, accepts (at-least-once) or just counts (pre-settled) every delivery,
// and keeps nothing: no queue, no second hop, no receiver connection.

/// What the direct listener counted, shared with the bench's client thread. The listener
/// takes the lock once per delivery (uncontended: the client looks only when it tops up a
/// sender and once per tick of its loop), so nothing is copied or allocated per message.
final class DirectTally: Sendable {
    struct State {
        /// Messages of this run received, all pairs together.
        var received = 0
        /// Messages of this run received, by sending pair.
        var receivedByPair: [Int]
        /// Messages that did not carry this run's stamp.
        var foreign = 0
        /// When the last message of this run arrived (CLOCK_MONOTONIC ns).
        var lastReceivedAt: UInt64 = 0
        /// Send-to-arrival latency of this run's messages.
        var histogram = LatencyHistogram()
        /// The first thing that went wrong on the listener's side.
        var failure: String? = nil
    }

    let state: Mutex<State>

    init(pairs: Int) {
        state = Mutex(State(receivedByPair: [Int](repeating: 0, count: pairs)))
    }

    /// Messages of `pair` received so far.
    func received(pair: Int) -> Int { state.withLock { $0.receivedByPair[pair] } }

    func fail(_ what: String) {
        state.withLock { s in
            if s.failure == nil { s.failure = what }
        }
    }
}

/// SASL for the direct listener: ANONYMOUS, as the embedded peer offers it by default and
/// Proton's `direct` accepts it.
struct AnonymousAuthenticator: SASLAuthenticator {
    func authenticate(mechanism: Symbol, initialResponse: [UInt8]?, hostname: String?) -> SASLDecision {
        mechanism == "ANONYMOUS" ? .accept(identity: "anonymous") : .reject(.auth)
    }
}

/// The direct listener's engines and handler on one reactor: the bench runs it on a
/// reactor thread of its own (`DirectListenerThread`), the allocation tests on the
/// client's reactor (so that one thread's allocations cover both ends).
final class DirectSink {
    let tally: DirectTally
    /// The layout of every pair's message (their addresses have one length).
    let message: BenchMessage
    let nonce: UInt32
    let credit: UInt32
    /// The stamp of the delivery being streamed, by connection (each sender connection
    /// has one link, whose deliveries arrive one after the other).
    private var pending: [ConnectionID: BenchMessage.Stamp] = [:]
    /// Connections inside a streamed (multi-frame) delivery.
    private var streaming: Set<ConnectionID> = []

    init(tally: DirectTally, message: BenchMessage, nonce: UInt32, credit: UInt32) {
        self.tally = tally
        self.message = message
        self.nonce = nonce
        self.credit = credit
    }

    /// The engine for an accepted socket: SASL ANONYMOUS, sessions and links accepted at
    /// once, receiving links granting `credit` (refreshed as deliveries arrive).
    func engine() -> ConnectionEngine {
        var policy = AutoAcceptPolicy()
        policy.credit = .prefetch(credit)
        var c = ConnectionConfiguration(role: .server, containerID: "amqp-bench-direct")
        // Deliveries of several frames are handed over frame by frame rather than
        // reassembled into a new array each.
        policy.streaming = message.bytes.count + 256 > Int(c.maxFrameSize)
        c.autoAccept = policy
        c.sasl = .server(mechanisms: ["ANONYMOUS"], authenticator: AnonymousAuthenticator())
        var engine = ConnectionEngine(configuration: c)
        engine.open()
        return engine
    }

    /// Listens on 127.0.0.1 (a port the kernel picks) on `reactor`.
    func listen(on reactor: Reactor<ConnectionEngine>) throws(ReactorError) -> SocketAddress {
        var options = ListenOptions()
        options.backlog = 4096
        let id = try reactor.listen(on: .loopbackIPv4(), options: options, accept: { [unowned self] _ in engine() }) {
            [unowned self] reactor, id, event in handle(reactor, id, event)
        }
        guard let address = reactor.address(of: id) else {
            throw ReactorError(.invalidArgument, operation: "direct listener", detail: "the listening socket has no address")
        }
        return address
    }

    func handle(_ reactor: Reactor<ConnectionEngine>, _ id: ConnectionID, _ event: ReactorEvent<ConnectionEvent>) {
        switch event {
        case .connection(.link(.delivery(let link, let d))):
            let stamp: BenchMessage.Stamp?
            if case .borrowed(let bytes) = d.payload {
                stamp = message.readStamp(bytes, nonce: nonce)
            } else {
                stamp = d.payload.withUnsafeBytes { message.readStamp($0, nonce: nonce) }
            }
            arrived(reactor, id, link, d, stamp)
        case .connection(.link(.deliveryChunk(let link, let d, let isLast))):
            if !streaming.contains(id) {
                // The first frame holds the stamp.
                pending[id] = d.payload.withUnsafeBytes { message.readStamp($0, nonce: nonce) }
            }
            if isLast {
                streaming.remove(id)
                arrived(reactor, id, link, d, pending.removeValue(forKey: id))
            } else {
                streaming.insert(id)
            }
        case .connection(.link(.detached(_, _, let error?))):
            tally.fail("direct listener: a sender's link detached: \(error)")
        case .connection(.closed(let error?)):
            tally.fail("direct listener: \(error)")
        case .closed:
            pending.removeValue(forKey: id)
            streaming.remove(id)
        default:
            break
        }
    }

    /// A whole message arrived: accept it unless it came settled, count it and record its
    /// latency.
    @inline(__always)
    func arrived(_ reactor: Reactor<ConnectionEngine>, _ id: ConnectionID, _ link: LinkID, _ d: Delivery, _ stamp: BenchMessage.Stamp?) {
        if !d.settled {
            reactor.withConnection(id) { try? $0.settle(link, delivery: d.id, state: .accepted) }
        }
        let now = monotonicNanoseconds()
        tally.state.withLock { s in
            guard let stamp, Int(stamp.pair) < s.receivedByPair.count else {
                s.foreign += 1
                return
            }
            s.histogram.record(now > stamp.time ? now - stamp.time : 0)
            s.lastReceivedAt = now
            s.received += 1
            s.receivedByPair[Int(stamp.pair)] += 1
        }
    }
}
