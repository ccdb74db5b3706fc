import AMQPEngine
import AMQPReactor

/// The direct listener (`DirectSink`) on a reactor thread of its own, as the embedded
/// peer runs for store-and-forward (`PeerRunner`).
typealias DirectListenerThread = ListenerThread<ConnectionEngine>

extension ListenerThread where Machine == ConnectionEngine {
    /// Starts the listener and returns once it listens. The sink is made on the
    /// listener's thread from what `make` captures (the tally is the only thing shared).
    static func start(
        options: ReactorOptions, make: @escaping @Sendable () -> DirectSink
    ) throws(ReactorError) -> DirectListenerThread {
        try start(name: "amqp-bench-direct", what: "direct listener") { (ready) throws(ReactorError) in
            let reactor = try Reactor<ConnectionEngine>(options: options)
            let sink = make()
            let address = try sink.listen(on: reactor)
            ready(address, reactor.handle)
            try reactor.run()
            // Let the senders' closes finish (bounded), then release everything here.
            withExtendedLifetime(sink) {}
        }
    }
}
