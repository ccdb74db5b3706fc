import AMQPCodec
import AMQPEngine
import AMQPHostileCases
import AMQPTesting
import Testing

// Helpers shared by the scripted-peer suites; the configurations and authenticators
// they share with the reactor's hostile-peer suite are in Tests/Support/AMQPHostileCases.

/// A scripted peer for an engine in `role`; a server engine has `open()` called already
/// (so it answers OPEN at once), a client engine does not.
func scriptedPeer(
    _ configuration: ConnectionConfiguration, cutPolicy: CutPolicy = .whole, outputBufferSize: Int = 65_536
) throws -> ScriptedPeer {
    var peer = ScriptedPeer(configuration: configuration, cutPolicy: cutPolicy, outputBufferSize: outputBufferSize)
    if configuration.role == .server { try peer.perform { $0.open() } }
    return peer
}

/// The checks every script ends with: the state changes form one chain, and the
/// engine reported `closed` exactly once if it reached a final state.
func expectConsistentEvents(_ peer: ScriptedPeer, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(peer.events.transitionsAreChained, "state changes skip a step: \(peer.events.transitions)", sourceLocation: sourceLocation)
    let closures = peer.events.closures.count
    #expect(closures == (peer.engine.state.isFinal ? 1 : 0), "closed reported \(closures) times in \(peer.engine.state)", sourceLocation: sourceLocation)
}
