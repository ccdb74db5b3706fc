import AMQP
public import ArgumentParser

/// `amqp receive`: takes messages from a node, optionally printing each as JSON, and
/// accepts each once it is written.
public struct ReceiveCommand: ParsableCommand {
    /// Describes the subcommand.
    public static let configuration = CommandConfiguration(
        commandName: "receive",
        abstract: "Receive messages from a node of an AMQP 1.0 peer.",
        discussion: """
            URL: amqp[s|ws|wss]://[USER:PASSWORD@]HOST[:PORT]/ADDRESS, with the TLS and \
            transport options, as for `amqp send`.

            With --count N, stops after N messages; without it, runs until SIGINT or \
            SIGTERM (then closes the connection and exits 0) or, with --timeout, until no \
            message came for that long (exit 0: the node is drained). With both, a \
            message missing after --timeout seconds is a time-out (status 75).

            --print writes each message as one JSON line on standard output: header, \
            annotations, properties and application-properties when present, and the body \
            with its section type; binary data is lowercase hex (see Docs/amqp-cli.md). \
            Each message is accepted after it was written (at least once: a message \
            printed just before an interruption may come again). The count of messages \
            goes to standard error with --print, else to standard output.

            Exit status:
            \(ClientExitStatus.table)
            """)

    /// The node's URL.
    @Argument(help: "amqp[s|ws|wss]://[USER:PASSWORD@]HOST[:PORT]/ADDRESS")
    public var url: String

    /// TLS, SASL EXTERNAL and WebSocket options.
    @OptionGroup(title: "TLS and transport")
    public var transport: ClientTLSOptions

    /// How many messages.
    @Option(help: "Stop after this many messages (default: until interrupted).")
    public var count: Int?

    /// Credit.
    @Option(help: "Messages the peer may send ahead (link credit).")
    public var prefetch = 100

    /// Print each message.
    @Flag(name: .customLong("print"), help: "Write each message as one JSON line.")
    public var printMessages = false

    /// The longest wait.
    @Option(help: "Seconds to wait for the connection to open (default 30) and for each next message (default: no limit).")
    public var timeout: Double?

    /// Creates the command (ArgumentParser fills in the options).
    public init() {}

    /// Checks the options.
    public func validate() throws {
        _ = try transport.apply(to: NodeURL(url).settings)
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        guard prefetch >= 1, prefetch <= Int(UInt32.max) else { throw ValidationError("--prefetch must be from 1 to \(UInt32.max)") }
        if let timeout, !(timeout > 0 && timeout.isFinite) {
            throw ValidationError("--timeout must be a positive number of seconds")
        }
    }

    /// Receives until done or interrupted, then exits with the status `execute` gives.
    public mutating func run() throws {
        let stop = StopRequest()
        let sources = stop.stopOnSignals()
        defer { for s in sources { s.cancel() } }
        let status = execute(output: StandardStreams(), stop: stop)
        if status != .success { throw ExitCode(status.rawValue) }
    }

    /// Receives, writing to `output`, until the count is reached, `--timeout` passes,
    /// the link fails or `stop` is requested; returns the exit status.
    public func execute(output: any CommandOutput, stop: StopRequest = StopRequest()) -> ClientExitStatus {
        defer { output.flush() }
        var node: NodeURL
        do {
            node = try NodeURL(url)
            node.settings = try transport.apply(to: node.settings)
        } catch {
            output.printError("error: \(error)")
            return .usage
        }
        let connection = Connection(settings: node.settings)
        defer { connection.destroy() }
        var received = 0
        var status = ClientExitStatus.success
        do throws(AMQPClientError) {
            status = try receive(from: node, on: connection, output: output, stop: stop, received: &received)
        } catch {
            // When the connection failed, the link failed with it: the connection's
            // error says what really happened.
            let error = connection.error ?? error
            output.printError("error: \(error.oneLine(at: node.settings.endpoint))")
            status = ClientExitStatus(classifying: error)
        }
        let summary = "received \(SendCommand.plural(received, "message")) from \"\(node.address)\""
        if printMessages { output.printError(summary) } else { output.printLine(summary) }
        return status
    }

    /// The receive loop: counts into `received`; returns the status unless the link or
    /// connection fails.
    func receive(
        from node: NodeURL, on connection: Connection, output: any CommandOutput, stop: StopRequest, received: inout Int
    ) throws(AMQPClientError) -> ClientExitStatus {
        try connection.waitUntilOpened(timeout: .seconds(timeout ?? 30))
        let session = try Session(connection: connection)
        let credit = min(prefetch, count ?? prefetch)
        let receiver = try MessageReceiver(session: session, source: node.address, prefetch: UInt32(credit))
        defer {
            // Written before CLOSE: `destroy` may otherwise drop the last dispositions.
            try? connection.work()
            receiver.close()
        }
        let clock = ContinuousClock()
        var lastMessage = clock.now
        while !stop.isRequested, count.map({ received < $0 }) ?? true {
            let want = min(credit, count.map { $0 - received } ?? credit)
            // Short waits, so a stop request is seen within one of them. (Closing the
            // link from the stop request instead could land between printing a batch
            // and accepting it.)
            var wait = Self.stopCheckInterval
            if let timeout {
                let left = clock.now.duration(to: lastMessage + .seconds(timeout))
                wait = max(.zero, min(wait, left))
            }
            let batch = try receiver.receive(maxCount: want, timeout: wait)
            if batch.isEmpty {
                if let error = receiver.error { throw error }
                guard let timeout, clock.now >= lastMessage + .seconds(timeout) else { continue }
                if count != nil {
                    output.printError("error: no message for \(timeout) s (--timeout) after \(SendCommand.plural(received, "message"))")
                    return .timeout
                }
                break
            }
            lastMessage = clock.now
            if printMessages {
                for m in batch {
                    do {
                        // The same output bound as `amqp decode`, from the message's size
                        // on the wire (re-encoded: the API hands over the decoded message).
                        let size = try m.message.encoded().count
                        output.printLine(try JSONRenderer.render(m.message, byteLimit: DecodeRendering.outputLimit(inputSize: size)))
                    } catch let error as DecodeError where error.code == .tooManyElements {
                        // The peer's message, not a bug: say so and go on.
                        output.printError("error: message \(m.deliveryID) not printed: \(error)")
                    } catch {
                        // A decoded message always encodes again; if not, it is a bug.
                        output.printError("error: message \(m.deliveryID) cannot be printed: \(error)")
                        return .internalFailure
                    }
                }
                output.flush()
            }
            for m in batch { try m.accept() }
            received += batch.count
        }
        return .success
    }

    /// How long one wait for messages lasts before the stop request is checked again.
    static let stopCheckInterval = Duration.milliseconds(50)
}
