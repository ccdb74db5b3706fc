import AMQPCodec
import AMQPEngine
import Testing

// What a receiver's delivery events carry, however the engine stores it: a one-frame
// delivery keeps its tag and payload as views of the received bytes and boxes only a
// state; reassembled and streamed deliveries keep what they own in a box.

@Suite struct DeliveryEventTests {
    static let longTag = DeliveryTag(Array(UInt8(0)..<32))!

    struct Seen: Equatable {
        var id: DeliveryNumber
        var tag: DeliveryTag
        var format: UInt32
        var state: DeliveryState?
        var settled: Bool
        var bytes: [UInt8]
    }

    static func seen(_ d: Delivery) -> Seen {
        Seen(id: d.id, tag: d.tag, format: d.messageFormat, state: d.state, settled: d.settled, bytes: d.payload.bytes)
    }

    @Test func oneFrameDeliveriesCarryTagFormatAndState() throws {
        var l = try linkedPipe(.sender(name: "s", to: "q"))
        var got: [Seen] = []
        l.p.onServer = { _, e in
            if case .link(.delivery(_, let d)) = e { got.append(Self.seen(d)) }
        }
        // As if the client's sender had written them: a 32-byte tag with a state, then a
        // 1-byte tag, settled, without one.
        let state = DeliveryState.received(sectionNumber: 1, sectionOffset: 2)
        l.p.inject(
            toServer: .transfer(Transfer(handle: 0, deliveryID: 0, deliveryTag: Self.longTag, messageFormat: 7, state: state)),
            payload: [1, 2, 3])
        l.p.inject(
            toServer: .transfer(Transfer(handle: 0, deliveryID: 1, deliveryTag: DeliveryTag([9]), messageFormat: 0, settled: true)),
            payload: [4])
        l.p.run()
        #expect(got == [
            Seen(id: 0, tag: Self.longTag, format: 7, state: state, settled: false, bytes: [1, 2, 3]),
            Seen(id: 1, tag: DeliveryTag([9])!, format: 0, state: nil, settled: true, bytes: [4]),
        ])
    }

    @Test(arguments: [false, true]) func multiFrameDeliveriesCarryTheirTag(streaming: Bool) throws {
        var link = LinkConfiguration.receiver(name: "r", from: "q")
        link.streaming = streaming
        var l = try linkedPipe(link) { c, _ in c.maxFrameSize = 512 }
        var tags: [DeliveryTag] = []
        var bytes: [UInt8] = []
        l.p.onClient = { _, e in
            switch e {
            case .link(.delivery(_, let d)), .link(.deliveryChunk(_, let d, _)):
                tags.append(d.tag)
                bytes += d.payload.bytes
            default: break
            }
        }
        _ = try l.p.server.send(on: l.server, payload: pattern(3_000), tag: Self.longTag)
        _ = try l.p.server.send(on: l.server, payload: pattern(1_000, seed: 1), tag: DeliveryTag([1, 2]))
        l.p.run()
        #expect(bytes == pattern(3_000) + pattern(1_000, seed: 1))
        #expect(tags.first == Self.longTag && tags.last == DeliveryTag([1, 2]))
        #expect(Set(tags) == [Self.longTag, DeliveryTag([1, 2])!])
        #expect(tags.count == (streaming ? tags.count : 2))
        if streaming { #expect(tags.count >= 8) }
    }

    /// A delivery event must stay small enough for the compiler to move and destroy it
    /// inline (with `nextEvent()` inlined into the caller): larger enums are destroyed
    /// through the runtime's generic value witnesses, which cost more than the rest of
    /// handing a delivery over. Measured with Swift 6.3: an optional event of 56 bytes
    /// or more tips it.
    @Test func eventsStaySmall() {
        #expect(MemoryLayout<Delivery>.size <= 38)
        #expect(MemoryLayout<ConnectionEvent?>.size <= 56)
    }
}
