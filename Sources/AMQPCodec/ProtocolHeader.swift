/// The 8-byte protocol header that opens each protocol layer: `AMQP`, a protocol id,
/// and the version (major, minor, revision).
public struct ProtocolHeader: Hashable, Sendable, CustomStringConvertible {
    /// Which layer the header announces.
    public enum ID: UInt8, Hashable, Sendable {
        /// Plain AMQP (id 0).
        case amqp = 0
        /// TLS negotiation (id 2).
        case tls = 2
        /// SASL negotiation (id 3).
        case sasl = 3
    }
    /// The layer.
    public var id: ID
    /// Major version (1 for AMQP 1.0).
    public var major: UInt8
    /// Minor version (0 for AMQP 1.0).
    public var minor: UInt8
    /// Revision (0 for AMQP 1.0).
    public var revision: UInt8

    /// Creates a header.
    public init(id: ID, major: UInt8 = 1, minor: UInt8 = 0, revision: UInt8 = 0) {
        self.id = id
        self.major = major
        self.minor = minor
        self.revision = revision
    }

    /// `AMQP 0 1.0.0`.
    public static let amqp = ProtocolHeader(id: .amqp)
    /// `AMQP 2 1.0.0`.
    public static let tls = ProtocolHeader(id: .tls)
    /// `AMQP 3 1.0.0`.
    public static let sasl = ProtocolHeader(id: .sasl)

    /// Length of a protocol header.
    public static let size = 8

    /// The header's 8 bytes.
    public var bytes: [UInt8] { [0x41, 0x4D, 0x51, 0x50, id.rawValue, major, minor, revision] }

    /// Writes the 8 bytes.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        try e.writeBigEndian(UInt32(0x414D_5150))
        try e.writeByte(id.rawValue)
        try e.writeByte(major)
        try e.writeByte(minor)
        try e.writeByte(revision)
    }

    /// What `decode` found.
    public enum DecodeResult: Hashable, Sendable {
        /// More bytes are needed; the prefix seen so far is consistent with a header.
        case needMore(Int)
        /// A complete header (it took `ProtocolHeader.size` bytes).
        case header(ProtocolHeader)
    }

    /// Reads a header from the start of `bytes`, rejecting a wrong prefix as soon as it
    /// is seen (so a peer speaking another protocol is turned away without waiting).
    ///
    /// Any version is returned as read; deciding whether it is acceptable is the
    /// connection's job (it answers with its own header and closes).
    public static func decode(_ bytes: UnsafeRawBufferPointer, baseOffset: Int = 0) throws(DecodeError) -> DecodeResult {
        let magic: [UInt8] = [0x41, 0x4D, 0x51, 0x50]
        for i in 0..<min(4, bytes.count) where bytes[i] != magic[i] {
            throw DecodeError(.invalidProtocolHeader, at: baseOffset + i, detail: "expected 'AMQP'", condition: .framingError)
        }
        if bytes.count >= 5, ID(rawValue: bytes[4]) == nil {
            throw DecodeError(.invalidProtocolHeader, at: baseOffset + 4, detail: "unknown protocol id \(bytes[4])", condition: .framingError)
        }
        guard bytes.count >= size else { return .needMore(size - bytes.count) }
        return .header(ProtocolHeader(id: ID(rawValue: bytes[4])!, major: bytes[5], minor: bytes[6], revision: bytes[7]))
    }

    /// `AMQP <id> <major>.<minor>.<revision>`, e.g. `AMQP 0 1.0.0`.
    public var description: String { "AMQP \(id.rawValue) \(major).\(minor).\(revision)" }
}
