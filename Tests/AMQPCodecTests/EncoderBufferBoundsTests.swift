import AMQPCodec
import Testing

/// The encoder needs no room beyond the encoding it produces: a value fits a buffer of
/// exactly its size, and one byte less is refused without a write past the end.
@Suite("Encoder buffer bounds")
struct EncoderBufferBoundsTests {
    static let values: [AMQPValue] = [
        .list([]),
        .list([.null]),
        .list([.null, .boolean(true)]),
        .map([:]),
        .map([.symbol("k"): .list([.uint(7)])]),
        .array(AMQPArray(.uint, [])),
        .array(.symbols(["a", "bc"])),
        .list([.list([.list([.list([])])])]),
        .list(Array(repeating: .null, count: 254)),  // list8, content 254
        .list(Array(repeating: .null, count: 255)),  // list32, content 255
        .list([.string(String(repeating: "s", count: 300)), .list([.null])]),
        .described(descriptor: .ulong(0x24), value: .list([])),
        .array(AMQPArray(.list, descriptor: .ulong(0x24), [.list([]), .list([.null])])),
    ]

    @Test("a value fits a buffer of exactly its size", arguments: values)
    func exactFit(_ value: AMQPValue) throws {
        let expected = try value.encoded()
        let (exact, outside) = WireBytes.encode(value, capacity: expected.count)
        #expect(try exact.get() == expected)
        #expect(!outside)
    }

    @Test("one byte less is refused, and nothing past the buffer is written", arguments: values)
    func oneByteShort(_ value: AMQPValue) throws {
        let expected = try value.encoded()
        for capacity in 0..<expected.count {
            let (short, outside) = WireBytes.encode(value, capacity: capacity)
            #expect(throws: EncodeError(.bufferTooSmall)) { try short.get() }
            #expect(!outside, "capacity \(capacity)")
        }
    }

    @Test("an empty list fits one byte, an empty map needs three")
    func emptyCompoundsAtTheEdge() throws {
        #expect(try WireBytes.encode(.list([]), capacity: 1).result.get() == [0x45])
        #expect(try WireBytes.encode(.list([]), capacity: 2).result.get() == [0x45])
        #expect(throws: EncodeError(.bufferTooSmall)) { try WireBytes.encode(.map([:]), capacity: 2).result.get() }
        #expect(try WireBytes.encode(.map([:]), capacity: 3).result.get() == [0xC1, 0x01, 0x00])
    }

    @Test("a list that grows to list32 near the end of the buffer is moved, not cut")
    func wideListAtTheEnd() throws {
        // Something already in the buffer, then a list whose header must widen.
        let list = AMQPValue.list(Array(repeating: .boolean(true), count: 300))
        let bytes = try AMQPEncoder.encode { (e) throws(EncodeError) in
            try e.encode(UInt32(5))
            try list.encode(into: &e)
        }
        #expect(Array(bytes.prefix(11)) == [0x52, 0x05, 0xD0, 0x00, 0x00, 0x01, 0x30, 0x00, 0x00, 0x01, 0x2C])
        #expect(bytes.count == 2 + 9 + 300)
        #expect(bytes.dropFirst(11).allSatisfy { $0 == 0x41 })
    }
}
