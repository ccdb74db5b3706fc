import AMQPCodec
import AMQPTool
import ArgumentParser
import Foundation
import Testing

/// Parses `arguments` as `amqp decode` would and runs the command in-process.
func runDecode(_ arguments: [String], stdin: [UInt8] = []) throws -> (lines: [String], errors: [String], exit: ExitCode?) {
    let command = try DecodeCommand.parse(arguments)
    let output = CapturedOutput()
    do {
        try command.run(output: output, standardInput: { stdin })
        return (output.lines, output.errors, nil)
    } catch let exit as ExitCode {
        return (output.lines, output.errors, exit)
    }
}

/// Three values, back to back: a string, a described list and an array.
let threeValues: [UInt8] = bytes("a1 02 6869  00 53 24 45  e0 06 02 a3 01 61 01 62")
let threeValuesJSON = [
    #"{"type":"string","value":"hi"}"#,
    #"{"type":"described","name":"amqp:accepted:list","descriptor":{"type":"ulong","value":"36"},"value":{"type":"list","value":[]}}"#,
    #"{"type":"array","element":"symbol","value":[{"type":"symbol","value":"a"},{"type":"symbol","value":"b"}]}"#,
]

@Suite("amqp decode, in-process")
struct DecodeCommandTests {
    @Test func rawFile() throws {
        let file = try TemporaryFile(threeValues)
        let result = try runDecode([file.path])
        #expect(result.lines == threeValuesJSON)
        #expect(result.errors.isEmpty)
        #expect(result.exit == nil)
    }

    @Test func emptyInputPrintsNothing() throws {
        let result = try runDecode([], stdin: [])
        #expect(result.lines.isEmpty && result.errors.isEmpty && result.exit == nil)
    }

    @Test func hexWithWhiteSpaceFromFileAndStandardInput() throws {
        let text = "A1 02 68 69\n\t00 53 24 45\r\n  e0 06 02 a3 01 61\n01 62\n"
        let file = try TemporaryFile(Array(text.utf8), name: "input.hex")
        #expect(try runDecode([file.path, "--hex"]).lines == threeValuesJSON)
        #expect(try runDecode(["--hex"], stdin: Array(text.utf8)).lines == threeValuesJSON)
    }

    @Test func malformedInputPrintsWhatCameBeforeThenTheError() throws {
        // true, false, null, then 0x57, which AMQP 1.0 does not define, at byte 3.
        let result = try runDecode(["--hex"], stdin: Array("41 42 40 57".utf8))
        #expect(result.lines == [
            #"{"type":"boolean","value":true}"#,
            #"{"type":"boolean","value":false}"#,
            #"{"type":"null"}"#,
        ])
        #expect(result.errors == ["error: unknown constructor (0x57) at byte 3"])
        #expect(result.exit == ExitCode(1))
    }

    @Test func malformedInsideAValueDropsThatWholeLine() throws {
        // A list whose second element is cut short: nothing of the list is printed.
        let result = try runDecode([], stdin: bytes("40 c0 04 02 41 71 00"))
        #expect(result.lines == [#"{"type":"null"}"#])
        #expect(result.errors == ["error: truncated input at byte 6"])
        #expect(result.exit == ExitCode(1))
    }

    @Test func framesFromAFile() throws {
        let file = try TemporaryFile(try saslAndAMQPCapture())
        let result = try runDecode(["--frames", file.path])
        #expect(result.lines == (try renderFrames(try saslAndAMQPCapture())))
        #expect(result.lines.count == 10)
        #expect(result.exit == nil)
    }

    @Test func truncatedFrames() throws {
        let capture = try saslAndAMQPCapture()
        let result = try runDecode(["--frames"], stdin: Array(capture.dropLast(3)))
        #expect(result.lines.count == 9)
        #expect(result.errors == ["error: truncated input (frame at byte \(capture.count - 46) needs 3 more bytes) at byte \(capture.count - 3)"])
        #expect(result.exit == ExitCode(1))
    }

    @Test func maxDepth() throws {
        // Three nested lists, the innermost holding a null (an empty one would pass at
        // any depth: it nests nothing).
        let nested = "c0 08 01 c0 05 01 c0 02 01 40"
        #expect(try runDecode(["--hex"], stdin: Array(nested.utf8)).exit == nil)
        let limited = try runDecode(["--hex", "--max-depth", "2"], stdin: Array(nested.utf8))
        #expect(limited.lines.isEmpty)
        #expect(limited.errors == ["error: nesting deeper than the limit at byte 6"])
        #expect(limited.exit == ExitCode(1))
        #expect(throws: (any Error).self) { try DecodeCommand.parse(["--max-depth", "0"]) }
        #expect(throws: (any Error).self) { try DecodeCommand.parse(["--max-depth", "\(DecodeCommand.maxDepthLimit + 1)"]) }
        #expect(try DecodeCommand.parse(["--max-depth", "\(DecodeCommand.maxDepthLimit)"]).maxDepth == DecodeCommand.maxDepthLimit)
    }

    @Test func badHex() throws {
        let notHex = try runDecode(["--hex"], stdin: Array("40 4g".utf8))
        #expect(notHex.errors == ["error: not hexadecimal: byte 0x67 at character 4"])
        #expect(notHex.exit == ExitCode(1))
        let odd = try runDecode(["--hex"], stdin: Array("40 4".utf8))
        #expect(odd.errors == ["error: not hexadecimal: odd number of digits"])
        #expect(odd.lines.isEmpty)
    }

    /// Found while writing FuzzDecodeCommand (its output-size oracle): a described array
    /// prints its descriptor in every element, so 8 KB (a 4,000-byte descriptor over
    /// 4,000 one-byte elements) printed 32 MB, and a descriptor that is itself such an
    /// array multiplies again. The output is now bounded by `DecodeRendering.outputLimit`:
    /// what fits is printed, then a typed error at the array's elements.
    @Test func aRepeatedDescriptorCannotBlowUpTheOutput() throws {
        let descriptorSize = 4_000, count = 4_000
        let descriptor: [UInt8] = [0xB0] + be32(descriptorSize) + [UInt8](repeating: 0x11, count: descriptorSize)
        let body: [UInt8] = [0x00] + descriptor + [0x50] + [UInt8](repeating: 0x07, count: count)
        let array: [UInt8] = [0xF0] + be32(4 + body.count) + be32(count) + body
        let valueLine = #"{"type":"null"}"#
        let input: [UInt8] = [0x40] + array + [0x40]
        let result = try runDecode([], stdin: input)
        #expect(result.exit == ExitCode(1))
        #expect(result.lines == [valueLine], "the null before the array is printed, the array is not")
        let elementsAt = 1 + 1 + 4 + 4 + descriptor.count + 2
        #expect(result.errors == [
            "error: more elements than the limit (a described array repeats its descriptor in each element: output over \(DecodeRendering.outputLimit(inputSize: input.count) - valueLine.utf8.count - 1) bytes) at byte \(elementsAt)"
        ])

        // The same array, rendered without a limit, is what the limit prevents; with one,
        // the error comes once the limit is passed, not before.
        try array.withUnsafeBytes { raw in
            let (view, _) = try ValueDecoder.decode(raw)
            #expect(try JSONRenderer.render(view).utf8.count > 32_000_000)
            var r = JSONRenderer(byteLimit: 1_000_000)
            #expect(throws: DecodeError.self) { try r.write(view) }
            #expect(r.bytes.count > 1_000_000 && r.bytes.count < 1_000_000 + 2 * 8_100)
        }
        // The limit: 64 KiB for an empty input, saturating rather than overflowing.
        #expect(DecodeRendering.outputLimit(inputSize: 0) == 65_536)
        #expect(DecodeRendering.outputLimit(inputSize: .max) == .max)
    }

    @Test func unreadableFile() throws {
        let result = try runDecode(["/nonexistent/capture.bin"])
        #expect(result.errors == ["error: cannot read /nonexistent/capture.bin"])
        #expect(result.exit == ExitCode(1))
    }

    @Test func registeredUnderTheRootCommand() throws {
        let parsed = try AMQPCommand.parseAsRoot(["decode", "--frames", "x.bin"])
        let decode = try #require(parsed as? DecodeCommand)
        #expect(decode.frames && decode.file == "x.bin" && !decode.hex)
    }
}

/// `n` as 4 bytes, network order.
private func be32(_ n: Int) -> [UInt8] {
    [UInt8(n >> 24 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]
}
