import AMQP
import AMQPEngine
import AMQPPeer
import AMQPReactor
import Glibc
import Synchronization

/// The embedded peer on a thread of its own, for `amqp bench` without a URL.
final class PeerRunner {
    /// Where it listens.
    let address: SocketAddress
    private let handle: ReactorHandle<EmbeddedPeer.Machine>
    private let thread: NativeThread

    private enum State: Sendable {
        case starting
        case ready(SocketAddress, ReactorHandle<EmbeddedPeer.Machine>)
        case failed(ReactorError)
    }

    private final class Shared: Sendable {
        let state = Mutex<State>(.starting)
    }

    private init(address: SocketAddress, handle: ReactorHandle<EmbeddedPeer.Machine>, thread: NativeThread) {
        self.address = address
        self.handle = handle
        self.thread = thread
    }

    /// Starts the peer and returns once it listens.
    static func start(_ configuration: PeerConfiguration) throws(ReactorError) -> PeerRunner {
        let shared = Shared()
        let thread = NativeThread(name: "amqp-bench-peer") {
            do throws(ReactorError) {
                // The reactor is made, driven and released on this thread.
                try EmbeddedPeer.serve(configuration, drainTime: .seconds(2)) { peer in
                    shared.state.withLock { $0 = .ready(peer.address, peer.reactor.handle) }
                }
            } catch {
                shared.state.withLock { state in
                    if case .starting = state { state = .failed(error) }
                }
            }
        }
        // The peer binds a loopback port and returns: milliseconds; polled, bounded.
        for _ in 0..<10_000 {
            switch shared.state.withLock({ $0 }) {
            case .starting:
                usleep(1_000)
            case .ready(let address, let handle):
                return PeerRunner(address: address, handle: handle, thread: thread)
            case .failed(let error):
                thread.join()
                throw error
            }
        }
        // Its thread is left to itself: without the peer's handle it cannot be stopped, and
        // the process is about to report the error and exit.
        throw ReactorError(.timedOut, operation: "embedded peer", detail: "did not start listening within 10 s")
    }

    /// Stops the peer (it closes its connections) and waits for its thread.
    func stop() {
        handle.stop()
        thread.join()
    }
}
