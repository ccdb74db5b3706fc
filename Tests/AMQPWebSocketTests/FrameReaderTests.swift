@testable import AMQPWebSocket
import Testing

/// Frames and masking: the RFC's examples, round trips, every split of a stream of
/// frames, and each violation ending with its own code and close status.
@Suite struct FrameReaderTests {
    @Test func acceptValueIsTheRFCExample() {
        // RFC 6455 section 1.3.
        #expect(webSocketAccept(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(Base64.encode(SHA1.hash(Array("abc".utf8))) == "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=")
        #expect(Base64.encode(SHA1.hash([])) == "2jmj7l5rSw0yVb/vlWAYkK/YBwk=")
        // 56 bytes: the padding spills into a second block.
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(SHA1.hash(long).map { String($0, radix: 16) }.joined() == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(Base64.decodedCount("dGhlIHNhbXBsZSBub25jZQ==") == 16)
        #expect(Base64.decodedCount("not base64!") == nil)
    }

    @Test func maskingRoundTripsAtEveryPhaseAndLength() {
        var g = SplitMix(seed: 7)
        for length in [0, 1, 3, 7, 8, 9, 15, 16, 17, 100, 1_000] {
            let original = (0..<length).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            let mask = UInt32(truncatingIfNeeded: g.next())
            for phase in 0..<4 {
                var bytes = original
                bytes.withUnsafeMutableBytes { _ = WebSocketFrame.applyMask(mask, phase: phase, to: $0) }
                // Byte by byte, from the RFC's definition: j-th byte XOR key[(phase + j) mod 4].
                let key = [UInt8(mask >> 24), UInt8(mask >> 16 & 0xFF), UInt8(mask >> 8 & 0xFF), UInt8(mask & 0xFF)]
                #expect(bytes == original.enumerated().map { $0.element ^ key[($0.offset + phase) % 4] })
                // Split at any point, the phase carries over.
                let cut = length / 3
                bytes.withUnsafeMutableBytes { b in
                    let p = WebSocketFrame.applyMask(mask, phase: phase, to: UnsafeMutableRawBufferPointer(rebasing: b[..<cut]))
                    _ = WebSocketFrame.applyMask(mask, phase: p, to: UnsafeMutableRawBufferPointer(rebasing: b[cut...]))
                }
                #expect(bytes == original)
            }
        }
    }

    @Test func theRFCsMaskedHelloExample() {
        // Section 5.7: a masked "Hello" from a client.
        let frame: [UInt8] = [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
        var reader = WebSocketFrameReader(readsServerFrames: false, maxPayload: 1 << 20)
        let r = Self.read(&reader, frame)
        // A text frame: refused, with 1003.
        #expect(r.error?.code == .textFrame)
        #expect(r.error?.closeStatus == .unsupportedData)
        // As binary it unmasks to "Hello".
        var binary = frame
        binary[0] = 0x82
        var reader2 = WebSocketFrameReader(readsServerFrames: false, maxPayload: 1 << 20)
        let r2 = Self.read(&reader2, binary)
        #expect(r2.error == nil)
        #expect(String(decoding: r2.data, as: UTF8.self) == "Hello")
    }

    /// A stream from a client: fragmented binary message, a ping between fragments, a
    /// 300-byte frame (16-bit length), a 70,000-byte frame (64-bit length), an empty
    /// frame, a pong, a close.
    static func clientStream() -> (bytes: [UInt8], payload: [UInt8], controls: [(WebSocketOpcode, [UInt8])]) {
        var g = SplitMix(seed: 42)
        var bytes: [UInt8] = []
        var payload: [UInt8] = []
        var controls: [(WebSocketOpcode, [UInt8])] = []
        func frame(_ opcode: WebSocketOpcode, fin: Bool, _ body: [UInt8]) {
            let mask = UInt32(truncatingIfNeeded: g.next())
            var header = [UInt8](repeating: 0, count: 14)
            let n = header.withUnsafeMutableBytes { WebSocketFrame.writeHeader(opcode, payload: body.count, mask: mask, into: $0) }
            if !fin { header[0] &= 0x7F }
            var masked = body
            masked.withUnsafeMutableBytes { _ = WebSocketFrame.applyMask(mask, to: $0) }
            bytes += header[..<n] + masked
        }
        func data(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: g.next()) } }
        let a = data(10), b = data(20), c = data(300), d = data(70_000)
        frame(.binary, fin: false, a)
        frame(.ping, fin: true, Array("are you there".utf8))
        controls.append((.ping, Array("are you there".utf8)))
        frame(.continuation, fin: true, b)
        frame(.binary, fin: true, c)
        frame(.binary, fin: true, d)
        frame(.binary, fin: true, [])
        frame(.pong, fin: true, [])
        controls.append((.pong, []))
        frame(.close, fin: true, [0x03, 0xE8] + Array("bye".utf8))
        controls.append((.close, [0x03, 0xE8] + Array("bye".utf8)))
        payload = a + b + c + d
        return (bytes, payload, controls)
    }

    @Test(arguments: [1, 2, 3, 7, 13, 64, 1_000, 100_000])
    func everySplitOfAStreamYieldsTheSamePayloadAndControls(chunk: Int) {
        let stream = Self.clientStream()
        var reader = WebSocketFrameReader(readsServerFrames: false, maxPayload: 1 << 20)
        var pending: [UInt8] = []
        var payload: [UInt8] = []
        var controls: [(WebSocketOpcode, [UInt8])] = []
        var offset = 0
        var room = 5  // a small, changing output buffer as well
        while offset < stream.bytes.count || !pending.isEmpty {
            let take = min(chunk, stream.bytes.count - offset)
            pending += stream.bytes[offset..<(offset + take)]
            offset += take
            while true {
                var out = [UInt8](repeating: 0, count: room)
                room = room % 97 + 5
                let r = pending.withUnsafeBytes { input in out.withUnsafeMutableBytes { reader.read(input, into: $0) } }
                #expect(r.error == nil)
                payload += out[..<r.written]
                pending.removeFirst(r.consumed)
                if let c = r.control { controls.append((c.opcode, c.payload)) }
                if r.consumed == 0 && r.written == 0 && r.control == nil { break }
            }
            if take == 0 { break }
        }
        #expect(pending.isEmpty)
        #expect(payload == stream.payload)
        #expect(controls.map(\.0) == stream.controls.map(\.0))
        #expect(controls.map(\.1) == stream.controls.map(\.1))
    }

    @Test(arguments: [1, 5, 200])
    func aServersUnmaskedStreamReadsAtEverySplit(chunk: Int) {
        var bytes: [UInt8] = []
        var expected: [UInt8] = []
        for size in [0, 1, 125, 126, 65_535, 65_536] {
            let body = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            var header = [UInt8](repeating: 0, count: 14)
            let n = header.withUnsafeMutableBytes { WebSocketFrame.writeHeader(.binary, payload: size, mask: nil, into: $0) }
            #expect(n == WebSocketFrame.headerLength(payload: size, masked: false))
            bytes += header[..<n] + body
            expected += body
        }
        var reader = WebSocketFrameReader(readsServerFrames: true, maxPayload: 1 << 20)
        var got: [UInt8] = []
        var pending: [UInt8] = []
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            pending += bytes[start..<min(start + chunk, bytes.count)]
            var out = [UInt8](repeating: 0, count: 4096)
            while true {
                let r = pending.withUnsafeBytes { input in out.withUnsafeMutableBytes { reader.read(input, into: $0) } }
                #expect(r.error == nil)
                got += out[..<r.written]
                pending.removeFirst(r.consumed)
                if r.consumed == 0 { break }
            }
        }
        #expect(got == expected)
        #expect(reader.isBetweenFrames)
    }

    struct Violation: Sendable, CustomStringConvertible {
        let name: String
        let bytes: [UInt8]
        let fromServer: Bool
        let code: WebSocketError.Code
        let status: WebSocketCloseStatus
        var description: String { name }
    }

    static let violations: [Violation] = [
        Violation(name: "masked server frame", bytes: [0x82, 0x81, 1, 2, 3, 4, 5], fromServer: true, code: .maskingViolation, status: .protocolError),
        Violation(name: "unmasked client frame", bytes: [0x82, 0x01, 5], fromServer: false, code: .maskingViolation, status: .protocolError),
        Violation(name: "RSV1", bytes: [0xC2, 0x00], fromServer: true, code: .reservedBits, status: .protocolError),
        Violation(name: "RSV3", bytes: [0x92, 0x00], fromServer: true, code: .reservedBits, status: .protocolError),
        Violation(name: "opcode 3", bytes: [0x83, 0x00], fromServer: true, code: .reservedOpcode, status: .protocolError),
        Violation(name: "opcode 11", bytes: [0x8B, 0x00], fromServer: true, code: .reservedOpcode, status: .protocolError),
        Violation(name: "text", bytes: [0x81, 0x02, 0x68, 0x69], fromServer: true, code: .textFrame, status: .unsupportedData),
        Violation(name: "ping of 126", bytes: [0x89, 126, 0x00, 126] + [UInt8](repeating: 0, count: 126), fromServer: true, code: .invalidControlFrame, status: .protocolError),
        Violation(name: "fragmented ping", bytes: [0x09, 0x00], fromServer: true, code: .invalidControlFrame, status: .protocolError),
        Violation(name: "lone continuation", bytes: [0x80, 0x01, 0], fromServer: true, code: .invalidFragmentation, status: .protocolError),
        Violation(name: "binary inside a message", bytes: [0x02, 0x01, 0, 0x82, 0x01, 0], fromServer: true, code: .invalidFragmentation, status: .protocolError),
        Violation(name: "64-bit length with top bit", bytes: [0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1], fromServer: true, code: .frameTooLarge, status: .protocolError),
        Violation(name: "over the bound", bytes: [0x82, 127, 0, 0, 0, 0, 0x01, 0, 0, 1], fromServer: true, code: .frameTooLarge, status: .messageTooBig),
        Violation(name: "over a small bound, 16-bit", bytes: [0x82, 126, 0xFF, 0xFF], fromServer: true, code: .frameTooLarge, status: .messageTooBig),
    ]

    @Test(arguments: violations)
    func eachViolationEndsWithItsCodeAndStatus(_ v: Violation) {
        var reader = WebSocketFrameReader(readsServerFrames: v.fromServer, maxPayload: v.name.contains("small") ? 1_000 : 1 << 20)
        let r = Self.read(&reader, v.bytes)
        #expect(r.error?.code == v.code, "\(v.name): \(String(describing: r.error))")
        #expect(r.error?.closeStatus == v.status, "\(v.name)")
        #expect(reader.failed)
        // Nothing more is read after a violation.
        let again = v.bytes.withUnsafeBytes { input in
            var out = [UInt8](repeating: 0, count: 16)
            return out.withUnsafeMutableBytes { reader.read(input, into: $0) }
        }
        #expect(again.consumed == 0 && again.error == nil)
    }

    /// Reads `bytes` whole into a large buffer, collecting data until an error or the end.
    static func read(_ reader: inout WebSocketFrameReader, _ bytes: [UInt8]) -> (data: [UInt8], error: WebSocketError?) {
        var data: [UInt8] = []
        var offset = 0
        while offset < bytes.count {
            var out = [UInt8](repeating: 0, count: 1 << 16)
            let r = bytes.withUnsafeBytes { input in
                out.withUnsafeMutableBytes { reader.read(UnsafeRawBufferPointer(rebasing: input[offset...]), into: $0) }
            }
            data += out[..<r.written]
            offset += r.consumed
            if let e = r.error { return (data, e) }
            if r.consumed == 0 { break }
        }
        return (data, nil)
    }
}

/// A small deterministic generator (SplitMix64).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
