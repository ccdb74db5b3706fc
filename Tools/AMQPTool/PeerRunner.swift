import AMQPPeer
import AMQPReactor

/// The embedded peer on a thread of its own, for `amqp bench` without a URL.
typealias PeerRunner = ListenerThread<EmbeddedPeer.Machine>

extension ListenerThread where Machine == EmbeddedPeer.Machine {
    /// Starts the peer and returns once it listens.
    static func start(_ configuration: PeerConfiguration) throws(ReactorError) -> PeerRunner {
        try start(name: "amqp-bench-peer", what: "embedded peer") { (ready) throws(ReactorError) in
            try EmbeddedPeer.serve(configuration, drainTime: .seconds(2)) { peer in
                ready(peer.address, peer.reactor.handle)
            }
        }
    }
}
