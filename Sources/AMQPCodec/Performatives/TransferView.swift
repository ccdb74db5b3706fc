/// A TRANSFER (`amqp:transfer:list`, part 2, section 2.7.5) read in place: the fields of
/// `Transfer`, with the delivery tag and state left as views of the decoded bytes.
///
/// It holds no references, so copying one is a plain copy of bytes: a receiver's
/// per-frame path can pass it around without the value witness calls a `Transfer` (whose
/// optional `DeliveryState` holds references) costs on every copy and destroy. Valid
/// while the decoded bytes are. It reads the fields with the same checks as
/// `Transfer(decoding:)` (TransferViewTests keep the two in step; the owned decoder
/// does not go through the view because building the `Transfer` from it costs a
/// consumer that wants the owned value 15% more).
public struct TransferView {
    /// The link (mandatory).
    public var handle: UInt32
    /// The delivery's id; required on the first transfer of a delivery.
    public var deliveryID: UInt32?
    /// The delivery tag's bytes (at most `DeliveryTag.maxLength`); required on the first
    /// transfer.
    public var deliveryTagBytes: BytesView?
    /// The message format (0 for the AMQP format); required on the first transfer.
    public var messageFormat: UInt32?
    /// Settled at the sender; absent means "as before" (`false` on a first transfer).
    public var settled: Bool?
    /// More transfers follow for this delivery.
    public var more: Bool
    /// Overrides the link's receiver settle mode for this delivery; `nil` keeps it.
    public var rcvSettleMode: ReceiverSettleMode?
    /// The delivery's state at the sender, still encoded (already checked to decode);
    /// see `state()`.
    public var encodedState: EncodedValueView?
    /// The transfer resumes an unsettled delivery of a detached link.
    public var resume: Bool
    /// The delivery is aborted; its payload must be ignored.
    public var aborted: Bool
    /// Hint that the peer need not answer urgently.
    public var batchable: Bool

    /// Reads an `amqp:transfer:list`.
    @inline(__always)
    public init(decoding d: DescribedView) throws(DecodeError) {
        var r = try FieldReader(d, code: Descriptors.transfer, composite: "transfer")
        try self.init(reading: &r)
    }

    /// Reads the fields of an opened `amqp:transfer:list`.
    @inline(__always)
    init(reading r: inout FieldReader) throws(DecodeError) {
        handle = try r.required(try r.uint("handle"), "handle")
        deliveryID = try r.uint("delivery-id")
        deliveryTagBytes = try r.deliveryTagBytes("delivery-tag")
        messageFormat = try r.uint("message-format")
        settled = try r.bool("settled")
        // Senders omit the rest when they are defaults, as nearly every transfer's are.
        guard r.hasFields else {
            (more, rcvSettleMode, encodedState, resume, aborted, batchable) = (false, nil, nil, false, false, false)
            return
        }
        more = try r.bool("more") ?? false
        rcvSettleMode = try r.receiverSettleMode("rcv-settle-mode")
        encodedState = try r.encodedDeliveryState("state")
        resume = try r.bool("resume") ?? false
        aborted = try r.bool("aborted") ?? false
        batchable = try r.bool("batchable") ?? false
    }

    /// The delivery tag, copied out of the decoded bytes.
    @inline(__always)
    public var deliveryTag: DeliveryTag? {
        // The length was checked when decoding.
        deliveryTagBytes.map { DeliveryTag(bytes: $0.bytes).unsafelyUnwrapped }
    }

    /// The delivery's state at the sender, decoded.
    public func state() throws(DecodeError) -> DeliveryState? {
        guard let encodedState else { return nil }
        guard case .described(let d) = try encodedState.decode() else {
            throw DecodeError(.unexpectedType, at: encodedState.offset, detail: "transfer.state is not a described value")
        }
        return try DeliveryState(decoding: d)
    }

    /// The owned `Transfer`.
    @inline(__always)
    public func transfer() throws(DecodeError) -> Transfer {
        Transfer(
            handle: handle, deliveryID: deliveryID, deliveryTag: deliveryTag, messageFormat: messageFormat,
            settled: settled, more: more, rcvSettleMode: rcvSettleMode, state: try state(), resume: resume,
            aborted: aborted, batchable: batchable)
    }
}

/// A TRANSFER frame cut and read in one pass by `FrameDecoder.decodeTransferFrame`.
public struct TransferFrame {
    /// The frame's channel.
    public let channel: UInt16
    /// The TRANSFER, read in place.
    public let transfer: TransferView
    /// The bytes after the TRANSFER: the message, or this frame's part of it.
    public let payload: BytesView
    /// Bytes the whole frame took.
    public let length: Int
}

extension FrameDecoder {
    /// Cuts the frame at the start of `bytes` if it is a TRANSFER frame in the form every
    /// sender writes (an AMQP frame without extended header, the descriptor a small
    /// ulong, the fields a list8), reading the TRANSFER in the same pass: a receiving
    /// connection's per-frame work, without the general cut's `FrameView` and second
    /// reading of the list header.
    ///
    /// Returns `nil` for anything else: another frame, a TRANSFER in another form, an
    /// incomplete frame, a malformed one. `decode` then cuts it, and says what is wrong
    /// with it. What this path accepts, `decode` and `TransferView` accept and read the
    /// same (TransferViewTests and the frame fuzz target check it).
    @inline(__always)
    public func decodeTransferFrame(_ bytes: UnsafeRawBufferPointer, baseOffset: Int = 0) -> TransferFrame? {
        // Header (8), then 00 53 14 (descriptor), c0 <size> <count> (list8).
        guard bytes.count >= 14, let base = bytes.baseAddress else { return nil }
        let size = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        guard size >= 14, size <= maxFrameSize, Int(size) <= bytes.count,
            bytes.loadUnaligned(fromByteOffset: 4, as: UInt16.self) == UInt16(bigEndian: 0x0200),  // doff 2, type AMQP
            bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self) == UInt32(bigEndian: 0x0053_14C0),
            limits.maxDepth >= 2
        else { return nil }
        let total = Int(size)
        let listSize = Int(bytes[12])
        let count = Int(bytes[13])
        // The checks `readCompoundHeader` makes of a list8 inside the frame's body.
        guard listSize >= 1, listSize <= total &- 13, count <= listSize &- 1, count <= limits.maxElements else { return nil }
        let end = 13 &+ listSize
        let list = ListView(
            count: count, body: UnsafeRawBufferPointer(start: base + 14, count: listSize &- 1), bodyOffset: baseOffset &+ 14,
            depth: 2, limits: limits)
        var r = FieldReader(list: list, composite: "transfer")
        guard let transfer = try? TransferView(reading: &r) else { return nil }
        let channel = UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
        let payload = BytesView(UnsafeRawBufferPointer(start: base + end, count: total &- end), offset: baseOffset &+ end)
        return TransferFrame(channel: channel, transfer: transfer, payload: payload, length: total)
    }
}
