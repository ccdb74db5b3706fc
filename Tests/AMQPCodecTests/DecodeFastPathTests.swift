// The decode fast paths of the codec's per-message work: `MessageView`'s common
// readers (header, properties and data sections read in place), `Transfer(decoding:)`
// through `TransferView.readCommon`, and `FrameDecoder.decode` framing a smallulong +
// list8 performative in place. Each must agree exactly with the general path it stands
// in for: the same result for what it reads, the same error (code, offset, detail,
// condition) for what it refuses, over every form of every field, well-formed or not.

@testable import AMQPCodec
import Testing

@Suite struct DecodeFastPathTests {
    typealias SplitMix = TransferFastPathTests.SplitMix

    // Encodings of each field kind: the forms the fast paths read, forms only the
    // general path reads, and malformed ones.
    static let bools: [[UInt8]] = [[0x40], [0x41], [0x42], [0x56, 0x01], [0x56, 0x02], [0x43], [0x56]]
    static let ubytes: [[UInt8]] = [[0x40], [0x50, 0x07], [0x50, 0x04], [0x50], [0x52, 0x01], [0x41]]
    static let uints = TransferFastPathTests.uints
    static let ids: [[UInt8]] = [
        [0x40], [0x53, 0x05], [0x53], [0x44], [0x80, 0, 0, 0, 0, 0, 0, 1, 0], [0x80, 1, 2],
        [0x98] + Array(0..<16), [0x98, 1], [0xA0, 0x02, 1, 2], [0xA0, 0x05, 1], [0xA1, 0x03, 0x61, 0x62, 0x63],
        [0xA1, 0x02, 0xC3, 0x28], [0xA1, 0x09, 0x61], [0xB1, 0, 0, 0, 1, 0x61], [0xB0, 0, 0, 0, 1, 0x61], [0x43],
        [0xA1, 0x0F] + Array("order-000000042".utf8),
    ]
    static let binaries: [[UInt8]] = [[0x40], [0xA0, 0x02, 1, 2], [0xA0, 0x00], [0xA0, 0x03, 1], [0xB0, 0, 0, 0, 1, 9], [0xA1, 0x01, 0x61]]
    static let strings: [[UInt8]] = [
        [0x40], [0xA1, 0x03, 0x61, 0x62, 0x63], [0xA1, 0x00], [0xA1, 0x02, 0xC3, 0xA9], [0xA1, 0x02, 0xC3, 0x28],
        [0xA1, 0x09, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0xFF], [0xA1, 0x14] + Array(repeating: 0x71, count: 20),
        [0xA1, 0x0E] + Array("queue://orders".utf8), [0xB1, 0, 0, 0, 1, 0x61], [0xA3, 0x01, 0x61], [0xA1, 0x09, 0x61],
        [0xA1, 0x05, 0x61, 0x62, 0x63, 0x64, 0xED, 0xA0, 0x80],
    ]
    static let symbols: [[UInt8]] = [
        [0x40], [0xA3, 0x04, 0x74, 0x65, 0x78, 0x74], [0xA3, 0x01, 0x80], [0xA3, 0x09] + Array("abcdefgh".utf8) + [0xC3],
        [0xB3, 0, 0, 0, 1, 0x61], [0xA1, 0x01, 0x61], [0xA3, 0x18] + Array("application/octet-stream".utf8),
    ]
    static let timestamps: [[UInt8]] = [[0x40], [0x83, 0, 0, 1, 0x9E, 0x1A, 0x2B, 0x3C, 0x4D], [0x81, 0, 0, 0, 0, 0, 0, 0, 1], [0x83, 1, 2]]

    /// Field kinds of the properties list, in order.
    static let propertyFields: [[[UInt8]]] = [
        ids, binaries, strings, strings, strings, ids, symbols, symbols, timestamps, timestamps, strings, uints, strings,
    ]
    /// Field kinds of the header list, in order.
    static let headerFields: [[[UInt8]]] = [bools, ubytes, uints, bools, uints]

    /// A list8 of `fields`, its size or count sometimes off by one.
    static func list(_ fields: [[UInt8]], _ g: inout SplitMix) -> [UInt8] {
        let body = fields.flatMap { $0 }
        var size = body.count + 1
        var count = fields.count
        switch g.next() % 16 {
        case 0: size += 1
        case 1: size -= 1
        case 2: count += 1
        case 3: count = max(count - 1, 0)
        default: break
        }
        return [0xC0, UInt8(truncatingIfNeeded: size), UInt8(truncatingIfNeeded: count)] + body
    }

    /// A composite's field list: up to `kinds.count` fields (sometimes one more, of any
    /// kind), each in a random form.
    static func fields(_ kinds: [[[UInt8]]], _ g: inout SplitMix) -> [[UInt8]] {
        let n = Int(g.next() % UInt64(kinds.count + 2))
        return (0..<n).map { i in g.pick(i < kinds.count ? kinds[i] : g.pick(kinds)) }
    }

    static func section(_ code: UInt8, _ value: [UInt8]) -> [UInt8] { [0x00, 0x53, code] + value }

    static func data(_ g: inout SplitMix) -> [UInt8] {
        let n = Int(g.next() % 300)
        let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        switch g.next() % 10 {
        case 0: return section(0x75, [0xB0] + withUnsafeBytes(of: UInt32(n).bigEndian) { Array($0) } + bytes)
        case 1: return section(0x75, [0xA0, UInt8(truncatingIfNeeded: n)] + bytes.prefix(max(n - 1, 0)))  // cut short
        case 2: return section(0x75, [0xA1, 0x01, 0x61])  // not binary
        default: return section(0x75, n < 256 ? [0xA0, UInt8(n)] + bytes : [0xB0] + withUnsafeBytes(of: UInt32(n).bigEndian) { Array($0) } + bytes)
        }
    }

    /// A payload: mostly the usual message shape, sometimes reordered or with other
    /// sections around it.
    static func payload(_ g: inout SplitMix) -> [UInt8] {
        var sections: [[UInt8]] = []
        if g.next() % 4 != 0 { sections.append(section(0x70, list(fields(headerFields, &g), &g))) }
        if g.next() % 8 == 0 { sections.append(section(0x72, [0xC1, 0x01, 0x00])) }
        if g.next() % 4 != 0 { sections.append(section(0x73, list(fields(propertyFields, &g), &g))) }
        if g.next() % 8 == 0 { sections.append(section(0x74, [0xC1, 0x01, 0x00])) }
        for _ in 0..<Int(g.next() % 3) { sections.append(data(&g)) }
        if g.next() % 8 == 0 { sections.append(section(0x78, [0xC1, 0x01, 0x00])) }
        if g.next() % 10 == 0, sections.count > 1 { sections.swapAt(0, sections.count - 1) }
        if g.next() % 12 == 0 { sections.append(section(0x70, [0x45])) }
        return sections.flatMap { $0 }
    }

    /// What a consumer can observe of a message view.
    struct Observed: Equatable {
        var header: MessageHeader?
        var properties: MessageProperties?
        var propertiesList: [Int]?
        var body: MessageBody?
        var dataShape: [Int]?
        var bareMessage: [Int]
        var sections: [Bool]

        init(_ v: MessageView) throws {
            let base = Int(bitPattern: v.bytes.baseAddress)
            header = v.header
            properties = v.properties?.materialize()
            propertiesList = v.properties.map {
                [$0.fields.count, Int(bitPattern: $0.fields.body.baseAddress) - base, $0.fields.body.count, $0.fields.bodyOffset, $0.fields.depth]
            }
            body = try v.body?.materialize()
            if case .data(let d)? = v.body {
                dataShape = [
                    d.count, d.byteCount, d.first.offset, Int(bitPattern: d.first.bytes.baseAddress) - base, d.first.count,
                    d.region.offset, d.region.bytes.count, Int(bitPattern: d.region.bytes.baseAddress) - base,
                ]
            }
            bareMessage = [v.bareMessage.offset, v.bareMessage.count, Int(bitPattern: v.bareMessage.bytes.baseAddress) - base]
            sections = [v.deliveryAnnotations != nil, v.messageAnnotations != nil, v.applicationProperties != nil, v.footer != nil]
        }
    }

    static func view(_ bytes: [UInt8], common: Bool, limits: DecodeLimits, requireBody: Bool) -> Result<Observed, DecodeError> {
        bytes.withUnsafeBytes { raw in
            do throws(DecodeError) {
                let v = try MessageView(raw, baseOffset: 17, limits: limits, requireBody: requireBody, commonReaders: common)
                return (try? Observed(v)).map { .success($0) } ?? .failure(DecodeError(.truncated, at: -1, detail: "materialize failed"))
            } catch {
                return .failure(error)
            }
        }
    }

    @Test func messageViewReadsAsTheGeneralPath() {
        var g = SplitMix(state: 0x5EED_0002)
        var read = 0
        for i in 0..<20_000 {
            let bytes = Self.payload(&g)
            let limits = i % 50 == 0 ? DecodeLimits(maxDepth: 1) : i % 70 == 0 ? DecodeLimits(maxElements: 2) : .default
            let requireBody = i % 3 == 0
            let fast = Self.view(bytes, common: true, limits: limits, requireBody: requireBody)
            let general = Self.view(bytes, common: false, limits: limits, requireBody: requireBody)
            #expect(fast == general, "\(bytes.map { String($0, radix: 16) })")
            if case .success = fast { read += 1 }
        }
        // The generator must exercise both outcomes in earnest.
        #expect(read > 1_000 && read < 19_000)
    }

    @Test func theUsualMessageTakesTheCommonReaders() throws {
        let workload = try Message(
            header: MessageHeader(durable: true),
            properties: MessageProperties(messageID: "order-000000042", to: "queue://orders", contentType: "text/plain", creationTime: Timestamp(millisecondsSinceEpoch: 5)),
            body: .data([[1, 2, 3], Array(repeating: 9, count: 70_000)])
        ).encoded()
        let taken = workload.withUnsafeBytes { raw -> Bool in
            guard var view = try? MessageView(raw, baseOffset: 0, limits: .default, requireBody: false, commonReaders: false) else {
                return false
            }
            return view.readCommonMessage(limits: .default)
        }
        #expect(taken)
        #expect(Self.view(workload, common: true, limits: .default, requireBody: true) == Self.view(workload, common: false, limits: .default, requireBody: true))
    }

    /// Transfer lists in every form, through `Transfer(decoding:)` and the field reader alone.
    @Test func transferDecodesAsTheFieldReader() {
        var g = SplitMix(state: 0x5EED_0003)
        let tf = TransferFastPathTests.self
        for i in 0..<20_000 {
            var fields: [[UInt8]] = [g.pick(tf.uints), g.pick(tf.uints), g.pick(tf.tags), g.pick(tf.uints), g.pick(tf.bools), g.pick(tf.bools)]
            fields = Array(fields.prefix(Int(g.next() % 7)))
            if g.next() % 5 == 0 { fields.append(g.pick(tf.rest)) }
            let list = Self.list(fields, &g)
            let limits = i % 40 == 0 ? DecodeLimits(maxDepth: 1) : i % 60 == 0 ? DecodeLimits(maxElements: 2) : .default
            let descriptor: DescriptorView = i % 30 == 0 ? .code(0x13) : .code(0x14)
            list.withUnsafeBytes { raw in
                let d = DescribedView(descriptor: descriptor, encodedValue: EncodedValueView(bytes: raw, offset: 40, depth: 2, limits: limits))
                let fast = Result { () throws(DecodeError) in try Transfer(decoding: d) }
                let general = Result { () throws(DecodeError) in try Transfer(readingFields: d) }
                #expect(fast == general, "\(list)")
            }
        }
    }

    /// Frames whose body is a described list in every form, cut by `FrameDecoder.decode`
    /// and compared with the general decoder's reading of the body.
    @Test func framesCutAsTheGeneralDecoder() {
        var g = SplitMix(state: 0x5EED_0004)
        for i in 0..<20_000 {
            var fields: [[UInt8]] = (0..<Int(g.next() % 5)).map { _ in g.pick(Self.uints) }
            if g.next() % 6 == 0 { fields.append(g.pick(Self.strings)) }
            var performative: [UInt8] = [0x00, 0x53, 0x14] + Self.list(fields, &g)
            switch g.next() % 12 {
            case 0: performative[1] = 0x80  // a ulong descriptor: the general path
            case 1: performative = [0x00, 0x53, 0x14, 0x45]
            case 2: performative = Array(performative.prefix(1 + Int(g.next() % UInt64(performative.count - 1))))  // cut short
            default: break
            }
            let payload = Array(repeating: UInt8(0xAB), count: Int(g.next() % 4))
            let body = performative + payload
            let frame = withUnsafeBytes(of: UInt32(8 + body.count).bigEndian) { Array($0) } + [0x02, 0x00, 0x00, 0x01] + body
            let limits = i % 40 == 0 ? DecodeLimits(maxDepth: 1) : i % 60 == 0 ? DecodeLimits(maxElements: 2) : .default
            let decoder = FrameDecoder(maxFrameSize: .max, limits: limits)
            frame.withUnsafeBytes { raw in
                let cut: Result<[Int], DecodeError> = Result { () throws(DecodeError) in
                    guard case .frame(let f) = try decoder.decode(raw, baseOffset: 3), let p = f.performative else { return [] }
                    guard case .code(let c) = p.descriptor else { return [-1] }
                    return [Int(c), p.encodedValue.offset, p.encodedValue.bytes.count, p.encodedValue.depth, f.payload.offset, f.payload.count]
                }
                // The general reading: the body's described value, decoded alone.
                let bodyBytes = UnsafeRawBufferPointer(rebasing: raw[8...])
                let expected: Result<[Int], DecodeError> = Result { () throws(DecodeError) in
                    var r = ByteReader(bodyBytes, baseOffset: 11)
                    guard case .described(let p) = try ValueDecoder.decode(&r, depth: 1, limits: limits) else { return [-2] }
                    guard case .code(let c) = p.descriptor else { return [-1] }
                    return [Int(c), p.encodedValue.offset, p.encodedValue.bytes.count, p.encodedValue.depth, 11 + r.position, bodyBytes.count - r.position]
                }
                #expect(cut == expected, "\(frame)")
            }
        }
    }
}
