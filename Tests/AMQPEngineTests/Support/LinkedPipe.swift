import AMQPCodec
import AMQPEngine
import Testing

/// An opened pipe with one session and one attached link: the client's end is `client`,
/// the server's (auto-accepted) end is `server`.
struct LinkedPipe {
    var p: Pipe
    var client: LinkID
    var server: LinkID
    var session: SessionID

    /// Queues, as if the server's sender had written it, a pre-settled one-byte TRANSFER
    /// with delivery-id `id` (and a tag made from it), bypassing the server's own checks.
    mutating func injectSettledTransfer(id: DeliveryNumber) {
        p.inject(toClient: .transfer(Transfer(
            handle: server.handle, deliveryID: id, deliveryTag: DeliveryTag(UInt64(id)), messageFormat: 0, settled: true)),
            channel: server.session.channel, payload: [1])
    }
}

func linkedPipe(
    _ link: LinkConfiguration,
    session: SessionConfiguration = .init(),
    policy: AutoAcceptPolicy = .init(),
    configure: (inout ConnectionConfiguration, inout ConnectionConfiguration) -> Void = { _, _ in }
) throws -> LinkedPipe {
    var p = openedPipe { c, s in
        s.autoAccept = policy
        configure(&c, &s)
    }
    let sid = try p.client.beginSession(session)
    let lid = try p.client.attachLink(session: sid, link)
    p.run()
    let server = try #require(p.serverSeen.link)
    #expect(p.client.isAttached(lid))
    p.clientEvents = []
    p.serverEvents = []
    return LinkedPipe(p: p, client: lid, server: server, session: sid)
}

/// `count` bytes of a recognisable pattern.
func pattern(_ count: Int, seed: UInt8 = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) }
}

/// Counts the frames of one kind a side wrote, from its trace.
func framesWritten(_ events: [String], _ name: String) -> Int {
    events.filter { $0.hasPrefix("trace:-> [\(name)]") }.count
}
