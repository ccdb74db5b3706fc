import AMQP
import AMQPCodec
import AMQPEngine
import AMQPPeer
import AMQPReactor
import Testing

/// The `$cbs` node, driven with the AMQP target's own put-token messages, so the client
/// library and the peer (written apart) check each other.
@Suite struct PeerCBSTests {
    let future = Timestamp(millisecondsSinceEpoch: Timestamp.now().millisecondsSinceEpoch + 3_600_000)

    func bed() throws -> PeerTestBed {
        try PeerTestBed {
            $0.cbs.protectedAddresses = ["secure"]
            $0.cbs.accepts = { $0.token == "good-token" && $0.type == "jwt" }
        }
    }

    /// Sends a put-token request and returns the CBS node's response (attaching the
    /// `$cbs` link pair on first use, as clients do).
    func putToken(_ client: TestClient, token: String, audience: String, expiresAt: Timestamp, id: UInt64) throws -> PutTokenResponse {
        let requests = try client.attached.first { $0.value.name == "cbs-requests" }?.key ?? client.sender(to: CBS.nodeAddress, name: "cbs-requests")
        var replies = LinkConfiguration.receiver(name: "cbs-replies", from: CBS.nodeAddress)
        replies.target = .target(Target(address: CBS.defaultReplyTo))
        let replyLink = try client.attached.first { $0.value.name == "cbs-replies" }?.key ?? client.attach(replies)
        client.deliveries[replyLink] = []
        let request = AMQP.PutTokenRequest(
            token: CBSToken(token: token, type: .jwt, expiresAt: expiresAt), audience: audience, messageID: .ulong(id))
        let handle = try client.send(requests, try request.message.encoded())
        try client.bed.pump("the CBS response") { !client.received(replyLink).isEmpty }
        #expect(client.outcomes[handle] == .some(.accepted))
        let response = try PutTokenResponse(try Message(decoding: client.received(replyLink)[0].payload))
        #expect(response.correlationID == .ulong(id))
        return response
    }

    @Test func acceptedTokenOpensTheAudiencesAddress() throws {
        let bed = try bed()
        let client = try bed.openClient()
        let early = try client.sender(to: "secure", name: "too-early")
        let refusal = try #require(client.detached[early] ?? nil)
        #expect(refusal.condition == .unauthorizedAccess)

        let response = try putToken(client, token: "good-token", audience: "amqp://127.0.0.1/secure", expiresAt: future, id: 7)
        #expect(response.statusCode == 200)
        #expect(response.isSuccess)
        let sender = try client.sender(to: "secure", name: "now")
        #expect(client.attached[sender] != nil && client.detached[sender] == nil)
        let h = try client.send(sender, message("classified"))
        try bed.pump("accepted") { client.outcomes[h] != nil }
        #expect(client.outcomes[h] == .some(.accepted))
        #expect(bed.peer.statistics.tokensAccepted == 1)
        // The grant belongs to that connection only.
        let other = try bed.openClient()
        let stranger = try other.sender(to: "secure")
        #expect((other.detached[stranger] ?? nil)?.condition == .unauthorizedAccess)
        try client.close()
        try other.close()
    }

    @Test func refusedTokenIs401AndKeepsTheAddressClosed() throws {
        let bed = try bed()
        let client = try bed.openClient()
        let response = try putToken(client, token: "bad-token", audience: "secure", expiresAt: future, id: 1)
        #expect(response.statusCode == 401)
        #expect(!response.isSuccess)
        let expired = try putToken(client, token: "good-token", audience: "secure", expiresAt: Timestamp(millisecondsSinceEpoch: 1_000), id: 2)
        #expect(expired.statusCode == 401)
        #expect(expired.statusDescription?.contains("expired") == true)
        let sender = try client.sender(to: "secure", name: "still-closed")
        #expect((client.detached[sender] ?? nil)?.condition == .unauthorizedAccess)
        #expect(bed.peer.statistics.tokensRefused == 2)
        try client.close()
    }

    @Test func audienceAddresses() {
        #expect(CBSRequest(token: "t", type: "jwt", audience: "sb://ns.example.net/hub").address == "hub")
        #expect(CBSRequest(token: "t", type: "jwt", audience: "amqps://ns.example.net/a/b/?x=1").address == "a/b")
        #expect(CBSRequest(token: "t", type: "jwt", audience: "sb://ns.example.net").address == "")
        #expect(CBSRequest(token: "t", type: "jwt", audience: "queue").address == "queue")
    }
}
