public import ArgumentParser
import AMQPReactor
import Dispatch
import Glibc

/// `amqp fault-proxy`: forwards TCP from `--listen` to `--target` and breaks the streams
/// as told (see `FaultProxy`), until SIGINT or SIGTERM.
public struct FaultProxyCommand: ParsableCommand {
    /// Describes the subcommand.
    public static let configuration = CommandConfiguration(
        commandName: "fault-proxy",
        abstract: "Forward TCP to a target and delay, drop, truncate, corrupt or reset the streams.",
        discussion: """
            For testing clients and brokers against a misbehaving network, on loopback. Byte \
            offsets count each direction of each connection from its first byte; --direction \
            picks the directions they watch. Prints one line, `amqp fault-proxy listening on \
            HOST:PORT`, when ready; runs until SIGINT or SIGTERM.
            """)

    /// Where clients connect.
    @Option(help: "Address to listen on, HOST:PORT (port 0: any free port).")
    public var listen = "127.0.0.1:0"

    /// Where connections go.
    @Option(help: "Address to forward to, HOST:PORT.")
    public var target: String

    /// Delay per chunk.
    @Option(help: "Milliseconds to wait before forwarding each chunk read.")
    public var delay: UInt32 = 0

    /// Silence after N bytes.
    @Option(help: "After N bytes, discard the rest of the stream (the connection stays open).")
    public var drop: Int? = nil

    /// FIN after N bytes.
    @Option(help: "After N bytes, close both connections cleanly.")
    public var truncateAfter: Int? = nil

    /// Corrupt one byte.
    @Option(help: "Flip every bit of the byte at offset N.")
    public var corrupt: Int? = nil

    /// RST after N bytes.
    @Option(help: "After N bytes, reset both connections.")
    public var resetAfter: Int? = nil

    /// Which streams the offsets watch.
    @Option(help: "Streams the byte offsets apply to: to-target, to-client or both.")
    public var direction: FaultProxy.Faults.Directions = .both

    /// Creates the command (ArgumentParser fills in the options).
    public init() {}

    /// Checks the offsets.
    public func validate() throws {
        for (name, value) in [("--drop", drop), ("--truncate-after", truncateAfter), ("--corrupt", corrupt), ("--reset-after", resetAfter)] {
            if let value, value < 0 { throw ValidationError("\(name) \(value): an offset is at least 0") }
        }
        _ = try PeerCommand.address(listen)
        _ = try PeerCommand.address(target)
    }

    /// The faults the options describe.
    public var faults: FaultProxy.Faults {
        FaultProxy.Faults(
            delayMilliseconds: delay, dropAfter: drop, truncateAfter: truncateAfter, corruptAt: corrupt,
            resetAfter: resetAfter, directions: direction)
    }

    /// Runs the proxy until SIGINT or SIGTERM.
    public mutating func run() throws {
        try run(output: StandardStreams())
    }

    /// Runs with output going to `output`.
    public func run(output: any CommandOutput) throws {
        let proxy: FaultProxy
        do {
            proxy = try FaultProxy(listen: try PeerCommand.address(listen), target: try PeerCommand.address(target), faults: faults)
        } catch {
            output.printError("error: \(error)")
            throw ExitCode(1)
        }
        let done = DispatchSemaphore(value: 0)
        let sources = onStopSignals { done.signal() }
        output.printLine("amqp fault-proxy listening on \(proxy.address), forwarding to \(proxy.target), faults: \(proxy.faults)")
        output.flush()
        done.wait()
        for s in sources { s.cancel() }
        proxy.stop()
        let s = proxy.statistics
        output.printError("amqp fault-proxy stopped: \(s.accepted) connections, \(s.forwardedToTarget) B to the target, \(s.forwardedToClient) B back, \(s.applied) faults applied")
    }
}

extension FaultProxy.Faults.Directions: ExpressibleByArgument {}
