import AMQP
public import ArgumentParser

/// `amqp send`: sends messages to a node and waits for their outcomes.
public struct SendCommand: ParsableCommand {
    /// Describes the subcommand.
    public static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send messages to a node of an AMQP 1.0 peer and wait for their outcomes.",
        discussion: """
            URL: amqp://[USER:PASSWORD@]HOST[:PORT]/ADDRESS (port 5672; user and password \
            percent-encoded; IPv6 hosts in brackets). Without a user the connection logs in \
            with SASL ANONYMOUS, with one with PLAIN (with --sasl-external, EXTERNAL). \
            amqps:// (port 5671) is TLS, verified against the system's trust store and the \
            URL's host unless --ca-file, --server-name or --insecure-no-verify say \
            otherwise; amqpws:// (port 80) and amqpwss:// (port 443) are AMQP over \
            WebSocket, at --ws-path.

            Up to --window messages are in flight at once. Each message has a message-id (its \
            number, from 1) and a body: --body TEXT, or --size BYTES of the letters a-z, or \
            by default "message N"; --body-type says which section carries it (data: the \
            UTF-8 bytes; value: an amqp-value string; sequence: an amqp-sequence of that \
            string). When every outcome is in, one line on standard output counts them; the \
            status is 0 only if every message was accepted (or sent pre-settled).

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
    @Option(help: "Messages to send.")
    public var count = 1

    /// Body size.
    @Option(help: "Body of this many bytes (the letters a-z repeated).")
    public var size: Int?

    /// Body text.
    @Option(help: "Body text (the same for every message).")
    public var body: String?

    /// Which section carries the body.
    @Option(help: "Body section: data, value or sequence.")
    public var bodyType: BodyType = .data

    /// Application properties.
    @Option(name: .customLong("property"), help: "An application property, KEY=VALUE, sent as a string (repeatable).")
    public var properties: [String] = []

    /// Pre-settled sending.
    @Flag(help: "Send pre-settled (at most once): no outcomes to wait for.")
    public var settle = false

    /// Messages in flight.
    @Option(help: "Most messages awaiting their outcome at once.")
    public var window = 1_000

    /// The longest wait without progress.
    @Option(help: "Seconds to wait for the connection to open, for credit, and for each next outcome.")
    public var timeout: Double = 30

    /// Which section carries a message's body.
    public enum BodyType: String, ExpressibleByArgument, CaseIterable, Sendable {
        /// One `data` section: the text's UTF-8 bytes.
        case data
        /// One `amqp-value` section holding the text as a string.
        case value
        /// One `amqp-sequence` section: a list of one string.
        case sequence
    }

    /// Creates the command (ArgumentParser fills in the options).
    public init() {}

    /// Checks the options.
    public func validate() throws {
        _ = try transport.apply(to: NodeURL(url).settings)
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        guard window >= 1 else { throw ValidationError("--window must be at least 1") }
        guard timeout > 0, timeout.isFinite else { throw ValidationError("--timeout must be a positive number of seconds") }
        if size != nil && body != nil { throw ValidationError("--size and --body exclude each other") }
        if let size, size < 0 { throw ValidationError("--size must not be negative") }
        _ = try applicationProperties()
    }

    /// Sends, then exits with the status `execute` gives.
    public mutating func run() throws {
        let status = execute(output: StandardStreams())
        if status != .success { throw ExitCode(status.rawValue) }
    }

    /// Sends the messages, writes the summary to `output`, and returns the exit status.
    public func execute(output: any CommandOutput) -> ClientExitStatus {
        defer { output.flush() }
        var node: NodeURL
        let properties: ApplicationProperties?
        do {
            node = try NodeURL(url)
            node.settings = try transport.apply(to: node.settings)
            properties = try applicationProperties()
        } catch {
            output.printError("error: \(error)")
            return .usage
        }
        let wait = Duration.seconds(timeout)
        let connection = Connection(settings: node.settings)
        defer { connection.destroy() }
        let tally = SendTally()
        var stalled = false
        var unwritten = 0
        var setupError: AMQPClientError? = nil
        do throws(AMQPClientError) {
            try connection.waitUntilOpened(timeout: wait)
            let session = try Session(connection: connection)
            let sender = try MessageSender(
                session: session, target: node.address, sendSettleMode: settle ? .settled : .unsettled)
            let fixedText = body ?? size.map(Self.letters)
            for n in 1...count {
                guard tally.waitForRoom(window, timeout: wait) else {
                    stalled = tally.snapshot.failure == nil
                    break
                }
                var message = Message(body: Self.body(fixedText ?? "message \(n)", as: bodyType))
                message.properties = MessageProperties(messageID: .ulong(UInt64(n)))
                message.applicationProperties = properties
                tally.sent()
                sender.send(message) { tally.record($0) }
            }
            if !tally.waitForAll(timeout: wait) { stalled = true }
            // Pre-settled sends complete once the link took them, maybe still waiting
            // for credit: wait until they are written, then for the tick that writes
            // them out, since CLOSE drops session frames still queued.
            if settle && !stalled && !tally.waitUntilWritten(timeout: wait, { sender.unsentCount }) {
                stalled = true
                unwritten = sender.unsentCount
            }
            try? connection.work()
            sender.close()
            session.close()
        } catch {
            setupError = error
        }
        let (counts, sendFailure, unanswered) = tally.snapshot
        output.printLine(Self.summary(counts, unanswered: unanswered, settled: settle, address: node.address))
        // When the connection failed, links and sends fail with it: the connection's
        // error says what really happened.
        if let error = connection.error ?? setupError ?? sendFailure {
            output.printError("error: \(error.oneLine(at: node.settings.endpoint))")
            return ClientExitStatus(classifying: error)
        }
        if stalled {
            if unwritten > 0 {
                output.printError("error: \(Self.plural(unwritten, "pre-settled message")) still waiting for credit after \(timeout) s (--timeout); not sent")
            } else {
                output.printError("error: no credit or outcome for \(Self.plural(unanswered, "message")) within \(timeout) s (--timeout); their fate is unknown")
            }
            return .timeout
        }
        if let refusal = counts.firstRefusal {
            output.printError("error: \(counts.notAccepted) of \(Self.plural(counts.sent, "message")) not accepted; the first was \(refusal)")
            return .notAccepted
        }
        return .success
    }

    /// The one-line summary: `sent 10 messages to "q": accepted 9, rejected 1, released
    /// 0, modified 0`.
    static func summary(_ c: SendCounts, unanswered: Int, settled: Bool, address: String) -> String {
        var s = "sent \(plural(c.sent, "message")) to \"\(address)\": "
        if settled {
            s += "pre-settled \(c.presettled) (no outcomes)"
        } else {
            s += "accepted \(c.accepted), rejected \(c.rejected), released \(c.released), modified \(c.modified)"
        }
        if c.failed > 0 { s += ", failed \(c.failed)" }
        if unanswered > 0 { s += ", no outcome \(unanswered)" }
        return s
    }

    static func plural(_ n: Int, _ noun: String) -> String { n == 1 ? "1 \(noun)" : "\(n) \(noun)s" }

    /// `size` bytes of the letters a-z, repeated.
    static func letters(_ size: Int) -> String {
        String(decoding: (0..<size).map { UInt8(ascii: "a") + UInt8($0 % 26) }, as: UTF8.self)
    }

    /// The text in the section `type` names.
    static func body(_ text: String, as type: BodyType) -> MessageBody {
        switch type {
        case .data: .data([Array(text.utf8)])
        case .value: .value(.string(text))
        case .sequence: .sequence([[.string(text)]])
        }
    }

    /// The `--property` options as application properties, in the order given.
    func applicationProperties() throws(ValidationError) -> ApplicationProperties? {
        guard !properties.isEmpty else { return nil }
        var result = ApplicationProperties()
        for p in properties {
            guard let eq = p.firstIndex(of: "="), eq != p.startIndex else {
                throw ValidationError("--property \(p): expected KEY=VALUE")
            }
            result.entries.append(.init(key: String(p[..<eq]), value: .string(String(p[p.index(after: eq)...]))))
        }
        return result
    }
}
