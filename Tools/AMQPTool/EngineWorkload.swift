import AMQPCodec
public import AMQPEngine

/// The engine-to-engine workload that `amqp bench --mode engine`, the ordo-one suite and
/// `EngineProbe` measure (issue 3): a client and a listener `ConnectionEngine` joined
/// in memory, with no sockets and no reactor, moving at-least-once messages from a
/// sender on the client to a receiver on the listener.
///
/// The message is `CodecWorkload`'s (header, properties, one data section of
/// `payloadSize` bytes), encoded once; every `send` passes the same array, which the
/// engine keeps by reference. The listener auto-accepts with a prefetch credit of
/// `credit`; each round, its receiver settles everything that arrived as `accepted` in
/// one range. Bytes go from one engine's `produce` into a fixed buffer and from there
/// into the other's `receive`, both ways, until every message is accepted at the sender.
///
/// Nothing in a round allocates once the engines' queues have grown to their working
/// size (the first `run` does that).
public struct EngineWorkload {
    /// What a run moved.
    public struct Totals: Hashable, Sendable {
        /// Messages accepted at the sender.
        public var messages = 0
        /// Bytes the client wrote (frame headers, TRANSFERs and messages).
        public var clientBytes = 0
        /// Bytes the listener wrote (FLOWs and DISPOSITIONs).
        public var serverBytes = 0
        /// Produce/receive exchanges in each direction.
        public var rounds = 0
        /// DISPOSITION ranges the receiver settled.
        public var settleCalls = 0
    }

    /// Bytes in the message's data section.
    public let payloadSize: Int
    /// The receiver's prefetch credit.
    public let credit: UInt32
    /// The encoded message every delivery carries.
    public let message: [UInt8]
    /// The client: its sender sends `message`.
    public private(set) var client: ConnectionEngine
    /// The listener: its receiver settles deliveries `accepted`, in ranges.
    public private(set) var server: ConnectionEngine
    /// The client's sending link.
    public let sender: LinkID
    /// The listener's receiving link.
    public let receiver: LinkID
    /// The fixed buffer both directions pass through.
    let wire: WireBuffer

    /// Opens both engines, a session and a sender → receiver link, and waits for credit.
    ///
    /// - Parameters:
    ///   - payloadSize: bytes in the message's data section.
    ///   - credit: the receiver's prefetch credit.
    ///   - bufferSize: the room each `produce` call gets.
    public init(payloadSize: Int = 100, credit: UInt32 = 1_000, bufferSize: Int = 65_536) {
        self.payloadSize = payloadSize
        self.credit = credit
        // The workload is built from constants: encoding it cannot fail.
        message = try! CodecWorkload(payloadSize: payloadSize).message.encoded()
        wire = WireBuffer(count: bufferSize)

        var policy = AutoAcceptPolicy()
        policy.credit = .prefetch(credit)
        var s = ConnectionConfiguration(role: .server, containerID: "bench-listener")
        s.autoAccept = policy
        server = ConnectionEngine(configuration: s)
        server.open()
        client = ConnectionEngine(configuration: ConnectionConfiguration(role: .client, containerID: "bench-client"))
        client.open()
        // Neither call can fail on a fresh, open-requested engine.
        let session = try! client.beginSession()
        sender = try! client.attachLink(session: session, .sender(name: "bench", to: "queue://bench"))

        var receiver: LinkID? = nil
        var credited = false
        for _ in 0..<16 where receiver == nil || !credited {
            let n = client.produce(into: wire.bytes, now: .zero)
            _ = server.receive(UnsafeRawBufferPointer(rebasing: wire.bytes[0..<n]), now: .zero)
            while let e = server.nextEvent() {
                if case .link(.attached(let id, _)) = e { receiver = id }
            }
            let m = server.produce(into: wire.bytes, now: .zero)
            _ = client.receive(UnsafeRawBufferPointer(rebasing: wire.bytes[0..<m]), now: .zero)
            while let e = client.nextEvent() {
                if case .link(.credit(_, let c, _)) = e, c > 0 { credited = true }
            }
        }
        guard let receiver, credited else { preconditionFailure("the bench link did not attach: \(client.state) / \(server.state)") }
        self.receiver = receiver
    }

    /// Sends `count` messages and runs until the sender has every outcome; returns what
    /// moved. Every outcome must be `accepted` and settled.
    public mutating func run(messages count: Int) -> Totals {
        var totals = Totals()
        var sent = 0
        var stalled = 0
        let buffer = wire.bytes
        while totals.messages < count {
            while sent < count && client.sendable(on: sender) > 0 {
                // Only fails for a link that is gone: the bench cannot go on without it.
                _ = try! client.send(on: sender, payload: message)
                sent &+= 1
            }

            let n = client.produce(into: buffer, now: .zero)
            let taken = server.receive(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), now: .zero)
            precondition(taken == n, "the listener left a partial frame")
            totals.clientBytes &+= n
            // The deliveries' payloads borrow `buffer`: drain before it is reused.
            var first: DeliveryNumber = 0
            var last: DeliveryNumber = 0
            var any = false
            while let e = server.nextEvent() {
                guard case .link(.delivery(_, let d)) = e else { continue }
                if !any {
                    first = d.id
                    any = true
                }
                last = d.id
            }
            if any {
                try! server.settle(receiver, first: first, last: last, state: .accepted)
                totals.settleCalls &+= 1
            }

            let m = server.produce(into: buffer, now: .zero)
            let back = client.receive(UnsafeRawBufferPointer(rebasing: buffer[0..<m]), now: .zero)
            precondition(back == m, "the client left a partial frame")
            totals.serverBytes &+= m
            var accepted = 0
            while let e = client.nextEvent() {
                guard case .link(.outcomes(_, let handles, let state, let settled)) = e else { continue }
                precondition(settled && state == .accepted, "unexpected outcome \(String(describing: state))")
                accepted &+= handles.count
            }
            totals.messages &+= accepted
            totals.rounds &+= 1
            stalled = n == 0 && m == 0 && accepted == 0 ? stalled &+ 1 : 0
            precondition(stalled < 4, "the engines stopped moving: \(client.state) / \(server.state), \(totals)")
        }
        return totals
    }
}

/// A fixed buffer that outlives the workload's copies.
final class WireBuffer {
    let bytes: UnsafeMutableRawBufferPointer

    init(count: Int) {
        bytes = .allocate(byteCount: count, alignment: 16)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit { bytes.deallocate() }
}
