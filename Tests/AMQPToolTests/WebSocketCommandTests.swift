import AMQPPeer
import AMQPTool
import Testing

/// `amqp peer --websocket` and `amqp send`/`receive` with `amqpws://` URLs, in-process,
/// against the embedded peer's WebSocket listener over loopback.
@Suite struct WebSocketCommandTests {
    @Test func thePeerFlagsMakeAWebSocketListener() throws {
        let c = try PeerCommand.parse(["--websocket", "--websocket-path", "/$servicebus/websocket/"]).peerConfiguration()
        #expect(c.webSocket?.role == .server)
        #expect(c.webSocket?.path == "/$servicebus/websocket/")
        #expect(try PeerCommand.parse([]).peerConfiguration().webSocket == nil)
        #expect(try PeerCommand.parse(["--websocket"]).peerConfiguration().webSocket?.path == nil)
        #expect(throws: (any Error).self) { try PeerCommand.parse(["--websocket-path", "/x"]) }
        #expect(throws: (any Error).self) { try PeerCommand.parse(["--websocket", "--websocket-path", "x"]) }
    }

    @Test func sendAndReceiveOverAmqpws() throws {
        let peer = try PeerThread { $0.webSocket = .server(path: "/$servicebus/websocket/") }
        defer { peer.stop() }
        let url = "amqpws://127.0.0.1:\(peer.port)/ws-q"
        let sent = try send([url, "--count", "10", "--body", "over websocket"])
        #expect(sent.status == .success, "\(sent.output.errors)")
        #expect(sent.output.lines == [#"sent 10 messages to "ws-q": accepted 10, rejected 0, released 0, modified 0"#])
        let got = try receive([url, "--count", "10", "--print", "--timeout", "10"])
        #expect(got.status == .success, "\(got.output.errors)")
        #expect(got.output.errors == [#"received 10 messages from "ws-q""#])
        #expect(got.output.lines.count == 10)
        #expect(got.output.lines.allSatisfy { $0.contains("over websocket") })
        // A plain amqp:// client at the WebSocket listener fails (the listener wants HTTP).
        let plain = try send(["amqp://127.0.0.1:\(peer.port)/ws-q", "--count", "1", "--timeout", "5"])
        #expect(plain.status != .success)
    }
}
