// The TRANSFER fast paths a connection takes for every frame (issue 7):
// `TransferView.readCommon` reads the fields senders write without the field reader, and
// `Transfer.encodeCommon` writes them without the field writer. Each must agree exactly
// with the general path it stands in for: the same bytes out, the same view read, and
// for anything it does not read, a `nil` that sends the frame to the general reader.

@testable import AMQPCodec
import Testing

@Suite struct TransferFastPathTests {
    /// A deterministic generator (SplitMix64), so the sampled inputs are the same in every run.
    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func pick<T>(_ options: [T]) -> T { options[Int(next() % UInt64(options.count))] }
    }

    /// Encodings of a uint field: the forms the fast path reads, and others it must refuse.
    static let uints: [[UInt8]] = [
        [0x40], [0x43], [0x52, 0x07], [0x52, 0xFF], [0x70, 0x00, 0x01, 0x11, 0x70], [0x70, 0xFF, 0xFF, 0xFF, 0xFF],
        [0x52], [0x70, 0x00, 0x00], [0x44], [0x41], [0x50, 0x01], [0x53, 0x01], [0x80, 0, 0, 0, 0, 0, 0, 0, 1], [0xA0, 0x00],
    ]
    /// Encodings of the delivery-tag field.
    static let tags: [[UInt8]] = [
        [0x40], [0xA0, 0x00], [0xA0, 0x01, 0x5A], [0xA0, 0x08, 1, 2, 3, 4, 5, 6, 7, 8],
        [0xA0, 0x20] + Array(repeating: 0xAB, count: 32), [0xA0, 0x21] + Array(repeating: 0xAB, count: 33),
        [0xA0, 0x05, 1, 2], [0xA0], [0xB0, 0, 0, 0, 2, 0x74, 0x31], [0xA1, 0x01, 0x78], [0x43],
    ]
    /// Encodings of a boolean field.
    static let bools: [[UInt8]] = [[0x40], [0x41], [0x42], [0x56, 0x00], [0x56, 0x01], [0x56, 0x02], [0x43], [0x56]]
    /// Fields after `more`: none of them is read by the fast path.
    static let rest: [[UInt8]] = [[0x40], [0x50, 0x01], [0x00, 0x53, 0x24, 0x45], [0x41]]

    /// The field reader's view of a list body, or nil when it refuses it.
    static func general(_ body: UnsafeRawBufferPointer, count: Int) -> TransferView? {
        let list = ListView(count: count, body: body, bodyOffset: 14, depth: 2, limits: DecodeLimits())
        var r = FieldReader(list: list, composite: "transfer")
        return try? TransferView(reading: &r)
    }

    static func same(_ a: TransferView, _ b: TransferView) -> Bool {
        a.handle == b.handle && a.deliveryID == b.deliveryID && a.messageFormat == b.messageFormat && a.settled == b.settled
            && a.more == b.more && a.rcvSettleMode == b.rcvSettleMode && a.hasState == b.hasState && a.resume == b.resume
            && a.aborted == b.aborted && a.batchable == b.batchable
            && a.deliveryTagBytes?.baseAddress == b.deliveryTagBytes?.baseAddress
            && a.deliveryTagBytes?.count == b.deliveryTagBytes?.count
    }

    /// Checks one list body; returns whether the fast path read it.
    @discardableResult
    static func check(_ body: [UInt8], count: Int, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        body.withUnsafeBytes { raw in
            // A non-null base even for an empty body, as a frame always has.
            let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(raw.count, 1), alignment: 8)
            defer { storage.deallocate() }
            if raw.count > 0 { storage.copyMemory(from: raw) }
            let bytes = UnsafeRawBufferPointer(rebasing: storage[0..<raw.count])
            guard let fast = TransferView.readCommon(storage.baseAddress!, size: raw.count, count: count) else { return false }
            guard let slow = general(bytes, count: count) else {
                Issue.record("the fast path reads \(body) (count \(count)), the field reader refuses it", sourceLocation: sourceLocation)
                return true
            }
            #expect(same(fast, slow), "\(body) (count \(count))", sourceLocation: sourceLocation)
            return true
        }
    }

    @Test func readsWhatSendersWriteAsTheFieldReaderDoes() throws {
        // The frames a sender writes for a delivery take the fast path, and agree.
        for t in [
            Transfer(handle: 0, deliveryID: 0, deliveryTag: DeliveryTag(UInt64(1)), messageFormat: 0),
            Transfer(handle: 300, deliveryID: 70_000, deliveryTag: DeliveryTag([9]), messageFormat: 0x0153_4D00, settled: true),
            Transfer(handle: 1, deliveryID: 5, deliveryTag: DeliveryTag(Array(repeating: 1, count: 32)), messageFormat: 0, settled: false, more: true),
            Transfer(handle: 1, deliveryID: 5, more: true),
            Transfer(handle: 1, more: false),
            Transfer(handle: 2, deliveryID: 9),
        ] {
            // 00 53 14 c0 <size> <count>, then the fields.
            let bytes = try encodedBytes(t)
            #expect(bytes[3] == 0xC0)
            #expect(Self.check(Array(bytes.dropFirst(6)), count: Int(bytes[5])), "\(t)")
        }
    }

    @Test func refusesOrAgreesOnEveryFieldEncoding() {
        // One field at a time varied, the others in a form the fast path reads.
        let base: [[UInt8]] = [[0x43], [0x52, 0x03], [0xA0, 0x01, 0x07], [0x43], [0x42], [0x41]]
        let kinds: [[[UInt8]]] = [Self.uints, Self.uints, Self.tags, Self.uints, Self.bools, Self.bools]
        var read = 0
        for field in 0..<6 {
            for variant in kinds[field] {
                var fields = base
                fields[field] = variant
                for n in 0...7 {
                    let body = Array((fields + Self.rest.prefix(1)).prefix(n).joined())
                    for count in Swift.max(0, n - 1)...(n + 1) where Self.check(body, count: count) { read += 1 }
                }
            }
        }
        #expect(read > 100)
        // Random lists: any mix of encodings, counts that may not match the fields.
        var rng = SplitMix(state: 7)
        for _ in 0..<40_000 {
            let n = Int(rng.next() % 9)
            var fields: [[UInt8]] = []
            for k in 0..<n {
                let kind: [[UInt8]] = k == 2 ? Self.tags : k < 4 ? Self.uints : k < 6 ? Self.bools : Self.rest
                fields.append(rng.pick(kind))
            }
            var body = Array(fields.joined())
            if rng.next() % 4 == 0 && !body.isEmpty { body.removeLast(Int(rng.next() % UInt64(body.count)) + 1) }
            let count = Swift.max(0, n + Int(rng.next() % 3) - 1)
            Self.check(body, count: count)
        }
    }

    @Test func frameCutTakesTheFastPathAndTheGeneralOneAlike() throws {
        // A whole frame through `decodeTransferFrame`: fast-path bodies and bodies only
        // the general reader takes (a state) both come out as `decode` cuts them.
        let decoder = FrameDecoder(maxFrameSize: 4_096)
        for t in [
            Transfer(handle: 1, deliveryID: 2, deliveryTag: DeliveryTag(UInt64(2)), messageFormat: 0),
            Transfer(handle: 1, deliveryID: 2, deliveryTag: DeliveryTag(UInt64(2)), messageFormat: 0, state: .accepted),
        ] {
            let f = try TransferViewTests.frame(t, payload: [7, 7, 7])
            let a = try #require(TransferViewTests.general(f, decoder))
            let b = try #require(TransferViewTests.fused(f, decoder))
            #expect(a == b)
            #expect(b.0 == t && b.1 == [7, 7, 7])
        }
    }

    @Test func encodeFirstAndContinuationWriteWhatEncodeWrites() throws {
        let tags: [DeliveryTag] = [DeliveryTag(), DeliveryTag([1])!, DeliveryTag(UInt64(0x0102_0304_0506_0708)), DeliveryTag(Array(repeating: 0xEE, count: 32))!]
        var cases = 0
        for handle: UInt32 in [0, 1, 255, 256, .max] {
            for id: UInt32 in [0, 200, 70_000] {
                for more in [false, true] {
                    let continuation = try AMQPEncoder.encode { (e) throws(EncodeError) in
                        try Transfer.encode(handle: handle, deliveryID: id, more: more, into: &e)
                    }
                    Self.expectFast(continuation) { (e) throws(EncodeError) in
                        try Transfer.encodeContinuation(handle: handle, deliveryID: id, more: more, into: &e)
                    }
                    for tag in tags {
                        for format: UInt32 in [0, 7, 0x1000] {
                            for settled in [false, true] {
                                let first = try AMQPEncoder.encode { (e) throws(EncodeError) in
                                    try Transfer.encode(
                                        handle: handle, deliveryID: id, deliveryTag: tag, messageFormat: format,
                                        settled: settled ? true : nil, more: more, into: &e)
                                }
                                Self.expectFast(first) { (e) throws(EncodeError) in
                                    try Transfer.encodeFirst(
                                        handle: handle, deliveryID: id, deliveryTag: tag, messageFormat: format, settled: settled,
                                        more: more, into: &e)
                                }
                                cases += 1
                            }
                        }
                    }
                }
            }
        }
        #expect(cases == 720)
    }

    /// `encode` writes `expected` after other bytes, with room to spare or exactly
    /// enough; with one byte too few it throws and writes nothing.
    static func expectFast(
        _ expected: [UInt8], sourceLocation: SourceLocation = #_sourceLocation, _ encode: (inout AMQPEncoder) throws(EncodeError) -> Void
    ) {
        for (prefix, spare) in [(0, 64), (5, 0), (3, 1)] {
            var storage = [UInt8](repeating: 0xCC, count: prefix + expected.count + spare)
            let wrote: [UInt8]? = storage.withUnsafeMutableBytes { raw in
                var e = AMQPEncoder(raw)
                for _ in 0..<prefix { try? e.writeByte(0x99) }
                do throws(EncodeError) {
                    try encode(&e)
                } catch {
                    return nil
                }
                return Array(UnsafeRawBufferPointer(rebasing: raw[prefix..<e.count]))
            }
            #expect(wrote == expected, "prefix \(prefix), spare \(spare)", sourceLocation: sourceLocation)
            #expect(storage.prefix(prefix).allSatisfy { $0 == 0x99 }, sourceLocation: sourceLocation)
        }
        var short = [UInt8](repeating: 0xCC, count: expected.count - 1)
        short.withUnsafeMutableBytes { raw in
            var e = AMQPEncoder(raw)
            #expect(throws: EncodeError.self, sourceLocation: sourceLocation) { try encode(&e) }
            #expect(e.count == 0, sourceLocation: sourceLocation)
        }
        #expect(short.allSatisfy { $0 == 0xCC }, sourceLocation: sourceLocation)
    }
}
