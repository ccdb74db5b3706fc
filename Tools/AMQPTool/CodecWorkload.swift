public import AMQPCodec

/// The realistic transfer frame that `amqp bench` (codec mode) and the ordo-one
/// benchmarks measure: a TRANSFER on channel 1 carrying a message with a header, a
/// properties section (string message-id, to, subject, content-type, creation time) and
/// one data section of `payloadSize` bytes.
///
/// Encoding writes frame header, performative and message straight into a caller's
/// buffer; decoding cuts the frame, decodes the TRANSFER and walks the message's
/// sections as views, touching the fields a consumer reads. Neither allocates.
public struct CodecWorkload: Sendable {
    /// Bytes in the data section.
    public let payloadSize: Int
    /// The message carried.
    public let message: Message
    /// The performative.
    public let transfer: Transfer
    /// One encoded frame, for decoding.
    public let frame: [UInt8]

    /// Builds the workload and encodes its frame once.
    public init(payloadSize: Int) {
        self.payloadSize = payloadSize
        var properties = MessageProperties()
        properties.messageID = .string("order-000000042")
        properties.to = "queue://orders"
        properties.subject = "order.created"
        properties.contentType = "application/octet-stream"
        properties.creationTime = Timestamp(millisecondsSinceEpoch: 1_795_000_000_000)
        let body = (0..<payloadSize).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        message = Message(
            header: MessageHeader(durable: true), properties: properties, body: .data([body]))
        transfer = Transfer(
            handle: 0, deliveryID: 42, deliveryTag: DeliveryTag(42), messageFormat: 0, settled: false)
        let (transfer, message) = (transfer, message)
        // The workload is built from constants: encoding it cannot fail.
        frame = try! AMQPEncoder.encode(initialCapacity: payloadSize + 512) { (e) throws(EncodeError) in
            try Self.encode(transfer: transfer, message: message, into: &e)
        }
    }

    static func encode(transfer: Transfer, message: Message, into e: inout AMQPEncoder) throws(EncodeError) {
        try FrameEncoder.encodeFrame(channel: 1, into: &e) { (e) throws(EncodeError) in
            try transfer.encode(into: &e)
            try message.encode(into: &e)
        }
    }

    /// Encodes one frame into `buffer`; returns its size.
    @inline(__always)
    public func encodeFrame(into buffer: UnsafeMutableRawBufferPointer) throws(EncodeError) -> Int {
        var e = AMQPEncoder(buffer)
        try Self.encode(transfer: transfer, message: message, into: &e)
        return e.count
    }

    /// What a consumer reads from a decoded frame; returned so the work cannot be
    /// optimised away.
    public struct Digest: Hashable, Sendable {
        /// The TRANSFER's delivery id.
        public var deliveryID: UInt32
        /// Bytes in the body's data sections.
        public var bodyBytes: Int
        /// The header's durable flag.
        public var durable: Bool
        /// Length of the message-id in bytes.
        public var messageIDLength: Int

        /// Every field mixed into one number: a benchmark loop that sums it keeps every
        /// field's decoding observable (one that sums `bodyBytes` alone let the
        /// optimizer drop the TRANSFER's field reads once the workload was inlined).
        @inline(__always)
        public var checksum: Int {
            bodyBytes &+ Int(deliveryID) &* 31 &+ messageIDLength &* 1_009 &+ (durable ? 7 : 0)
        }
    }

    /// Cuts one frame from the start of `bytes` and decodes its TRANSFER, leaving the
    /// message a view of the payload: the work the engine does for every frame.
    @inline(__always)
    public static func decodeTransfer(_ bytes: UnsafeRawBufferPointer, decoder: FrameDecoder) throws(DecodeError) -> Digest {
        let frame = try transferFrame(bytes, decoder: decoder)
        return Digest(deliveryID: frame.transfer.deliveryID ?? 0, bodyBytes: frame.payload.count, durable: false, messageIDLength: 0)
    }

    /// The frame at the start of `bytes` read as the engine reads every inbound frame:
    /// the one-pass TRANSFER reader for the forms senders write, then the TRANSFER frame
    /// reader. The workload's frames are always whole TRANSFER frames those readers take;
    /// anything else gets the general decoder's error, or a plain one.
    @inline(__always)
    static func transferFrame(_ bytes: UnsafeRawBufferPointer, decoder: FrameDecoder) throws(DecodeError) -> TransferFrame {
        if let frame = decoder.decodeCommonTransferFrame(bytes) ?? decoder.decodeTransferFrame(bytes) { return frame }
        if case .frame(let frame) = try decoder.decode(bytes), let performative = frame.performative {
            _ = try TransferView(decoding: performative)
        }
        throw DecodeError(.unexpectedType, at: 0, detail: "not a whole TRANSFER frame in the forms the engine's frame readers take")
    }

    /// `decodeFrame` through the general entry points instead of the engine's: the frame
    /// cut by `FrameDecoder.decode` (any performative) and the TRANSFER decoded into an
    /// owned `Transfer`. What an application that decodes captured frames pays.
    @inline(__always)
    public static func decodeFrameGeneral(_ bytes: UnsafeRawBufferPointer, decoder: FrameDecoder) throws(DecodeError) -> Digest {
        guard case .frame(let frame) = try decoder.decode(bytes), let performative = frame.performative else {
            throw DecodeError(.truncated, at: bytes.count, detail: "no whole transfer frame")
        }
        let transfer = try Transfer(decoding: performative)
        let message = try MessageView(payload: frame.payload)
        return digest(deliveryID: transfer.deliveryID, message)
    }

    /// What a consumer reads of `message`.
    @inline(__always)
    static func digest(deliveryID: UInt32?, _ message: MessageView) -> Digest {
        var idLength = 0
        if case .string(let s)? = message.properties?.messageID { idLength = s.utf8.count }
        var bodyBytes = 0
        if case .data(let sections)? = message.body { bodyBytes = sections.byteCount }
        return Digest(
            deliveryID: deliveryID ?? 0, bodyBytes: bodyBytes,
            durable: message.header?.durable ?? false, messageIDLength: idLength)
    }

    /// Decodes one frame from the start of `bytes`: frame header, TRANSFER (read in
    /// place, as the engine reads every inbound frame), and the message's sections as
    /// views.
    @inline(__always)
    public static func decodeFrame(_ bytes: UnsafeRawBufferPointer, decoder: FrameDecoder) throws(DecodeError) -> Digest {
        let frame = try transferFrame(bytes, decoder: decoder)
        let message = try MessageView(frame.payload, baseOffset: frame.length &- frame.payload.count)
        return digest(deliveryID: frame.transfer.deliveryID, message)
    }
}
