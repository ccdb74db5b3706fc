import AMQPEngine
import AMQPTesting
import Testing

/// The example in README.md ("Stepping a connection by hand"), kept compiling and true.
@Test func readmeSteppingExample() throws {
    var pair = EnginePair(client: ConnectionConfiguration(role: .client, containerID: "c"),
                          server: ConnectionConfiguration(role: .server, containerID: "s"),
                          cutPolicy: .random(seed: 7, maxChunk: 13))
    pair.client.open()
    pair.server.open()
    try pair.pump(until: "both sides are open") { $0.client.state == .opened && $0.server.state == .opened }
    #expect(pair.server.remoteOpen?.containerID == "c")
}
