import AMQP
import AMQPReactor
import Glibc
import Synchronization

/// A listening reactor on a thread of its own, for `amqp bench` and `amqp soak`: the
/// embedded peer (`PeerRunner`) or the direct listener (`DirectListenerThread`).
final class ListenerThread<Machine: SansIOConnection & SendableMetatype> {
    /// Where it listens.
    let address: SocketAddress
    private let handle: ReactorHandle<Machine>
    private let thread: NativeThread

    private enum State: Sendable {
        case starting
        case ready(SocketAddress, ReactorHandle<Machine>)
        case failed(ReactorError)
    }

    private final class Shared: Sendable {
        let state = Mutex<State>(.starting)
    }

    private init(address: SocketAddress, handle: ReactorHandle<Machine>, thread: NativeThread) {
        self.address = address
        self.handle = handle
        self.thread = thread
    }

    /// Starts `serve` on a new thread named `name` and returns once it has called
    /// `ready` with the address it listens on and its reactor's handle. `serve` makes,
    /// drives and releases its reactor on that thread, returning when the reactor stops.
    static func start(
        name: String, what: String,
        serve: @escaping @Sendable (_ ready: (SocketAddress, ReactorHandle<Machine>) -> Void) throws(ReactorError) -> Void
    ) throws(ReactorError) -> ListenerThread {
        let shared = Shared()
        let thread = NativeThread(name: name) {
            do throws(ReactorError) {
                try serve { address, handle in shared.state.withLock { $0 = .ready(address, handle) } }
            } catch {
                shared.state.withLock { state in
                    if case .starting = state { state = .failed(error) }
                }
            }
        }
        // Binding a loopback port takes milliseconds; polled, bounded.
        for _ in 0..<10_000 {
            switch shared.state.withLock({ $0 }) {
            case .starting:
                usleep(1_000)
            case .ready(let address, let handle):
                return ListenerThread(address: address, handle: handle, thread: thread)
            case .failed(let error):
                thread.join()
                throw error
            }
        }
        // The thread is left to itself: without its handle it cannot be stopped, and the
        // process is about to report the error and exit.
        throw ReactorError(.timedOut, operation: what, detail: "did not start listening within 10 s")
    }

    /// Stops the reactor (the peer closes its connections) and waits for the thread.
    func stop() {
        handle.stop()
        thread.join()
    }
}
