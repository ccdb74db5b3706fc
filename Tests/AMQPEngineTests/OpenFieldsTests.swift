import AMQPCodec
import AMQPEngine
import AMQPHostileCases
import AMQPTesting
import Testing

// OPEN's offered-capabilities, desired-capabilities and properties (part 2, section
// 2.7.1) are how brokers announce features (ANONYMOUS-RELAY, DELAYED_DELIVERY, product
// and version): what each side configures must go out on the wire, and what the peer
// sent must reach the application.

@Suite struct OpenFieldsTests {
    @Test(arguments: [CutPolicy.whole, .oneByte])
    func capabilitiesAndPropertiesTravelBothWays(cut: CutPolicy) throws {
        var c = engineConfiguration(.client)
        c.offeredCapabilities = ["x-client-offer", "SHARED-SUBS"]
        c.desiredCapabilities = ["ANONYMOUS-RELAY", "DELAYED_DELIVERY"]
        c.properties = ["product": "swift-amqp", "x-build": .uint(7), "x-flags": .list([.boolean(true), .null])]
        var s = engineConfiguration(.server)
        s.offeredCapabilities = ["ANONYMOUS-RELAY", "DELAYED_DELIVERY", "x-server-offer"]
        s.desiredCapabilities = ["x-server-desire", "SHARED-SUBS"]
        s.properties = ["product": "listener", "x-limits": .map(["links": .ulong(1 << 40)])]
        var pair = EnginePair(client: c, server: s, cutPolicy: cut)
        pair.recordsBytes = true
        pair.server.open()
        pair.client.open()
        try pair.pump(until: "both opened") { $0.client.state == .opened && $0.server.state == .opened }

        // On the wire, read as plain AMQP values rather than through `Open`, by the field
        // positions the specification gives.
        for (bytes, sent) in [(pair.toServer.recordedBytes, c), (pair.toClient.recordedBytes, s)] {
            let fields = try #require(try Self.openFields(bytes), "no OPEN in \(sent.role)'s bytes")
            try #require(fields.count == 10, "\(sent.role)'s OPEN has \(fields.count) fields")
            #expect(fields[0] == .string(sent.containerID))
            #expect(fields[7] == .array(.symbols(sent.offeredCapabilities)), "\(sent.role) offered-capabilities")
            #expect(fields[8] == .array(.symbols(sent.desiredCapabilities)), "\(sent.role) desired-capabilities")
            #expect(fields[9] == Self.map(sent.properties), "\(sent.role) properties")
        }

        // To the application on the other side, as the event and as `remoteOpen`.
        for (engine, log, sent) in [(pair.client, pair.clientEvents, s), (pair.server, pair.serverEvents, c)] {
            for open in [engine.remoteOpen, log.remoteOpen] {
                #expect(open?.containerID == sent.containerID)
                #expect(open?.offeredCapabilities == sent.offeredCapabilities)
                #expect(open?.desiredCapabilities == sent.desiredCapabilities)
                #expect(open?.properties == sent.properties)
            }
        }
    }

    /// A peer that sends none of them leaves them empty, and ours still go out.
    @Test func absentFieldsAreEmpty() throws {
        var c = engineConfiguration(.client)
        c.offeredCapabilities = ["x-only"]
        var peer = try scriptedPeer(c)
        try peer.perform { $0.open() }
        try peer.exchangeHeaders(.amqp)
        let ours = try peer.expectOpen()
        #expect(ours.offeredCapabilities == ["x-only"])
        #expect(ours.desiredCapabilities.isEmpty)
        #expect(ours.properties == nil)
        try peer.send(.open(peerOpen()))
        try peer.expectState(.opened)
        #expect(peer.engine.remoteOpen?.offeredCapabilities == [])
        #expect(peer.engine.remoteOpen?.desiredCapabilities == [])
        #expect(peer.engine.remoteOpen?.properties == nil)
    }

    /// The fields of the first OPEN in `bytes` (a protocol header, then frames).
    static func openFields(_ bytes: [UInt8]) throws -> [AMQPValue]? {
        var at = 8
        while at + 8 <= bytes.count {
            let size = bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) }
            let bodyStart = at + Int(bytes[at + 4]) * 4
            guard size >= 8, at + size <= bytes.count, bodyStart <= at + size else { return nil }
            if bodyStart < at + size,
                case .described(.ulong(0x10), .list(let fields)) = try AMQPValue(decoding: Array(bytes[bodyStart..<(at + size)]))
            {
                return fields
            }
            at += size
        }
        return nil
    }

    /// `fields` as the generic map it is on the wire.
    static func map(_ fields: Fields?) -> AMQPValue {
        guard let fields else { return .null }
        return .map(AMQPMap(fields.entries.map { AMQPMap.Entry(key: .symbol($0.key), value: $0.value) }))
    }
}
