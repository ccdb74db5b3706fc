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
    /// Bytes the TRANSFER performative takes in `frame`.
    public let transferSize: Int

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
        transferSize = try! AMQPEncoder.encode { (e) throws(EncodeError) in try transfer.encode(into: &e) }.count
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
    }

    /// Cuts one frame from the start of `bytes` and decodes its TRANSFER, leaving the
    /// message a view of the payload: the work the engine does for every frame.
    @inline(__always)
    public static func decodeTransfer(_ bytes: UnsafeRawBufferPointer, decoder: FrameDecoder) throws(DecodeError) -> Digest {
        guard case .frame(let frame) = try decoder.decode(bytes), let performative = frame.performative else {
            throw DecodeError(.truncated, at: bytes.count, detail: "no whole transfer frame")
        }
        let transfer = try Transfer(decoding: performative)
        return Digest(deliveryID: transfer.deliveryID ?? 0, bodyBytes: frame.payload.count, durable: false, messageIDLength: 0)
    }

    /// Decodes one frame from the start of `bytes`: frame header, TRANSFER, and the
    /// message's sections as views.
    @inline(__always)
    public static func decodeFrame(_ bytes: UnsafeRawBufferPointer, decoder: FrameDecoder) throws(DecodeError) -> Digest {
        guard case .frame(let frame) = try decoder.decode(bytes), let performative = frame.performative else {
            throw DecodeError(.truncated, at: bytes.count, detail: "no whole transfer frame")
        }
        let transfer = try Transfer(decoding: performative)
        let message = try MessageView(payload: frame.payload)
        var idLength = 0
        if case .string(let s)? = message.properties?.messageID { idLength = s.utf8.count }
        var bodyBytes = 0
        if case .data(let sections)? = message.body { bodyBytes = sections.byteCount }
        return Digest(
            deliveryID: transfer.deliveryID ?? 0, bodyBytes: bodyBytes,
            durable: message.header?.durable ?? false, messageIDLength: idLength)
    }
}
