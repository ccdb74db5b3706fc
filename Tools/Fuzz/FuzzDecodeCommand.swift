// fuzz-corpus: decode
// fuzz-sources: Tools/AMQPTool/DecodeRendering.swift Tools/AMQPTool/FrameStream.swift Tools/AMQPTool/JSONRenderer.swift Tools/AMQPTool/JSONRenderer+Frames.swift Tools/AMQPTool/JSONRenderer+Messages.swift Tools/AMQPTool/PerformativeFields.swift
//
// Input: a knob byte, then what `amqp decode` reads. Knob bits: 0 `--frames` (a capture:
// protocol headers and frames) or values back to back; 1 `--hex` (the rest is hex text);
// 2-4 `--max-depth` (32, 1, 2, 3, 4, 8, 64, 256); 5 also render the whole input as a
// message, as `amqp receive --print` does (transfer payloads always are, with --frames).
// The code run is the command's own (`DecodeRendering`, the tool's sources, compiled into
// this harness), minus reading the file and ArgumentParser.
//
// Oracles: every line is one compact JSON object (a strict RFC 8259 parser, no
// Foundation) of the kind the mode prints; the renderer never repairs UTF-8 (U+FFFD
// appears only when the input holds its bytes); errors are typed and point into the
// input; a capture prints at most one line per 8 bytes, values one per byte; all the
// output stays within twice the documented limit (`DecodeRendering.outputLimit`: 64 KiB
// plus 256 bytes per input byte; the renderer checks it before each element of a
// described array, so one element may pass it); a decoded message renders (only the
// output limit may stop it).

import AMQPCodec

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let knob = data[0]
    let rest = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let frames = knob & 1 != 0
    let depths = [32, 1, 2, 3, 4, 8, 64, 256]
    let limits = DecodeLimits(maxDepth: depths[Int(knob >> 2) & 7])
    var bytes = [UInt8](rest)
    if knob & 2 != 0 {
        do {
            bytes = try DecodeRendering.bytes(fromHex: bytes)
        } catch {
            expect(error.description.hasPrefix("not hexadecimal: "), "hex error \(error)")
            expect(Hex.decode(bytes) == nil, "hex refused text that Hex.decode reads")
            return 0
        }
    }
    bytes.withUnsafeBytes { input in
        decode(input, frames: frames, limits: limits)
        if knob & 32 != 0 { renderMessage(input, limits: limits) }
    }
    return 0
}

/// Runs the command's rendering and checks every line, the error and the total size.
func decode(_ input: UnsafeRawBufferPointer, frames: Bool, limits: DecodeLimits) {
    let holdsReplacement = contains(input, [0xEF, 0xBF, 0xBD])
    var lines = 0
    var total = 0
    let outcome = Result { () throws(DecodeError) in
        try DecodeRendering.render(input, frames: frames, limits: limits) { line in
            lines += 1
            total += line.utf8.count + 1
            checkJSON(line, holdsReplacement: holdsReplacement)
            if frames {
                expect(line.hasPrefix(#"{"frame":{"#) || line.hasPrefix(#"{"protocol-header":{"#), "capture line kind: \(line.prefix(80))")
            } else {
                expect(line.hasPrefix(#"{"type":""#), "value line kind: \(line.prefix(80))")
            }
        }
    }
    if case .failure(let error) = outcome {
        expect((0...input.count).contains(error.offset), "error offset \(error.offset) outside 0...\(input.count): \(error)")
    }
    expect(lines <= (frames ? input.count / 8 : input.count), "\(lines) lines from \(input.count) bytes")
    let bound = outputBound(input.count)
    expect(total <= bound, "\(total) bytes of JSON from \(input.count) bytes of input (bound \(bound))")

    // A transfer's payload is a message (or its first part): `amqp receive --print`.
    guard frames else { return }
    _ = Result { () throws(DecodeError) in
        try FrameStream.walk(input, decoder: FrameDecoder(limits: limits)) { (item) throws(DecodeError) in
            guard case .frame(let frame) = item, frame.payload.count > 0,
                let p = frame.performative, p.descriptor.knownCode == Descriptors.transfer
            else { return }
            renderMessage(frame.payload.bytes, limits: limits)
        }
    }
}

/// Renders `payload` as a message when it decodes as one; a decoded message always
/// renders (ReceiveCommand treats a failure as a bug) unless the output limit stops it.
func renderMessage(_ payload: UnsafeRawBufferPointer, limits: DecodeLimits) {
    guard let message = try? Message(decoding: payload, limits: limits) else { return }
    do {
        let line = try JSONRenderer.render(message, byteLimit: DecodeRendering.outputLimit(inputSize: payload.count))
        checkJSON(line, holdsReplacement: contains(payload, [0xEF, 0xBF, 0xBD]))
        expect(line.hasPrefix("{"), "message line: \(line.prefix(80))")
        expect(line.utf8.count <= outputBound(payload.count), "\(line.utf8.count) bytes of JSON for a \(payload.count)-byte message")
    } catch let error as DecodeError where error.code == .tooManyElements {
        return
    } catch {
        oracleFailure("a decoded message does not render", "\(error)\nmessage: \(brief(message))")
    }
}

/// The oracle's bound on the JSON an input of `n` bytes may print: twice the limit
/// `DecodeRendering.outputLimit` documents (64 KiB + 256 bytes per input byte), stated
/// here on its own so that a limit that no longer holds cannot hide.
func outputBound(_ n: Int) -> Int { 2 * ((1 << 16) + 256 * n) }

func contains(_ haystack: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool {
    guard haystack.count >= needle.count else { return false }
    for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
        var j = 1
        while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
        if j == needle.count { return true }
    }
    return false
}

/// Fails unless `line` is exactly one JSON object with no white space outside strings,
/// and holds U+FFFD only when the input did.
func checkJSON(_ line: String, holdsReplacement: Bool) {
    var text = line
    text.withUTF8 { utf8 in
        var parser = JSONCheck(bytes: UnsafeRawBufferPointer(utf8))
        expect(parser.peek() == UInt8(ascii: "{"), "a line is not an object: \(line.prefix(120))")
        if let problem = parser.document() {
            oracleFailure("malformed JSON: \(problem) at byte \(parser.position)", String(line.prefix(2000)))
        }
        if !holdsReplacement {
            expect(!contains(UnsafeRawBufferPointer(utf8), [0xEF, 0xBF, 0xBD]), "U+FFFD in the output, not in the input: \(line.prefix(2000))")
        }
    }
}

/// A strict RFC 8259 recognizer for compact JSON: no white space between tokens (the
/// renderer writes none), strings with only the escapes JSON allows and no raw control
/// characters, numbers in JSON's grammar.
struct JSONCheck {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    /// One value and the end of input; the problem, or nil.
    mutating func document() -> String? {
        if let problem = value(depth: 0) { return problem }
        return position == bytes.count ? nil : "text after the value"
    }

    mutating func value(depth: Int) -> String? {
        // The renderer nests three JSON levels per AMQP level at most, and AMQP nesting is
        // bounded by max-depth (256 here) plus the performative and frame wrappers.
        guard depth < 1000 else { return "nested too deep" }
        guard let c = peek() else { return "end of input where a value was expected" }
        switch c {
        case UInt8(ascii: "{"):
            position += 1
            if peek() == UInt8(ascii: "}") {
                position += 1
                return nil
            }
            while true {
                guard peek() == UInt8(ascii: "\"") else { return "object key is not a string" }
                if let p = string() { return p }
                guard peek() == UInt8(ascii: ":") else { return "no colon after a key" }
                position += 1
                if let p = value(depth: depth + 1) { return p }
                switch peek() {
                case UInt8(ascii: ","): position += 1
                case UInt8(ascii: "}"):
                    position += 1
                    return nil
                default: return "object not closed"
                }
            }
        case UInt8(ascii: "["):
            position += 1
            if peek() == UInt8(ascii: "]") {
                position += 1
                return nil
            }
            while true {
                if let p = value(depth: depth + 1) { return p }
                switch peek() {
                case UInt8(ascii: ","): position += 1
                case UInt8(ascii: "]"):
                    position += 1
                    return nil
                default: return "array not closed"
                }
            }
        case UInt8(ascii: "\""): return string()
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number()
        default: return "unexpected byte 0x\(Hex.encode([c]))"
        }
    }

    mutating func literal(_ word: StaticString) -> String? {
        let w = UnsafeRawBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard bytes.count - position >= w.count, w.indices.allSatisfy({ bytes[position + $0] == w[$0] }) else {
            return "bad literal"
        }
        position += w.count
        return nil
    }

    mutating func digits() -> Int {
        let start = position
        while let c = peek(), c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") { position += 1 }
        return position - start
    }

    mutating func number() -> String? {
        if peek() == UInt8(ascii: "-") { position += 1 }
        if peek() == UInt8(ascii: "0") {
            position += 1
        } else if digits() == 0 {
            return "number without digits"
        }
        if peek() == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { return "no digits after the point" }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            position += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { return "no exponent digits" }
        }
        return nil
    }

    func isHexDigit(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "A")...UInt8(ascii: "F"): true
        default: false
        }
    }

    mutating func string() -> String? {
        position += 1
        while let c = peek() {
            position += 1
            switch c {
            case UInt8(ascii: "\""): return nil
            case 0x00..<0x20: return "raw control character 0x\(Hex.encode([c])) in a string"
            case UInt8(ascii: "\\"):
                guard let e = peek() else { return "string ends in an escape" }
                position += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                    UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    continue
                case UInt8(ascii: "u"):
                    for _ in 0..<4 {
                        guard let h = peek(), isHexDigit(h) else { return "bad \\u escape" }
                        position += 1
                    }
                default: return "bad escape \\\(Character(Unicode.Scalar(e)))"
                }
            default: continue
            }
        }
        return "string not closed"
    }
}
