public import AMQPCodec

/// What the engine found where the peer's protocol header belongs, when it was not the
/// header expected (`EngineError.headerMismatch`): another AMQP header, a TLS record, or
/// bytes of some other protocol.
///
/// The usual cause is a transport mismatch, which no retry fixes: a plaintext client at a
/// TLS port hears a TLS record (RabbitMQ, most TLS stacks) or the AMQP TLS header (a
/// listener that offers TLS after the header, ours among them); `peerSpeaksTLS` says so.
public struct ProtocolHeaderMismatch: Hashable, Sendable, CustomStringConvertible {
    /// What arrived. Kinds are values, not enum cases, so new ones can be added. One
    /// byte, not a name: every `EngineError` (links and sessions keep one each) holds
    /// room for a mismatch.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private let code: UInt8
        private init(_ code: UInt8) { self.code = code }

        /// An AMQP protocol header, but another one (`received` holds it): another
        /// protocol id (the TLS header, SASL where it was not configured or is required)
        /// or another version.
        public static let otherHeader = Kind(0)
        /// A TLS record (content type 20 to 23, version 3.x): the peer speaks TLS.
        public static let tlsRecord = Kind(1)
        /// Neither an AMQP header nor a TLS record.
        public static let notAMQP = Kind(2)

        /// A short lower-case name.
        public var name: String {
            switch code {
            case 0: "another protocol header"
            case 1: "TLS record"
            default: "not AMQP"
            }
        }
        /// The name.
        public var description: String { name }
    }

    /// What arrived.
    public var kind: Kind
    /// The header this engine waited for.
    public var expected: ProtocolHeader
    /// The header that arrived, for `.otherHeader`.
    public var received: ProtocolHeader?

    /// Creates a description of a mismatch.
    public init(_ kind: Kind, expected: ProtocolHeader, received: ProtocolHeader? = nil) {
        self.kind = kind
        self.expected = expected
        self.received = received
    }

    /// True when the peer speaks TLS where this engine speaks plaintext: it sent a TLS
    /// record, or the AMQP TLS header (id 2). A client then needs `amqps://` (or TLS
    /// after the header); a server is being reached by a TLS client.
    public var peerSpeaksTLS: Bool { kind == .tlsRecord || received?.id == .tls }

    /// `TLS record instead of AMQP 3 1.0.0`.
    public var description: String {
        "\(received.map { "\($0)" } ?? kind.name) instead of \(expected)"
    }

    /// TLS record content types: change_cipher_spec, alert, handshake, application_data
    /// (RFC 8446, section 5.1). A ClientHello opens with handshake (22); a TLS server
    /// that reads an AMQP header as a broken ClientHello answers with an alert (21).
    static let tlsContentTypes: ClosedRange<UInt8> = 20...23

    /// Whether `bytes` (the start of the peer's stream) open a TLS record: a content
    /// type, then major version 3 and a minor version of SSL 3.0 to TLS 1.3 (0 to 4; TLS
    /// 1.3 records say 3.3 or 3.1). `nil` while too few bytes have arrived to tell.
    static func looksLikeTLSRecord(_ bytes: UnsafeRawBufferPointer) -> Bool? {
        guard let type = bytes.first, tlsContentTypes.contains(type) else { return false }
        if bytes.count >= 2 && bytes[1] != 3 { return false }
        if bytes.count >= 3 { return bytes[2] <= 4 }
        return nil
    }
}
