import Foundation

/// Where a subcommand writes: standard output and standard error in the real tool, a
/// capture in tests (so commands run in-process and their output can be compared).
public protocol CommandOutput: AnyObject {
    /// Writes `line` and a newline to standard output.
    func printLine(_ line: String)
    /// Writes `line` and a newline to standard error (after flushing standard output, so
    /// a terminal shows both in order).
    func printError(_ line: String)
    /// Writes out anything buffered.
    func flush()
}

/// The process's standard output (buffered) and standard error (unbuffered).
public final class StandardStreams: CommandOutput {
    private var pending: [UInt8] = []
    private var broken = false

    /// Streams of this process.
    public init() {}

    /// Buffers a line for standard output; writes once 64 KiB have gathered.
    public func printLine(_ line: String) {
        pending.append(contentsOf: line.utf8)
        pending.append(0x0A)
        if pending.count >= 1 << 16 { flush() }
    }

    /// Flushes standard output, then writes the line to standard error.
    public func printError(_ line: String) {
        flush()
        try? FileHandle.standardError.write(contentsOf: Data((line + "\n").utf8))
    }

    /// Writes the buffered lines. A closed pipe (`amqp decode … | head`) drops the rest
    /// quietly rather than failing the command.
    public func flush() {
        guard !pending.isEmpty else { return }
        defer { pending.removeAll(keepingCapacity: true) }
        guard !broken else { return }
        do {
            try FileHandle.standardOutput.write(contentsOf: Data(pending))
        } catch {
            broken = true
        }
    }
}
