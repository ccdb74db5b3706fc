import AMQP
import Testing

@Suite("AMQPEndpoint parsing")
struct EndpointTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let text: String
        let scheme: AMQPEndpoint.Scheme
        let host: String
        let port: UInt16
        var username: String? = nil
        var password: String? = nil
        var path: String? = nil
        var testDescription: String { text }
    }

    static let valid: [Case] = [
        Case(text: "localhost", scheme: .amqp, host: "localhost", port: 5672),
        Case(text: "broker.example.com:5673", scheme: .amqp, host: "broker.example.com", port: 5673),
        Case(text: "10.0.0.7", scheme: .amqp, host: "10.0.0.7", port: 5672),
        Case(text: "10.0.0.7:1", scheme: .amqp, host: "10.0.0.7", port: 1),
        Case(text: "[::1]", scheme: .amqp, host: "::1", port: 5672),
        Case(text: "[fe80::1]:65535", scheme: .amqp, host: "fe80::1", port: 65535),
        Case(text: "::1", scheme: .amqp, host: "::1", port: 5672),
        Case(text: "amqp://broker", scheme: .amqp, host: "broker", port: 5672),
        Case(text: "AMQP://broker:6000", scheme: .amqp, host: "broker", port: 6000),
        Case(text: "amqps://ns.servicebus.windows.net", scheme: .amqps, host: "ns.servicebus.windows.net", port: 5671),
        Case(text: "amqps://ns.servicebus.windows.net:443/", scheme: .amqps, host: "ns.servicebus.windows.net", port: 443),
        Case(text: "amqp://guest:guest@localhost", scheme: .amqp, host: "localhost", port: 5672, username: "guest", password: "guest"),
        Case(text: "amqp://user@localhost:5672", scheme: .amqp, host: "localhost", port: 5672, username: "user"),
        Case(text: "amqp://a%20b:p%3Aw%40d%2F@[::1]:5000/vhost?x=1", scheme: .amqp, host: "::1", port: 5000, username: "a b", password: "p:w@d/", path: "/vhost"),
        Case(text: "amqp://u:p@ss@host", scheme: .amqp, host: "host", port: 5672, username: "u", password: "p@ss"),
        Case(text: "amqps://iothub-ns-x.servicebus.windows.net:5671/x/", scheme: .amqps, host: "iothub-ns-x.servicebus.windows.net", port: 5671, path: "/x/"),
    ]

    @Test(arguments: valid)
    func parses(_ c: Case) throws {
        let e = try AMQPEndpoint(parsing: c.text)
        #expect(e.scheme == c.scheme)
        #expect(e.host == c.host)
        #expect(e.port == c.port)
        #expect(e.username == c.username)
        #expect(e.password == c.password)
        #expect(e.path == c.path)
    }

    static let invalid: [(String, ConfigurationError.Code)] = [
        ("", .invalidHostname),
        ("host name", .invalidHostname),
        ("http://broker", .unsupportedScheme),
        ("amqpx://broker", .unsupportedScheme),
        ("amqp://", .invalidHostname),
        ("amqp://:5672", .invalidHostname),
        ("host:", .invalidPort),
        ("host:0", .invalidPort),
        ("host:65536", .invalidPort),
        ("host:-1", .invalidPort),
        ("host:56x", .invalidPort),
        ("host:123456", .invalidPort),
        ("[::1", .invalidHostname),
        ("[::1]x", .invalidHostname),
        ("broker/queue", .invalidHostname),
        ("user@broker", .invalidHostname),
        ("amqp://u:%zz@broker", .invalidEscape),
        ("amqp://u:%C3@broker", .invalidEscape),
    ]

    @Test(arguments: invalid)
    func refuses(_ text: String, _ code: ConfigurationError.Code) {
        do {
            let e = try AMQPEndpoint(parsing: text)
            Issue.record("\"\(text)\" parsed as \(e)")
        } catch {
            #expect(error.code == code, "\(error)")
            #expect(error.setting == "hostname")
        }
    }

    @Test(arguments: [
        ("amqp://broker/orders", "orders"),
        ("amqp://u:p@[::1]:5000/a%2Fb%20c?x=1#f", "a/b c"),
        ("amqps://ns.example.net/hub/partitions/0", "hub/partitions/0"),
        ("amqp://broker/%24cbs", "$cbs"),
        ("amqp://broker/caf%C3%A9", "café"),
    ])
    func pathIsTheNodeAddress(_ text: String, _ address: String) throws {
        #expect(try AMQPEndpoint(parsing: text).address == address)
    }

    @Test func noPathNoAddress() throws {
        #expect(try AMQPEndpoint(parsing: "amqp://broker").address == nil)
        #expect(try AMQPEndpoint(parsing: "amqp://broker/").address == nil)
        #expect(try AMQPEndpoint(parsing: "broker:5672").address == nil)
    }

    @Test(arguments: ["amqp://broker/q%2", "amqp://broker/q%zz", "amqp://broker/%C3"])
    func badPathEscapesAreRefused(_ text: String) {
        #expect(throws: ConfigurationError.self) { try AMQPEndpoint(parsing: text) }
        do {
            _ = try AMQPEndpoint(parsing: text)
        } catch {
            #expect(error.code == .invalidEscape)
            #expect(error.detail.contains("path"))
        }
    }

    @Test func descriptionNeverShowsThePassword() throws {
        let e = try AMQPEndpoint(parsing: "amqp://alice:secret@[::1]:5000")
        #expect(e.description == "amqp://[::1]:5000")
    }
}
