import AMQPCodec
import Testing

/// The example in README.md ("The codec"), kept compiling and correct.
@Test func readmeCodecExample() throws {
    // Encode a frame carrying a transfer into any buffer you own (here a growing array).
    let bytes = try AMQPEncoder.encode { (e) throws(EncodeError) in
        try FrameEncoder.encode(.transfer(Transfer(handle: 0, deliveryID: 1, deliveryTag: DeliveryTag(1),
                                                   messageFormat: 0)),
                                channel: 0, into: &e)
    }

    // Decode it in place: the frame, its performative and its payload are views into `raw`.
    var seen: (handle: UInt32, payload: Int)? = nil
    try bytes.withUnsafeBytes { raw in
        switch try FrameDecoder(maxFrameSize: 65_536).decode(raw) {
        case .needMore(let n): Issue.record("need \(n) more bytes")
        case .frame(let frame):
            if case .transfer(let t)? = try frame.performativeValue() { seen = (t.handle, frame.payload.count) }
        }
    }
    #expect(seen?.handle == 0)
    #expect(seen?.payload == 0)
}
