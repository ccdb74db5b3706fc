import AMQPCodec
import AMQPEngine
import AMQPHostileCases
import Glibc
import Testing

/// The messages of one direction: message `i` travels on link `i % 3`; its size and
/// bytes follow from `i` alone, so a receiver can check every byte without being told.
struct BulkPlan {
    static let links = 3
    let count: Int
    /// Bytes the messages are cut from.
    let source: [UInt8]

    init(count: Int) {
        self.count = count
        var r = SeededRandom(seed: 0xB01C)
        source = (0..<(Self.maxSize + 256)).map { _ in UInt8(truncatingIfNeeded: r.next()) }
    }

    static let maxSize = 200 * 1024

    /// Mostly small, some medium, a few up to 200 KiB.
    static func size(_ i: Int) -> Int {
        var r = SeededRandom(seed: UInt64(i) &* 0x9E37_79B9)
        let bucket = r.next() % 1000
        let x = Int(r.next() >> 1)
        switch bucket {
        case 0..<900: return 1 + x % 256
        case 900..<990: return 257 + x % 4_000
        case 990..<999: return 4_257 + x % 60_000
        default: return 64_257 + x % (maxSize - 64_257 + 1)
        }
    }

    func payload(_ i: Int) -> [UInt8] {
        let offset = i % 251
        return Array(source[offset..<(offset + Self.size(i))])
    }

    func matches(_ i: Int, _ bytes: UnsafeRawBufferPointer, at start: Int = 0) -> Bool {
        let offset = i % 251 + start
        guard offset + bytes.count <= source.count else { return false }
        if bytes.isEmpty { return true }
        return source.withUnsafeBytes { memcmp($0.baseAddress! + offset, bytes.baseAddress!, bytes.count) == 0 }
    }
}

/// One side's view of the traffic it sends and receives.
final class BulkSide {
    let plan: BulkPlan
    /// Our sending links, by index `0..<3`, once attached.
    var senders: [LinkID?] = [nil, nil, nil]
    var nextToSend = 0
    /// Handles of unsettled deliveries waiting for an outcome.
    var awaiting = Set<DeliveryHandle>()
    var outcomes = 0
    /// The next message each receiving link must deliver.
    var expected: [Int] = [0, 1, 2]
    var receivers: [LinkID: Int] = [:]
    var received = 0
    var streamed: [Int] = [0, 0, 0]
    var remoteSettled = 0
    var toSettle: [(LinkID, DeliveryNumber)] = []
    var problems: [String] = []

    init(plan: BulkPlan) { self.plan = plan }

    func handle(_ e: ConnectionEvent) {
        guard case .link(let l) = e else { return }
        switch l {
        case .delivery(let link, let d):
            guard let k = receivers[link] else { return problem("delivery on unknown link \(link)") }
            let i = expected[k]
            guard i < plan.count, d.payload.count == BulkPlan.size(i),
                d.payload.withUnsafeBytes({ plan.matches(i, $0) })
            else { return problem("link \(k): delivery \(d.id) is not message \(i) (\(d.payload.count) bytes)") }
            delivered(k, link, d)
        case .deliveryChunk(let link, let d, let last):
            guard let k = receivers[link] else { return problem("chunk on unknown link") }
            let i = expected[k]
            guard d.payload.withUnsafeBytes({ plan.matches(i, $0, at: streamed[k]) }) else {
                return problem("link \(k): chunk of message \(i) at \(streamed[k]) differs")
            }
            streamed[k] += d.payload.count
            if last {
                guard streamed[k] == BulkPlan.size(i) else { return problem("message \(i) streamed \(streamed[k]) bytes") }
                streamed[k] = 0
                delivered(k, link, d)
            }
        case .outcomes(_, let handles, let state, let settled):
            for h in handles {
                guard settled, state == .accepted, awaiting.remove(h) != nil else {
                    return problem("unexpected outcome \(h) \(String(describing: state)) settled \(settled)")
                }
                outcomes += 1
            }
        case .remoteSettled:
            remoteSettled += 1
        case .lost(_, let h, _):
            problem("lost \(h)")
        case .detached(let link, _, let error):
            problem("detached \(link) \(String(describing: error))")
        case .aborted:
            problem("aborted")
        default:
            break
        }
    }

    private func delivered(_ k: Int, _ link: LinkID, _ d: Delivery) {
        expected[k] += BulkPlan.links
        received += 1
        if !d.settled { toSettle.append((link, d.id)) }
    }

    private func problem(_ s: String) {
        if problems.count < 10 { problems.append(s) }
    }

    /// Queues messages while credit allows, a few at a time per round.
    func feed(_ engine: inout ConnectionEngine) throws {
        for _ in 0..<64 {
            guard nextToSend < plan.count, let link = senders[nextToSend % BulkPlan.links] else { return }
            guard engine.sendable(on: link) > 0 else { return }
            let h = try engine.send(on: link, payload: plan.payload(nextToSend))
            if nextToSend % BulkPlan.links != 0 { awaiting.insert(h) }
            nextToSend += 1
        }
    }

    func settle(_ engine: inout ConnectionEngine) throws {
        for (link, id) in toSettle { try engine.settle(link, delivery: id, state: .accepted) }
        toSettle.removeAll(keepingCapacity: true)
    }

    var done: Bool { received == plan.count }
}

@Suite struct BulkTransferTests {
    /// Client ↔ listener, 50,000 messages each way (100,000 in all) of 1 B … 200 KiB over
    /// three links per direction on two sessions, the byte stream cut at random points
    /// every round. Every sender settle mode meets every receiver settle mode somewhere:
    /// link 0 is pre-settled both ways; link 1 is rcv-settle-mode first, the client's
    /// sender in snd-settle-mode unsettled and the listener's mixed (the client's
    /// receiver streaming); link 2 is second, the client's sender mixed and the
    /// listener's unsettled. Nothing lost, duplicated, reordered or corrupted, and every
    /// unsettled delivery gets its outcome.
    @Test func messagesBothWaysThroughRandomCuts() throws {
        let plan = BulkPlan(count: 50_000)
        var policy = AutoAcceptPolicy()
        policy.credit = .prefetch(100)
        policy.session.incomingWindow = 64
        var p = openedPipe { c, s in
            s.autoAccept = policy
            c.maxFrameSize = 8_192
            s.maxFrameSize = 63_488
        }
        p.record = false
        p.cuts = SeededRandom(seed: 7)
        let client = BulkSide(plan: plan)
        let server = BulkSide(plan: plan)
        p.onClient = { _, e in client.handle(e) }
        p.onServer = { _, e in
            server.handle(e)
            if case .link(.attached(let link, let a)) = e {
                // The listener's senders answer the client's receivers "s2c-<k>".
                if a.name.hasPrefix("s2c-"), let k = Int(a.name.dropFirst(4)) { server.senders[k] = link }
                if a.name.hasPrefix("c2s-"), let k = Int(a.name.dropFirst(4)) { server.receivers[link] = k }
            }
        }
        var session = SessionConfiguration()
        session.incomingWindow = 50
        // Two sessions, links spread over both, so sessions take turns too.
        let sessions = [try p.client.beginSession(session), try p.client.beginSession(session)]
        for k in 0..<BulkPlan.links {
            var out = LinkConfiguration.sender(name: "c2s-\(k)", to: "in")
            var back = LinkConfiguration.receiver(name: "s2c-\(k)", from: "out", credit: .prefetch(64))
            switch k {
            case 0:
                out.sndSettleMode = .settled
                back.sndSettleMode = .settled
            case 1:
                out.sndSettleMode = .unsettled
                back.streaming = true
            default:
                out.rcvSettleMode = .second
                back.rcvSettleMode = .second
                // The listener's sender takes the mode its peer asks for.
                back.sndSettleMode = .unsettled
            }
            client.senders[k] = try p.client.attachLink(session: sessions[k % 2], out)
            client.receivers[try p.client.attachLink(session: sessions[(k + 1) % 2], back)] = k
        }
        var rounds = 0
        while rounds < 200_000 {
            rounds += 1
            try client.feed(&p.client)
            try server.feed(&p.server)
            p.step()
            try client.settle(&p.client)
            try server.settle(&p.server)
            if client.done && server.done && client.awaiting.isEmpty && server.awaiting.isEmpty && p.quiet { break }
            if !client.problems.isEmpty || !server.problems.isEmpty { break }
        }
        var big = 0, total = 0
        for i in 0..<plan.count { let n = BulkPlan.size(i); total += n; if n > 8_192 { big += 1 } }
        print("STATS rounds=\(rounds) bytesPerDirection=\(total) over8K=\(big) max=\((0..<plan.count).map(BulkPlan.size).max()!)")
        #expect(client.problems == [])
        #expect(server.problems == [])
        #expect(client.received == plan.count)
        #expect(server.received == plan.count)
        let unsettledPerSide = plan.count - (plan.count + 2) / 3
        #expect(client.outcomes == unsettledPerSide)
        #expect(server.outcomes == unsettledPerSide)
        #expect(client.remoteSettled == plan.count / 3)
        #expect(server.remoteSettled == plan.count / 3)
        // The modes the links run in, as each side's peer announced them.
        let modes: [(SenderSettleMode, ReceiverSettleMode)] = [(.settled, .first), (.unsettled, .first), (.mixed, .second)]
        let backModes: [(SenderSettleMode, ReceiverSettleMode)] = [(.settled, .first), (.mixed, .first), (.unsettled, .second)]
        for (link, k) in server.receivers {
            let a = p.server.remoteAttach(of: link)
            #expect(a?.sndSettleMode == modes[k].0 && a?.rcvSettleMode == modes[k].1, "c2s-\(k)")
        }
        for (link, k) in client.receivers {
            let a = p.client.remoteAttach(of: link)
            #expect(a?.sndSettleMode == backModes[k].0 && a?.rcvSettleMode == backModes[k].1, "s2c-\(k)")
        }
        #expect(server.receivers.count == BulkPlan.links && client.receivers.count == BulkPlan.links)
        #expect(p.client.state == .opened && p.server.state == .opened)
        p.client.close()
        p.run()
        #expect(p.client.state == .end && p.server.state == .end)
    }
}
