/// The fixed 8 bytes that start every frame (part 2, section 2.3.1).
public struct FrameHeader: Hashable, Sendable {
    /// The frame's type byte.
    public enum FrameType: UInt8, Hashable, Sendable {
        /// An AMQP frame (type 0): channel is a session channel.
        case amqp = 0
        /// A SASL frame (type 1): channel is ignored.
        case sasl = 1
    }
    /// Total frame size in bytes, header included.
    public var size: UInt32
    /// Data offset in 4-byte words (at least 2: the 8-byte header).
    public var dataOffset: UInt8
    /// Frame type.
    public var type: FrameType
    /// Channel number (AMQP frames).
    public var channel: UInt16

    /// Creates a header.
    public init(size: UInt32, dataOffset: UInt8 = 2, type: FrameType = .amqp, channel: UInt16 = 0) {
        self.size = size
        self.dataOffset = dataOffset
        self.type = type
        self.channel = channel
    }

    /// The header's length.
    public static let size = 8
    /// The smallest `max-frame-size` a peer may announce (part 2, section 2.7.1).
    public static let minimumMaxFrameSize: UInt32 = 512

    /// Writes the 8 bytes.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        try e.writeBigEndian(size)
        try e.writeByte(dataOffset)
        try e.writeByte(type.rawValue)
        try e.writeBigEndian(channel)
    }
}
