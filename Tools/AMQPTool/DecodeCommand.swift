import AMQPCodec
public import ArgumentParser
import Foundation

/// `amqp decode [FILE] [--hex] [--frames] [--max-depth N]`: prints AMQP values, or a
/// capture's protocol headers and frames, as JSON, one per line (Docs/amqp-decode.md).
///
/// On malformed input everything decoded before the error is printed, then
/// `error: <description>` on standard error, and the command exits with status 1.
public struct DecodeCommand: ParsableCommand {
    /// Describes the subcommand.
    public static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Print AMQP 1.0 values, or frames, as JSON: one line each.",
        discussion: """
            Reads FILE (or standard input). Without --frames the input is a sequence of \
            encoded values; with --frames it is one direction of a connection: frames, \
            with protocol headers where they occur. Malformed input prints what was \
            decoded before it, then `error: <what> at byte <offset>` on standard error, \
            and exits with status 1.
            """
    )

    /// The deepest `--max-depth` accepted. Decoder and renderer both recurse once per
    /// level (a debug build takes about 6 KiB of stack per described level), and nesting
    /// this deep is not AMQP traffic anyway.
    public static let maxDepthLimit = 256

    /// The input file; standard input when absent.
    @Argument(help: "The file to read (default: standard input).")
    public var file: String?

    /// Reads the input as hexadecimal text.
    @Flag(help: "Read the input as hexadecimal text (white space is ignored).")
    public var hex = false

    /// Reads the input as frames instead of values.
    @Flag(help: "Read frames (with optional protocol headers) instead of values.")
    public var frames = false

    /// The decoder's nesting limit.
    @Option(help: "Deepest nesting of lists, maps, arrays and described values (1–\(maxDepthLimit)).")
    public var maxDepth: Int = DecodeLimits.default.maxDepth

    /// Creates the command (ArgumentParser fills in the options).
    public init() {}

    /// Rejects a nesting limit outside 1…`maxDepthLimit`.
    public func validate() throws {
        guard (1...Self.maxDepthLimit).contains(maxDepth) else {
            throw ValidationError("--max-depth must be between 1 and \(Self.maxDepthLimit).")
        }
    }

    /// Decodes the process's input to its standard output.
    public func run() throws {
        try run(output: StandardStreams())
    }

    /// Decodes to `output`; `standardInput` supplies the bytes when no file is named.
    ///
    /// - Throws: `ExitCode(1)` after printing the error line when the input cannot be
    ///   read or is malformed.
    public func run(
        output: any CommandOutput,
        standardInput: (() throws -> [UInt8])? = nil
    ) throws {
        defer { output.flush() }
        var input: [UInt8]
        do {
            if let file {
                guard let data = FileManager.default.contents(atPath: file) else {
                    return try fail(output, "cannot read \(file)")
                }
                input = [UInt8](data)
            } else {
                input = try (standardInput ?? Self.readStandardInput)()
            }
        } catch let error as ExitCode {
            throw error
        } catch {
            return try fail(output, "cannot read standard input: \(error)")
        }
        if hex {
            guard let decoded = Hex.decode(input) else { return try fail(output, Self.hexProblem(input)) }
            input = decoded
        }
        let limits = DecodeLimits(maxDepth: maxDepth)
        let frames = self.frames
        let outcome: Result<Void, DecodeError> = input.withUnsafeBytes { raw in
            Result { () throws(DecodeError) in
                if frames {
                    try FrameStream.walk(raw, decoder: FrameDecoder(limits: limits)) { (item) throws(DecodeError) in
                        switch item {
                        case .protocolHeader(let header): output.printLine(JSONRenderer.render(header))
                        case .frame(let frame): output.printLine(try JSONRenderer.render(frame))
                        }
                    }
                } else {
                    try ValueDecoder.decodeAll(raw, limits: limits) { (value) throws(DecodeError) in
                        output.printLine(try JSONRenderer.render(value))
                    }
                }
            }
        }
        if case .failure(let error) = outcome { try fail(output, error.description) }
    }

    static func readStandardInput() throws -> [UInt8] {
        [UInt8](try FileHandle.standardInput.readToEnd() ?? Data())
    }

    private func fail(_ output: any CommandOutput, _ message: String) throws {
        output.printError("error: \(message)")
        throw ExitCode(1)
    }

    /// Why `Hex.decode` refused `text`: the first character that is neither a hex digit
    /// nor white space, or an odd digit count.
    static func hexProblem(_ text: [UInt8]) -> String {
        for (i, c) in text.enumerated() {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
                UInt8(ascii: "A")...UInt8(ascii: "F"), 0x20, 0x09, 0x0A, 0x0D:
                continue
            default:
                return "not hexadecimal: byte 0x\(Hex.encode([c])) at character \(i)"
            }
        }
        return "not hexadecimal: odd number of digits"
    }
}
