import AMQP
import AMQPEngine
import AMQPReactor
import Glibc
import Synchronization

/// The direct listener (`DirectSink`) on a reactor thread of its own, as the embedded
/// peer runs for store-and-forward (`PeerRunner`).
final class DirectListenerThread {
    /// Where it listens.
    let address: SocketAddress
    private let handle: ReactorHandle<ConnectionEngine>
    private let thread: NativeThread

    private enum State: Sendable {
        case starting
        case ready(SocketAddress, ReactorHandle<ConnectionEngine>)
        case failed(ReactorError)
    }

    private final class Shared: Sendable {
        let state = Mutex<State>(.starting)
    }

    private init(address: SocketAddress, handle: ReactorHandle<ConnectionEngine>, thread: NativeThread) {
        self.address = address
        self.handle = handle
        self.thread = thread
    }

    /// Starts the listener and returns once it listens. The sink is made on the
    /// listener's thread from what `make` captures (the tally is the only thing shared).
    static func start(
        options: ReactorOptions, make: @escaping @Sendable () -> DirectSink
    ) throws(ReactorError) -> DirectListenerThread {
        let shared = Shared()
        let thread = NativeThread(name: "amqp-bench-direct") {
            do throws(ReactorError) {
                // The reactor is made, driven and released on this thread.
                let reactor = try Reactor<ConnectionEngine>(options: options)
                let sink = make()
                let address = try sink.listen(on: reactor)
                shared.state.withLock { $0 = .ready(address, reactor.handle) }
                try reactor.run()
                // Let the senders' closes finish (bounded), then release everything here.
                withExtendedLifetime(sink) {}
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
                return DirectListenerThread(address: address, handle: handle, thread: thread)
            case .failed(let error):
                thread.join()
                throw error
            }
        }
        throw ReactorError(.timedOut, operation: "direct listener", detail: "did not start listening within 10 s")
    }

    /// Stops the listener's reactor and waits for its thread.
    func stop() {
        handle.stop()
        thread.join()
    }
}
