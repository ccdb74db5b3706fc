@testable import AMQP
import AMQPCodec
import AMQPEngine
import AMQPHostileCases
import AMQPReactor
import AMQPTesting
import Foundation
import Testing

// Sends on a silent network, through the public API over real sockets on each backend:
// the evil peer opens, begins, attaches and grants credit like a broker, then goes
// silent while the message is in flight, either reading and dropping everything
// (`.drain`: it never settles) or reading nothing more (`.stall`: a hung application
// whose kernel still acknowledges). Every send must end within its bound: a send with a
// time-out fails with the typed `.timeout` (fate unknown) when it is due and the
// connection stays up; a send without one ends when the connection's idle time-out
// closes the connection to the silent peer.

/// How the evil peer goes silent once the link has credit.
struct Silence: Sendable, CustomTestStringConvertible {
    let name: String
    let steps: [EvilStep]
    var testDescription: String { name }

    static let all = [
        Silence(name: "reads and never answers", steps: [.performative("transfer"), .drain]),
        Silence(name: "never reads", steps: [.stall]),
    ]
}

/// The evil peer's script: a broker's answers up to credit for the link `silent`, then
/// `silence`.
func silentPeerScript(_ silence: Silence) -> [EvilStep] {
    let link = LinkConfiguration.sender(name: "silent", to: "queue")
    let channel = HostileSetup.peerChannel
    let handle = HostileSetup.peerHandle
    return [
        .header, .send(ProtocolHeader.amqp.bytes),
        .performative("open"), .send(FrameBytes.frame(.open(Open(containerID: "silent-peer", maxFrameSize: 65_536)))),
        .performative("begin"),
        .send(FrameBytes.frame(.begin(Begin(remoteChannel: 0, nextOutgoingID: 0, incomingWindow: 1_000, outgoingWindow: 1_000)), channel: channel)),
        .performative("attach"),
        .send(FrameBytes.frame(.attach(Attach(name: "silent", handle: handle, role: .receiver, source: link.source, target: link.target)), channel: channel)),
        .send(FrameBytes.frame(
            .flow(Flow(
                nextIncomingID: 0, incomingWindow: 1_000, nextOutgoingID: 0, outgoingWindow: 1_000, handle: handle,
                deliveryCount: 0, linkCredit: 100)),
            channel: channel)),
    ] + silence.steps
}

/// A connection, session and attached sender to the silent peer on `backend`; `configure`
/// adjusts the settings before the connection is made.
func silentSender(
    port: UInt16, backend: ReactorOptions.Backend, idleTimeout: UInt32?,
    configure: (inout ConnectionSettings) -> Void = { _ in }
) throws -> (Connection, ConnectionReactor, Session, MessageSender) {
    var settings = try ConnectionSettings(
        hostname: "127.0.0.1:\(port)", containerID: "silent-send", maxFrameSize: 65_536, idleTimeout: idleTimeout)
    settings.usesSASL = false
    configure(&settings)
    let reactor = try makeReactor(.ownThread, backend)
    let connection = Connection(settings: settings, reactor: reactor)
    let session = try Session(connection: connection)
    let sender = try MessageSender(session: session, target: "queue", name: "silent")
    #expect(eventually(within: 10) { sender.isAttached }, "the sender did not attach")
    return (connection, reactor, session, sender)
}

/// A send's result, set by whichever thread completes it.
final class SendResult: Sendable {
    private let value = Locked<(result: Result<Outcome, AMQPClientError>, at: Double)?>(nil)
    func set(_ r: Result<Outcome, AMQPClientError>) { value.withLock { $0 = (r, secondsNow()) } }
    var result: (result: Result<Outcome, AMQPClientError>, at: Double)? { value.withLock { $0 } }
}

/// The error `result` failed with, or nil (a test failure) when it succeeded.
func failure(_ result: Result<Outcome, AMQPClientError>) -> AMQPClientError? {
    guard case .failure(let e) = result else {
        Issue.record("the send succeeded against a silent peer: \(result)")
        return nil
    }
    return e
}

extension ConnectionTests {
    @Suite struct SilentPeerSends {
        /// The time-out each send is given, and how late its failure may come (a loaded
        /// machine schedules the timer's thread and the reactor late, never early).
        static let timeout = 0.5
        static let slack = 5.0

        @Test(arguments: availableBackends, Silence.all)
        func aSendWithATimeoutFailsTypedWhenDue(backend: ReactorOptions.Backend, silence: Silence) throws {
            let evil = try EvilPeerThread(silentPeerScript(silence))
            let port = evil.port
            evil.start(for: 60)
            do {
                let (connection, reactor, _, sender) = try silentSender(port: port, backend: backend, idleTimeout: nil)
                defer { reactor.shutdown() }
                let body = Message(body: Array("into the void".utf8))

                // Completion API.
                let completed = SendResult()
                let start = secondsNow()
                sender.send(body, timeout: .milliseconds(Int64(Self.timeout * 1000))) { completed.set($0) }
                #expect(eventually(within: Self.timeout + Self.slack) { completed.result != nil }, "no result within the bound")
                if let (result, at) = completed.result, let e = failure(result) {
                    #expect(e.kind == .timeout, "\(e)")
                    #expect(e.messageMayHaveReachedPeer == true, "\(e)")
                    #expect(at - start >= Self.timeout, "failed after \(at - start) s, before its time-out")
                }

                // Blocking API.
                let blockingStart = secondsNow()
                do {
                    let outcome = try sender.send(body, timeout: .milliseconds(Int64(Self.timeout * 1000)))
                    Issue.record("the send succeeded against a silent peer: \(outcome)")
                } catch {
                    #expect(error.kind == .timeout, "\(error)")
                    #expect(error.messageMayHaveReachedPeer == true, "\(error)")
                }
                let took = secondsNow() - blockingStart
                #expect(took >= Self.timeout && took < Self.timeout + Self.slack, "took \(took) s")

                // No idle time-out: the connection stays up, the peer is only silent.
                #expect(connection.error == nil, "\(String(describing: connection.error))")
                connection.destroy()
            }
            evil.finish()
            #expect(eventually { descriptors(onPort: port) == 0 }, "descriptors left on port \(port)")
        }

        /// The async call, awaited: a task waiting in a blocking test for a free thread of
        /// the cooperative pool (two here, which other suites' blocking tests may hold for
        /// seconds) made its lateness the pool's, not the send's. Awaited, the time-out
        /// itself bounds the wait; only its lower bound is the send's to keep.
        @Test(.timeLimit(.minutes(1)), arguments: availableBackends, Silence.all)
        func anAsyncSendWithATimeoutFailsTypedWhenDue(backend: ReactorOptions.Backend, silence: Silence) async throws {
            let evil = try EvilPeerThread(silentPeerScript(silence))
            let port = evil.port
            evil.start(for: 60)
            do {
                let (connection, reactor, _, sender) = try silentSender(port: port, backend: backend, idleTimeout: nil)
                defer { reactor.shutdown() }
                let start = secondsNow()
                do throws(AMQPClientError) {
                    let outcome = try await sender.send(Message(body: Array("into the void".utf8)), within: .milliseconds(Int64(Self.timeout * 1000)))
                    Issue.record("the send succeeded against a silent peer: \(outcome)")
                } catch {
                    #expect(error.kind == .timeout, "\(error)")
                    #expect(error.messageMayHaveReachedPeer == true, "\(error)")
                }
                #expect(secondsNow() - start >= Self.timeout, "failed before its time-out")
                #expect(connection.error == nil, "\(String(describing: connection.error))")
                connection.destroy()
            }
            evil.finish()
            #expect(eventually { descriptors(onPort: port) == 0 }, "descriptors left on port \(port)")
        }

        /// A send that times out waiting for credit never left: it is withdrawn, says so
        /// (sending it again makes no duplicate), and is not sent when credit comes. The
        /// peer attaches without credit, and grants it only when the client attaches a
        /// second link (after the time-out); the first TRANSFER it then reads must be the
        /// message sent after the time-out.
        @Test(arguments: availableBackends)
        func aSendThatTimesOutWithoutCreditIsWithdrawn(backend: ReactorOptions.Backend) throws {
            let link = LinkConfiguration.sender(name: "silent", to: "queue")
            let channel = HostileSetup.peerChannel
            let handle = HostileSetup.peerHandle
            let firstTransfer = Locked<[UInt8]?>(nil)
            let script: [EvilStep] = [
                .header, .send(ProtocolHeader.amqp.bytes),
                .performative("open"), .send(FrameBytes.frame(.open(Open(containerID: "stingy-peer", maxFrameSize: 65_536)))),
                .performative("begin"),
                .send(FrameBytes.frame(.begin(Begin(remoteChannel: 0, nextOutgoingID: 0, incomingWindow: 1_000, outgoingWindow: 1_000)), channel: channel)),
                .performative("attach"),
                .send(FrameBytes.frame(.attach(Attach(name: "silent", handle: handle, role: .receiver, source: link.source, target: link.target)), channel: channel)),
                // No credit until the second link's ATTACH.
                .performative("attach"),
                .send(FrameBytes.frame(
                    .flow(Flow(
                        nextIncomingID: 0, incomingWindow: 1_000, nextOutgoingID: 0, outgoingWindow: 1_000, handle: handle,
                        deliveryCount: 0, linkCredit: 100)),
                    channel: channel)),
                .expect("TRANSFER") { frame in
                    guard case .amqp(_, .transfer, let payload) = frame else { return false }
                    firstTransfer.withLock { $0 = payload }
                    return true
                },
                .drain,
            ]
            let evil = try EvilPeerThread(script)
            let port = evil.port
            evil.start(for: 60)
            do {
                let (connection, reactor, session, sender) = try silentSender(port: port, backend: backend, idleTimeout: nil)
                defer { reactor.shutdown() }
                do {
                    let outcome = try sender.send(Message(body: Array("withdrawn".utf8)), timeout: .milliseconds(Int64(Self.timeout * 1000)))
                    Issue.record("the send succeeded without credit: \(outcome)")
                } catch {
                    #expect(error.kind == .timeout, "\(error)")
                    #expect(error.messageMayHaveReachedPeer == false, "\(error)")
                }
                #expect(sender.unsentCount == 0, "the timed-out message is still queued")
                sender.send(Message(body: Array("sent after".utf8))) { _ in }
                let trigger = try MessageSender(session: session, target: "queue", name: "trigger")
                #expect(eventually(within: 10) { firstTransfer.withLock { $0 } != nil }, "no TRANSFER reached the peer")
                if let payload = firstTransfer.withLock({ $0 }) {
                    #expect(contains(payload, "sent after"), "first TRANSFER: \(payload)")
                    #expect(!contains(payload, "withdrawn"), "the withdrawn message was sent: \(payload)")
                }
                #expect(connection.error == nil, "\(String(describing: connection.error))")
                _ = trigger
                connection.destroy()
            }
            evil.finish()
            #expect(eventually { descriptors(onPort: port) == 0 }, "descriptors left on port \(port)")
        }

        /// `ConnectionSettings.tcp` reaches the socket: with TCP_USER_TIMEOUT at 1 s and no
        /// idle time-out, a peer that stops reading (its kernel advertises a zero window,
        /// so our data waits unacknowledged) fails the connection with a typed transport
        /// error (ETIMEDOUT) in seconds, where nothing else would end it.
        @Test(arguments: availableBackends)
        func tcpUserTimeoutEndsAConnectionToAPeerThatStoppedReading(backend: ReactorOptions.Backend) throws {
            let evil = try EvilPeerThread(silentPeerScript(Silence(name: "never reads", steps: [.stall])))
            let port = evil.port
            evil.start(for: 60)
            do {
                let (connection, reactor, _, sender) = try silentSender(port: port, backend: backend, idleTimeout: nil) {
                    $0.tcp.socket.userTimeoutMilliseconds = 1_000
                }
                defer { reactor.shutdown() }
                let completed = SendResult()
                // More than both sockets' buffers take: the rest waits on a zero window.
                sender.send(Message(body: [UInt8](repeating: 0x5A, count: 8 << 20))) { completed.set($0) }
                #expect(eventually(within: 30) { connection.state.isFinal }, "connection left in \(connection.state)")
                let error = connection.error
                #expect(error?.origin == .transport, "\(String(describing: error))")
                #expect("\(String(describing: error))".contains("ETIMEDOUT"), "\(String(describing: error))")
                #expect(eventually(within: 10) { completed.result != nil }, "the send did not end")
                connection.destroy()
            }
            evil.finish()
            #expect(eventually { descriptors(onPort: port) == 0 }, "descriptors left on port \(port)")
        }

        @Test(arguments: availableBackends, Silence.all)
        func withoutATimeoutTheIdleTimeOutEndsTheSend(backend: ReactorOptions.Backend, silence: Silence) throws {
            let evil = try EvilPeerThread(silentPeerScript(silence))
            let port = evil.port
            evil.start(for: 60)
            let idle: UInt32 = 1_000
            do {
                let (connection, reactor, _, sender) = try silentSender(port: port, backend: backend, idleTimeout: idle)
                defer { reactor.shutdown() }
                // Whoever sees the final state sees why: the error is stored before the
                // state moves (CI once read a final state, then no error).
                let errorAtFinal = Locked<AMQPClientError??>(nil)
                let observation = connection.onStateChange { [weak connection] t in
                    if t.to.isFinal { errorAtFinal.withLock { $0 = .some(connection?.error) } }
                }
                defer { observation.cancel() }
                let completed = SendResult()
                let start = secondsNow()
                // 8 MiB: against a peer that never reads, more than the socket buffers
                // take, so the idle time-out's CLOSE cannot be written either.
                let size = silence.steps.count == 1 ? 8 << 20 : 64
                sender.send(Message(body: [UInt8](repeating: 0x5A, count: size))) { completed.set($0) }
                let bound = Double(idle) / 1000 + Self.slack
                #expect(eventually(within: bound) { completed.result != nil }, "no result within \(bound) s")
                if let (result, _) = completed.result, let e = failure(result) {
                    #expect(e.condition == .resourceLimitExceeded, "\(e)")
                    #expect(e.messageMayHaveReachedPeer == true, "\(e)")
                }
                // The connection ends too: once its CLOSE is written, or, to a peer that
                // does not read, after another idle time-out.
                #expect(
                    eventually(within: Double(idle) / 1000 + Self.slack) { connection.state.isFinal },
                    "connection left in \(connection.state)")
                #expect(connection.error?.condition == .resourceLimitExceeded, "\(String(describing: connection.error))")
                let seen = errorAtFinal.withLock { $0 }
                #expect(seen != nil, "no final state was reported")
                #expect(seen??.condition == .resourceLimitExceeded, "error when the final state was reported: \(String(describing: seen))")
                #expect(secondsNow() - start < 2 * Double(idle) / 1000 + Self.slack, "took \(secondsNow() - start) s")
                connection.destroy()
            }
            evil.finish()
            #expect(eventually { descriptors(onPort: port) == 0 }, "descriptors left on port \(port)")
        }
    }
}

/// True when `bytes` hold `text`'s UTF-8 bytes somewhere.
private func contains(_ bytes: [UInt8], _ text: String) -> Bool {
    let needle = Array(text.utf8)
    guard needle.count <= bytes.count else { return false }
    return (0...(bytes.count - needle.count)).contains { i in bytes[i..<(i + needle.count)].elementsEqual(needle) }
}
