import AMQPCodec
import AMQPTool
import Foundation
import Testing

// Cross-checks `amqp decode` against Qpid Proton (python3-qpid-proton, driven by
// Tests/Interop/proton_codec.py): Proton's readings of Proton's encodings (the stored
// corpus), Proton's readings of our encodings (a live subprocess), and frame listings.

/// The package root, found from this file's path (Tests/AMQPToolTests/…).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let protonCorpus = packageRoot.appendingPathComponent("Tests/AMQPCodecTests/Resources/proton-corpus")
let protonScript = packageRoot.appendingPathComponent("Tests/Interop/proton_codec.py")

/// Float and double nodes compare by `bits` only: `value` is informational.
func comparable(_ line: String) -> String {
    // Inside JSON strings quotes are escaped, so this pattern only meets real nodes.
    line.replacing(#/\{"type":"(float|double)","value":"[^"]*","bits"/#) { match in
        #"{"type":""# + match.output.1 + #"","bits""#
    }
}

/// Lines of `text` (no trailing empty line).
func lines(_ text: String) -> [String] {
    text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
}

/// Runs `/usr/bin/python3 proton_codec.py <arguments>`; fails the test (never skips)
/// when Python or its `proton` module is missing.
func runProton(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let check = try runProcess("/usr/bin/python3", ["-c", "import proton"])
    guard check.status == 0 else {
        throw MissingPrerequisite(
            "/usr/bin/python3 cannot import proton (\(check.stderr.split(separator: "\n").last ?? "")): `make test` installs python3-qpid-proton (Tools/install-deps.sh)"
        )
    }
    return try runProcess("/usr/bin/python3", [protonScript.path] + arguments)
}

func runProcess(_ executable: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe(), error = Pipe()
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = output
    process.standardError = error
    do {
        try process.run()
    } catch {
        throw MissingPrerequisite("cannot run \(executable) (\(error)); `make test` installs python3-qpid-proton (Tools/install-deps.sh)")
    }
    // Proton's stderr is one line at most; stdout may be large, so drain it first.
    let out = output.fileHandleForReading.readDataToEndOfFile()
    let err = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

/// Every value in `bytes`, rendered; stops at the first error.
func renderAll(_ bytes: [UInt8]) throws -> [String] {
    var out: [String] = []
    try bytes.withUnsafeBytes { raw in
        try ValueDecoder.decodeAll(raw) { (v) throws(DecodeError) in out.append(try JSONRenderer.render(v)) }
    }
    return out
}

/// A capture listed the way proton_codec.py lists it: `header sasl 1 0 0`, `amqp 1 begin`,
/// `amqp 0 empty`.
func listFrames(_ capture: [UInt8]) throws -> [String] {
    var out: [String] = []
    try capture.withUnsafeBytes { raw in
        try FrameStream.walk(raw) { (item) throws(DecodeError) in
            switch item {
            case .protocolHeader(let h):
                let id = switch h.id {
                case .amqp: "amqp"
                case .tls: "tls"
                case .sasl: "sasl"
                }
                out.append("header \(id) \(h.major) \(h.minor) \(h.revision)")
            case .frame(let f):
                // Every frame must also render.
                _ = try JSONRenderer.render(f)
                var what = "empty"
                if let p = f.performative {
                    if let code = p.descriptor.knownCode, let known = PerformativeFields.lookup(code) {
                        what = known.name
                    } else {
                        what = "not-a-performative"
                    }
                }
                out.append("\(f.header.type == .amqp ? "amqp" : "sasl") \(f.header.channel) \(what)")
            }
        }
    }
    return out
}

func corpusFiles(_ suffix: String, frames: Bool) throws -> [URL] {
    try FileManager.default.contentsOfDirectory(at: protonCorpus, includingPropertiesForKeys: nil)
        .filter { $0.lastPathComponent.hasSuffix(suffix) && $0.lastPathComponent.hasPrefix("frames-") == frames }
        .sorted { $0.lastPathComponent < $1.lastPathComponent }
}

@Suite("Proton cross-check")
struct ProtonCrossCheckTests {
    /// (1) Proton's encodings: our reading equals Proton's, line for line.
    @Test func storedCorpusValues() throws {
        let cases = try corpusFiles(".bin", frames: false)
        #expect(cases.count >= 300, "the corpus at \(protonCorpus.path) looks incomplete")
        for bin in cases {
            let name = bin.deletingPathExtension().lastPathComponent
            let expected = lines(try String(contentsOf: bin.deletingPathExtension().appendingPathExtension("json"), encoding: .utf8))
            let ours: [String]
            do {
                ours = try renderAll([UInt8](try Data(contentsOf: bin)))
            } catch {
                Issue.record("\(name): we fail where Proton reads \(expected.count) value(s): \(error)")
                continue
            }
            #expect(ours.count == expected.count, "\(name): line count")
            for (got, want) in zip(ours, expected) where comparable(got) != comparable(want) {
                Issue.record("\(name):\n ours:   \(got)\n proton: \(want)")
            }
        }
    }

    /// (2) Our encodings, read by Proton in one subprocess, equal our own reading.
    @Test func ourEncodingsReadByProton() throws {
        let values = ownedCorpus()
        #expect(values.count >= 100)
        var input: [UInt8] = []
        var ours: [String] = []
        for v in values {
            let encoded = try v.encoded()
            input += encoded
            ours.append(try renderEncoded(encoded))
        }
        let file = try TemporaryFile(input)
        let proton = try runProton(["describe", file.path])
        #expect(proton.status == 0, "proton: \(proton.stderr)")
        let theirs = lines(proton.stdout)
        #expect(theirs.count == ours.count, "Proton read \(theirs.count) of \(ours.count) values")
        for (i, (got, want)) in zip(ours, theirs).enumerated() where comparable(got) != comparable(want) {
            Issue.record("value \(i) (\(values[i])):\n ours:   \(got)\n proton: \(want)")
        }
    }

    /// A descriptor may be any value (part 1 §1.3: descriptors other than symbol or
    /// ulong are "not syntactically invalid", only reserved), so we read a list, map,
    /// array or described value as a descriptor. Proton 0.37 refuses every compound
    /// descriptor except the empty list0 (PN_ARG_ERR): a Proton limit, not ours.
    @Test func compoundDescriptors() throws {
        let values: [AMQPValue] = [
            .described(descriptor: .list([.uint(1)]), value: .uint(2)),
            .described(descriptor: .map([.symbol("k"): .null]), value: .null),
            .described(descriptor: .described(descriptor: .ulong(1), value: .null), value: .uint(2)),
        ]
        #expect(try render(values[0]) == #"{"type":"described","descriptor":{"type":"list","value":[{"type":"uint","value":1}]},"value":{"type":"uint","value":2}}"#)
        for value in values {
            let file = try TemporaryFile(try value.encoded())
            let proton = try runProton(["describe", file.path])
            #expect(proton.status == 1 && proton.stderr.contains("PN_ARG_ERR"), "Proton now reads \(value): \(proton.stdout)")
            _ = try render(value)
        }
    }

    /// (3) Proton's frame captures: our frame-level reading equals Proton's listing.
    @Test func storedCorpusFrames() throws {
        let captures = try corpusFiles(".bin", frames: true)
        #expect(captures.count >= 6)
        for bin in captures {
            let expected = lines(try String(contentsOf: bin.deletingPathExtension().appendingPathExtension("txt"), encoding: .utf8))
            let ours = try listFrames([UInt8](try Data(contentsOf: bin)))
            #expect(ours == expected, "\(bin.lastPathComponent)")
        }
    }

    /// Our SASL + AMQP capture, listed by Proton, reads as we read it.
    @Test func ourCaptureListedByProton() throws {
        let capture = try saslAndAMQPCapture()
        let file = try TemporaryFile(capture)
        let proton = try runProton(["frames", file.path])
        #expect(proton.status == 0, "proton: \(proton.stderr)")
        #expect(lines(proton.stdout) == (try listFrames(capture)))
    }
}
