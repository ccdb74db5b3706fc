// Performatives inside frames: FrameEncoder.encode(_:channel:payload:into:) and
// FrameView.performativeValue().

import AMQPCodec
import Testing

/// Cuts the first frame out of `bytes` and hands it to `body`.
func withDecodedFrame<R>(_ bytes: [UInt8], _ body: (FrameView) throws -> R) throws -> R {
    try bytes.withUnsafeBytes { raw in
        guard case .frame(let f) = try FrameDecoder().decode(raw) else { throw DecodeError(.truncated, at: raw.count) }
        #expect(f.length == raw.count)
        return try body(f)
    }
}

func amqpFrameBytes(_ p: Performative, channel: UInt16, payload: [UInt8]? = nil) throws -> [UInt8] {
    try AMQPEncoder.encode { (e) throws(EncodeError) in
        if let payload {
            try withTypedArrayBytes(payload) { (raw) throws(EncodeError) in
                try FrameEncoder.encode(p, channel: channel, payload: raw, into: &e)
            }
        } else {
            try FrameEncoder.encode(p, channel: channel, into: &e)
        }
    }
}

/// `Array.withUnsafeBytes` erases typed errors; this keeps `EncodeError`.
func withTypedArrayBytes<R>(_ a: [UInt8], _ body: (UnsafeRawBufferPointer) throws(EncodeError) -> R) throws(EncodeError) -> R {
    try a.withUnsafeBytes { raw in Result { () throws(EncodeError) -> R in try body(raw) } }.get()
}

@Suite struct PerformativeFrameTests {
    @Test func everyPerformativeRoundTripsThroughAFrame() throws {
        for p in samplePerformatives {
            let payload: [UInt8]? = p.name == "transfer" ? [0x00, 0x53, 0x75, 0xa0, 0x01, 0x2a] : nil
            let bytes = try amqpFrameBytes(p, channel: 7, payload: payload)
            try withDecodedFrame(bytes) { (f) throws in
                #expect(f.header.type == .amqp)
                #expect(f.header.channel == 7)
                #expect(try f.performativeValue() == p)
                #expect(f.payload.array == (payload ?? []))
            }
        }
    }

    @Test func framesFollowOneAnother() throws {
        var stream: [UInt8] = []
        for (i, p) in samplePerformatives.enumerated() { stream += try amqpFrameBytes(p, channel: UInt16(i)) }
        var decoded: [Performative] = []
        try stream.withUnsafeBytes { raw in
            var at = 0
            while at < raw.count {
                guard case .frame(let f) = try FrameDecoder().decode(UnsafeRawBufferPointer(rebasing: raw[at...]), baseOffset: at)
                else { Issue.record("truncated at \(at)"); return }
                #expect(Int(f.header.channel) == decoded.count)
                decoded.append(try #require(try f.performativeValue()))
                at += f.length
            }
        }
        #expect(decoded == samplePerformatives)
    }

    @Test func minimalOpenFrameBytes() throws {
        // Header: size 18 (8 + the 10-byte open), doff 2, type 0 (AMQP), channel 0.
        let bytes = try amqpFrameBytes(.open(Open(containerID: "c1")), channel: 0)
        #expect(bytes == hexBytes("00 00 00 12 02 00 00 00  00 53 10 c0 05 01 a1 02 63 31"))
    }

    @Test func emptyFramesHaveNoPerformative() throws {
        let bytes = try AMQPEncoder.encode { (e) throws(EncodeError) in try FrameEncoder.encodeEmptyFrame(into: &e) }
        try withDecodedFrame(bytes) { (f) throws in
            #expect(try f.performativeValue() == nil)
            #expect(try f.saslPerformative() == nil)
        }
    }

    @Test func saslAndAMQPFramesAreNotInterchangeable() throws {
        let sasl = try AMQPEncoder.encode { (e) throws(EncodeError) in
            try FrameEncoder.encode(.saslInit(SASLInit(mechanism: "ANONYMOUS")), into: &e)
        }
        try withDecodedFrame(sasl) { (f) throws in
            let e = #expect(throws: DecodeError.self) { try f.performativeValue() }
            #expect(e?.code == .unexpectedDescriptor)
        }
        try withDecodedFrame(try amqpFrameBytes(.close(Close()), channel: 0)) { (f) throws in
            let e = #expect(throws: DecodeError.self) { try f.saslPerformative() }
            #expect(e?.code == .unexpectedDescriptor)
        }
    }

    @Test func failedFramesLeaveNothingBehind() throws {
        var storage = [UInt8](repeating: 0, count: 24)
        storage.withUnsafeMutableBytes { raw in
            var e = AMQPEncoder(raw)
            try? e.writeByte(0xEE)
            // Too big for the 23 bytes left.
            let big = Performative.attach(Attach(name: String(repeating: "n", count: 40), handle: 0, role: .receiver))
            #expect(throws: EncodeError(.bufferTooSmall)) { try FrameEncoder.encode(big, channel: 0, into: &e) }
            #expect(e.count == 1)
            // Refused by a field rule.
            let tiny = Performative.open(Open(containerID: "c", maxFrameSize: 1))
            #expect(throws: EncodeError.self) { try FrameEncoder.encode(tiny, channel: 0, into: &e) }
            #expect(e.count == 1)
        }
    }
}
