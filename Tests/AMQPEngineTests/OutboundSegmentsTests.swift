@testable import AMQPEngine
import AMQPTesting
import Testing

// `OutboundSegments`, the list of payload chunks a connection sends by reference: its
// bookkeeping of buffer bytes against payload ranges, and the engine's gathered produce,
// whose bytes (buffer and payloads interleaved) must be exactly what the copying produce
// writes.

@Suite("Outbound segments") struct OutboundSegmentsTests {
    @Test func advanceSplitsBufferBytesFromPayloads() {
        let s = OutboundSegments(capacity: 4, threshold: 4, byteLimit: 100)
        // 5 buffer bytes already unsent, then produce: 3 bytes, a 10-byte chunk, 2 bytes,
        // a 6-byte chunk, 4 bytes (9 buffer bytes in all).
        s.produced(5)
        s.append(Array(0..<20), offset: 5, count: 10, at: 3)
        s.append(Array(0..<6), offset: 0, count: 6, at: 5)
        s.produced(9)
        #expect(s.count == 2 && s.referencedBytes == 16)
        #expect(s[0].ringBytes == 8 && s[1].ringBytes == 2 && s.trailingRingBytes == 4)
        // Partial writes: inside the first ring span, into the first payload, across the
        // rest of it and the next ring span, then everything.
        #expect(s.advance(3) == 3)
        #expect(s.advance(9) == 5)
        #expect(s[0].offset == 9 && s[0].count == 6 && s.referencedBytes == 12)
        #expect(s.advance(7) == 1)
        #expect(s.count == 1 && s[0].ringBytes == 1)
        #expect(s.advance(1 + 6 + 4) == 5)
        #expect(s.isEmpty && s.referencedBytes == 0 && s.trailingRingBytes == 0)
    }

    @Test func limitsAndRelease() {
        let s = OutboundSegments(capacity: 2, threshold: 4, byteLimit: 10)
        #expect(s.room == 10)
        s.append([1, 2, 3, 4, 5, 6], offset: 0, count: 6, at: 0)
        #expect(s.room == 4)
        s.append([1, 2, 3, 4], offset: 0, count: 4, at: 0)
        #expect(s.room == 0, "no entry free")
        s.produced(0)
        s.removeAll()
        #expect(s.isEmpty && s.room == 10 && s.trailingRingBytes == 0)
    }

    /// The stream a driver sends from one produce call: buffer bytes with the payload
    /// ranges in their places.
    static func stream(_ buffer: UnsafeMutableRawBufferPointer, _ n: Int, _ s: OutboundSegments) -> [UInt8] {
        var out: [UInt8] = []
        var at = 0
        for i in 0..<s.count {
            let e = s[i]
            out += buffer[at..<at + e.ringBytes]
            at += e.ringBytes
            out += e.payload[e.offset..<e.offset + e.count]
        }
        out += buffer[at..<n]
        #expect(s.advance(out.count) == n)
        return out
    }

    /// Engines exchange large and small messages with the client's output produced by
    /// reference; the server, fed the reassembled stream, gets every payload exactly.
    @Test func gatheredProduceWritesTheSameStream() throws {
        var client = ConnectionEngine(configuration: ConnectionConfiguration(role: .client, containerID: "c"))
        var serverConfig = ConnectionConfiguration(role: .server, containerID: "s")
        serverConfig.autoAccept = AutoAcceptPolicy()
        var server = ConnectionEngine(configuration: serverConfig)
        client.open()
        server.open()
        let sizes = [70_000, 5, 16_384, 200_000, 1_000]
        let payloads = sizes.enumerated().map { i, n in (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i) } }
        let gather = OutboundSegments(capacity: 8, threshold: 16_384, byteLimit: 1 << 20)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)
        defer { buffer.deallocate() }
        var received: [[UInt8]] = []
        var link: LinkID? = nil
        var next = 0
        var gathered = 0
        let now = EngineInstant(nanoseconds: 0)
        for _ in 0..<10_000 where received.count < payloads.count {
            let n = client.produce(into: buffer, gather: gather, now: now)
            gather.produced(n)
            gathered += gather.referencedBytes
            var bytes = Self.stream(buffer, n, gather)
            #expect(gather.isEmpty)
            let used = bytes.withUnsafeMutableBytes { server.receive(UnsafeRawBufferPointer($0), now: now) }
            #expect(used == bytes.count)
            while let event = server.nextEvent() {
                if case .link(.delivery(let l, let d)) = event {
                    received.append(d.payload.withUnsafeBytes { Array($0) })
                    try server.settle(l, delivery: d.id, state: .accepted)
                }
            }
            let back = server.produce(into: buffer, now: now)
            bytes = Array(buffer[..<back])
            _ = bytes.withUnsafeBytes { client.receive($0, now: now) }
            while let event = client.nextEvent() {
                switch event {
                case .remoteOpen:
                    let session = try client.beginSession()
                    link = try client.attachLink(session: session, .sender(name: "g", to: "q"))
                case .link(.credit(let l, let credit, _)) where credit > 0:
                    while next < payloads.count, (try? client.send(on: l, payload: payloads[next])) != nil { next += 1 }
                default: break
                }
            }
        }
        #expect(link != nil)
        #expect(received == payloads)
        #expect(gathered >= 250_000, "the large chunks went by reference")
    }
}
