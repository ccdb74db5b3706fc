import AMQPCodec
import Testing

/// The encoder needs no room beyond the encoding it produces: a value fits a buffer of
/// exactly its size, and one byte less is refused without a write past the end.
@Suite("Encoder buffer bounds")
struct EncoderBufferBoundsTests {
    /// A value with a short name, so reports do not print hundreds of elements.
    struct Named: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let value: AMQPValue
        init(_ name: String, _ value: AMQPValue) {
            testDescription = name
            self.value = value
        }
    }

    static let values: [Named] = [
        Named("list0", .list([])),
        Named("list8 of 1", .list([.null])),
        Named("list8 of 2", .list([.null, .boolean(true)])),
        Named("map8 empty", .map([:])),
        Named("map8 nested", .map([.symbol("k"): .list([.uint(7)])])),
        Named("array8 empty", .array(AMQPArray(.uint, []))),
        Named("array8 symbols", .array(.symbols(["a", "bc"]))),
        Named("lists 4 deep", .list([.list([.list([.list([])])])])),
        Named("list8 content 254", .list(Array(repeating: .null, count: 254))),
        Named("list32 content 255", .list(Array(repeating: .null, count: 255))),
        Named("list32 holding list8", .list([.string(String(repeating: "s", count: 300)), .list([.null])])),
        Named("described list0", .described(descriptor: .ulong(0x24), value: .list([]))),
        Named("described array of lists", .array(AMQPArray(.list, descriptor: .ulong(0x24), [.list([]), .list([.null])]))),
    ]

    @Test("a value fits a buffer of exactly its size", arguments: values)
    func exactFit(_ named: Named) throws {
        let value = named.value
        let expected = try value.encoded()
        let (exact, outside) = WireBytes.encode(value, capacity: expected.count)
        #expect(try exact.get() == expected)
        #expect(!outside)
    }

    @Test("one byte less is refused, and nothing past the buffer is written", arguments: values)
    func oneByteShort(_ named: Named) throws {
        let value = named.value
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
