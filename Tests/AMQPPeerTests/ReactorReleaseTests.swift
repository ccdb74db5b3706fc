import AMQP
import AMQPPeer
import AMQPReactor
import Testing

/// A `ConnectionReactor` of one's own is released once it is shut down and its last
/// reference dropped, with or without connections still on it: its handlers and queued
/// jobs hold connection cores, which hold the reactor, and `shutdown()` breaks that cycle.
@Suite struct ReactorReleaseTests {
    static let backends: [ReactorOptions.Backend] = {
        var o = ReactorOptions()
        o.backend = .uring
        return (try? Reactor<EmbeddedPeer.Machine>(options: o)) != nil ? [.epoll, .uring] : [.epoll]
    }()

    /// Opens a connection with a session and a sender, sends one message, then either
    /// destroys the connection first or leaves it open, and shuts the reactor down.
    /// Returns weak references to the reactor and the connection.
    static func run(backend: ReactorOptions.Backend, port: Int, destroyFirst: Bool) throws
        -> (reactor: () -> ConnectionReactor?, connection: () -> Connection?)
    {
        var o = ReactorOptions()
        o.backend = backend
        var reactor: ConnectionReactor? = try ConnectionReactor(driving: .ownThread, options: o)
        var connection: Connection? = Connection(
            settings: try ConnectionSettings(hostname: "amqp://127.0.0.1:\(port)"), reactor: reactor!)
        weak let weakReactor = reactor
        weak let weakConnection = connection
        do {
            let session = try Session(connection: connection!)
            let sender = try MessageSender(session: session, target: "release")
            #expect(try sender.send(Message(body: [1, 2, 3]), timeout: .seconds(10)) == .accepted)
        }
        if destroyFirst { connection!.destroy() }
        reactor!.shutdown()
        if !destroyFirst {
            // The connection learnt that its transport is gone.
            #expect(connection!.state == .end || connection!.state == .error || connection!.state == .discarding,
                    "state \(connection!.state)")
        }
        connection = nil
        reactor = nil
        return ({ weakReactor }, { weakConnection })
    }

    @Test(arguments: backends, [true, false])
    func released(backend: ReactorOptions.Backend, destroyFirst: Bool) throws {
        let peer = try PeerThread(PeerConfiguration())
        defer { peer.stop() }
        let refs = try Self.run(backend: backend, port: Int(peer.port), destroyFirst: destroyFirst)
        #expect(refs.connection() == nil, "the connection was not released")
        #expect(refs.reactor() == nil, "the reactor was not released")
    }
}
