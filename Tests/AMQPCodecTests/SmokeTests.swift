import AMQPCodec
import Testing

@Test func smokeRoundTrip() throws {
    let v: AMQPValue = .list([.uint(0), .uint(7), .uint(300), .string("hé"), .symbol("a:b"), .map(["k": .boolean(true)]),
                              .array(.symbols(["x", "y"])), .described(descriptor: .ulong(0x24), value: .list([]))])
    let bytes = try v.encoded()
    #expect(Array(bytes.prefix(3)) == [0xC0, UInt8(bytes.count - 2), 8])
    #expect(try AMQPValue(decoding: bytes) == v)
}

@Test func smokeFrame() throws {
    let bytes = try AMQPEncoder.encode { (e) throws(EncodeError) in
        try FrameEncoder.encodeFrame(channel: 3, into: &e) { (e) throws(EncodeError) in
            try AMQPError(condition: .decodeError, description: "x").encode(into: &e)
            try e.writeBytes(UnsafeRawBufferPointer(start: nil, count: 0))
        }
    }
    try bytes.withUnsafeBytes { raw in
        guard case .frame(let f) = try FrameDecoder().decode(raw) else { Issue.record("no frame"); return }
        #expect(f.header.channel == 3)
        #expect(f.length == bytes.count)
        #expect(f.performative?.descriptor.knownCode == 0x1D)
        #expect(try AMQPError(decoding: f.performative!) == AMQPError(condition: .decodeError, description: "x"))
    }
}
