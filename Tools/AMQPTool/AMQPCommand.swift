public import ArgumentParser

/// The `amqp` command line: inspect, send, receive, serve and benchmark AMQP 1.0.
public struct AMQPCommand: AsyncParsableCommand {
    /// Describes the command and its subcommands.
    public static let configuration = CommandConfiguration(
        commandName: "amqp",
        abstract: "AMQP 1.0 tools: decode captures, run the embedded peer, benchmark.",
        subcommands: [DecodeCommand.self, PeerCommand.self, BenchCommand.self, SendCommand.self, ReceiveCommand.self, FaultProxyCommand.self, SoakCommand.self]
    )

    /// Creates the command (ArgumentParser fills in the options).
    public init() {}
}
