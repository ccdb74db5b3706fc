import AMQPCodec
import AMQPEngine
import Testing

/// A sender with `manualDrain` (a broker that holds messages outside the engine) keeps a
/// drain request's credit until the application has sent what it has.
@Suite struct ManualDrainTests {
    /// A receiver with manual credit, attached to a server sender accepted with
    /// `manualDrain`.
    func brokerLink() throws -> LinkedPipe {
        var p = openedPipe { _, s in s.autoAccept = nil }
        p.onServer = { server, e in
            if case .session(.remoteBegin(let id, _)) = e { try? server.acceptSession(id) }
            if case .link(.remoteAttach(let id, let attach)) = e {
                var c = LinkConfiguration.accepting(attach)
                c.manualDrain = true
                try? server.acceptLink(id, configuration: c)
            }
        }
        let sid = try p.client.beginSession()
        let lid = try p.client.attachLink(session: sid, .receiver(name: "r", from: "q", credit: .manual))
        p.run()
        let server = try #require(p.serverSeen.link)
        #expect(p.client.isAttached(lid))
        p.onServer = nil
        p.clientEvents = []
        p.serverEvents = []
        return LinkedPipe(p: p, client: lid, server: server, session: sid)
    }

    @Test func drainWaitsForTheApplication() throws {
        var l = try brokerLink()
        try l.p.client.flow(on: l.client, credit: 10, drain: true)
        l.p.run()
        // Reported, not answered: the credit is still there to use.
        #expect(l.p.serverEvents == ["credit:0/0:10:drain"])
        #expect(l.p.server.credit(on: l.server) == 10)
        for _ in 0..<3 { _ = try l.p.server.send(on: l.server, payload: [1, 2], settled: true) }
        try l.p.server.completeDrain(on: l.server)
        l.p.run()
        #expect(l.p.clientEvents == [
            "delivery:0/0:0:2:settled", "delivery:0/0:1:2:settled", "delivery:0/0:2:2:settled", "drained:0/0",
        ])
        #expect(l.p.serverEvents.last == "drained:0/0")
        #expect(l.p.server.credit(on: l.server) == 0)
        #expect(l.p.client.credit(on: l.client) == 0)
    }

    @Test func nothingToSendGivesTheCreditBackOnCompletion() throws {
        var l = try brokerLink()
        try l.p.client.flow(on: l.client, credit: 4, drain: true)
        l.p.run()
        #expect(l.p.clientEvents.isEmpty)
        try l.p.server.completeDrain(on: l.server)
        l.p.run()
        #expect(l.p.clientEvents == ["drained:0/0"])
        // Credit granted afterwards counts from the advanced delivery-count.
        try l.p.client.flow(on: l.client, credit: 2)
        l.p.run()
        #expect(l.p.server.credit(on: l.server) == 2)
        // Without a drain request, completing does nothing.
        try l.p.server.completeDrain(on: l.server)
        l.p.run()
        #expect(l.p.server.credit(on: l.server) == 2)
    }

    @Test func aNewRequestNeedsANewAnswer() throws {
        var l = try brokerLink()
        try l.p.client.flow(on: l.client, credit: 2, drain: true)
        l.p.run()
        try l.p.server.completeDrain(on: l.server)
        l.p.run()
        try l.p.client.flow(on: l.client, credit: 5, drain: true)
        l.p.run()
        #expect(l.p.server.credit(on: l.server) == 5)
        #expect(l.p.clientEvents == ["drained:0/0"])
    }
}
