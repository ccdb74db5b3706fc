import AMQP
import AMQPTool
import ArgumentParser
import Testing

@Suite("amqp send and receive: URLs, options, output, exit statuses")
struct ClientOptionsTests {
    @Test func urlWithoutUserLogsInAnonymously() throws {
        let node = try NodeURL("amqp://broker.example.com/orders")
        #expect(node.address == "orders")
        #expect(node.settings.endpoint.host == "broker.example.com")
        #expect(node.settings.endpoint.port == 5672)
        #expect(node.settings.sasl == .anonymous())
        #expect(node.description == "amqp://broker.example.com:5672/orders")
    }

    @Test func urlWithUserLogsInWithPlain() throws {
        let node = try NodeURL("amqp://al%40ice:p%3Ass%2Fw@[::1]:5673/a%2Fb%20c")
        #expect(node.address == "a/b c")
        #expect(node.settings.endpoint.host == "::1")
        #expect(node.settings.endpoint.port == 5673)
        #expect(node.settings.sasl == .plain(username: "al@ice", password: "p:ss/w"))
        #expect(node.description == "amqp://[::1]:5673/a/b c")
    }

    @Test(arguments: [
        ("amqp://broker", "names no address"),
        ("amqp://broker/", "names no address"),
        ("broker:5672", "expected a URL"),
        ("http://broker/q", "unsupported scheme"),
        ("amqp://broker:0/q", "invalid port"),
        ("amqp://broker:99999/q", "invalid port"),
        ("amqp://u:p%zz@broker/q", "percent-escape"),
        ("amqp://broker/q%2", "percent-escape"),
        ("amqp://[::1/q", "invalid hostname"),
        ("amqp:///q", "invalid hostname"),
    ])
    func badURLsAreUsageErrors(_ url: String, _ reason: String) {
        do {
            let node = try NodeURL(url)
            Issue.record("\(url) parsed as \(node.description)")
        } catch {
            #expect(error.message.contains(reason), "\(error.message)")
        }
        // Through the command line: ArgumentParser's usage status, 64.
        do {
            _ = try SendCommand.parse([url])
            Issue.record("\(url) was accepted")
        } catch {
            #expect(SendCommand.exitCode(for: error) == ExitCode(64))
        }
    }

    @Test func errorsNeverShowThePassword() {
        do {
            _ = try NodeURL("amqps://alice:hunter2@broker:0/q")
            Issue.record("port 0 was accepted")
        } catch {
            #expect(!error.message.contains("hunter2"))
            #expect(error.message.contains("amqps://alice:***@broker:0/q"))
        }
    }

    @Test(arguments: [
        ["--count", "0"], ["--window", "0"], ["--timeout", "0"], ["--timeout", "-1"], ["--size", "-1"],
        ["--size", "3", "--body", "x"], ["--property", "novalue"], ["--property", "=v"], ["--body-type", "xml"],
    ])
    func badSendOptionsAreRefused(_ options: [String]) {
        #expect(throws: (any Error).self) { try SendCommand.parse(["amqp://127.0.0.1/q"] + options) }
    }

    @Test(arguments: [["--count", "0"], ["--prefetch", "0"], ["--timeout", "0"], ["--timeout", "nan"]])
    func badReceiveOptionsAreRefused(_ options: [String]) {
        #expect(throws: (any Error).self) { try ReceiveCommand.parse(["amqp://127.0.0.1/q"] + options) }
    }

    @Test func everyFailureClassHasItsOwnStatus() {
        func error(_ kind: AMQPClientError.Kind, _ condition: ErrorCondition = .internalError, _ origin: AMQPClientError.Origin = .remote) -> AMQPClientError {
            AMQPClientError(kind: kind, condition: condition, origin: origin)
        }
        #expect(ClientExitStatus(classifying: error(.authentication, .unauthorizedAccess)) == .authentication)
        #expect(ClientExitStatus(classifying: error(.linkDetach, .notFound)) == .linkRefused)
        #expect(ClientExitStatus(classifying: error(.vendorLinkDetach, ErrorCondition(Symbol("com.example:gone")))) == .linkRefused)
        #expect(ClientExitStatus(classifying: error(.linkRedirect, .linkRedirect)) == .linkRefused)
        #expect(ClientExitStatus(classifying: error(.connectionClose, .connectionForced, .transport)) == .unreachable)
        #expect(ClientExitStatus(classifying: error(.connectionClose, .unauthorizedAccess, .local)) == .authentication)
        #expect(ClientExitStatus(classifying: error(.connectionClose, .framingError, .remote)) == .protocolError)
        #expect(ClientExitStatus(classifying: error(.connectionClose, .decodeError, .local)) == .protocolError)
        #expect(ClientExitStatus(classifying: error(.sessionEnd, .windowViolation)) == .protocolError)
        #expect(ClientExitStatus(classifying: error(.timeout, .internalError, .client)) == .timeout)
        #expect(ClientExitStatus(classifying: error(.configuration, .invalidField, .client)) == .usage)
        #expect(ClientExitStatus(classifying: error(.messageSendFailed, .notAllowed)) == .notAccepted)
        #expect(ClientExitStatus(classifying: error(.clientError, .clientError, .client)) == .internalFailure)
        // Distinct numbers, and the help lists every one of them.
        let codes = ClientExitStatus.allCases.map(\.rawValue)
        #expect(Set(codes).count == codes.count)
        for status in ClientExitStatus.allCases {
            #expect(ClientExitStatus.table.contains("  \(status.rawValue) "))
        }
        #expect(ClientExitStatus.usage.rawValue == ExitCode.validationFailure.rawValue)
    }

    @Test func messageAsOneJSONLine() throws {
        var m = Message(body: .data([Array("ab".utf8), [0xFF]]))
        m.header = MessageHeader(durable: true, priority: 7, ttl: 1_000, deliveryCount: 2)
        m.deliveryAnnotations = ["x-trace": .string("t1")]
        m.messageAnnotations = ["x-opt-partition-key": .string("p"), 42: .boolean(true)]
        m.properties = MessageProperties(
            messageID: .uuid(AMQPUUID(high: 0x0001_0203_0405_0607, low: 0x0809_0a0b_0c0d_0e0f)), userID: [0xCA, 0xFE], to: "q", subject: "s\"1",
            replyTo: "r", correlationID: .string("c"), contentType: "text/plain", contentEncoding: "gzip",
            absoluteExpiryTime: Timestamp(millisecondsSinceEpoch: 2_000), creationTime: Timestamp(millisecondsSinceEpoch: 1_000),
            groupID: "g", groupSequence: 3, replyToGroupID: "rg")
        m.applicationProperties = ["n": .int(5), "big": .ulong(UInt64.max), "b": .binary([1, 2])]
        m.footer = ["x-sig": .binary([9])]
        let expected = #"{"header":{"durable":true,"priority":7,"ttl":1000,"first-acquirer":false,"delivery-count":2},"#
            + #""delivery-annotations":{"x-trace":{"type":"string","value":"t1"}},"#
            + #""message-annotations":{"x-opt-partition-key":{"type":"string","value":"p"},"42":{"type":"boolean","value":true}},"#
            + #""properties":{"message-id":{"type":"uuid","value":"00010203-0405-0607-0809-0a0b0c0d0e0f"},"user-id":"cafe","to":"q","subject":"s\"1","reply-to":"r","#
            + #""correlation-id":{"type":"string","value":"c"},"content-type":"text/plain","content-encoding":"gzip","absolute-expiry-time":2000,"#
            + #""creation-time":1000,"group-id":"g","group-sequence":3,"reply-to-group-id":"rg"},"#
            + #""application-properties":{"n":{"type":"int","value":5},"big":{"type":"ulong","value":"18446744073709551615"},"b":{"type":"binary","value":"0102"}},"#
            + #""body":{"type":"data","value":["6162","ff"]},"#
            + #""footer":{"x-sig":{"type":"binary","value":"09"}}}"#
        #expect(try JSONRenderer.render(m) == expected)
        // A data body that is UTF-8 also shows as text; nothing else is printed for an
        // empty message but the body.
        #expect(try JSONRenderer.render(Message(body: Array("hi".utf8))) == #"{"body":{"type":"data","value":["6869"],"text":"hi"}}"#)
        #expect(try JSONRenderer.render(Message(sequence: [.int(1), .null])) == #"{"body":{"type":"sequence","value":[[{"type":"int","value":1},{"type":"null"}]]}}"#)
    }
}
