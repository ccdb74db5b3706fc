@testable import AMQP
import AMQPEngine
import AMQPPeer
import AMQPReactor
import Glibc

/// An embedded peer on a reactor thread of its own, so clients on other reactors (the
/// shared one, or a manual one the test steps) talk to it over loopback.
final class PeerHost: Sendable {
    /// Holds the peer; touched only on the host's reactor thread.
    private final class Slot: @unchecked Sendable { var peer: EmbeddedPeer? }

    let loop: ConnectionReactor
    let port: UInt16
    private let slot = Slot()

    init(_ configure: @escaping @Sendable (inout PeerConfiguration) -> Void = { _ in }) throws {
        loop = try ConnectionReactor(driving: .ownThread)
        let slot = self.slot
        port = try loop.withReactor { (r) throws(ReactorError) -> UInt16 in
            var c = PeerConfiguration()
            configure(&c)
            let peer = try EmbeddedPeer(configuration: c, reactor: r)
            slot.peer = peer
            return peer.address.port
        }
    }

    /// `127.0.0.1:port`.
    var hostname: String { "127.0.0.1:\(port)" }

    /// Runs `body` with the peer on its thread; `nil` once stopped.
    func withPeer<R: Sendable>(_ body: @escaping @Sendable (EmbeddedPeer) -> R) -> R? {
        let slot = self.slot
        return loop.withReactor { _ in slot.peer.map(body) }
    }

    var statistics: PeerStatistics? { withPeer { $0.statistics } }

    /// Stops like a crashed broker: the listener closes and every socket drops, with no
    /// CLOSE. Idempotent.
    func crash() {
        let slot = self.slot
        loop.withReactor { _ in slot.peer = nil }
    }

    /// Crashes the peer and stops its thread.
    func stop() {
        crash()
        loop.shutdown()
    }
}

/// Seconds on a monotonic clock.
func secondsNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Polls `condition` every 5 ms for at most `seconds`.
func eventually(within seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let end = secondsNow() + seconds
    while !condition() {
        if secondsNow() > end { return false }
        usleep(5_000)
    }
    return true
}

/// A token that expires `seconds` from now.
func token(_ text: String, type: CBSTokenType = .jwt, validFor seconds: Double) -> CBSToken {
    CBSToken(token: text, type: type, expiresAt: Timestamp.now().advanced(by: .milliseconds(Int64(seconds * 1000))))
}

/// A message whose body is `text`.
func textMessage(_ text: String) -> Message { Message(body: Array(text.utf8)) }

/// The text of a data body.
func text(of message: Message) -> String? {
    guard case .data(let chunks)? = message.body else { return nil }
    return String(decoding: chunks.flatMap { $0 }, as: UTF8.self)
}
