import AMQPCodec
import AMQPEngine
import Testing

// amqp:link:stolen between two engines, across sessions (part 2, section 2.6.1: a link is
// its name, direction and the two containers, whatever the session). The hostile cases
// (HostileStealAcrossSessionsCases.swift) drive one engine by hand; here the client
// engine attaches a name again on a second session, as a client recovering a link would,
// and the server engine's steal reaches it as a peer's DETACH.

@Suite struct LinkStealingTests {
    @Test func attachingANameAgainOnAnotherSessionStealsTheFirst() throws {
        var l = try linkedPipe(.sender(name: "s1", to: "q"))
        let sent = try l.p.client.send(on: l.client, payload: [1, 2, 3])
        l.p.run()
        #expect(l.p.server.footprint.heldLinkNames == 1)

        let second = try l.p.client.beginSession()
        let again = try l.p.client.attachLink(session: second, .sender(name: "s1", to: "q"))
        l.p.run()
        // The server detached its first link as stolen, on the first session; the client
        // lost the delivery the server never settled, and both second links are attached.
        #expect(l.p.serverEvents.contains("detached:0/0:closed:local:amqp:link:stolen"))
        #expect(l.p.clientEvents.contains("lost:0/0:\(sent.rawValue):sent"))
        #expect(l.p.clientEvents.contains("detached:0/0:closed:remote:amqp:link:stolen"))
        #expect(!l.p.client.isAttached(l.client))
        #expect(l.p.client.isAttached(again))
        let server = try #require(l.p.serverSeen.link)
        #expect(server.session.channel == 1 && l.p.server.isAttached(server))
        #expect(l.p.client.isActive(l.session))
        for side in [l.p.client.footprint, l.p.server.footprint] {
            #expect(side.links == 1 && side.heldLinkNames == 1)
            #expect(side.unsettledOutgoing == 0 && side.unsettledIncoming == 0)
        }

        // The connection's end forgets every name.
        l.p.client.close()
        l.p.run()
        #expect(l.p.client.isFinished && l.p.server.isFinished)
        #expect(l.p.client.footprint.heldLinkNames == 0)
        #expect(l.p.server.footprint.heldLinkNames == 0)
    }
}
