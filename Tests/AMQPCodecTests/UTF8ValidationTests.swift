@testable import AMQPCodec
import Testing

/// `TextValidation.isValidUTF8` against the standard library's own validation
/// (`String(validating:)`, and its UTF-8 parser where millions of calls are needed): every
/// sequence of 1, 2 and 3 bytes, structured and random samples of 4 bytes and longer,
/// and every alignment of the eight-bytes-at-a-time fast path.
@Suite("UTF-8 validation")
struct UTF8ValidationTests {
    static func swiftAccepts(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        String(validating: bytes, as: UTF8.self) != nil
    }

    /// The standard library's UTF-8 decoder, scalar by scalar. `String(validating:)` costs
    /// about 1.5 µs a call in a debug build; this is four times cheaper, which is what makes
    /// 2^24 checks affordable. The two are compared below.
    static func swiftParserAccepts(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var parser = Unicode.UTF8.ForwardParser()
        var input = bytes.makeIterator()
        while true {
            switch parser.parseScalar(from: &input) {
            case .valid: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    static func agree(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { b in TextValidation.isValidUTF8(UnsafeRawBufferPointer(b)) == swiftAccepts(b) }
    }
    static func agreeWithParser(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { b in TextValidation.isValidUTF8(UnsafeRawBufferPointer(b)) == swiftParserAccepts(b) }
    }

    @Test("every 1- and 2-byte sequence")
    func oneAndTwoBytes() {
        var mismatches: [[UInt8]] = []
        for a in 0...255 where !Self.agree([UInt8(a)]) { mismatches.append([UInt8(a)]) }
        for a in 0...255 {
            for b in 0...255 where !Self.agree([UInt8(a), UInt8(b)]) { mismatches.append([UInt8(a), UInt8(b)]) }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10).map { Hex.encode($0) })")
    }

    /// 2^24 sequences, split by first byte so the cases run in parallel.
    @Test("every 3-byte sequence", arguments: 0...255)
    func threeBytes(first: Int) {
        var mismatches: [[UInt8]] = []
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 3) { buf in
            buf[0] = UInt8(first)
            let raw = UnsafeRawBufferPointer(buf)
            for b in 0...255 {
                buf[1] = UInt8(b)
                for c in 0...255 {
                    buf[2] = UInt8(c)
                    if TextValidation.isValidUTF8(raw) != Self.swiftParserAccepts(UnsafeBufferPointer(buf)) {
                        mismatches.append(Array(buf))
                    }
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10).map { Hex.encode($0) })")
    }

    @Test("the parser used for 3-byte sequences agrees with String(validating:)")
    func referencesAgree() {
        var rng = SplitMix64(seed: 3)
        var disagreements: [[UInt8]] = []
        func compare(_ bytes: [UInt8]) {
            bytes.withUnsafeBufferPointer { b in if Self.swiftAccepts(b) != Self.swiftParserAccepts(b) { disagreements.append(bytes) } }
        }
        for a in 0...255 { for b in 0...255 { compare([UInt8(a), UInt8(b)]) } }
        for _ in 0..<200_000 {
            let w = rng.next()
            compare([UInt8(truncatingIfNeeded: w), UInt8(truncatingIfNeeded: w >> 8) | 0x80, UInt8(truncatingIfNeeded: w >> 16)])
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(10).map { Hex.encode($0) })")
    }

    /// Interesting bytes: the edges of every lead and continuation range.
    static let edges: [UInt8] = [
        0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED,
        0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF7, 0xF8, 0xFF,
    ]

    @Test("4-byte sequences: every lead 0xF0…0xFF with every continuation, and edges throughout")
    func fourBytesStructured() {
        var mismatches: [[UInt8]] = []
        // Leads that start (or fail to start) 4-byte sequences, with all of 0x80…0xBF after.
        for a in 0xF0...0xFF {
            for b in 0x70...0xC1 {
                for c in [0x7F, 0x80, 0x9A, 0xBF, 0xC0] {
                    for d in 0x7E...0xC1 where !Self.agreeWithParser([UInt8(a), UInt8(b), UInt8(c), UInt8(d)]) {
                        mismatches.append([UInt8(a), UInt8(b), UInt8(c), UInt8(d)])
                    }
                }
            }
        }
        // Every combination of edge bytes.
        for a in Self.edges {
            for b in Self.edges {
                for c in Self.edges {
                    for d in Self.edges where !Self.agreeWithParser([a, b, c, d]) { mismatches.append([a, b, c, d]) }
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10).map { Hex.encode($0) })")
    }

    @Test("250,000 random 4-byte sequences")
    func fourBytesRandom() {
        var rng = SplitMix64(seed: 0x0075_7446)
        var mismatches: [[UInt8]] = []
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4) { buf in
            let raw = UnsafeRawBufferPointer(buf)
            for _ in 0..<250_000 {
                let w = rng.next()
                for i in 0..<4 { buf[i] = UInt8(truncatingIfNeeded: w >> (8 * i)) }
                // Bias toward plausible sequences: half the time, force continuation bytes.
                if w >> 63 == 1 { for i in 1..<4 { buf[i] = 0x80 | (buf[i] & 0x3F) } }
                if TextValidation.isValidUTF8(raw) != Self.swiftAccepts(UnsafeBufferPointer(buf)) { mismatches.append(Array(buf)) }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10).map { Hex.encode($0) })")
    }

    @Test("longer sequences: valid text, mutated, truncated, at every fast-path alignment")
    func longerSequences() {
        var rng = SplitMix64(seed: 0x0042_4242)
        var mismatches: [[UInt8]] = []
        func check(_ bytes: [UInt8]) { if !Self.agree(bytes) { mismatches.append(bytes) } }
        for _ in 0..<40_000 {
            // Valid text of mixed widths.
            var text = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...24, using: &rng) { text.append(ArbitraryAMQP.scalar(using: &rng)) }
            var bytes = Array(String(text).utf8)
            check(bytes)
            guard !bytes.isEmpty else { continue }
            // One mutation: a random byte, an edge byte, a cut, or a dropped byte.
            let i = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: bytes[i] = UInt8.random(in: 0...255, using: &rng)
            case 1: bytes[i] = Self.edges.randomElement(using: &rng)!
            case 2: bytes.removeSubrange(i...)
            default: bytes.remove(at: i)
            }
            check(bytes)
        }
        // Every alignment of a bad or good sequence behind and before ASCII (the fast path
        // reads eight bytes at a time and must hand over at the right byte).
        let sequences: [[UInt8]] = [[0xC3, 0xA9], [0xE2, 0x82, 0xAC], [0xF0, 0x9F, 0x98, 0x80], [0x80], [0xC0, 0x80], [0xED, 0xA0, 0x80],
                                    [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0xFF], [0xF0, 0x9F, 0x98]]
        for s in sequences {
            for before in 0...17 {
                for after in 0...9 {
                    check(Array(repeating: 0x61, count: before) + s + Array(repeating: 0x62, count: after))
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10).map { Hex.encode($0) })")
    }

    @Test("the empty sequence is valid; symbols find their first non-ASCII byte")
    func emptyAndASCII() {
        #expect(TextValidation.isValidUTF8(UnsafeRawBufferPointer(start: nil, count: 0)))
        for length in 0...20 {
            for bad in 0..<length {
                var bytes = [UInt8](repeating: 0x7A, count: length)
                bytes[bad] = 0x80
                #expect(bytes.withUnsafeBytes { TextValidation.firstNonASCII($0) } == bad)
            }
            let clean = [UInt8](repeating: 0x7F, count: length)
            #expect(clean.withUnsafeBytes { TextValidation.firstNonASCII($0) } == nil)
        }
    }
}
