import AMQPCodec
import AMQPEngine
import Testing

/// A plaintext engine that meets TLS where the peer's protocol header belongs: a TLS
/// record (what most TLS stacks send or answer), or the AMQP TLS header (what a listener
/// offering TLS after the header answers). The failure is typed
/// (`EngineError.headerMismatch`) and its text says to use TLS, whatever the cut of the
/// bytes; other mismatches stay what they were.
@Suite struct PeerSpeaksTLSTests {
    /// RabbitMQ 3.10's answer to an AMQP header on its TLS port, as captured: an alert
    /// record (record version 3.1), fatal unexpected_message.
    static let alertRecord: [UInt8] = [0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x0A]
    /// The start of a ClientHello: handshake record, record version TLS 1.0, then the
    /// handshake header (type 1, client_hello).
    static let clientHello: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0xF4, 0x01, 0x00, 0x00, 0xF0, 0x03, 0x03]

    /// A client engine (SASL ANONYMOUS, as the public API's) whose header is written.
    static func client() -> ConnectionEngine {
        var c = ConnectionConfiguration(role: .client, containerID: "c")
        c.sasl = .client(.anonymous())
        var engine = ConnectionEngine(configuration: c)
        engine.open()
        var buffer = [UInt8](repeating: 0, count: 512)
        _ = buffer.withUnsafeMutableBytes { engine.produce(into: $0, now: .zero) }
        return engine
    }

    /// A server engine (no SASL) waiting for a client's header.
    static func server() -> ConnectionEngine {
        var engine = ConnectionEngine(configuration: ConnectionConfiguration(role: .server, containerID: "s"))
        engine.open()
        return engine
    }

    /// Feeds `bytes` in pieces of `chunk`, keeping what the engine leaves unconsumed (as
    /// a transport's ring does); returns how many pieces went in before it failed.
    @discardableResult
    static func feed(_ engine: inout ConnectionEngine, _ bytes: [UInt8], chunk: Int) -> Int {
        var pending: [UInt8] = []
        var pieces = 0
        var at = 0
        while at < bytes.count && engine.failure == nil {
            let next = bytes[at..<min(at + chunk, bytes.count)]
            at += next.count
            pending += next
            pieces += 1
            let used = pending.withUnsafeBytes { engine.receive($0, now: .zero) }
            pending.removeFirst(used)
        }
        return pieces
    }

    @Test(arguments: [1, 2, 3, 100])
    func aClientHearingATLSRecordIsToldToUseAmqps(chunk: Int) {
        var engine = Self.client()
        let pieces = Self.feed(&engine, Self.alertRecord, chunk: chunk)
        // Two bytes cannot tell a TLS record from garbage: the third decides.
        #expect(pieces == (3 + chunk - 1) / chunk)
        #expect(engine.state == .error)
        #expect(engine.isFinished)
        let failure = engine.failure
        #expect(failure?.origin == .transport)
        #expect(failure?.condition == .framingError)
        #expect(failure?.headerMismatch == ProtocolHeaderMismatch(.tlsRecord, expected: .sasl))
        #expect(failure?.headerMismatch?.peerSpeaksTLS == true)
        let text = failure?.error.errorDescription ?? ""
        #expect(text.contains("the peer speaks TLS"), "\(text)")
        #expect(text.contains("TLS alert record (0x15 0x03 0x01)"), "\(text)")
        #expect(text.contains("amqps://"), "\(text)")
    }

    @Test(arguments: [1, 8])
    func aClientHearingTheTLSHeaderIsToldToUseTLS(chunk: Int) {
        var engine = Self.client()
        Self.feed(&engine, ProtocolHeader.tls.bytes, chunk: chunk)
        let failure = engine.failure
        #expect(engine.state == .error)
        #expect(failure?.headerMismatch == ProtocolHeaderMismatch(.otherHeader, expected: .sasl, received: .tls))
        #expect(failure?.headerMismatch?.peerSpeaksTLS == true)
        let text = failure?.error.errorDescription ?? ""
        // The text it had, extended.
        #expect(text.hasPrefix("the peer sent protocol header AMQP 2 1.0.0; expected AMQP 3 1.0.0 (SASL): the peer speaks TLS"), "\(text)")
        #expect(text.contains("amqps://"), "\(text)")
    }

    /// A TLS client at a plaintext listener: the server names it, and still answers with
    /// its own header before closing (part 2, section 2.2).
    @Test(arguments: [1, 3, 100])
    func aServerGreetedWithAClientHelloSaysItIsPlaintext(chunk: Int) {
        var engine = Self.server()
        Self.feed(&engine, Self.clientHello, chunk: chunk)
        let failure = engine.failure
        #expect(failure?.headerMismatch == ProtocolHeaderMismatch(.tlsRecord, expected: .amqp))
        let text = failure?.error.errorDescription ?? ""
        #expect(text.contains("TLS handshake record (0x16 0x03 0x01)"), "\(text)")
        #expect(text.contains("this listener is plaintext"), "\(text)")
        var out = [UInt8](repeating: 0, count: 64)
        let n = out.withUnsafeMutableBytes { engine.produce(into: $0, now: .zero) }
        #expect(Array(out.prefix(n)) == ProtocolHeader.amqp.bytes)
        #expect(engine.isFinished)
    }

    /// What is not TLS stays as it was: typed, but not `peerSpeaksTLS`.
    @Test func otherMismatchesAreNotTLS() {
        let cases: [([UInt8], ProtocolHeaderMismatch, String)] = [
            (Array("HTTP/1.1 400".utf8), ProtocolHeaderMismatch(.notAMQP, expected: .sasl), "the peer does not speak AMQP"),
            ([0x16, 0x04, 0x01, 0, 0, 0, 0, 0], ProtocolHeaderMismatch(.notAMQP, expected: .sasl), "the peer does not speak AMQP"),
            ([0x16, 0x03, 0x05, 0, 0, 0, 0, 0], ProtocolHeaderMismatch(.notAMQP, expected: .sasl), "the peer does not speak AMQP"),
            (ProtocolHeader.amqp.bytes, ProtocolHeaderMismatch(.otherHeader, expected: .sasl, received: .amqp),
             "the peer sent protocol header AMQP 0 1.0.0; expected AMQP 3 1.0.0 (SASL)"),
        ]
        for (bytes, mismatch, text) in cases {
            var engine = Self.client()
            Self.feed(&engine, bytes, chunk: 1)
            let failure = engine.failure
            #expect(failure?.headerMismatch == mismatch, "\(bytes)")
            #expect(failure?.headerMismatch?.peerSpeaksTLS == false, "\(bytes)")
            #expect(failure?.error.errorDescription?.hasPrefix(text) == true, "\(String(describing: failure))")
            #expect(failure?.error.errorDescription?.contains("TLS") == false, "\(String(describing: failure))")
        }
    }

    /// Errors that are not about headers carry no mismatch.
    @Test func otherErrorsCarryNoMismatch() {
        var engine = Self.client()
        engine.transportClosed("reset by peer")
        #expect(engine.failure != nil)
        #expect(engine.failure?.headerMismatch == nil)
    }
}
