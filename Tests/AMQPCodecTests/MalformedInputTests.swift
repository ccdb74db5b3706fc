import AMQPCodec
import Foundation
import Testing

/// One hostile input and exactly how it must be refused.
struct MalformedCase: Sendable, CustomTestStringConvertible {
    /// What the bytes are fed to.
    enum Layer: Sendable {
        /// `ValueDecoder`, then full iteration and `materialize()`.
        case value
        /// `FrameDecoder(maxFrameSize: 512)`, then the performative fully iterated.
        case frame
        /// `ProtocolHeader.decode`.
        case protocolHeader
    }

    /// Also the file name under `Resources/malformed/` (`NAME.bin`).
    let name: String
    let layer: Layer
    let bytes: [UInt8]
    let code: DecodeError.Code
    let offset: Int
    let condition: ErrorCondition

    init(_ name: String, _ layer: Layer, _ hex: String, _ code: DecodeError.Code, at offset: Int, _ condition: ErrorCondition = .decodeError) {
        self.init(name, layer, bytes: WireBytes.hex(hex), code, at: offset, condition)
    }
    init(_ name: String, _ layer: Layer, bytes: [UInt8], _ code: DecodeError.Code, at offset: Int, _ condition: ErrorCondition = .decodeError) {
        self.name = name
        self.layer = layer
        self.bytes = bytes
        self.code = code
        self.offset = offset
        self.condition = condition
    }
    var testDescription: String { name }
}

/// The corpus of hostile inputs: the source of truth for `Resources/malformed/*.bin`,
/// which the fuzz harnesses use as seeds.
enum MalformedCorpus {
    static let framing = ErrorCondition.framingError

    static let truncation: [MalformedCase] = [
        MalformedCase("empty-input", .value, "", .truncated, at: 0),
        MalformedCase("boolean-0x56-without-byte", .value, "56", .truncated, at: 1),
        MalformedCase("ubyte-truncated", .value, "50", .truncated, at: 1),
        MalformedCase("ushort-truncated", .value, "60 01", .truncated, at: 1),
        MalformedCase("uint-truncated", .value, "70 00 00 01", .truncated, at: 1),
        MalformedCase("smalluint-truncated", .value, "52", .truncated, at: 1),
        MalformedCase("ulong-truncated", .value, "80 00 00 00 00 00 00 01", .truncated, at: 1),
        MalformedCase("smallulong-truncated", .value, "53", .truncated, at: 1),
        MalformedCase("byte-truncated", .value, "51", .truncated, at: 1),
        MalformedCase("short-truncated", .value, "61 ff", .truncated, at: 1),
        MalformedCase("int-truncated", .value, "71 00 00", .truncated, at: 1),
        MalformedCase("smallint-truncated", .value, "54", .truncated, at: 1),
        MalformedCase("long-truncated", .value, "81 00", .truncated, at: 1),
        MalformedCase("smalllong-truncated", .value, "55", .truncated, at: 1),
        MalformedCase("float-truncated", .value, "72 3f 80 00", .truncated, at: 1),
        MalformedCase("double-truncated", .value, "82 3f f0 00 00 00 00 00", .truncated, at: 1),
        MalformedCase("decimal32-truncated", .value, "74 00", .truncated, at: 1),
        MalformedCase("decimal64-truncated", .value, "84 00 00 00 00 00 00 00", .truncated, at: 1),
        MalformedCase("decimal128-truncated-in-low-half", .value, "94 00 00 00 00 00 00 00 00 01 02 03", .truncated, at: 9),
        MalformedCase("char-truncated", .value, "73 00 00 41", .truncated, at: 1),
        MalformedCase("timestamp-truncated", .value, "83 00 00 01", .truncated, at: 1),
        MalformedCase("uuid-truncated-in-low-half", .value, "98 00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee", .truncated, at: 9),
        MalformedCase("vbin8-without-size", .value, "a0", .truncated, at: 1),
        MalformedCase("vbin32-size-truncated", .value, "b0 00 00 00", .truncated, at: 1),
        MalformedCase("str8-without-size", .value, "a1", .truncated, at: 1),
        MalformedCase("str32-size-truncated", .value, "b1 00", .truncated, at: 1),
        MalformedCase("sym8-without-size", .value, "a3", .truncated, at: 1),
        MalformedCase("sym32-size-truncated", .value, "b3 00 00", .truncated, at: 1),
        MalformedCase("list8-without-size", .value, "c0", .truncated, at: 1),
        MalformedCase("list32-size-truncated", .value, "d0 00 00", .truncated, at: 1),
        MalformedCase("map8-without-size", .value, "c1", .truncated, at: 1),
        MalformedCase("map32-size-truncated", .value, "d1 00 00 00", .truncated, at: 1),
        MalformedCase("array8-without-size", .value, "e0", .truncated, at: 1),
        MalformedCase("array32-size-truncated", .value, "f0 00", .truncated, at: 1),
        MalformedCase("described-without-descriptor", .value, "00", .truncated, at: 1),
        MalformedCase("described-without-value", .value, "00 53 10", .truncated, at: 3),
        // The array's declared size ends before its element constructor.
        MalformedCase("array8-without-constructor", .value, "e0 01 00 52", .truncated, at: 3),
        MalformedCase("list8-element-truncated", .value, "c0 03 01 70 00", .truncated, at: 4),
    ]

    static let sizes: [MalformedCase] = [
        MalformedCase("vbin8-size-exceeds-input", .value, "a0 05 01 02", .sizeExceedsInput, at: 1),
        MalformedCase("vbin32-size-exceeds-input", .value, "b0 00 00 01 00 01", .sizeExceedsInput, at: 1),
        MalformedCase("str8-size-exceeds-input", .value, "a1 03 61", .sizeExceedsInput, at: 1),
        MalformedCase("str32-size-0xffffffff", .value, "b1 ff ff ff ff 61", .sizeExceedsInput, at: 1),
        MalformedCase("sym32-size-exceeds-input", .value, "b3 00 00 00 02 61", .sizeExceedsInput, at: 1),
        MalformedCase("list8-size-exceeds-input", .value, "c0 05 01 40", .sizeExceedsInput, at: 1),
        MalformedCase("list32-size-0xffffffff", .value, "d0 ff ff ff ff 00 00 00 00", .sizeExceedsInput, at: 1),
        MalformedCase("map8-size-exceeds-input", .value, "c1 04 02 40", .sizeExceedsInput, at: 1),
        MalformedCase("map32-size-exceeds-input", .value, "d1 00 00 01 00 00 00 00 02", .sizeExceedsInput, at: 1),
        MalformedCase("array8-size-exceeds-input", .value, "e0 10 01 40", .sizeExceedsInput, at: 1),
        MalformedCase("array32-size-0xffffffff", .value, "f0 ff ff ff ff 00 00 00 00 40", .sizeExceedsInput, at: 1),
        // An element may not run past the end of its list, even where the input goes on.
        MalformedCase("list8-element-overruns-list", .value, "c0 0b 02 c0 03 01 a1 05 61 62 63 64 65", .sizeExceedsInput, at: 7),
        MalformedCase("list8-size-zero", .value, "c0 00", .sizeTooSmall, at: 1),
        MalformedCase("list32-size-below-count-width", .value, "d0 00 00 00 03 00 00 00", .sizeTooSmall, at: 1),
        MalformedCase("map8-size-zero", .value, "c1 00", .sizeTooSmall, at: 1),
        MalformedCase("array8-size-zero", .value, "e0 00", .sizeTooSmall, at: 1),
        MalformedCase("array32-size-below-count-width", .value, "f0 00 00 00 02 00 00", .sizeTooSmall, at: 1),
        MalformedCase("list8-count-exceeds-size", .value, "c0 02 05 40", .countExceedsSize, at: 2),
        MalformedCase("list32-count-exceeds-size", .value, "d0 00 00 00 05 00 00 00 02 40", .countExceedsSize, at: 5),
        MalformedCase("map8-count-exceeds-size", .value, "c1 02 04 40", .countExceedsSize, at: 2),
        MalformedCase("map8-odd-count", .value, "c1 04 03 40 40 40", .oddMapCount, at: 0),
        MalformedCase("map32-odd-count", .value, "d1 00 00 00 05 00 00 00 01 40", .oddMapCount, at: 0),
        MalformedCase("array8-count-times-width-exceeds-size", .value, "e0 06 02 70 00 00 00 01", .countExceedsSize, at: 2),
        MalformedCase("array8-vbin-count-exceeds-size", .value, "e0 03 05 a0 00", .countExceedsSize, at: 2),
        MalformedCase("array32-null-elements-over-limit", .value, "f0 00 00 00 05 00 10 00 01 40", .tooManyElements, at: 5),
        MalformedCase("array32-uint0-elements-count-0xffffffff", .value, "f0 00 00 00 05 ff ff ff ff 43", .tooManyElements, at: 5),
        MalformedCase("array8-17-nulls-over-zero-width-cap", .value, "e0 02 11 40", .tooManyElements, at: 2),
        MalformedCase("array8-list0-elements-over-zero-width-cap", .value, "e0 02 ff 45", .tooManyElements, at: 2),
        // 640 bytes that would be 64 million values if only maxElements applied.
        MalformedCase("list-of-64-zero-width-arrays", .value, bytes: ZeroWidthArrayTests.listOfArrays(64, count: 1 << 20, code: 0x40),
                      .tooManyElements, at: 14),
        MalformedCase("list8-garbage-after-elements", .value, "c0 04 01 40 40 40", .sizeMismatch, at: 4),
        MalformedCase("map8-garbage-after-entries", .value, "c1 03 00 40 40", .sizeMismatch, at: 3),
        MalformedCase("array8-garbage-after-elements", .value, "e0 04 01 52 05 06", .sizeMismatch, at: 5),
        MalformedCase("bytes-after-the-value", .value, "40 40", .sizeMismatch, at: 1),
    ]

    static let constructors: [MalformedCase] = [
        MalformedCase("unknown-constructor-0x57", .value, "57", .unknownConstructor, at: 0),
        MalformedCase("unknown-constructor-0x01", .value, "01", .unknownConstructor, at: 0),
        MalformedCase("unknown-constructor-0xff", .value, "ff", .unknownConstructor, at: 0),
        MalformedCase("unknown-constructor-0x46", .value, "46", .unknownConstructor, at: 0),
        MalformedCase("unknown-constructor-in-list", .value, "c0 03 01 a2 00", .unknownConstructor, at: 3),
        MalformedCase("unknown-constructor-as-descriptor", .value, "00 ee 40", .unknownConstructor, at: 1),
        MalformedCase("array-unknown-element-constructor", .value, "e0 03 01 57 00", .unknownConstructor, at: 3),
        MalformedCase("array-element-constructor-described-twice", .value, "e0 05 01 00 53 01 00", .invalidArrayConstructor, at: 6),
    ]

    static let text: [MalformedCase] = [
        MalformedCase("utf8-overlong-two-bytes", .value, "a1 02 c0 80", .invalidUTF8, at: 2),
        MalformedCase("utf8-overlong-three-bytes", .value, "a1 03 e0 80 80", .invalidUTF8, at: 2),
        MalformedCase("utf8-overlong-four-bytes", .value, "a1 04 f0 80 80 80", .invalidUTF8, at: 2),
        MalformedCase("utf8-surrogate-d800", .value, "a1 03 ed a0 80", .invalidUTF8, at: 2),
        MalformedCase("utf8-surrogate-dfff", .value, "a1 03 ed bf bf", .invalidUTF8, at: 2),
        MalformedCase("utf8-truncated-sequence", .value, "a1 02 e2 82", .invalidUTF8, at: 2),
        MalformedCase("utf8-above-10ffff", .value, "a1 04 f4 90 80 80", .invalidUTF8, at: 2),
        MalformedCase("utf8-lead-byte-f5", .value, "a1 04 f5 80 80 80", .invalidUTF8, at: 2),
        MalformedCase("utf8-lone-continuation", .value, "a1 01 80", .invalidUTF8, at: 2),
        MalformedCase("utf8-bad-after-ascii-str32", .value, "b1 00 00 00 0a 61 62 63 64 65 66 67 68 69 ff", .invalidUTF8, at: 5),
        MalformedCase("utf8-invalid-in-array", .value, "e0 06 02 a1 01 61 01 c1", .invalidUTF8, at: 7),
        MalformedCase("symbol-non-ascii", .value, "a3 03 61 c3 a9", .nonASCIISymbol, at: 3),
        MalformedCase("symbol32-non-ascii", .value, "b3 00 00 00 01 80", .nonASCIISymbol, at: 5),
        MalformedCase("descriptor-symbol-non-ascii", .value, "00 a3 02 61 ff 45", .nonASCIISymbol, at: 4),
        MalformedCase("char-surrogate", .value, "73 00 00 d8 00", .invalidChar, at: 1),
        MalformedCase("char-above-10ffff", .value, "73 00 11 00 00", .invalidChar, at: 1),
        MalformedCase("char-0xffffffff", .value, "73 ff ff ff ff", .invalidChar, at: 1),
        MalformedCase("boolean-byte-2", .value, "56 02", .invalidBoolean, at: 1),
        MalformedCase("boolean-byte-ff", .value, "56 ff", .invalidBoolean, at: 1),
        MalformedCase("boolean-array-byte-2", .value, "e0 04 02 56 01 02", .invalidBoolean, at: 5),
    ]

    /// `depth` nested list32s, the innermost empty: 9 bytes a level.
    static func nestedLists(_ depth: Int) -> [UInt8] {
        var inner: [UInt8] = [0x45]
        for _ in 0..<depth {
            inner = [0xD0] + WireBytes.be32(UInt32(inner.count + 4)) + WireBytes.be32(1) + inner
        }
        return inner
    }
    /// `depth` nested map32s `{null: …}`: 10 bytes a level.
    static func nestedMaps(_ depth: Int) -> [UInt8] {
        var inner: [UInt8] = [0x40]
        for _ in 0..<depth {
            inner = [0xD1] + WireBytes.be32(UInt32(inner.count + 5)) + WireBytes.be32(2) + [0x40] + inner
        }
        return inner
    }
    /// `depth` nested arrays, each the single element of the one around it.
    static func nestedArrays(_ depth: Int) -> [UInt8] {
        // The innermost is an empty array of nulls; every array above holds one array32 element.
        var body: [UInt8] = WireBytes.be32(0) + [0x40]  // count 0, constructor null
        for _ in 1..<depth {
            body = WireBytes.be32(1) + [0xF0] + WireBytes.be32(UInt32(body.count)) + body
        }
        return [0xF0] + WireBytes.be32(UInt32(body.count)) + body
    }

    /// `depth` levels of a described list32 holding the next: 12 bytes a level.
    static func nestedDescribedLists(_ depth: Int) -> [UInt8] {
        var inner: [UInt8] = [0x45]
        for _ in 0..<depth {
            inner = [0x00, 0x53, 0x01, 0xD0] + WireBytes.be32(UInt32(inner.count + 4)) + WireBytes.be32(1) + inner
        }
        return inner
    }

    static let nesting: [MalformedCase] = [
        MalformedCase("described-chain-1000", .value, bytes: Array([UInt8]([0x00, 0x53, 0x01]).repeated(1000)) + [0x40], .nestingTooDeep, at: 32 * 3),
        MalformedCase("descriptor-chain-1000", .value, bytes: [UInt8](repeating: 0x00, count: 1000) + [0x53, 0x01, 0x40], .nestingTooDeep, at: 32),
        // These decode lazily: the outer header is fine, iteration or materialize() refuses.
        MalformedCase("list-in-list-1000", .value, bytes: nestedLists(1000), .nestingTooDeep, at: 32 * 9),
        MalformedCase("map-in-map-100", .value, bytes: nestedMaps(100), .nestingTooDeep, at: 32 * 10),
        MalformedCase("array-in-array-100", .value, bytes: nestedArrays(100), .nestingTooDeep, at: 10 + 9 * 31),
        // Described (depth 2k-1) and list (depth 2k) alternate: the 17th described is the 33rd level.
        MalformedCase("described-list-alternating-100", .value, bytes: nestedDescribedLists(100), .nestingTooDeep, at: 16 * 12),
    ]

    static let frames: [MalformedCase] = [
        MalformedCase("frame-size-below-8", .frame, "00 00 00 07 02 00 00 00", .invalidFrameHeader, at: 0, framing),
        MalformedCase("frame-size-zero", .frame, "00 00 00 00 02 00 00 00", .invalidFrameHeader, at: 0, framing),
        MalformedCase("frame-doff-below-2", .frame, "00 00 00 08 01 00 00 00", .invalidFrameHeader, at: 4, framing),
        MalformedCase("frame-doff-zero", .frame, "00 00 00 08 00 00 00 00", .invalidFrameHeader, at: 4, framing),
        MalformedCase("frame-doff-beyond-size", .frame, "00 00 00 08 03 00 00 00", .invalidFrameHeader, at: 4, framing),
        MalformedCase("frame-doff-255", .frame, "00 00 00 10 ff 00 00 00 00 00 00 00 00 00 00 00", .invalidFrameHeader, at: 4, framing),
        MalformedCase("frame-larger-than-max-frame-size", .frame, "00 00 02 01 02 00 00 00", .frameTooLarge, at: 0, framing),
        MalformedCase("frame-size-0xffffffff", .frame, "ff ff ff ff 02 00 00 00", .frameTooLarge, at: 0, framing),
        MalformedCase("frame-unknown-type-2", .frame, "00 00 00 08 02 02 00 00", .unknownFrameType, at: 5, framing),
        MalformedCase("frame-unknown-type-ff", .frame, "00 00 00 08 02 ff 00 00", .unknownFrameType, at: 5, framing),
        MalformedCase("frame-body-not-described", .frame, "00 00 00 0c 02 00 00 00 53 10 45 40", .invalidPerformative, at: 8),
        MalformedCase("frame-body-null", .frame, "00 00 00 09 02 00 00 00 40", .invalidPerformative, at: 8),
        MalformedCase("frame-body-after-extended-header-not-described", .frame, "00 00 00 0d 03 00 00 00 ff ff ff ff 45", .invalidPerformative, at: 12),
        MalformedCase("frame-descriptor-truncated", .frame, "00 00 00 0a 02 00 00 00 00 53", .truncated, at: 10),
        MalformedCase("frame-performative-truncated", .frame, "00 00 00 0c 02 00 00 00 00 53 10 c0", .truncated, at: 12),
        MalformedCase("frame-performative-list-exceeds-frame", .frame, "00 00 00 0e 02 00 00 00 00 53 10 c0 05 00 00 00 00 00", .sizeExceedsInput, at: 12),
        MalformedCase("frame-performative-garbage-in-list", .frame, "00 00 00 11 02 00 00 00 00 53 10 c0 04 01 40 40 40", .sizeMismatch, at: 15),
        MalformedCase("frame-performative-invalid-utf8", .frame, "00 00 00 12 02 00 00 00 00 53 10 c0 05 01 a1 02 c0 80", .invalidUTF8, at: 16),
        MalformedCase("frame-sasl-performative-bad-symbol", .frame, "00 00 00 11 02 01 00 00 00 53 41 c0 04 01 a3 01 80", .nonASCIISymbol, at: 16),
        MalformedCase("frame-performative-descriptor-chain", .frame,
                      bytes: WireBytes.be32(8 + 43) + [2, 0, 0, 0] + [UInt8](repeating: 0, count: 40) + [0x53, 0x01, 0x40], .nestingTooDeep, at: 8 + 32),
    ]

    static let protocolHeaders: [MalformedCase] = [
        MalformedCase("header-amqx", .protocolHeader, "41 4d 51 58 00 01 00 00", .invalidProtocolHeader, at: 3, framing),
        MalformedCase("header-id-1", .protocolHeader, "41 4d 51 50 01 01 00 00", .invalidProtocolHeader, at: 4, framing),
        MalformedCase("header-id-9", .protocolHeader, "41 4d 51 50 09 01 00 00", .invalidProtocolHeader, at: 4, framing),
        MalformedCase("header-http", .protocolHeader, "47 45 54 20 2f 20 48 54", .invalidProtocolHeader, at: 0, framing),
        MalformedCase("header-lowercase", .protocolHeader, "61 6d 71 70 00 01 00 00", .invalidProtocolHeader, at: 0, framing),
    ]

    static let all: [MalformedCase] = truncation + sizes + constructors + text + nesting + frames + protocolHeaders
}

extension Array {
    fileprivate func repeated(_ n: Int) -> [Element] { (0..<n).flatMap { _ in self } }
}

/// Ways to run a hostile input through the codec until it is refused.
enum MalformedRun {
    /// Decodes one value filling `bytes`, then walks everything inside it with the
    /// cursors (`nextEncoded`, `nextEntry`, `value()`) rather than `materialize()`.
    static func walkValue(_ bytes: [UInt8]) -> DecodeError? {
        bytes.withUnsafeBytes { raw in
            Result { () throws(DecodeError) in
                // Same order as `AMQPValue(decoding:)`: trailing bytes first, then the inside.
                let (view, consumed) = try ValueDecoder.decode(raw)
                guard consumed == raw.count else { throw DecodeError(.sizeMismatch, at: consumed) }
                try walk(view)
            }.failure
        }
    }

    static func walk(_ v: AMQPValueView) throws(DecodeError) {
        switch v {
        case .list(let l):
            var c = l.makeCursor()
            while let e = try c.nextEncoded() { try walk(try e.decode()) }
        case .map(let m):
            var c = m.makeCursor()
            while let (k, v) = try c.nextEntry() {
                try walk(k)
                try walk(v)
            }
        case .array(let a):
            var c = a.makeCursor()
            while let e = try c.next() { try walk(e) }
            if case .other(let d) = a.descriptor { try walk(try d.decode()) }
        case .described(let d):
            if case .other(let e) = d.descriptor { try walk(try e.decode()) }
            try walk(try d.value())
        default:
            break
        }
    }

    /// Cuts a frame with a 512-byte limit and fully materializes its performative.
    static func frame(_ bytes: [UInt8]) -> (error: DecodeError?, cut: Bool) {
        bytes.withUnsafeBytes { raw in
            var cut = false
            let e = Result { () throws(DecodeError) in
                switch try FrameDecoder(maxFrameSize: FrameHeader.minimumMaxFrameSize).decode(raw) {
                case .needMore: return
                case .frame(let f):
                    cut = true
                    if let p = f.performative { _ = try AMQPValueView.described(p).materialize() }
                }
            }.failure
            return (e, cut)
        }
    }

    static func protocolHeader(_ bytes: [UInt8]) -> DecodeError? {
        bytes.withUnsafeBytes { raw in Result { () throws(DecodeError) in _ = try ProtocolHeader.decode(raw) }.failure }
    }
}

@Suite("Malformed input corpus")
struct MalformedInputTests {
    @Test("the corpus is large, and its names are unique file names")
    func corpusShape() {
        #expect(MalformedCorpus.all.count >= 50)
        let names = MalformedCorpus.all.map(\.name)
        #expect(Set(names).count == names.count)
        for n in names { #expect(n.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }, "\(n)") }
    }

    @Test("each hostile input is refused with its code, offset and condition", arguments: MalformedCorpus.all)
    func refused(_ c: MalformedCase) throws {
        func check(_ e: DecodeError?, _ path: String) {
            guard let e else {
                Issue.record("\(path): accepted")
                return
            }
            #expect(e.code == c.code, "\(path): \(e)")
            #expect(e.offset == c.offset, "\(path): \(e)")
            #expect(e.condition == c.condition, "\(path): \(e)")
        }
        switch c.layer {
        case .value:
            check(WireBytes.decodeValue(c.bytes).failure, "materialize")
            check(MalformedRun.walkValue(c.bytes), "cursor walk")
        case .frame:
            let (e, _) = MalformedRun.frame(c.bytes)
            check(e, "frame")
        case .protocolHeader:
            check(MalformedRun.protocolHeader(c.bytes), "protocol header")
        }
    }

    @Test("lazily decoded bombs pass the first look and fail when iterated")
    func lazyBombs() throws {
        for bytes in [MalformedCorpus.nestedLists(1000), MalformedCorpus.nestedMaps(100), MalformedCorpus.nestedArrays(100)] {
            try bytes.withUnsafeBytes { raw in
                let (_, consumed) = try ValueDecoder.decode(raw)
                #expect(consumed == raw.count)
            }
        }
        // 32 levels are within the default limit; 33 are not.
        #expect(try WireBytes.decodeValue(MalformedCorpus.nestedLists(32)).get() != .null)
        #expect(WireBytes.decodeValue(MalformedCorpus.nestedLists(33)).failure?.code == .nestingTooDeep)
        // A tighter limit applies the same way.
        let tight = DecodeLimits(maxDepth: 3)
        #expect((try? WireBytes.decodeValue(MalformedCorpus.nestedLists(3), limits: tight).get()) != nil)
        #expect(WireBytes.decodeValue(MalformedCorpus.nestedLists(4), limits: tight).failure?.offset == 27)
    }

    @Test("every prefix of a corpus value is refused, never crashes", arguments: MalformedCorpus.all.filter { $0.layer == .value && $0.bytes.count <= 64 && $0.name != "bytes-after-the-value" })
    func prefixesRefused(_ c: MalformedCase) {
        for k in 0..<c.bytes.count {
            let prefix = Array(c.bytes[..<k])
            #expect(WireBytes.decodeValue(prefix).failure != nil, "prefix of \(k) bytes")
            #expect(MalformedRun.walkValue(prefix) != nil, "prefix of \(k) bytes")
        }
    }

    @Test("every prefix of a bad frame is either incomplete or refused the same way")
    func framePrefixes() {
        for c in MalformedCorpus.all where c.layer == .frame {
            for k in 0...c.bytes.count {
                let (e, cut) = MalformedRun.frame(Array(c.bytes[..<k]))
                if let e {
                    // A frame-header error needs only the header; a body error only the whole frame.
                    #expect(e.code == c.code && e.offset == c.offset, "\(c.name), prefix of \(k): \(e)")
                } else {
                    #expect(!cut, "\(c.name): a prefix of \(k) bytes was cut as a frame")
                }
            }
        }
    }

    @Test("the seed files under Resources/malformed match the table")
    func seedFilesMatch() throws {
        let dir = try #require(Bundle.module.url(forResource: "malformed", withExtension: nil, subdirectory: "Resources"))
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".bin") }
        #expect(Set(files) == Set(MalformedCorpus.all.map { "\($0.name).bin" }), "regenerate: see writeSeedFiles")
        guard Set(files) == Set(MalformedCorpus.all.map { "\($0.name).bin" }) else { return }
        for c in MalformedCorpus.all {
            let data = FileManager.default.contents(atPath: dir.appendingPathComponent("\(c.name).bin").path)
            #expect(data.map { [UInt8]($0) } == c.bytes, "\(c.name).bin")
        }
    }

    /// Writes the seed files from the table. Run once after changing the table:
    /// `AMQP_WRITE_MALFORMED_SEEDS=1 swift test --filter writeSeedFiles`, then commit them.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["AMQP_WRITE_MALFORMED_SEEDS"] == "1"))
    func writeSeedFiles() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources/malformed")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for old in try FileManager.default.contentsOfDirectory(atPath: dir.path) where old.hasSuffix(".bin") {
            try FileManager.default.removeItem(at: dir.appendingPathComponent(old))
        }
        for c in MalformedCorpus.all {
            try Data(c.bytes).write(to: dir.appendingPathComponent("\(c.name).bin"))
        }
    }
}

@Suite("Mutated inputs")
struct MutatedInputTests {
    /// Flips, replaces, inserts or deletes bytes of valid encodings; the codec must decode
    /// or refuse each result, never trap, and what it accepts must re-encode and decode to
    /// the same value.
    @Test("mutations of every golden vector and corpus case are decoded or refused")
    func mutations() throws {
        var rng = SplitMix64(seed: 0x6D75_7461)
        let seeds = PrimitiveGoldens.all.map(\.bytes).filter { $0.count <= 600 } + MalformedCorpus.all.filter { $0.layer == .value }.map(\.bytes)
        var accepted = 0, refused = 0
        for _ in 0..<60_000 {
            var bytes = seeds.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let i = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<5, using: &rng) {
                case 0 where !bytes.isEmpty: bytes[i] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng)
                case 1 where !bytes.isEmpty: bytes[i] = MutatedInputTests.interesting.randomElement(using: &rng)!
                case 2: bytes.insert(MutatedInputTests.interesting.randomElement(using: &rng)!, at: i)
                case 3 where !bytes.isEmpty: bytes.remove(at: i)
                default: bytes += [UInt8.random(in: 0...255, using: &rng)]
                }
            }
            switch WireBytes.decodeValue(bytes) {
            case .success(let v):
                accepted += 1
                #expect(MalformedRun.walkValue(bytes) == nil, "\(Hex.encode(bytes))")
                let again = try WireBytes.encode(v).get()
                #expect(try WireBytes.decodeValue(again).get() == v, "\(Hex.encode(bytes))")
            case .failure(let e):
                refused += 1
                #expect(e.offset >= 0 && e.offset <= bytes.count, "\(e) for \(Hex.encode(bytes))")
                #expect(MalformedRun.walkValue(bytes) != nil, "\(Hex.encode(bytes))")
            }
        }
        #expect(accepted > 1000 && refused > 1000)
    }

    static let interesting: [UInt8] = [0x00, 0x01, 0x40, 0x45, 0x52, 0x53, 0x7F, 0x80, 0xA1, 0xA3, 0xC0, 0xC1, 0xD0, 0xE0, 0xF0, 0xFE, 0xFF]

    @Test("mutations of the frame stream are cut or refused")
    func frameMutations() {
        var rng = SplitMix64(seed: 0x6672_616D)
        let stream = SplitStreams.full
        for _ in 0..<3_000 {
            var bytes = stream
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                if Bool.random(using: &rng) { bytes[i] = Self.interesting.randomElement(using: &rng)! } else { bytes[i] ^= 0x80 }
            }
            let feeder = SplitFeeder(bytes)
            if let e = feeder.reference.error {
                #expect(e.offset >= 0 && e.offset <= bytes.count)
            }
        }
    }
}
