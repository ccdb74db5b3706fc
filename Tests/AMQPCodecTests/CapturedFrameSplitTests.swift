import AMQPCodec
import Foundation
import Testing

// Real conversations in every split: the frames Qpid Proton wrote in the stored captures
// (Resources/proton-corpus/frames-*.bin, what ProtonCrossCheckTests checks frame by
// frame) and a frame of every performative as our encoder writes it
// (PerformativeFrameTests), fed through SplitFeeder one byte at a time, cut at every
// offset, and in random chunks.

/// A capture of one side of a connection made with Proton, and its frame list.
struct ProtonCapture: Sendable, CustomTestStringConvertible {
    /// The file name without `.bin`.
    let name: String
    var testDescription: String { name }

    static let all = [
        "frames-client", "frames-server", "frames-512-client", "frames-512-server", "frames-nosasl-client", "frames-nosasl-server",
    ].map { ProtonCapture(name: $0) }

    static var directory: URL {
        get throws { try #require(Bundle.module.url(forResource: "proton-corpus", withExtension: nil, subdirectory: "Resources")) }
    }

    /// The captured bytes.
    func bytes() throws -> [UInt8] {
        [UInt8](try Data(contentsOf: try Self.directory.appendingPathComponent(name + ".bin")))
    }

    /// One line per unit, as the capture tool wrote it: `header sasl 1 0 0`,
    /// `amqp 1 transfer`, `amqp 0 empty`.
    func lines() throws -> [Substring] {
        try String(contentsOf: try Self.directory.appendingPathComponent(name + ".txt"), encoding: .utf8)
            .split(separator: "\n")
    }

    /// The captures made under a 512-byte max-frame-size are cut by a decoder that
    /// enforces it.
    var decoder: FrameDecoder {
        name.contains("-512-") ? FrameDecoder(maxFrameSize: FrameHeader.minimumMaxFrameSize) : FrameDecoder()
    }
}

extension SplitFeeder {
    /// Feeds the stream in two chunks cut at every offset and returns the offsets whose
    /// outcome differs from the whole read (the first `limit` of them).
    ///
    /// The decoder keeps no state between calls, so with a cut inside unit `i` everything
    /// before `i` comes out of the first chunk and everything after it out of the second,
    /// whatever else the stream holds: feeding units `i-1 ... i+1` is the same feeding
    /// as the whole stream's for those cuts, at the cost of three units per cut rather
    /// than the whole stream (captures of 40 KiB have 40,000 cut points). The windows
    /// keep the stream's offsets, so they must yield exactly the whole read's units.
    func cutsDifferingFromWholeRead(limit: Int = 5) -> [Int] {
        precondition(reference.error == nil && reference.leftover == 0, "every cut of a stream that does not cut cleanly")
        var differing: [Int] = []
        for (i, unit) in units.enumerated() {
            let first = Swift.max(0, i - 1)
            let last = Swift.min(units.count - 1, i + 1)
            let window = units[first].lowerBound..<units[last].upperBound
            let local = SplitFeeder(Array(stream[window]), decoder: decoder, baseOffset: baseOffset + window.lowerBound)
            let expected = Outcome(events: Array(reference.events[first...last]), error: nil, leftover: 0)
            guard local.reference == expected else { return [unit.lowerBound] }
            for cut in unit {
                let c = cut - window.lowerBound
                if local.feed(chunks: [c, window.count - c]) != expected {
                    differing.append(cut)
                    if differing.count == limit { return differing }
                }
            }
        }
        if feed(chunks: [stream.count, 0]) != reference { differing.append(stream.count) }
        return differing
    }

    /// Feeds the stream in `rounds` random chunkings (mostly small chunks, sometimes one
    /// spanning several frames) and returns the first chunking whose outcome differs.
    func randomChunkingDifferingFromWholeRead(rounds: Int, seed: UInt64) -> [Int]? {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<rounds {
            var chunks: [Int] = []
            var left = stream.count
            while left > 0 {
                let cap = Int.random(in: 0..<4, using: &rng) == 0 ? 4_096 : 24
                let n = Swift.min(left, Int.random(in: 0...cap, using: &rng))
                chunks.append(n)
                left -= n
            }
            if feed(chunks: chunks) != reference { return chunks }
        }
        return nil
    }
}

@Suite("Captured and performative frames fed in every split")
struct CapturedFrameSplitTests {
    @Test("the stored captures are the ones listed here")
    func everyCaptureIsListed() throws {
        let stored = try FileManager.default.contentsOfDirectory(atPath: try ProtonCapture.directory.path)
            .filter { $0.hasPrefix("frames-") && $0.hasSuffix(".bin") }
            .map { String($0.dropLast(4)) }
        #expect(Set(stored) == Set(ProtonCapture.all.map(\.name)))
    }

    @Test("a Proton capture read whole gives the frames its list names", arguments: ProtonCapture.all)
    func wholeRead(_ capture: ProtonCapture) throws {
        let feeder = SplitFeeder(try capture.bytes(), decoder: capture.decoder)
        #expect(feeder.reference.error == nil)
        #expect(feeder.reference.leftover == 0)
        let lines = try capture.lines()
        try #require(feeder.reference.events.count == lines.count)
        for (event, line) in zip(feeder.reference.events, lines) {
            switch event {
            case .protocolHeader(let h):
                #expect(line.hasPrefix("header \(h.id == .sasl ? "sasl" : "amqp") "), "\(line) vs \(event)")
            case .frame(let f):
                #expect(line.hasPrefix("\(f.header.type == .sasl ? "sasl" : "amqp") \(f.header.channel) "), "\(line) vs \(event)")
                #expect((f.performativeValue == nil) == line.hasSuffix(" empty"), "\(line) vs \(event)")
            }
        }
    }

    @Test("a Proton capture one byte at a time", arguments: ProtonCapture.all)
    func captureOneByteAtATime(_ capture: ProtonCapture) throws {
        let feeder = SplitFeeder(try capture.bytes(), decoder: capture.decoder)
        #expect(feeder.feed(chunks: Array(repeating: 1, count: feeder.stream.count)) == feeder.reference)
    }

    @Test("a Proton capture cut at every offset", arguments: ProtonCapture.all)
    func captureEveryCutPoint(_ capture: ProtonCapture) throws {
        let feeder = SplitFeeder(try capture.bytes(), decoder: capture.decoder)
        #expect(feeder.cutsDifferingFromWholeRead() == [])
    }

    @Test("a Proton capture in random chunks (fixed seed)", arguments: ProtonCapture.all)
    func captureRandomChunks(_ capture: ProtonCapture) throws {
        let feeder = SplitFeeder(try capture.bytes(), decoder: capture.decoder)
        let differing = feeder.randomChunkingDifferingFromWholeRead(rounds: 50, seed: 0x5EED_CA97 ^ UInt64(feeder.stream.count))
        #expect(differing == nil, "chunks \(differing ?? [])")
    }

    /// A frame of every performative (with a payload on the transfer), channel `i` for
    /// the `i`th, as PerformativeFrameTests encodes them.
    static func performativeStream() throws -> [UInt8] {
        var stream: [UInt8] = []
        for (i, p) in samplePerformatives.enumerated() {
            let payload: [UInt8]? = p.name == "transfer" ? [0x00, 0x53, 0x75, 0xa0, 0x01, 0x2a] : nil
            stream += try amqpFrameBytes(p, channel: UInt16(i), payload: payload)
        }
        return stream
    }

    @Test("every performative's frame in every split")
    func performativesInEverySplit() throws {
        let feeder = SplitFeeder(try Self.performativeStream())
        #expect(feeder.reference.error == nil && feeder.reference.leftover == 0)
        // Read whole, each frame is the performative that went in.
        try #require(feeder.reference.events.count == samplePerformatives.count)
        for (i, (event, p)) in zip(feeder.reference.events, samplePerformatives).enumerated() {
            guard case .frame(let f) = event else {
                Issue.record("unit \(i) is \(event)")
                continue
            }
            #expect(Int(f.header.channel) == i)
            let decoded = try f.performative.withUnsafeBytes { (raw) throws(DecodeError) -> Performative? in
                guard case .described(let d) = try ValueDecoder.decode(raw).value else { return nil }
                return try Performative(decoding: d)
            }
            #expect(decoded == p)
        }
        #expect(feeder.feed(chunks: Array(repeating: 1, count: feeder.stream.count)) == feeder.reference)
        #expect(feeder.cutsDifferingFromWholeRead() == [])
        let differing = feeder.randomChunkingDifferingFromWholeRead(rounds: 200, seed: 0x9E4F_0A11)
        #expect(differing == nil, "chunks \(differing ?? [])")
    }
}
