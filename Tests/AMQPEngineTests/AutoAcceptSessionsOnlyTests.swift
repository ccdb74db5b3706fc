import AMQPCodec
import AMQPEngine
import AMQPHostileCases
import AMQPTesting
import Testing

/// `AutoAcceptPolicy.links = false`: sessions are accepted as their BEGIN arrives, links
/// are the application's to decide, and what a client pipelines behind BEGIN (as Qpid
/// Proton does) is acted upon.
@Suite struct AutoAcceptSessionsOnlyTests {
    @Test func pipelinedAttachAndFlowReachTheApplication() throws {
        var c = engineConfiguration(.server)
        var policy = AutoAcceptPolicy()
        policy.links = false
        c.autoAccept = policy
        var server = ConnectionEngine(configuration: c)
        server.open()
        let now = EngineInstant(nanoseconds: 1_000_000_000)
        // Everything in one go, before any answer: header, OPEN, BEGIN, a receiver's
        // ATTACH and its FLOW.
        let bytes = FrameBytes.header(.amqp) + FrameBytes.frame(.open(peerOpen("proton-like")))
            + FrameBytes.frame(.begin(Begin(nextOutgoingID: 0, incomingWindow: 100, outgoingWindow: 100)))
            + FrameBytes.frame(.attach(Attach(
                name: "r", handle: 0, role: .receiver, source: Source(address: "q"), target: .target(Target()))))
            + FrameBytes.frame(.flow(Flow(
                nextIncomingID: 0, incomingWindow: 100, nextOutgoingID: 0, outgoingWindow: 100, handle: 0,
                deliveryCount: 0, linkCredit: 7)))
        #expect(server.receive(bytes, now: now) == bytes.count)
        let events = server.drainEvents()
        var attached: LinkID? = nil
        for e in events {
            if case .session(.remoteBegin) = e { Issue.record("the session should be accepted automatically") }
            if case .link(.remoteAttach(let id, _)) = e { attached = id }
        }
        let link = try #require(attached)
        try server.acceptLink(link)
        #expect(server.credit(on: link) == 7)
        let answer = server.produceFrames(now: now).compactMap(\.performative).map(\.name)
        #expect(answer == ["open", "begin", "attach"])
    }
}
