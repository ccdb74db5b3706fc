import AMQPCodec
import AMQPEngine
import AMQPReactor

// The bench's client connections, driven directly as ConnectionEngines on a reactor
// (the public API's per-call locking and hand-offs would be measured otherwise). Every
// handler runs on the thread that drives the client reactor, so the shared counters are
// plain variables.

/// One sender connection's state.
final class BenchSender {
    let pair: Int
    /// The message's layout (its address, and so where the body starts, is the pair's).
    let message: BenchMessage
    var id: ConnectionID? = nil
    var link: LinkID? = nil
    /// Encoded messages, reused in turn: a slot is stamped in place (no copy, no
    /// allocation) once the engine has written and released the delivery that used it,
    /// which the in-flight window guarantees (see `BenchClients.topUp`).
    var pool: [[UInt8]]
    var slot = 0
    /// Messages this sender may send in all (raised for each phase).
    var quota = 0
    var sent = 0
    /// `sent` when the measurement began (the paced schedule counts from there).
    var sentAtStart = 0
    var credited = false
    /// Stopped by the in-flight window; a receiver wakes it.
    var blocked = false

    init(pair: Int, message: BenchMessage, pool: [[UInt8]]) {
        self.pair = pair
        self.message = message
        self.pool = pool
    }
}

/// One receiver connection's state.
final class BenchReceiver {
    let index: Int
    var id: ConnectionID? = nil
    var link: LinkID? = nil
    var attached = false
    /// Inside a streamed (multi-frame) delivery.
    var inMessage = false
    /// The stamp of the delivery being streamed.
    var pending: BenchMessage.Stamp? = nil

    init(index: Int) {
        self.index = index
    }
}

/// Everything the handlers share.
final class BenchClients {
    enum Phase {
        case settingUp
        case running
        case idle
        case closing
    }

    let configuration: SocketBenchConfiguration
    /// The first pair's message, for sizes (each sender has its own, `BenchSender.message`).
    let message: BenchMessage
    let nonce: UInt32
    /// Most messages one pair may have sent and not received.
    let window: Int
    let addresses: [String]
    var phase = Phase.settingUp
    var senders: [BenchSender] = []
    var receivers: [BenchReceiver] = []
    /// Messages of this run received, by sending pair (by the receivers; see `tally`).
    var receivedByPair: [Int]
    /// With `--peer direct`, what the direct listener counted: there are no receiver
    /// connections, and the listener (on its own thread) counts for them.
    var tally: DirectTally? = nil
    var histogram = LatencyHistogram()
    var sent = 0
    var received = 0
    var accepted = 0
    var foreign = 0
    var sendersReady = 0
    var receiversReady = 0
    var closed = 0
    var failure: String? = nil
    var stopSending = false
    var lastReceivedAt: UInt64 = 0
    /// A paced run's schedule: when the measurement began and each sender's messages
    /// per second. Message k (from 0) of a sender is due `k / perSender` seconds after
    /// `start`; `nil`: no pacing.
    var pace: (start: UInt64, perSender: Double)? = nil

    init(configuration: SocketBenchConfiguration, addresses: [String], nonce: UInt32) {
        self.configuration = configuration
        self.addresses = addresses
        self.nonce = nonce
        let pairs = configuration.connections
        message = BenchMessage(bodySize: configuration.bodySize, address: addresses[0], pair: 0, nonce: nonce)
        // Enough not to hold the flow back (twice the credit), within the byte budget.
        let affordable = configuration.inFlightBytes / max(1, message.bytes.count * pairs)
        window = max(2, min(2 * Int(configuration.credit), affordable))
        receivedByPair = [Int](repeating: 0, count: pairs)
        for p in 0..<pairs {
            let m = BenchMessage(bodySize: configuration.bodySize, address: addresses[p % addresses.count], pair: UInt32(p), nonce: nonce)
            // Distinct storage per slot (`Array(m.bytes)` would share one buffer, and the
            // first stamp of each slot would copy it): each slot is stamped in place.
            let pool = (0...window).map { _ in m.bytes.withUnsafeBufferPointer { [UInt8]($0) } }
            senders.append(BenchSender(pair: p, message: m, pool: pool))
            receivers.append(BenchReceiver(index: p))
        }
    }

    func fail(_ what: String) {
        if failure == nil { failure = what }
    }

    // MARK: Senders

    func sender(_ s: BenchSender, _ reactor: Reactor<ConnectionEngine>, _ id: ConnectionID, _ event: ReactorEvent<ConnectionEvent>) {
        switch event {
        case .connected:
            s.id = id
        case .connection(.remoteOpen):
            reactor.withConnection(id) { engine in
                do {
                    let session = try engine.beginSession()
                    var c = LinkConfiguration.sender(name: "amqp-bench-sender-\(s.pair)-\(nonce)", to: addresses[s.pair % addresses.count])
                    if configuration.presettled { c.sndSettleMode = .settled }
                    s.link = try engine.attachLink(session: session, c)
                } catch {
                    fail("sender \(s.pair): attach: \(error)")
                }
            }
        case .connection(.link(.attached(_, let attach))):
            if attach.target == nil { fail("sender \(s.pair): the broker refused the link to \(addresses[s.pair % addresses.count])") }
        case .connection(.link(.credit(_, let credit, _))) where credit > 0:
            if !s.credited {
                s.credited = true
                sendersReady += 1
            }
            if phase == .running { reactor.withConnection(id) { topUp(s, &$0) } }
        case .connection(.link(.outcomes(_, let handles, let state, let settled))):
            if case .accepted? = state {
                accepted += handles.count
            } else if settled {
                fail("sender \(s.pair): the broker answered \(state.map { "\($0)" } ?? "no outcome") instead of accepted")
            }
        default:
            ended(event, what: "sender \(s.pair)")
        }
    }

    /// Sends what credit, quota and window allow, all stamped with the same time (they
    /// are handed to the engine at the same moment).
    ///
    /// The window is also what makes the pool safe: a slot comes round again `window + 1`
    /// sends later, and at most `window` messages are sent and not received; messages are
    /// written in order, so the one that used the slot has been written (the engine has
    /// released its array) once any later one was received.
    func topUp(_ s: BenchSender, _ engine: inout ConnectionEngine) {
        guard phase == .running, !stopSending, let link = s.link else { return }
        let ahead = s.sent - received(pair: s.pair)
        var room = min(s.quota - s.sent, window - ahead, engine.sendable(on: link))
        s.blocked = ahead >= window
        guard room > 0 else { return }
        let now = monotonicNanoseconds()
        if let pace {
            // What the schedule has made due by now and is not sent yet.
            let due = Int(Double(now &- pace.start) * pace.perSender / 1e9) + 1
            room = min(room, due - (s.sent - s.sentAtStart))
            guard room > 0 else { return }
        }
        let presettled = configuration.presettled
        let message = s.message
        while room > 0 {
            let k = s.slot
            s.pool[k].withUnsafeMutableBytes { message.stamp($0, time: now) }
            do {
                _ = try engine.send(on: link, payload: s.pool[k], settled: presettled)
            } catch {
                fail("sender \(s.pair): send: \(error)")
                return
            }
            s.slot = k == window ? 0 : k + 1
            s.sent += 1
            sent += 1
            room -= 1
        }
        s.blocked = s.sent - received(pair: s.pair) >= window
    }

    /// In a paced run, whether the schedule has made a message of `s` due by `now` that it
    /// has not sent (the count `topUp` sends up to).
    @inline(__always)
    func hasDue(_ s: BenchSender, now: UInt64) -> Bool {
        guard let pace else { return false }
        return Int(Double(now &- pace.start) * pace.perSender / 1e9) + 1 > s.sent - s.sentAtStart
    }

    /// Some sender is held back by the in-flight window.
    var anyBlocked: Bool { senders.contains { $0.blocked } }

    /// Messages of `pair` received so far, by our receivers or by the direct listener.
    @inline(__always)
    func received(pair: Int) -> Int {
        if let tally { return tally.received(pair: pair) }
        return receivedByPair[pair]
    }

    // MARK: Receivers

    func receiver(_ r: BenchReceiver, _ reactor: Reactor<ConnectionEngine>, _ id: ConnectionID, _ event: ReactorEvent<ConnectionEvent>) {
        // Messages from the receiver's address have the layout of the pair sending to it
        // (others are found by `readStamp`'s search).
        let message = senders[r.index].message
        switch event {
        case .connection(.link(.delivery(let link, let d))):
            if case .borrowed(let bytes) = d.payload { r.pending = message.readStamp(bytes, nonce: nonce) } else {
                r.pending = d.payload.withUnsafeBytes { message.readStamp($0, nonce: nonce) }
            }
            arrived(r, reactor, id, link, d)
        case .connection(.link(.deliveryChunk(let link, let d, let isLast))):
            if !r.inMessage {
                // The first frame holds the stamp.
                r.pending = d.payload.withUnsafeBytes { message.readStamp($0, nonce: nonce) }
            }
            r.inMessage = !isLast
            if isLast { arrived(r, reactor, id, link, d) }
        case .connected:
            r.id = id
        case .connection(.remoteOpen):
            reactor.withConnection(id) { engine in
                do {
                    let session = try engine.beginSession()
                    let index = r.index % addresses.count
                    var c = LinkConfiguration.receiver(
                        name: "amqp-bench-receiver-\(r.index)-\(nonce)", from: addresses[index], credit: .prefetch(configuration.credit))
                    if configuration.presettled { c.sndSettleMode = .settled }
                    // Deliveries of several frames are handed over frame by frame rather
                    // than reassembled into a new array each.
                    c.streaming = message.bytes.count + 256 > Int(engine.remoteMaxFrameSize)
                    r.link = try engine.attachLink(session: session, c)
                } catch {
                    fail("receiver \(r.index): attach: \(error)")
                }
            }
        case .connection(.link(.attached(_, let attach))):
            if attach.source == nil {
                fail("receiver \(r.index): the broker refused the link from \(addresses[r.index % addresses.count])")
            } else if !r.attached {
                r.attached = true
                receiversReady += 1
            }
        default:
            ended(event, what: "receiver \(r.index)")
        }
    }

    /// A whole message arrived: settle it, count it, record its latency, and let its
    /// sender go on if the window held it back.
    @inline(__always)
    func arrived(_ r: BenchReceiver, _ reactor: Reactor<ConnectionEngine>, _ id: ConnectionID, _ link: LinkID, _ d: Delivery) {
        if !d.settled {
            reactor.withConnection(id) { try? $0.settle(link, delivery: d.id, state: .accepted) }
        }
        guard let stamp = r.pending, Int(stamp.pair) < receivedByPair.count else {
            foreign += 1
            return
        }
        r.pending = nil
        let now = monotonicNanoseconds()
        histogram.record(now > stamp.time ? now - stamp.time : 0)
        lastReceivedAt = now
        received += 1
        let p = Int(stamp.pair)
        receivedByPair[p] += 1
        let s = senders[p]
        if s.blocked, s.sent - receivedByPair[p] <= window / 2, let sid = s.id {
            reactor.withConnection(sid) { topUp(s, &$0) }
        }
    }

    // MARK: Both

    /// Link, connection and socket endings: failures unless the bench is closing.
    func ended(_ event: ReactorEvent<ConnectionEvent>, what: String) {
        switch event {
        case .closed(let error):
            closed += 1
            if phase != .closing { fail("\(what): connection lost\(error.map { ": \($0)" } ?? "")") }
        case .connection(.link(.detached(_, _, let error))):
            if phase != .closing { fail("\(what): link detached\(error.map { ": \($0)" } ?? "")") }
        case .connection(.remoteClose(let error)):
            if phase != .closing { fail("\(what): the broker closed the connection\(error.map { ": \($0)" } ?? "")") }
        case .connection(.closed(let error?)):
            if phase != .closing { fail("\(what): \(error)") }
        default:
            break
        }
    }
}
