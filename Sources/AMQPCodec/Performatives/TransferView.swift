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
        handle = try r.required(try r.uint("handle"), "handle")
        deliveryID = try r.uint("delivery-id")
        deliveryTagBytes = try r.deliveryTagBytes("delivery-tag")
        messageFormat = try r.uint("message-format")
        settled = try r.bool("settled")
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
