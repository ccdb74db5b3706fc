import AMQP
import AMQPEngine
import AMQPPeer
import AMQPReactor
import Foundation
import Testing

/// The peers the interop suite runs against.
enum InteropPeerKind: String, CaseIterable, Sendable, CustomStringConvertible {
    /// Our own embedded peer (`AMQPPeer`), in this process: always available.
    case embedded
    /// A private RabbitMQ 3.10 node with the AMQP 1.0 plugin (`Tools/interop/rabbitmq.sh`).
    case rabbitmq
    /// Qpid Proton C's example broker (`Tools/interop/proton-c-broker.sh`).
    case protonC
    /// `Tests/Interop/proton_broker.py`, on Qpid Proton's Python reactor.
    case protonPython

    var description: String {
        switch self {
        case .embedded: "embedded peer"
        case .rabbitmq: "RabbitMQ 3.10"
        case .protonC: "Qpid Proton C broker"
        case .protonPython: "Qpid Proton Python broker"
        }
    }

    /// The environment variable with the service's `127.0.0.1:PORT` (set by `make test`
    /// from `Tools/interop/services.sh start`).
    var variable: String? {
        switch self {
        case .embedded: nil
        case .rabbitmq: "AMQP_INTEROP_RABBITMQ"
        case .protonC: "AMQP_INTEROP_PROTON_C"
        case .protonPython: "AMQP_INTEROP_PROTON_PYTHON"
        }
    }

    /// Where the service listens, or `nil` when its variable is not set.
    var hostPort: String? {
        if self == .embedded { return EmbeddedPeerHost.shared.hostPort }
        guard let variable, let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else { return nil }
        return value
    }

    var isAvailable: Bool { hostPort != nil }

    /// Why the suite of this peer is skipped (shown by `swift test`).
    var skipReason: Comment {
        "\(variable ?? "?") is not set, so there is no \(self) to test against: `make test` starts one (Tools/interop/services.sh start prints the variables)"
    }
}

/// What the suite needs to know about one peer: where it is, how to log in, how it names
/// queues, and which behaviours it has (each difference is written down in
/// Docs/interop.md).
struct InteropPeer: Sendable, CustomStringConvertible {
    let kind: InteropPeerKind
    let hostPort: String

    init?(_ kind: InteropPeerKind) {
        guard let hostPort = kind.hostPort else { return nil }
        self.kind = kind
        self.hostPort = hostPort
    }

    var description: String { "\(kind) at \(hostPort)" }

    /// RabbitMQ wants SASL PLAIN (guest/guest, loopback only); the others take ANONYMOUS.
    var credentials: SASLCredentials {
        kind == .rabbitmq || kind == .embedded ? .plain(username: "guest", password: "guest") : .anonymous()
    }

    /// A node address for a queue. RabbitMQ 3.10's plugin declares the queue for
    /// `/queue/NAME` (as source and as target); the others make queues on first use.
    func address(_ queue: String) -> String {
        kind == .rabbitmq ? "/queue/\(queue)" : queue
    }

    /// Addresses the peer refuses, for a receiver's source and a sender's target, so the
    /// link is detached with an error; `nil` for the Proton C broker, which makes a
    /// queue for any address.
    var refusedAddresses: (source: String, target: String)? {
        switch kind {
        // `/amq/queue/NAME` consumes from an existing queue only; `/exchange/NAME/KEY`
        // publishes to an existing exchange only.
        case .rabbitmq: ("/amq/queue/no-such-queue-\(UUID().uuidString)", "/exchange/no-such-exchange-\(UUID().uuidString)/key")
        case .embedded: (EmbeddedPeerHost.refusedAddress, EmbeddedPeerHost.refusedAddress)
        case .protonPython: ("missing/\(UUID().uuidString)", "missing/\(UUID().uuidString)")
        case .protonC: nil
        }
    }

    /// True when the peer refuses a link by ending its session (RabbitMQ 3.10: its AMQP
    /// 1.0 sessions are AMQP 0-9-1 channels underneath, and a channel error ends them).
    var refusalEndsSession: Bool { kind == .rabbitmq }

    /// True when the peer sends more than the credit it was given now and then
    /// (RabbitMQ 3.x, rabbitmq-server issue 2597): the receiver tolerates up to a
    /// prefetch of excess, so a buffer may hold up to twice the prefetch.
    var overrunsCredit: Bool { kind == .rabbitmq }

    /// How the peer takes a drain request.
    enum DrainBehaviour {
        /// Sends what it has within the credit, then gives the rest back (the spec's).
        case answers
        /// Never answers (the Proton C example broker does not call
        /// `pn_link_drained`): `drain` times out, typed.
        case neverAnswers
        /// Answers, or now and then fails the link instead: RabbitMQ 3.10.8 may answer
        /// a drain on a classic queue with `amqp:internal-error` (a `function_clause` in
        /// `rabbit_classic_queue:handle_event({send_drained, …})`) and detach; it
        /// depends on timing inside the broker.
        case sometimesFailsTheLink
    }

    var drainBehaviour: DrainBehaviour {
        switch kind {
        case .protonC: .neverAnswers
        case .rabbitmq: .sometimesFailsTheLink
        default: .answers
        }
    }

    /// True when the peer settles what it sends before we do (the Proton C broker sends
    /// everything pre-settled, whatever the receiver asks).
    var presettlesDeliveries: Bool { kind == .protonC }

    /// A fresh connection, not yet opened.
    func connection(
        password: String? = nil, idleTimeout: UInt32? = nil, hostPort: String? = nil, trace: Bool = false
    ) throws -> Connection {
        var sasl = credentials
        if let password { sasl = .plain(username: "guest", password: password) }
        return try Connection(
            hostname: hostPort ?? self.hostPort, sasl: sasl, containerID: "swift-amqp-interop",
            idleTimeout: idleTimeout, debug: trace || ProcessInfo.processInfo.environment["AMQP_INTEROP_TRACE"] == "1")
    }
}

/// The embedded peer, served on a thread of its own for the whole test process (like a
/// broker in another process, so the client's reactor and the peer's do not share a
/// thread).
final class EmbeddedPeerHost: Sendable {
    static let shared = EmbeddedPeerHost()
    /// Attaching here gets `amqp:not-found`.
    static let refusedAddress = "missing/node"

    let hostPort: String?
    let startError: String?

    private init() {
        var configuration = Self.configuration()
        configuration.faults.linkErrors[Self.refusedAddress] = LinkFault(
            error: AMQPError(condition: .notFound, description: "no node at \(Self.refusedAddress)"))
        switch Self.serve(configuration) {
        case .success(let (address, _)):
            hostPort = "127.0.0.1:\(address.port)"
            startError = nil
        case .failure(let error):
            hostPort = nil
            startError = "\(error)"
        }
    }

    /// The peer's configuration: guest/guest as on RabbitMQ (ANONYMOUS too).
    static func configuration() -> PeerConfiguration {
        var configuration = PeerConfiguration()
        configuration.containerID = "embedded-interop-peer"
        configuration.users = ["guest": "guest"]
        return configuration
    }

    /// Serves `configuration` on a new thread until the returned handle's `stop()`;
    /// returns the bound address once it listens (at most 10 s).
    static func serve(_ configuration: PeerConfiguration) -> Result<(SocketAddress, ReactorHandle<ConnectionEngine>), InteropSetupError> {
        let ready = DispatchSemaphore(value: 0)
        let box = ServeBox()
        let thread = Thread {
            do throws(ReactorError) {
                try EmbeddedPeer.serve(configuration) { peer in
                    box.set(.success((peer.address, peer.reactor.handle)))
                    ready.signal()
                }
            } catch {
                box.set(.failure(InteropSetupError("the embedded peer could not serve: \(error)")))
                ready.signal()
            }
        }
        thread.start()
        guard ready.wait(timeout: .now() + 10) == .success, let result = box.result else {
            return .failure(InteropSetupError("the embedded peer did not start within 10 s"))
        }
        return result
    }
}

/// Hands the serving thread's result to the caller.
private final class ServeBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Result<(SocketAddress, ReactorHandle<ConnectionEngine>), InteropSetupError>?
    func set(_ v: Result<(SocketAddress, ReactorHandle<ConnectionEngine>), InteropSetupError>) {
        lock.withLock { value = v }
    }
    var result: Result<(SocketAddress, ReactorHandle<ConnectionEngine>), InteropSetupError>? { lock.withLock { value } }
}

/// A service could not be set up for a case.
struct InteropSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A broker process of a case's own (a dedicated instance, so a case may kill it
/// without harming the shared one): started with port 0, it prints
/// `listening on PORT`.
final class BrokerProcess {
    let process = Process()
    let output: URL
    private(set) var port: UInt16 = 0

    /// Starts `executable arguments…` and waits (at most 15 s) for its port.
    init(executable: String, arguments: [String]) throws {
        output = FileManager.default.temporaryDirectory.appendingPathComponent("interop-broker-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: executable).deletingLastPathComponent()
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let end = secondsNow() + 15
        while secondsNow() < end {
            if let text = try? String(contentsOf: output, encoding: .utf8),
               let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }),
               let p = UInt16(line.dropFirst("listening on ".count).trimmingCharacters(in: .whitespaces)) {
                port = p
                return
            }
            if !process.isRunning { break }
            usleep(20_000)
        }
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        kill()
        throw InteropSetupError("\(executable) did not report a port within 15 s: \(text)")
    }

    var hostPort: String { "127.0.0.1:\(port)" }

    /// Kills it at once (SIGKILL: a crash, not a shutdown) and reaps it.
    func kill() {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: output)
    }

    deinit { kill() }
}

/// Seconds on a monotonic clock.
func secondsNow() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// Polls `condition` every 5 ms for at most `seconds` (generous: a loaded machine can
/// starve a broker for seconds; a healthy run never waits that long).
func eventually(within seconds: Double = 30, _ condition: () -> Bool) -> Bool {
    let end = secondsNow() + seconds
    while !condition() {
        if secondsNow() > end { return false }
        usleep(5_000)
    }
    return true
}

/// A lock-protected value for completions that run on the reactor's thread.
final class Guarded<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
    var current: Value { withLock { $0 } }
}
