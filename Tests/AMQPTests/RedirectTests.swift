import AMQP
import Testing

@Suite("RedirectInfo")
struct RedirectTests {
    /// The info of a real IoT Hub link redirect (from a uAMQP trace; namespace changed).
    static let iotHubInfo: Fields = [
        "hostname": "iothub-ns-contoso-1382746-675594b872.servicebus.windows.net",
        "network-host": "iothub-ns-contoso-1382746-675594b872.servicebus.windows.net",
        "port": .int(5671),
        "address": "amqps://iothub-ns-contoso-1382746-675594b872.servicebus.windows.net:5671/contoso/$management",
    ]

    @Test func linkRedirectFromIoTHub() throws {
        let r = try RedirectInfo(condition: .linkRedirect, info: Self.iotHubInfo)
        #expect(r.hostname == "iothub-ns-contoso-1382746-675594b872.servicebus.windows.net")
        #expect(r.networkHost == "iothub-ns-contoso-1382746-675594b872.servicebus.windows.net")
        #expect(r.port == 5671)
        #expect(r.address == "amqps://iothub-ns-contoso-1382746-675594b872.servicebus.windows.net:5671/contoso/$management")
        // Not sent, found in the address.
        #expect(r.scheme == "amqps")
        #expect(r.path == "/contoso/$management")
        let current = AMQPEndpoint(scheme: .amqps, host: "contoso.azure-devices.net", port: 5671)
        #expect(r.endpoint(from: current) == AMQPEndpoint(scheme: .amqps, host: "iothub-ns-contoso-1382746-675594b872.servicebus.windows.net", port: 5671, path: "/contoso/$management"))
    }

    @Test func serviceBusStyleInfoWithTrackingIDAndSymbolValues() throws {
        // amqp10's capture of an Azure redirect: extra vendor keys, and some peers send
        // text as symbols and ports as uint or ushort.
        let info: Fields = [
            "hostname": "ns.servicebus.windows.net",
            "network-host": .symbol("gw-prod-by3-003.cloudapp.net"),
            "port": .ushort(10_400),
            "address": "amqps://gw-prod-by3-003.cloudapp.net:10400/myhub/ConsumerGroups/$Default/Partitions/0",
            "com.microsoft:tracking-id": "2d141ede6407466183646c3bd3447d3a-G:10",
        ]
        let r = try RedirectInfo(condition: .linkRedirect, info: info)
        #expect(r.connectHost == "gw-prod-by3-003.cloudapp.net")
        #expect(r.virtualHost == "ns.servicebus.windows.net")
        #expect(r.port == 10_400)
        #expect(r.path == "/myhub/ConsumerGroups/$Default/Partitions/0")
        #expect(r.description == "amqp:link:redirect to gw-prod-by3-003.cloudapp.net:10400 (virtual host ns.servicebus.windows.net), address amqps://gw-prod-by3-003.cloudapp.net:10400/myhub/ConsumerGroups/$Default/Partitions/0")
    }

    @Test func connectionRedirectWithHostAndPortOnly() throws {
        let r = try RedirectInfo(condition: .connectionRedirect, info: ["hostname": "b2.example.com", "port": .uint(5673)])
        #expect(r.connectHost == "b2.example.com")
        #expect(r.address == nil)
        #expect(r.scheme == nil)
        let e = r.endpoint(from: AMQPEndpoint(scheme: .amqp, host: "b1.example.com", port: 5672))
        #expect(e == AMQPEndpoint(scheme: .amqp, host: "b2.example.com", port: 5673))
    }

    @Test func missingPortFallsBackToTheSchemeOrCurrentPort() throws {
        let same = try RedirectInfo(condition: .connectionRedirect, info: ["network-host": "b2"])
        #expect(same.endpoint(from: AMQPEndpoint(host: "b1", port: 6000)).port == 6000)
        let tls = try RedirectInfo(condition: .connectionRedirect, info: ["network-host": "b2", "scheme": "amqps"])
        #expect(tls.endpoint(from: AMQPEndpoint(host: "b1", port: 6000)) == AMQPEndpoint(scheme: .amqps, host: "b2", port: 5671))
    }

    @Test func explicitSchemeAndPathWin() throws {
        let r = try RedirectInfo(condition: .linkRedirect, info: [
            "network-host": "h", "scheme": "amqp", "path": "/p", "address": "amqps://other:1/q",
        ])
        #expect(r.scheme == "amqp")
        #expect(r.path == "/p")
        #expect(r.port == 1)
    }

    @Test func hostComesFromTheAddressWhenOnlyItIsGiven() throws {
        let r = try RedirectInfo(condition: .linkRedirect, info: ["address": "amqp://10.1.1.1:5700/q"])
        #expect(r.connectHost == "10.1.1.1")
        #expect(r.port == 5700)
    }

    static let malformed: [(String, ErrorCondition, Fields?, RedirectError.Code)] = [
        ("not a redirect", .notFound, ["hostname": "h"], .notARedirect),
        ("no info", .linkRedirect, nil, .missingInfo),
        ("empty info", .connectionRedirect, [:], .missingInfo),
        ("no host", .linkRedirect, ["port": .int(5671), "address": "queue-without-url"], .missingHost),
        ("port zero", .linkRedirect, ["hostname": "h", "port": .int(0)], .invalidPort),
        ("port too big", .linkRedirect, ["hostname": "h", "port": .uint(70_000)], .invalidPort),
        ("negative port", .linkRedirect, ["hostname": "h", "port": .long(-5671)], .invalidPort),
        ("port text", .linkRedirect, ["hostname": "h", "port": "fifty"], .invalidPort),
        ("port binary", .linkRedirect, ["hostname": "h", "port": .binary([0x16, 0x27])], .invalidField),
        ("hostname number", .linkRedirect, ["hostname": .int(7)], .invalidField),
        ("address list", .linkRedirect, ["hostname": "h", "address": .list(["a"])], .invalidField),
    ]

    @Test(arguments: malformed)
    func malformedInfoIsATypedError(_ name: String, _ condition: ErrorCondition, _ info: Fields?, _ code: RedirectError.Code) {
        do {
            let r = try RedirectInfo(condition: condition, info: info)
            Issue.record("\(name): parsed as \(r)")
        } catch {
            #expect(error.code == code, "\(name): \(error)")
            #expect(!error.description.isEmpty)
        }
    }

    @Test func portGivenAsDigitsIsAccepted() throws {
        #expect(try RedirectInfo(condition: .linkRedirect, info: ["hostname": "h", "port": "5671"]).port == 5671)
    }
}
