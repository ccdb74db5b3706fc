// `TransferView` reads a TRANSFER in place; `Transfer(decoding:)` reads it into owned
// values. They spell the field list twice, so these keep them in step: every encoding
// decodes to the same transfer, or fails with the same error, both ways.

import AMQPCodec
import Testing

@Suite struct TransferViewTests {
    static func viewResult(_ bytes: [UInt8]) -> Result<Transfer, DecodeError> {
        bytes.withUnsafeBytes { raw in
            Result { () throws(DecodeError) -> Transfer in
                let (v, n) = try ValueDecoder.decode(raw)
                guard n == raw.count else { throw DecodeError(.sizeMismatch, at: n, detail: "trailing bytes") }
                guard case .described(let d) = v else { throw DecodeError(.unexpectedType, at: 0, detail: "not described") }
                return try TransferView(decoding: d).transfer()
            }
        }
    }

    static func expectSame(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        switch (decodeCompositeResult(Transfer.self, bytes), viewResult(bytes)) {
        case (.success(let a), .success(let b)):
            #expect(a == b, sourceLocation: sourceLocation)
        case (.failure(let a), .failure(let b)):
            #expect(a.code == b.code && a.detail == b.detail && a.offset == b.offset, "\(a) / \(b)", sourceLocation: sourceLocation)
        case (let a, let b):
            Issue.record("Transfer: \(a), TransferView: \(b)", sourceLocation: sourceLocation)
        }
    }

    @Test func decodesAsTransferDoes() throws {
        var transfers = [
            Transfer(handle: 0),
            Transfer(handle: 1, deliveryID: 5, deliveryTag: DeliveryTag([0x74, 0x31]), messageFormat: 0, settled: true),
            Transfer(handle: 0, batchable: true),
            Transfer(handle: 7, deliveryID: 9, deliveryTag: DeliveryTag(), more: true),
        ]
        for state in everyDeliveryState {
            transfers.append(Transfer(
                handle: 9, deliveryID: .max, deliveryTag: DeliveryTag(Array(repeating: 0xAB, count: 32)),
                messageFormat: 0x0153_4D00, settled: false, more: true, rcvSettleMode: .second, state: state,
                resume: true, aborted: true, batchable: true))
        }
        for t in transfers { Self.expectSame(try encodedBytes(t)) }
        for hex in [
            "00 53 14 45", "00 53 14 c0 02 01 40", "00 53 14 c0 03 01 53 01", "00 53 14 c0 06 03 43 40 a1 01 78",
            "00 53 14 c0 09 07 43 40 40 40 40 40 50 02", "00 53 14 c0 0c 08 43 40 40 40 40 40 40 00 53 28 45",
            "00 53 14 d0 00 00 00 18 00 00 00 05 70 00 00 00 01 70 00 00 00 05 b0 00 00 00 02 74 31 43 56 01",
            "00 53 14 c0 04 01 70 00 00", "00 53 14 c0 07 05 43 40 40 40 56 02", "00 53 14 c0 05 03 43 40 a0 05",
            "00 53 14 c0 0a 08 43 40 40 40 40 40 40 00 53 24",
        ] {
            Self.expectSame(hexBytes(hex))
        }
        Self.expectSame(hexBytes("00 53 14 c0 26 03 43 40 a0 21") + Array(repeating: 0, count: 33))
        // A 32-byte tag in a vbin32: the general path's length check.
        Self.expectSame(hexBytes("00 53 14 c0 29 03 43 40 b0 00 00 00 20") + Array(repeating: 1, count: 32))
        Self.expectSame(hexBytes("00 53 14 c0 2a 03 43 40 b0 00 00 00 21") + Array(repeating: 1, count: 33))
    }

    @Test func tagAndStateAreViewsOfTheInput() throws {
        let t = Transfer(handle: 1, deliveryID: 2, deliveryTag: DeliveryTag([1, 2, 3]), state: .received(sectionNumber: 4, sectionOffset: 5))
        let bytes = try encodedBytes(t)
        try bytes.withUnsafeBytes { raw in
            let (v, _) = try ValueDecoder.decode(raw)
            guard case .described(let d) = v else { Issue.record("not described"); return }
            let view = try TransferView(decoding: d)
            let tag = try #require(view.deliveryTagBytes)
            #expect(Array(tag) == [1, 2, 3])
            #expect(tag.baseAddress! >= raw.baseAddress! && tag.baseAddress! < raw.baseAddress! + raw.count)
            let state = try #require(view.stateBytes)
            #expect(state.baseAddress! > tag.baseAddress! && state.baseAddress! + state.count == raw.baseAddress! + raw.count)
            #expect(MemoryLayout<TransferView>.size <= 40)
            #expect(try view.state() == .received(sectionNumber: 4, sectionOffset: 5))
            #expect(view.deliveryTag == DeliveryTag([1, 2, 3]))
        }
    }

    @Test func encodeFromFieldsMatchesTransferEncode() throws {
        let t = Transfer(handle: 3, deliveryID: 8, deliveryTag: DeliveryTag(UInt64(8)), messageFormat: 0, settled: false, more: true)
        let a = try encodedBytes(t)
        let b = try AMQPEncoder.encode { (e) throws(EncodeError) in
            try Transfer.encode(handle: 3, deliveryID: 8, deliveryTag: DeliveryTag(UInt64(8)), messageFormat: 0, settled: false, more: true, into: &e)
        }
        #expect(a == b)
    }

    @Test func frameInTwoHalvesMatchesEncodeFrame() throws {
        let body: [UInt8] = [0x00, 0x53, 0x14, 0x45, 9, 9, 9]
        let whole = try AMQPEncoder.encode { (e) throws(EncodeError) in
            try FrameEncoder.encodeFrame(channel: 7, into: &e) { (e) throws(EncodeError) in for b in body { try e.writeByte(b) } }
        }
        let halves = try AMQPEncoder.encode { (e) throws(EncodeError) in
            let start = try FrameEncoder.beginFrame(channel: 7, into: &e)
            for b in body { try e.writeByte(b) }
            try FrameEncoder.endFrame(start, into: &e)
        }
        #expect(whole == halves)
        // No room for the header: nothing is left behind.
        var storage = [UInt8](repeating: 0, count: 5)
        storage.withUnsafeMutableBytes { raw in
            var e = AMQPEncoder(raw)
            #expect(throws: EncodeError.self) { _ = try FrameEncoder.beginFrame(channel: 0, into: &e) }
            #expect(e.count == 0)
        }
    }

    /// What the general cut and `TransferView` make of a frame: the transfer, payload
    /// and length, or nil when either refuses it or it is not a TRANSFER.
    static func general(_ frame: [UInt8], _ decoder: FrameDecoder) -> (Transfer, [UInt8], Int, UInt16)? {
        frame.withUnsafeBytes { raw in
            guard case .frame(let f)? = try? decoder.decode(raw), f.header.type == .amqp, let body = f.performative,
                body.descriptor.knownCode == Descriptors.transfer, let t = try? TransferView(decoding: body).transfer()
            else { return nil }
            return (t, Array(f.payload.bytes), f.length, f.header.channel)
        }
    }

    static func fused(_ frame: [UInt8], _ decoder: FrameDecoder) -> (Transfer, [UInt8], Int, UInt16)? {
        frame.withUnsafeBytes { raw in
            guard let f = decoder.decodeTransferFrame(raw), let t = try? f.transfer.transfer() else { return nil }
            return (t, Array(f.payload), f.length, f.channel)
        }
    }

    static func frame(_ t: Transfer, payload: [UInt8] = [1, 2, 3], channel: UInt16 = 3) throws -> [UInt8] {
        try AMQPEncoder.encode { (e) throws(EncodeError) in
            let r: Result<Void, EncodeError> = payload.withUnsafeBytes { raw in
                Result { () throws(EncodeError) in try FrameEncoder.encode(.transfer(t), channel: channel, payload: raw, into: &e) }
            }
            try r.get()
        }
    }

    @Test func transferFramesCutInOnePassAsInTwo() throws {
        let decoder = FrameDecoder(maxFrameSize: 4_096)
        var frames: [[UInt8]] = []
        for state in everyDeliveryState {
            frames.append(try Self.frame(Transfer(
                handle: 9, deliveryID: 7, deliveryTag: DeliveryTag(Array(repeating: 0xAB, count: 32)), messageFormat: 1,
                settled: false, more: true, rcvSettleMode: .second, state: state, resume: true, aborted: true, batchable: true)))
        }
        frames.append(try Self.frame(Transfer(handle: 0)))
        frames.append(try Self.frame(Transfer(handle: 1, deliveryID: 2, deliveryTag: DeliveryTag(UInt64(2)), messageFormat: 0), payload: []))
        frames.append(try Self.frame(Transfer(handle: 1, deliveryID: 2), payload: Array(repeating: 5, count: 3_000)))
        // Every standard TRANSFER frame takes the one-pass cut, with the same result.
        for f in frames {
            let a = try #require(Self.general(f, decoder))
            let b = try #require(Self.fused(f, decoder))
            #expect(a == b)
        }
        // Frames the one-pass cut leaves to the general one; whatever it does accept must
        // agree with it.
        let t = frames[frames.count - 2]
        var variants: [[UInt8]] = [
            Array(t.prefix(20)),  // incomplete
            [0, 0, 0, 5] + t.dropFirst(4),  // size below the header
            t[0..<4] + [3] + t[5..<8] + [0, 0, 0, 0] + t[8...],  // extended header (doff 3)
            t[0..<5] + [1] + t[6...],  // SASL frame
            t[0..<10] + [0x13] + t[11...],  // a FLOW descriptor
            t[0..<12] + [0xff] + t[13...],  // list size past the frame
            t[0..<12] + [0] + t[13...],  // list size 0
            t[0..<13] + [0xf0] + t[14...],  // count above the size
            Array(repeating: 0, count: 14),
        ]
        let big = try Self.frame(Transfer(handle: 1), payload: Array(repeating: 1, count: 5_000))
        variants.append(big)  // above max-frame-size
        for f in variants {
            #expect(Self.fused(f, decoder) == nil, "\(f.prefix(16))")
        }
        // Malformed fields: one-pass refuses, and so does the general path.
        let badTag = try Self.frame(Transfer(handle: 1, deliveryID: 0, deliveryTag: DeliveryTag([1])))
        var broken = badTag
        if let i = broken.firstIndex(of: 0xa0) { broken[i] = 0xa1 }  // the tag as a string
        #expect(Self.fused(broken, decoder) == nil && Self.general(broken, decoder) == nil)
        // Limits apply alike: too many elements for the decoder's limits.
        let strict = FrameDecoder(maxFrameSize: 4_096, limits: DecodeLimits(maxElements: 2))
        #expect(Self.fused(frames[0], strict) == nil && Self.general(frames[0], strict) == nil)
        let shallow = FrameDecoder(maxFrameSize: 4_096, limits: DecodeLimits(maxDepth: 1))
        #expect(Self.fused(frames[1], shallow) == nil && Self.general(frames[1], shallow) == nil)
    }
}
