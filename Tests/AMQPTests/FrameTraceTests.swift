import AMQP
import AMQPEngine
import AMQPTesting
import Logging
import Synchronization
import Testing

@Suite("Frame tracing")
struct FrameTraceTests {
    @Test func headersAndEmptyFrames() {
        #expect(FrameTraceFormatter.header(.amqp, .outgoing) == "-> Header (AMQP 0.1.0.0)")
        #expect(FrameTraceFormatter.header(.sasl, .outgoing) == "-> Header (AMQP 3.1.0.0)")
        #expect(FrameTraceFormatter.header(.amqp, .incoming) == "<- Header (AMQP 0.1.0.0)")
        #expect(FrameTraceFormatter.emptyFrame(.outgoing) == "-> Empty frame")
        #expect(FrameTraceFormatter.emptyFrame(.incoming) == "<- Empty frame")
    }

    @Test func open() {
        let open = Open(containerID: "my-app", hostname: "broker.example.com", maxFrameSize: 63_488, idleTimeOut: 240_000)
        // channel-max is at its default (65535): absent on the wire, so NULL.
        #expect(FrameTraceFormatter.performative(.open(open), .outgoing) == "-> [OPEN]* {my-app,broker.example.com,63488,NULL,240000}")
        let withProperties = Open(containerID: "c", properties: ["product": "swift-amqp", "version": "0.1"])
        #expect(FrameTraceFormatter.performative(.open(withProperties), .outgoing)
            == "-> [OPEN]* {c,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,{[product:swift-amqp],[version:0.1]}}")
    }

    // Lines from real uAMQP-C traces (Azure IoT Hub, 2018), reproduced exactly.
    @Test func matchesRealUAMQPTraces() {
        let flow = Flow(nextIncomingID: 1, incomingWindow: 65_536, nextOutgoingID: 0, outgoingWindow: 65_536, handle: 0, deliveryCount: 0, linkCredit: 1)
        #expect(FrameTraceFormatter.performative(.flow(flow), .outgoing) == "-> [FLOW]* {1,65536,0,65536,0,0,1}")
        #expect(FrameTraceFormatter.performative(.detach(Detach(handle: 0, closed: true)), .outgoing) == "-> [DETACH]* {0,true}")
        let info: Fields = [
            "hostname": "iothub-ns-smartiot-1382746-675594b872.servicebus.windows.net",
            "network-host": "iothub-ns-smartiot-1382746-675594b872.servicebus.windows.net",
            "port": .int(5671),
            "address": "amqps://iothub-ns-smartiot-1382746-675594b872.servicebus.windows.net:5671/smartiot/$management",
        ]
        let redirect = Detach(handle: 0, closed: true, error: AMQPError(condition: .linkRedirect, info: info))
        #expect(FrameTraceFormatter.performative(.detach(redirect), .incoming)
            == "<- [DETACH]* {0,true,* {amqp:link:redirect,NULL,{[hostname:iothub-ns-smartiot-1382746-675594b872.servicebus.windows.net],[network-host:iothub-ns-smartiot-1382746-675594b872.servicebus.windows.net],[port:5671],[address:amqps://iothub-ns-smartiot-1382746-675594b872.servicebus.windows.net:5671/smartiot/$management]}}}")
        let end = End(error: AMQPError(condition: .decodeError, description: "Cannot get link source from ATTACH frame"))
        #expect(FrameTraceFormatter.performative(.end(end), .outgoing) == "-> [END]* {* {amqp:decode-error,Cannot get link source from ATTACH frame}}")
    }

    @Test func closeBeginAttachTransfer() {
        #expect(FrameTraceFormatter.performative(.close(Close()), .outgoing) == "-> [CLOSE]* {}")
        let close = Close(error: AMQPError(condition: .connectionForced, description: "idle"))
        #expect(FrameTraceFormatter.performative(.close(close), .incoming) == "<- [CLOSE]* {* {amqp:connection:forced,idle}}")
        let begin = Begin(remoteChannel: nil, nextOutgoingID: 0, incomingWindow: 5000, outgoingWindow: 5000, handleMax: 255)
        #expect(FrameTraceFormatter.performative(.begin(begin), .outgoing) == "-> [BEGIN]* {NULL,0,5000,5000,255}")
        let attach = Attach(
            name: "sender-link-1", handle: 0, role: .sender, sndSettleMode: .unsettled,
            source: Source(address: "src"), target: .target(Target(address: "$cbs")), initialDeliveryCount: 0, maxMessageSize: 262_144)
        #expect(FrameTraceFormatter.performative(.attach(attach), .outgoing)
            == "-> [ATTACH]* {sender-link-1,0,false,0,NULL,* {src},* {$cbs},NULL,NULL,0,262144}")
        let transfer = Transfer(handle: 0, deliveryID: 0, deliveryTag: DeliveryTag([0, 0, 0, 1]), messageFormat: 0, settled: false)
        #expect(FrameTraceFormatter.performative(.transfer(transfer), .outgoing) == "-> [TRANSFER]* {0,0,<00 00 00 01>,0,false}")
        let disposition = Disposition(role: .receiver, first: 3, last: 5, settled: true, state: .accepted)
        #expect(FrameTraceFormatter.performative(.disposition(disposition), .outgoing) == "-> [DISPOSITION]* {true,3,5,true,* {}}")
    }

    @Test func saslFramesRedactCredentials() {
        let plain = SASLCredentials.plain(username: "alice", password: "s3cret")
        let initFrame = SASLInit(mechanism: "PLAIN", initialResponse: plain.initialResponse, hostname: "broker")
        let line = FrameTraceFormatter.sasl(.saslInit(initFrame), .outgoing)
        #expect(line == "-> [SASL INIT]* {PLAIN,<redacted 13 bytes>,broker}")
        #expect(!line.contains("s3cret"))
        #expect(FrameTraceFormatter.sasl(.saslResponse(SASLResponse(response: [1, 2])), .outgoing) == "-> [SASL RESPONSE]* {<redacted 2 bytes>}")
        #expect(FrameTraceFormatter.sasl(.saslMechanisms(SASLMechanisms(saslServerMechanisms: ["ANONYMOUS", "PLAIN"])), .incoming)
            == "<- [SASL MECHANISMS]* {{ANONYMOUS,PLAIN}}")
        #expect(FrameTraceFormatter.sasl(.saslOutcome(SASLOutcome(code: .ok)), .incoming) == "<- [SASL OUTCOME]* {0}")
        #expect(FrameTraceFormatter.sasl(.saslChallenge(SASLChallenge(challenge: [0xab])), .incoming) == "<- [SASL CHALLENGE]* {<AB>}")
    }

    @Test func receivedFramesRenderWhatArrived() throws {
        let bytes = try AMQPEncoder.encode { (e) throws(EncodeError) in
            try FrameEncoder.encode(.open(Open(containerID: "peer", maxFrameSize: 512)), channel: 0, into: &e)
        }
        let line: String? = try bytes.withUnsafeBytes { raw throws(DecodeError) -> String? in
            let d = FrameDecoder(maxFrameSize: 4096)
            guard case .frame(let f) = try d.decode(raw) else { return nil }
            return FrameTraceFormatter.frame(f, .incoming)
        }
        #expect(line == "<- [OPEN]* {peer,NULL,512}")
        let empty = try AMQPEncoder.encode { (e) throws(EncodeError) in try FrameEncoder.encodeEmptyFrame(into: &e) }
        let emptyLine: String? = try empty.withUnsafeBytes { raw throws(DecodeError) -> String? in
            let d = FrameDecoder(maxFrameSize: 4096)
            guard case .frame(let f) = try d.decode(raw) else { return nil }
            return FrameTraceFormatter.frame(f, .incoming)
        }
        #expect(emptyLine == "<- Empty frame")
    }

    @Test func valuesInAmqpvalueToStringStyle() {
        let uuid = AMQPUUID(high: 0x0011_2233_4455_6677, low: 0x8899_aabb_ccdd_eeff)
        let value: AMQPValue = .list([
            .null, .boolean(true), .ubyte(255), .ushort(65_535), .uint(7), .ulong(UInt64.max),
            .byte(-128), .short(-2), .int(-3), .long(Int64.min),
            .float(1.005), .double(-2.5), .double(3), .double(.nan), .double(-0.001),
            .char("A"), .timestamp(Timestamp(millisecondsSinceEpoch: 1_700_000_000_123)), .uuid(uuid),
            .binary([]), .binary([0x0a, 0xff]), .string(""), .symbol("sym"),
            .map([.symbol("k"): .list([.int(1)])]), .array(AMQPArray(.int, [.int(1), .int(2)])),
            .described(descriptor: .ulong(0x70), value: .list([.boolean(true)])),
            .decimal32(Decimal32(bits: 0x2200_0001)),
        ])
        #expect(FrameTraceFormatter.render(value)
            == "{NULL,true,255,65535,7,18446744073709551615,-128,-2,-3,-9223372036854775808,1.00,-2.50,3.00,nan,-0.00,U00000041,1700000000123,00112233-4455-6677-8899-aabbccddeeff,<>,<0A FF>,,sym,{[k:{1}]},{1,2},* {true},decimal32:22000001}")
    }

    @Test func loggerAdapterLogsTracesAtInfoWithConnectionMetadata() throws {
        let capture = CapturedLogs()
        let logger = Logger(label: "amqp.frames") { _ in CapturingLogHandler(capture) }
        let settings = try ConnectionSettings(hostname: "broker:5673", containerID: "c1", debug: true)
        let adapter = try #require(FrameTraceLogger(settings: settings, logger: logger))
        #expect(adapter.log(.trace("-> Empty frame")))
        #expect(!adapter.log(.stateChanged(from: .start, to: .headerSent)))
        let logged = capture.entries
        #expect(logged.count == 1)
        #expect(logged.first?.level == .info)
        #expect(logged.first?.message == "-> Empty frame")
        #expect(logged.first?.metadata == ["amqp.container-id": "c1", "amqp.host": "amqp://broker:5673"])
        #expect(FrameTraceLogger(settings: try ConnectionSettings(hostname: "h")) == nil)
    }

    // Settings through the engine to log lines: what `debug: true` shows for a connection
    // that opens and then closes on its idle time-out, and the error that follows.
    @Test func debugTraceOfARealExchangeAndItsError() throws {
        var settings = try ConnectionSettings(hostname: "broker.example.com", containerID: "c1", maxFrameSize: 4096, idleTimeout: 1_000, debug: true)
        settings.usesSASL = false
        var peer = ScriptedPeer(configuration: try settings.engineConfiguration())
        try peer.perform { $0.open() }
        try peer.expectHeader()
        _ = try peer.expectOpen()
        try peer.send(header: .amqp)
        try peer.send(.open(Open(containerID: "peer", maxFrameSize: 512)))
        try peer.sendEmptyFrame()
        try peer.advance(byMilliseconds: 1_000)

        let capture = CapturedLogs()
        let adapter = try #require(FrameTraceLogger(settings: settings, logger: Logger(label: "t") { _ in CapturingLogHandler(capture) }))
        for e in peer.events.events { adapter.log(e) }
        #expect(capture.entries.map(\.message) == [
            "-> Header (AMQP 0.1.0.0)",
            "-> [OPEN]* {c1,broker.example.com,4096,NULL,500}",
            "<- Header (AMQP 0.1.0.0)",
            "<- [OPEN]* {peer,NULL,512}",
            "<- Empty frame",
            "-> [CLOSE]* {* {amqp:resource-limit-exceeded,local idle time-out expired: no frame received for 1000 ms}}",
        ])

        let failure = try #require(peer.engine.failure)
        let error = settings.errorPolicy.connectionError(failure)
        #expect(error.kind == .connectionClose)
        #expect(error.origin == .local)
        #expect(error.action.retry, "a dead peer is cured by reconnecting")
        #expect(error.description == "ConnectionClose: this client closed the connection: amqp:resource-limit-exceeded: \"local idle time-out expired: no frame received for 1000 ms\". A limit was exceeded (a quota, connections, links, sizes, or an idle time-out): reduce use or raise the limit (retrying: retry)")
    }
}

/// Log entries captured by `CapturingLogHandler`.
final class CapturedLogs: Sendable {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata?
    }
    private let storage = Mutex<[Entry]>([])
    var entries: [Entry] { storage.withLock { $0 } }
    func append(_ e: Entry) { storage.withLock { $0.append(e) } }
}

struct CapturingLogHandler: LogHandler {
    let capture: CapturedLogs
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider? = nil
    init(_ capture: CapturedLogs) { self.capture = capture }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        capture.append(.init(level: event.level, message: "\(event.message)", metadata: event.metadata))
    }
}
