import AMQPCodec
import Foundation
import Testing

/// The `amqp` executable SwiftPM built next to this test bundle (same products directory).
func builtTool() throws -> URL {
    var directories: [URL] = []
    if let executable = Bundle.main.executableURL { directories.append(executable.deletingLastPathComponent()) }
    directories.append(Bundle.main.bundleURL)
    directories.append(Bundle.main.bundleURL.deletingLastPathComponent())
    for directory in directories {
        let candidate = directory.appendingPathComponent("amqp")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    throw MissingPrerequisite("no built `amqp` next to the tests (looked in \(directories.map(\.path))); run `swift build` first")
}

/// Runs the built tool; returns its exit status, standard output and standard error.
func runTool(_ arguments: [String], stdin: [UInt8] = []) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = try builtTool()
    process.arguments = arguments
    let input = Pipe(), output = Pipe(), error = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = error
    try process.run()
    try input.fileHandleForWriting.write(contentsOf: Data(stdin))
    try input.fileHandleForWriting.close()
    // Outputs here are small; read both before waiting so neither pipe can fill up.
    let out = output.fileHandleForReading.readDataToEndOfFile()
    let err = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

@Suite("amqp decode, the built binary")
struct BuiltToolTests {
    @Test func valuesFromAFile() throws {
        let file = try TemporaryFile(threeValues)
        let run = try runTool(["decode", file.path])
        #expect(run.status == 0)
        #expect(run.stdout == threeValuesJSON.map { $0 + "\n" }.joined())
        #expect(run.stderr.isEmpty)
    }

    @Test func framesFromStandardInput() throws {
        let capture = try saslAndAMQPCapture()
        let run = try runTool(["decode", "--frames"], stdin: capture)
        #expect(run.status == 0)
        #expect(run.stdout == (try renderFrames(capture)).map { $0 + "\n" }.joined())
    }

    @Test func malformedHexExitsWithStatusOne() throws {
        let run = try runTool(["decode", "--hex"], stdin: Array("41 42\n40 57\n".utf8))
        #expect(run.status == 1)
        #expect(run.stdout == #"{"type":"boolean","value":true}"# + "\n" + #"{"type":"boolean","value":false}"# + "\n" + #"{"type":"null"}"# + "\n")
        #expect(run.stderr == "error: unknown constructor (0x57) at byte 3\n")
    }

    @Test func invalidOptionIsAUsageError() throws {
        let run = try runTool(["decode", "--max-depth", "0"])
        #expect(run.status == 64)
        #expect(run.stderr.contains("--max-depth must be between 1 and 256"))
    }
}
