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
/// client's reactor (so that one thread's allocations cover both ends), and `amqp peer
/// --direct` on the command's thread for other programs' senders.
final class DirectSink {
    let tally: DirectTally
    /// The layout of every pair's message (their addresses have one length); `nil`: the
    /// messages are not the bench's (`amqp peer --direct`), and each counts as received,
    /// without a latency.
    let message: BenchMessage?
    let nonce: UInt32
    let credit: UInt32
    /// The largest frame the listener takes.
    var maxFrameSize: UInt32 = ConnectionConfiguration(role: .server, containerID: "").maxFrameSize
    /// OPEN's container-id.
    var containerID = "amqp-bench-direct"
    /// After this many messages (bench or not), stop the reactor once every connection
    /// is closed (the senders close theirs when done, as Proton's `send` does: closing
    /// them from here would be an error to clients that wait for their own close);
    /// `nil`: run until stopped.
    var limit: Int? = nil
    /// Connections open now.
    private var connections: Set<ConnectionID> = []
    /// Messages taken, of any kind (for `limit`).
    private(set) var total = 0
    /// The stamp of the delivery being streamed, by connection (each sender connection
    /// has one link, whose deliveries arrive one after the other).
    private var pending: [ConnectionID: BenchMessage.Stamp] = [:]
    /// Connections inside a streamed (multi-frame) delivery.
    private var streaming: Set<ConnectionID> = []

    init(tally: DirectTally, message: BenchMessage?, nonce: UInt32, credit: UInt32) {
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
        var c = ConnectionConfiguration(role: .server, containerID: containerID)
        c.maxFrameSize = maxFrameSize
        // Deliveries of several frames are handed over frame by frame rather than
        // reassembled into a new array each (any size when the messages are not ours).
        policy.streaming = message.map { $0.bytes.count + 256 > Int(c.maxFrameSize) } ?? true
        c.autoAccept = policy
        c.sasl = .server(mechanisms: ["ANONYMOUS"], authenticator: AnonymousAuthenticator())
        var engine = ConnectionEngine(configuration: c)
        engine.open()
        return engine
    }

    /// Listens on `address` (default 127.0.0.1, a port the kernel picks) on `reactor`,
    /// and returns the address bound.
    func listen(on reactor: Reactor<ConnectionEngine>, at address: SocketAddress = .loopbackIPv4()) throws(ReactorError) -> SocketAddress {
        var options = ListenOptions()
        options.backlog = 4096
        let id = try reactor.listen(on: address, options: options, accept: { [unowned self] _ in engine() }) {
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
            if let message = self.message, case .borrowed(let bytes) = d.payload {
                stamp = message.readStamp(bytes, nonce: nonce)
            } else if let message = self.message {
                stamp = d.payload.withUnsafeBytes { message.readStamp($0, nonce: nonce) }
            } else {
                stamp = nil
            }
            arrived(reactor, id, link, d, stamp)
        case .connection(.link(.deliveryChunk(let link, let d, let isLast))):
            if !streaming.contains(id), let message {
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
        case .connected:
            connections.insert(id)
        case .closed:
            pending.removeValue(forKey: id)
            streaming.remove(id)
            connections.remove(id)
            if let limit, total >= limit, connections.isEmpty { reactor.stop() }
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
        let bench = message != nil
        tally.state.withLock { s in
            guard bench else {
                s.received += 1
                s.lastReceivedAt = now
                return
            }
            guard let stamp, Int(stamp.pair) < s.receivedByPair.count else {
                s.foreign += 1
                return
            }
            s.histogram.record(now > stamp.time ? now - stamp.time : 0)
            s.lastReceivedAt = now
            s.received += 1
            s.receivedByPair[Int(stamp.pair)] += 1
        }
        total += 1
    }
}
