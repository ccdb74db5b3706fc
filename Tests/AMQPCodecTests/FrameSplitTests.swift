import AMQPCodec
import Glibc
import Testing

/// One thing cut from a byte stream, copied out of the buffer so runs can be compared.
enum StreamEvent: Hashable, CustomStringConvertible {
    case protocolHeader(ProtocolHeader)
    case frame(StreamFrame)

    var description: String {
        switch self {
        case .protocolHeader(let h): "header \(h)"
        case .frame(let f): "frame \(f.header) ext=\(Hex.encode(f.extendedHeader)) perf=\(Hex.encode(f.performative)) payload=\(f.payload.count)B"
        }
    }
}

/// A frame with every part copied, and the absolute offsets the views reported.
struct StreamFrame: Hashable {
    var header: FrameHeader
    var extendedHeader: [UInt8]
    var extendedHeaderOffset: Int
    /// The performative's encoding (descriptor included); empty for an empty frame.
    var performative: [UInt8]
    var performativeValue: AMQPValue?
    var descriptorCode: UInt64?
    var payload: [UInt8]
    var payloadOffset: Int

    /// Field by field, the bytes with `memcmp`: the every-cut tests compare each run's
    /// frames with the whole read, and element-wise array comparison in a debug build
    /// made those runs over the Proton captures take seconds.
    static func == (a: StreamFrame, b: StreamFrame) -> Bool {
        a.header == b.header && a.extendedHeaderOffset == b.extendedHeaderOffset && a.payloadOffset == b.payloadOffset
            && a.descriptorCode == b.descriptorCode && sameBytes(a.extendedHeader, b.extendedHeader)
            && sameBytes(a.performative, b.performative) && sameBytes(a.payload, b.payload)
            && a.performativeValue == b.performativeValue
    }

    private static func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
    }
}

/// Feeds a byte stream to an accumulating buffer in a given chunking, the way a
/// connection sees it arrive from a socket, and records what is cut from it (like
/// SwiftNIO's `ByteToMessageDecoderVerifier`).
///
/// At a unit boundary a leading `A` means a protocol header, anything else a frame (a
/// frame starting with `A` would be over 1 GiB). Every `.needMore(n)` is checked against
/// the unit's true length, taken from cutting the whole stream at once: `n ≥ 1`, `n` never
/// asks past the end of the unit, and feeding exactly `n` more bytes makes progress
/// (a frame once the header was known; otherwise the header becomes known).
struct SplitFeeder {
    let stream: [UInt8]
    let decoder: FrameDecoder
    /// Where `stream[0]` sits in a longer stream it was taken from (0 when it is the
    /// whole stream), so the views report the offsets a cut of the whole would.
    let baseOffset: Int
    /// Where each unit of the stream starts and ends, from cutting it in one piece.
    let units: [Range<Int>]
    /// What cutting the whole stream in one piece yields.
    let reference: Outcome

    struct Outcome: Equatable {
        var events: [StreamEvent]
        var error: DecodeError?
        /// Bytes fed but not cut (a partial unit at the end, or what follows an error).
        var leftover: Int
    }

    enum Step {
        case needMore(Int)
        case cut(StreamEvent, length: Int)
    }

    init(_ stream: [UInt8], decoder: FrameDecoder = FrameDecoder(), baseOffset: Int = 0) {
        self.stream = stream
        self.decoder = decoder
        self.baseOffset = baseOffset
        var units: [Range<Int>] = []
        var events: [StreamEvent] = []
        var error: DecodeError? = nil
        var at = 0
        cutting: while at < stream.count {
            switch Self.step(stream[at...], at: baseOffset + at, decoder: decoder) {
            case .success(.cut(let e, let length)):
                events.append(e)
                units.append(at..<(at + length))
                at += length
            case .success(.needMore):
                break cutting
            case .failure(let e):
                error = e
                break cutting
            }
        }
        self.units = units
        self.reference = Outcome(events: events, error: error, leftover: stream.count - at)
    }

    /// Cuts one unit from the start of `buffer`, whose first byte is stream offset `at`.
    static func step(_ buffer: ArraySlice<UInt8>, at: Int, decoder: FrameDecoder) -> Result<Step, DecodeError> {
        buffer.withUnsafeBytes { raw in
            Result { () throws(DecodeError) -> Step in
                if raw.first == 0x41 {
                    switch try ProtocolHeader.decode(raw, baseOffset: at) {
                    case .needMore(let n): return .needMore(n)
                    case .header(let h): return .cut(.protocolHeader(h), length: ProtocolHeader.size)
                    }
                }
                switch try decoder.decode(raw, baseOffset: at) {
                case .needMore(let n): return .needMore(n)
                case .frame(let f):
                    let bodyStart = Int(f.header.dataOffset) * 4
                    let performativeEnd = f.length - f.payload.count
                    let frame = StreamFrame(
                        header: f.header,
                        extendedHeader: f.extendedHeader.array,
                        extendedHeaderOffset: f.extendedHeader.offset,
                        performative: Array(raw[bodyStart..<performativeEnd]),
                        performativeValue: try f.performative.map { (d) throws(DecodeError) in try AMQPValueView.described(d).materialize() },
                        descriptorCode: f.performative?.descriptor.knownCode,
                        payload: f.payload.array,
                        payloadOffset: f.payload.offset)
                    return .cut(.frame(frame), length: f.length)
                }
            }
        }
    }

    /// Feeds the stream in chunks of the given lengths (they must add up to the stream's
    /// length; zero-length chunks are allowed) and returns what was cut. Records an issue
    /// for every `.needMore` that breaks the rules above.
    func feed(chunks: [Int], sourceLocation: SourceLocation = #_sourceLocation) -> Outcome {
        precondition(chunks.reduce(0, +) == stream.count, "chunks must cover the stream")
        // `buffer[start...]` is what is not cut yet; cut units are skipped, not removed,
        // so a long stream fed whole is not moved once per frame.
        var buffer: [UInt8] = []
        var start = 0
        var consumed = 0  // stream offset of buffer[start]
        var fed = 0
        var events: [StreamEvent] = []
        for length in chunks {
            if start == buffer.count {
                buffer.removeAll(keepingCapacity: true)
                start = 0
            }
            buffer += stream[fed..<(fed + length)]
            fed += length
            draining: while start < buffer.count {
                switch Self.step(buffer[start...], at: baseOffset + consumed, decoder: decoder) {
                case .failure(let e):
                    return Outcome(events: events, error: e, leftover: fed - consumed)
                case .success(.cut(let e, let length)):
                    events.append(e)
                    start += length
                    consumed += length
                case .success(.needMore(let n)):
                    checkNeedMore(n, buffer: buffer[start...], consumed: consumed, sourceLocation: sourceLocation)
                    break draining
                }
            }
        }
        return Outcome(events: events, error: nil, leftover: buffer.count - start)
    }

    private func checkNeedMore(_ n: Int, buffer: ArraySlice<UInt8>, consumed: Int, sourceLocation: SourceLocation) {
        #expect(n >= 1, "needMore(\(n)) at \(consumed)+\(buffer.count)", sourceLocation: sourceLocation)
        // Only units that the whole stream completes have a known length.
        guard let unit = units.first(where: { $0.lowerBound == consumed }) else { return }
        let stillNeeded = unit.upperBound - consumed - buffer.count
        #expect(n <= stillNeeded, "needMore(\(n)) but the unit at \(consumed) needs only \(stillNeeded) more", sourceLocation: sourceLocation)
        guard n >= 1, n <= stillNeeded else { return }
        let fedEnd = consumed + buffer.count
        let more = Array(buffer) + stream[fedEnd..<(fedEnd + n)]
        switch Self.step(more[...], at: baseOffset + consumed, decoder: decoder) {
        case .success(.cut(_, let length)):
            #expect(length == unit.count, sourceLocation: sourceLocation)
        case .success(.needMore(let m)):
            // Allowed only when `n` only completed a frame header; then the answer is exact.
            let headerWasKnown = buffer.count >= FrameHeader.size || buffer.first == 0x41
            #expect(!headerWasKnown, "needMore(\(n)) from a known header, then needMore(\(m)) after \(n) bytes", sourceLocation: sourceLocation)
            #expect(m == stillNeeded - n, "after the header: needMore(\(m)), \(stillNeeded - n) really needed", sourceLocation: sourceLocation)
        case .failure(let e):
            Issue.record("feeding exactly needMore(\(n)) bytes failed: \(e)", sourceLocation: sourceLocation)
        }
    }
}

/// A named byte stream, so test reports say which one failed rather than print its bytes.
struct NamedStream: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    var testDescription: String { "\(name) (\(bytes.count) bytes)" }
}

/// Frames of every shape the layer must cut: protocol headers, SASL frames, empty frames,
/// extended headers, payloads, list32 performatives.
enum SplitStreams {
    static func frame(
        type: FrameHeader.FrameType = .amqp, channel: UInt16 = 0, extendedHeader: [UInt8] = [],
        performative: AMQPValue?, payload: [UInt8] = []
    ) -> [UInt8] {
        precondition(extendedHeader.count % 4 == 0)
        let body = (try! performative.map { try $0.encoded() } ?? []) + payload
        let size = UInt32(8 + extendedHeader.count + body.count)
        let doff = UInt8(2 + extendedHeader.count / 4)
        return WireBytes.be32(size) + [doff, type.rawValue, UInt8(channel >> 8), UInt8(channel & 0xFF)] + extendedHeader + body
    }

    static func performative(_ code: UInt64, _ fields: [AMQPValue]) -> AMQPValue {
        .described(descriptor: .ulong(code), value: .list(fields))
    }

    /// A data section carrying `n` bytes.
    static func dataSection(_ n: Int, seed: UInt8) -> [UInt8] {
        try! AMQPValue.described(descriptor: .ulong(0x75), value: .binary((0..<n).map { UInt8(truncatingIfNeeded: $0) &+ seed })).encoded()
    }

    /// A connection's first bytes from the client side: SASL, then AMQP.
    static let full: [UInt8] = {
        var s: [UInt8] = []
        s += ProtocolHeader.sasl.bytes
        s += frame(type: .sasl, performative: performative(0x40, [.array(.symbols(["PLAIN", "ANONYMOUS", "EXTERNAL"]))]))
        s += frame(type: .sasl, performative: performative(0x41, [.symbol("PLAIN"), .binary(Array("\u{0}user\u{0}secret".utf8))]))
        s += frame(type: .sasl, performative: performative(0x44, [.ubyte(0)]))
        s += ProtocolHeader.amqp.bytes
        s += frame(performative: performative(0x10, [.string("container-1"), .string("broker.example")]))
        s += frame(performative: nil)  // heartbeat
        s += frame(channel: 0, extendedHeader: [0xDE, 0xAD, 0xBE, 0xEF], performative: performative(0x11, [.null, .uint(0), .uint(2048), .uint(2048)]))
        s += frame(channel: 1, performative: performative(0x14, [.uint(0), .uint(1), .binary([7])]), payload: dataSection(100, seed: 3))
        s += frame(channel: 1, extendedHeader: [1, 2, 3, 4, 5, 6, 7, 8], performative: nil)  // empty, doff 4
        s += frame(channel: 7, performative: performative(0x14, [.uint(0), .uint(2)]), payload: dataSection(300, seed: 9))
        s += frame(performative: performative(0x10, [.string(String(repeating: "c", count: 300))]))  // list32 performative
        s += frame(channel: 2, performative: performative(0x15, [.boolean(true), .uint(0)]), payload: [])
        s += frame(channel: 0xFFFF, performative: performative(0x18, []))
        return s
    }()

    static let named = [NamedStream(name: "SASL then AMQP", bytes: full), NamedStream(name: "short", bytes: short)]

    /// Short enough for every pair of cut points.
    static let short: [UInt8] = {
        var s: [UInt8] = []
        s += ProtocolHeader.amqp.bytes
        s += frame(performative: nil)
        s += frame(channel: 3, extendedHeader: [9, 9, 9, 9], performative: performative(0x13, [.uint(1)]))
        s += frame(channel: 3, performative: performative(0x14, [.uint(0)]), payload: [1, 2, 3, 4, 5])
        s += frame(extendedHeader: [0, 0, 0, 0], performative: nil)
        return s
    }()
}

@Suite("Frames fed in every split")
struct FrameSplitTests {
    @Test("the reference cut finds every unit of the streams")
    func referenceCut() throws {
        let full = SplitFeeder(SplitStreams.full)
        #expect(full.reference.error == nil)
        #expect(full.reference.leftover == 0)
        #expect(full.reference.events.count == 14)
        #expect(full.units.last?.upperBound == SplitStreams.full.count)
        guard full.reference.events.count == 14 else { return }
        #expect(full.reference.events[0] == .protocolHeader(.sasl))
        #expect(full.reference.events[4] == .protocolHeader(.amqp))
        guard case .frame(let mechanisms) = full.reference.events[1] else { Issue.record("no SASL frame"); return }
        #expect(mechanisms.header.type == .sasl)
        #expect(mechanisms.descriptorCode == 0x40)
        guard case .frame(let heartbeat) = full.reference.events[6] else { Issue.record("no heartbeat"); return }
        #expect(heartbeat.header == FrameHeader(size: 8))
        #expect(heartbeat.performative.isEmpty && heartbeat.performativeValue == nil)
        guard case .frame(let begin) = full.reference.events[7] else { Issue.record("no begin"); return }
        #expect(begin.header.dataOffset == 3)
        #expect(begin.extendedHeader == [0xDE, 0xAD, 0xBE, 0xEF])
        #expect(begin.extendedHeaderOffset == full.units[7].lowerBound + 8)
        #expect(begin.descriptorCode == 0x11)
        guard case .frame(let transfer) = full.reference.events[8] else { Issue.record("no transfer"); return }
        #expect(transfer.header.channel == 1)
        #expect(transfer.payload == SplitStreams.dataSection(100, seed: 3))
        #expect(transfer.payloadOffset == full.units[8].upperBound - transfer.payload.count)
        guard case .frame(let emptyWide) = full.reference.events[9] else { Issue.record("no empty frame"); return }
        #expect(emptyWide.header == FrameHeader(size: 16, dataOffset: 4, channel: 1))
        #expect(emptyWide.performativeValue == nil && emptyWide.payload.isEmpty)
        guard case .frame(let wideOpen) = full.reference.events[11] else { Issue.record("no list32 open"); return }
        #expect(wideOpen.performative[3] == 0xD0)
        guard case .frame(let close) = full.reference.events[13] else { Issue.record("no close"); return }
        #expect(close.header.channel == 0xFFFF)
        #expect(close.performativeValue == SplitStreams.performative(0x18, []))
    }

    @Test("one byte at a time", arguments: SplitStreams.named)
    func oneByteAtATime(_ named: NamedStream) {
        let stream = named.bytes
        let feeder = SplitFeeder(stream)
        #expect(feeder.feed(chunks: Array(repeating: 1, count: stream.count)) == feeder.reference)
    }

    @Test("every single cut point", arguments: SplitStreams.named)
    func everyCutPoint(_ named: NamedStream) {
        let stream = named.bytes
        let feeder = SplitFeeder(stream)
        for cut in 0...stream.count {
            let outcome = feeder.feed(chunks: [cut, stream.count - cut])
            #expect(outcome == feeder.reference, "cut at \(cut)")
            if outcome != feeder.reference { return }
        }
    }

    @Test("every pair of cut points (short stream)")
    func everyPairOfCutPoints() {
        let stream = SplitStreams.short
        let feeder = SplitFeeder(stream)
        for a in 0...stream.count {
            for b in a...stream.count {
                let outcome = feeder.feed(chunks: [a, b - a, stream.count - b])
                #expect(outcome == feeder.reference, "cuts at \(a) and \(b)")
                if outcome != feeder.reference { return }
            }
        }
    }

    @Test("200 random chunkings (fixed seed)", arguments: SplitStreams.named)
    func randomChunkings(_ named: NamedStream) {
        let stream = named.bytes
        let feeder = SplitFeeder(stream)
        var rng = SplitMix64(seed: 0xA3C9_1F00 ^ UInt64(stream.count))
        for round in 0..<200 {
            var chunks: [Int] = []
            var left = stream.count
            while left > 0 {
                // Mostly small chunks, sometimes one that spans several frames.
                let cap = Int.random(in: 0..<4, using: &rng) == 0 ? 700 : 24
                let n = min(left, Int.random(in: 0...cap, using: &rng))
                chunks.append(n)
                left -= n
            }
            let outcome = feeder.feed(chunks: chunks)
            #expect(outcome == feeder.reference, "round \(round), chunks \(chunks)")
            if outcome != feeder.reference { return }
        }
    }

    @Test("a decoder limited to 512 bytes cuts the SASL phase the same way in every split")
    func smallMaximumFrameSize() {
        // The SASL exchange happens before any max-frame-size is agreed: 512 applies.
        let end = SplitFeeder(SplitStreams.full).units[4].upperBound
        let sasl = Array(SplitStreams.full[..<end])
        let feeder = SplitFeeder(sasl, decoder: FrameDecoder(maxFrameSize: FrameHeader.minimumMaxFrameSize))
        #expect(feeder.reference.events.count == 5 && feeder.reference.error == nil)
        for cut in 0...sasl.count {
            #expect(feeder.feed(chunks: [cut, sasl.count - cut]) == feeder.reference)
        }
        #expect(feeder.feed(chunks: Array(repeating: 1, count: sasl.count)) == feeder.reference)
    }

    @Test("a bad frame after good ones fails at the same byte in every split")
    func errorInEverySplit() {
        let bad: [UInt8] = [0x00, 0x00, 0x00, 0x10, 0x02, 0x05, 0x00, 0x00] + Array(repeating: 0, count: 8)  // type 5
        let stream = SplitStreams.short + bad
        let feeder = SplitFeeder(stream)
        #expect(feeder.reference.error?.code == .unknownFrameType)
        #expect(feeder.reference.error?.offset == SplitStreams.short.count + 5)
        #expect(feeder.reference.error?.condition == .framingError)
        #expect(feeder.reference.events.count == 5)
        for cut in 0...stream.count {
            let outcome = feeder.feed(chunks: [cut, stream.count - cut])
            #expect(outcome.events == feeder.reference.events && outcome.error == feeder.reference.error, "cut at \(cut)")
        }
        let bytewise = feeder.feed(chunks: Array(repeating: 1, count: stream.count))
        #expect(bytewise.events == feeder.reference.events && bytewise.error == feeder.reference.error)
        // Found as soon as the 8 header bytes are in: nothing of the body is awaited.
        #expect(bytewise.leftover == FrameHeader.size)
    }

    @Test("a truncated stream leaves the partial frame and asks only for what it lacks")
    func truncatedStream() {
        let stream = SplitStreams.short
        for end in 0...stream.count {
            let prefix = Array(stream[..<end])
            let feeder = SplitFeeder(prefix)
            #expect(feeder.reference.error == nil)
            #expect(feeder.feed(chunks: Array(repeating: 1, count: end)) == feeder.reference)
        }
    }
}

@Suite("Protocol headers fed in every split")
struct ProtocolHeaderSplitTests {
    static let headers: [ProtocolHeader] = [.amqp, .tls, .sasl, ProtocolHeader(id: .amqp, major: 1, minor: 0, revision: 9)]

    @Test("every prefix of a header asks for exactly the rest", arguments: headers)
    func prefixes(_ header: ProtocolHeader) throws {
        let bytes = header.bytes
        for k in 0..<bytes.count {
            let r = try Array(bytes[..<k]).withUnsafeBytes { (raw) throws(DecodeError) in try ProtocolHeader.decode(raw) }
            #expect(r == .needMore(bytes.count - k))
        }
        let whole = try bytes.withUnsafeBytes { (raw) throws(DecodeError) in try ProtocolHeader.decode(raw) }
        #expect(whole == .header(header))
        // Bytes after the header are not its business.
        let more = try (bytes + [0, 0, 0, 8]).withUnsafeBytes { (raw) throws(DecodeError) in try ProtocolHeader.decode(raw) }
        #expect(more == .header(header))
    }

    @Test("headers back to back, in every split")
    func everySplit() {
        let stream = Self.headers.flatMap(\.bytes)
        let feeder = SplitFeeder(stream)
        #expect(feeder.reference.events == Self.headers.map { .protocolHeader($0) })
        #expect(feeder.feed(chunks: Array(repeating: 1, count: stream.count)) == feeder.reference)
        for a in 0...stream.count {
            for b in a...stream.count {
                #expect(feeder.feed(chunks: [a, b - a, stream.count - b]) == feeder.reference)
            }
        }
    }

    @Test("a wrong byte is refused as soon as it arrives, at its offset")
    func refusedEarly() throws {
        let cases: [(bytes: [UInt8], offset: Int)] = [
            (Array("AMQX".utf8) + [0, 1, 0, 0], 3),
            (Array("HTTP".utf8) + [0, 1, 0, 0], 0),
            (Array("AMQP".utf8) + [1, 1, 0, 0], 4),
            (Array("AMQP".utf8) + [9, 1, 0, 0], 4),
        ]
        for c in cases {
            for k in 0...c.bytes.count {
                let r = Array(c.bytes[..<k]).withUnsafeBytes { raw in
                    Result { () throws(DecodeError) in try ProtocolHeader.decode(raw, baseOffset: 100) }
                }
                if k <= c.offset {
                    #expect(try r.get() == .needMore(8 - k))
                } else {
                    let e = try #require(r.failure)
                    #expect(e.code == .invalidProtocolHeader && e.offset == 100 + c.offset && e.condition == .framingError, "\(e)")
                }
            }
        }
    }
}

extension Result {
    /// The error, or `nil` on success.
    var failure: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }
}
