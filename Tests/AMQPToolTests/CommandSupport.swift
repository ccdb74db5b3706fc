import AMQPTool
import Foundation

/// Collects what a command prints.
final class CapturedOutput: CommandOutput {
    var lines: [String] = []
    var errors: [String] = []
    func printLine(_ line: String) { lines.append(line) }
    func printError(_ line: String) { errors.append(line) }
    func flush() {}
}

/// A file in a fresh temporary directory, removed when the returned value is released.
final class TemporaryFile {
    let url: URL
    init(_ contents: [UInt8], name: String = "input.bin") throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("amqp-tool-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        url = dir.appendingPathComponent(name)
        try Data(contents).write(to: url)
    }
    var path: String { url.path }
    deinit { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
}

/// Something a test needs from the machine is missing; the test fails (never skips) with
/// this message.
struct MissingPrerequisite: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
