public import ArgumentParser
import Glibc

/// `amqp soak`: many connections with churn through the public API against the embedded
/// peer in this process, resident memory sampled; fails when a message or outcome goes
/// missing or memory grows from mid-run to the end. `make soak` runs it under
/// AddressSanitizer and LeakSanitizer.
public struct SoakCommand: ParsableCommand {
    /// Describes the subcommand.
    public static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Soak: connections with churn against the embedded peer, resident memory sampled.")

    /// Connections at once.
    @Option(help: "Connections at once (a thread each).")
    public var connections = 100

    /// Messages in all.
    @Option(help: "Messages in all, each sent and received back.")
    public var messages = 1_000_000

    /// Churn.
    @Option(help: "Messages a connection moves before it closes and a new one opens.")
    public var perConnection = 2_000

    /// Growth allowed from mid-run to the end.
    @Option(help: "Resident memory growth allowed from mid-run to the end, as a fraction (at least 8 MiB).")
    public var tolerance = 0.1

    /// Creates the command (ArgumentParser fills in the options).
    public init() {}

    /// Checks the numbers.
    public func validate() throws {
        guard connections > 0, messages > 0, perConnection > 0 else { throw ValidationError("counts must be positive") }
    }

    /// Runs the soak and prints its report.
    public func run() throws {
        var c = SoakConfiguration()
        c.connections = connections
        c.messages = messages
        c.messagesPerConnection = perConnection
        let report = try Soak.run(c) { s in
            print(String(format: "%7.1f s  %9d messages  RSS %8d KiB", s.seconds, s.messages, s.residentKiB))
            fflush(nil)
        }
        print(report)
        if report.failure != nil || !report.isFlat(tolerance: tolerance) { throw ExitCode.failure }
    }
}
