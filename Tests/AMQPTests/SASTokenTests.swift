import AMQP
import Testing

@Suite("Shared Access Signature tokens")
struct SASTokenTests {
    // Expected strings computed by the reference's algorithm (uamqp's generate_sas_token:
    // quote_plus, HMAC-SHA256 keyed with the key's UTF-8, base64, urlencode) in Python.
    @Test func exactTokenForFixedInputs() {
        let token = SharedAccessSignature.token(
            resource: "sb://contoso.servicebus.windows.net/orders", keyName: "RootManageSharedAccessKey",
            key: "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo=", expiry: 1_700_000_000)
        #expect(token == "SharedAccessSignature sr=sb%3A%2F%2Fcontoso.servicebus.windows.net%2Forders&sig=Ne5jJZCN35UgULW0m1fFSPdDvjVAeelIHtoGHWq5psg%3D&se=1700000000&skn=RootManageSharedAccessKey")
    }

    @Test func spacesSlashesAndNonASCIIAreEncodedLikeTheReference() {
        let token = SharedAccessSignature.token(
            resource: "sb://my ns.servicebus.windows.net/q?x=é", keyName: "send policy", key: "secret", expiry: 1_893_456_000)
        #expect(token == "SharedAccessSignature sr=sb%3A%2F%2Fmy+ns.servicebus.windows.net%2Fq%3Fx%3D%C3%A9&sig=xOwkoh1bNLc2%2FDSAD31noFnhXdIE8bX%2FbqXK52QaCyw%3D&se=1893456000&skn=send+policy")
    }

    @Test func emptyKeyNameIsLeftOut() {
        let token = SharedAccessSignature.token(resource: "r", keyName: "", key: "k", expiry: 1)
        #expect(token.hasPrefix("SharedAccessSignature sr=r&sig="))
        #expect(token.hasSuffix("&se=1"))
    }

    @Test func providerSignsWithItsClockAndValidity() {
        let provider = SASTokenProvider(
            keyName: "RootManageSharedAccessKey", key: "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo=",
            validity: .seconds(3600), clock: { Timestamp(millisecondsSinceEpoch: 1_699_996_400_999) })
        let t = provider.makeToken(for: "sb://contoso.servicebus.windows.net/orders")
        #expect(t.type == .sasToken)
        #expect(t.expiresAt == Timestamp(secondsSinceEpoch: 1_700_000_000))
        #expect(t.token == SharedAccessSignature.token(
            resource: "sb://contoso.servicebus.windows.net/orders", keyName: "RootManageSharedAccessKey",
            key: "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo=", expiry: 1_700_000_000))
        #expect(!t.description.contains("sig="))
    }

    @Test func providerDefaultsToOneHour() async throws {
        let provider = SASTokenProvider(keyName: "k", key: "v", clock: { Timestamp(secondsSinceEpoch: 1_000) })
        #expect(provider.validity == .seconds(3600))
        let t = try await provider.token(for: "a")
        #expect(t.expiresAt == Timestamp(secondsSinceEpoch: 4_600))
    }

    @Test func tokenTypes() {
        #expect(CBSTokenType.sasToken.rawValue == "servicebus.windows.net:sastoken")
        #expect(CBSTokenType.jwt.rawValue == "jwt")
    }

    @Test func wallClockIsPlausible() {
        let now = Timestamp.now()
        // After 2024-01-01 and before 2100-01-01.
        #expect(now.secondsSinceEpoch > 1_704_067_200)
        #expect(now.secondsSinceEpoch < 4_102_444_800)
        #expect(Timestamp(millisecondsSinceEpoch: -1).secondsSinceEpoch == -1)
        #expect(Timestamp(millisecondsSinceEpoch: 1_500).advanced(by: .milliseconds(2_500)) == Timestamp(millisecondsSinceEpoch: 4_000))
    }
}
