import AMQPCodec
import Testing

/// A size that claims more bytes than are left is reported at the size field, for
/// binaries, strings and symbols as for lists, maps and arrays.
@Suite("Size errors point at the size field")
struct SizeFieldOffsetTests {
    @Test(arguments: [
        ("a0 05 01 02", 1), ("b0 00 00 01 00 01", 1), ("a1 03 61", 1), ("b1 ff ff ff ff 61", 1),
        ("a3 09", 1), ("b3 00 00 00 02 61", 1), ("c0 05 01 40", 1), ("e0 10 01 40", 1),
        ("c0 03 01 a1 05", 4), ("00 a3 07 61", 2),
    ])
    func sizeFieldOffset(hex: String, offset: Int) {
        let e = WireBytes.decodeValue(WireBytes.hex(hex)).failure
        #expect(e?.code == .sizeExceedsInput)
        #expect(e?.offset == offset)
    }

    @Test("the views still point at the data")
    func viewOffsets() throws {
        let bytes = WireBytes.hex("c0 0c 03 a0 01 ff b0 00 00 00 01 ee a1 00")
        try bytes.withUnsafeBytes { raw in
            guard case .list(let l) = try ValueDecoder.decode(raw, baseOffset: 100).value else { Issue.record("not a list"); return }
            let items = try l.elements()
            guard case .binary(let b8) = items[0], case .binary(let b32) = items[1], case .string(let s) = items[2] else {
                Issue.record("wrong element types")
                return
            }
            #expect(b8.offset == 105 && b8.array == [0xFF])
            #expect(b32.offset == 111 && b32.array == [0xEE])
            #expect(s.string.isEmpty)
        }
    }
}
