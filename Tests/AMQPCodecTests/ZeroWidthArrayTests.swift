import AMQPCodec
import Testing

/// Arrays whose element constructor takes no bytes (null, true, false, uint0, ulong0,
/// list0) are the only values whose element count is not paid for by input bytes. Without
/// a cap of their own, a few hundred bytes (say, a 512-byte OPEN whose properties map
/// holds fifty 10-byte arrays of a million nulls each) materialize into hundreds of
/// megabytes.
@Suite("Zero-width arrays")
struct ZeroWidthArrayTests {
    /// A list of `arrays` array32s, each of `count` elements with constructor `code`.
    static func listOfArrays(_ arrays: Int, count: UInt32, code: UInt8) -> [UInt8] {
        let one: [UInt8] = [0xF0] + WireBytes.be32(5) + WireBytes.be32(count) + [code]
        let body = Array((0..<arrays).map { _ in one }.joined())
        return [0xD0] + WireBytes.be32(UInt32(body.count + 4)) + WireBytes.be32(UInt32(arrays)) + body
    }

    @Test("many small zero-width arrays do not add up past the limits", arguments: [0x40, 0x41, 0x42, 0x43, 0x44, 0x45] as [UInt8])
    func manyArrays(code: UInt8) {
        // 640 bytes; uncapped, 64 million elements.
        let bomb = Self.listOfArrays(64, count: 1 << 20, code: code)
        #expect(bomb.count < 700)
        let e = WireBytes.decodeValue(bomb).failure
        #expect(e?.code == .tooManyElements)
        #expect(e?.offset == 9 + 5)  // the first array's count field
        // Smaller, so that an uncapped decoder answers quickly (and wrongly).
        let small = Self.listOfArrays(4, count: 1000, code: code)
        #expect(WireBytes.decodeValue(small).failure?.code == .tooManyElements)
    }

    @Test("up to the cap is accepted; the cap can be raised")
    func atTheCap() throws {
        let cap = DecodeLimits.default.maxZeroWidthElements
        #expect(cap == 16)
        let atCap = AMQPValue.array(AMQPArray(.null, Array(repeating: .null, count: cap)))
        #expect(try WireBytes.decodeValue(try atCap.encoded()).get() == atCap)
        let over = AMQPValue.array(AMQPArray(.null, Array(repeating: .null, count: cap + 1)))
        let overBytes = try over.encoded()
        #expect(overBytes == [0xE0, 0x02, UInt8(cap + 1), 0x40])
        let e = WireBytes.decodeValue(overBytes).failure
        #expect(e?.code == .tooManyElements && e?.offset == 2)
        let raised = DecodeLimits(maxZeroWidthElements: 1000)
        #expect(try WireBytes.decodeValue(overBytes, limits: raised).get() == over)
        // Arrays whose elements take bytes are not affected.
        let booleans = AMQPValue.array(AMQPArray(.boolean, Array(repeating: .boolean(true), count: 300)))
        #expect(try WireBytes.decodeValue(try booleans.encoded()).get() == booleans)
    }
}
