import AMQP
import Testing

@Suite("CBS put-token request and response")
struct PutTokenTests {
    static let token = CBSToken(
        token: "SharedAccessSignature sr=sb%3A%2F%2Fns.servicebus.windows.net%2Fq&sig=abc%3D&se=1700000000&skn=send",
        type: .sasToken, expiresAt: Timestamp(secondsSinceEpoch: 1_700_000_000))

    @Test func requestMessageFieldsExactly() throws {
        let request = PutTokenRequest(token: Self.token, audience: "sb://ns.servicebus.windows.net/q", messageID: .ulong(0))
        let m = request.message
        #expect(m.properties == MessageProperties(messageID: .ulong(0), replyTo: "cbs"))
        #expect(m.applicationProperties?.entries == [
            .init(key: "operation", value: .string("put-token")),
            .init(key: "type", value: .string("servicebus.windows.net:sastoken")),
            .init(key: "name", value: .string("sb://ns.servicebus.windows.net/q")),
            .init(key: "expiration", value: .timestamp(Timestamp(millisecondsSinceEpoch: 1_700_000_000_000))),
        ])
        #expect(m.body == .value(.string(Self.token.token)))
        #expect(m.header == nil)
        #expect(m.messageAnnotations == nil)
        #expect(m.deliveryAnnotations == nil)
        #expect(m.footer == nil)
    }

    @Test func requestEncodesAndDecodesBack() throws {
        let m = PutTokenRequest(token: Self.token, audience: "aud", messageID: .ulong(41), replyTo: "cbs-reply").message
        let bytes = try m.encoded()
        #expect(try Message(decoding: bytes) == m)
        // The expiration goes out as an AMQP timestamp (0x83), as Azure's own clients send it.
        let key = Array("expiration".utf8)
        let at = try #require(bytes.indices.first { Array(bytes[$0..<min($0 + key.count, bytes.count)]) == key })
        #expect(bytes[at + key.count] == 0x83)
    }

    @Test func jwtRequest() {
        let jwt = CBSToken(token: "eyJhbGciOi.eyJzdWIi.sig", type: .jwt, expiresAt: Timestamp(secondsSinceEpoch: 1))
        let m = PutTokenRequest(token: jwt, audience: "sb://ns.servicebus.windows.net/", messageID: .ulong(7)).message
        #expect(m.applicationProperties?["type"] == .string("jwt"))
        #expect(m.properties?.messageID == .ulong(7))
    }

    static func response(_ status: AMQPValue?, _ description: AMQPValue? = nil, correlation: MessageID? = .ulong(0)) -> Message {
        var props = ApplicationProperties()
        if let status { props["status-code"] = status }
        if let description { props["status-description"] = description }
        return Message(properties: MessageProperties(correlationID: correlation), applicationProperties: props, body: .value(.null))
    }

    @Test(arguments: [AMQPValue.int(200), .int(202), .uint(200), .long(202), .ushort(200)])
    func successStatuses(status: AMQPValue) throws {
        let r = try PutTokenResponse(Self.response(status, "OK"))
        #expect(r.isSuccess)
        #expect(r.statusDescription == "OK")
        #expect(r.correlationID == .ulong(0))
    }

    @Test(arguments: [204, 400, 401, 403, 404, 500, 503])
    func otherStatusesAreFailures(status: Int) throws {
        let r = try PutTokenResponse(Self.response(.int(Int32(status)), .symbol("Unauthorized")))
        #expect(!r.isSuccess)
        #expect(r.statusCode == status)
        #expect(r.statusDescription == "Unauthorized")
    }

    @Test(arguments: [nil, AMQPValue.string("200"), .null, .double(200)])
    func missingOrNonIntegerStatusIsATypedError(status: AMQPValue?) {
        do {
            let r = try PutTokenResponse(Self.response(status))
            Issue.record("parsed as \(r)")
        } catch {
            #expect(error.kind == .tokenAuthFailure)
            #expect(error.condition == .decodeError)
            #expect(!error.action.retry)
            #expect(error.description.contains("status-code"))
        }
    }
}
