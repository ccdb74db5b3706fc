import AMQPEngine
import AMQPPeer
import AMQPReactor
import AMQPTool
import Dispatch
import Foundation
import Glibc

/// An embedded peer serving 127.0.0.1 on a port the kernel picked, on a thread of its
/// own, for commands that connect to it over real sockets as they would to a broker.
final class PeerThread: @unchecked Sendable {
    // @unchecked: `peer` is touched only by jobs on the peer's own thread; the rest is
    // set before `init` returns and never changed.
    let port: UInt16
    private let handle: ReactorHandle<EmbeddedPeer.Machine>
    private let finished = DispatchSemaphore(value: 0)
    private var peer: EmbeddedPeer?

    init(_ configure: (inout PeerConfiguration) -> Void = { _ in }) throws {
        var c = PeerConfiguration()
        configure(&c)
        let configuration = c
        let ready = DispatchSemaphore(value: 0)
        let started = StartBox()
        let finished = finished
        let thread = Thread {
            do {
                try EmbeddedPeer.serve(configuration, drainTime: .milliseconds(500)) { peer in
                    started.peer = peer
                    ready.signal()
                }
                // The box lives as long as the thread's block: let the peer (and its
                // reactor) go with the serve, not with the block.
                started.peer = nil
            } catch {
                started.error = error
                ready.signal()
            }
            finished.signal()
        }
        thread.start()
        guard ready.wait(timeout: .now() + 10) == .success, let peer = started.peer else {
            throw MissingPrerequisite("the embedded peer did not start: \(started.error.map { "\($0)" } ?? "no answer in 10 s")")
        }
        self.peer = peer
        port = peer.address.port
        handle = peer.reactor.handle
    }

    /// `amqp://[user:password@]127.0.0.1:PORT/address`.
    func url(_ address: String, user: String? = nil) -> String {
        "amqp://\(user.map { "\($0)@" } ?? "")127.0.0.1:\(port)/\(address)"
    }

    /// Messages waiting at `address`, read on the peer's thread.
    func depth(of address: String) throws -> Int {
        let answer = DispatchSemaphore(value: 0)
        let result = DepthBox()
        handle.execute { [self] _ in
            result.depth = peer?.depth(of: address) ?? -1
            answer.signal()
        }
        guard answer.wait(timeout: .now() + 10) == .success else { throw MissingPrerequisite("the peer did not answer") }
        return result.depth
    }

    /// Stops the peer and waits for its thread to end.
    func stop() {
        // No job that captures `self`: one queued behind the stop may never run, and the
        // reactor's inbox would then hold this object (and through it the peer and its
        // reactor) in a cycle with `handle`, a leak LeakSanitizer reported.
        handle.stop()
        _ = finished.wait(timeout: .now() + 10)
        // The serving thread has ended: nothing else reads `peer` now.
        peer = nil
    }

    deinit { handle.stop() }
}

/// What the serving thread hands back once it started.
private final class StartBox: @unchecked Sendable {
    // Written by the serving thread before it signals, read after the wait.
    var peer: EmbeddedPeer?
    var error: (any Error)?
}

private final class DepthBox: @unchecked Sendable {
    // Written on the peer's thread before it signals, read after the wait.
    var depth = 0
}

/// A port on 127.0.0.1 where nothing listens: bound (so the kernel picks a free one),
/// then closed.
func deadPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw MissingPrerequisite("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw MissingPrerequisite("bind() failed") }
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw MissingPrerequisite("getsockname() failed") }
    return UInt16(bigEndian: address.sin_port)
}

/// A `CommandOutput` that several threads may write to and a test may read meanwhile.
final class LockedOutput: CommandOutput, @unchecked Sendable {
    // @unchecked: every field is touched under `lock`.
    private let lock = NSLock()
    private var _lines: [String] = []
    private var _errors: [String] = []
    func printLine(_ line: String) { lock.withLock { _lines.append(line) } }
    func printError(_ line: String) { lock.withLock { _errors.append(line) } }
    func flush() {}
    var lines: [String] { lock.withLock { _lines } }
    var errors: [String] { lock.withLock { _errors } }
}
