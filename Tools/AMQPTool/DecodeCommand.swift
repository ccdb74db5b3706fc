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
            do {
                input = try DecodeRendering.bytes(fromHex: input)
            } catch {
                return try fail(output, error.description)
            }
        }
        let limits = DecodeLimits(maxDepth: maxDepth)
        let frames = self.frames
        let outcome: Result<Void, DecodeError> = input.withUnsafeBytes { raw in
            Result { () throws(DecodeError) in
                try DecodeRendering.render(raw, frames: frames, limits: limits) { output.printLine($0) }
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
}
