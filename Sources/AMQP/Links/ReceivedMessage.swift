import AMQPEngine
import Synchronization

/// A message a `MessageReceiver` took in, with the means to settle it.
///
/// Unless the receiver was made with `autoAccept` (or the sender settled the message
/// itself), settle each message once: `accept()`, `reject(error:)`, `release()` or
/// `modify(…)`. Each returns true when it settled the message now and false when it was
/// already settled; each throws when the link is gone, since the disposition can no
/// longer reach the peer. Safe from any thread.
public final class ReceivedMessage: Sendable {
    /// The message, decoded.
    public let message: Message
    /// The sender's delivery tag.
    public let deliveryTag: DeliveryTag
    /// The delivery-id the session gave it.
    public let deliveryID: UInt32
    private let receiver: ReceiverCore
    private let settledFlag: Atomic<Bool>

    init(receiver: ReceiverCore, message: Message, deliveryTag: DeliveryTag, deliveryID: UInt32, settled: Bool) {
        self.receiver = receiver
        self.message = message
        self.deliveryTag = deliveryTag
        self.deliveryID = deliveryID
        settledFlag = Atomic(settled)
    }

    /// True once settled: by us, by the sender, or by `autoAccept`.
    public var isSettled: Bool { settledFlag.load(ordering: .acquiring) }

    /// Settles the message with `disposition`; false when it was already settled.
    @discardableResult
    public func settle(_ settlement: Settlement) throws(AMQPClientError) -> Bool {
        guard !settledFlag.exchange(true, ordering: .acquiringAndReleasing) else { return false }
        do {
            try receiver.settle(deliveryID, settlement.state)
        } catch {
            settledFlag.store(false, ordering: .releasing)
            throw error
        }
        return true
    }

    /// Settles as processed (the `accepted` outcome).
    @discardableResult
    public func accept() throws(AMQPClientError) -> Bool { try settle(.accept) }

    /// Settles as invalid (the `rejected` outcome), with the reason.
    @discardableResult
    public func reject(error: AMQPError? = nil) throws(AMQPClientError) -> Bool { try settle(.reject(error)) }

    /// Settles as not processed, to be delivered again (the `released` outcome).
    @discardableResult
    public func release() throws(AMQPClientError) -> Bool { try settle(.release) }

    /// Settles as not processed, to be delivered again with changes (the `modified`
    /// outcome).
    @discardableResult
    public func modify(
        deliveryFailed: Bool = true, undeliverableHere: Bool = false, messageAnnotations: Fields? = nil
    ) throws(AMQPClientError) -> Bool {
        try settle(.modify(deliveryFailed: deliveryFailed, undeliverableHere: undeliverableHere, messageAnnotations: messageAnnotations))
    }
}

/// A delivery lent to a `MessageReceiver.receiveBorrowed(_:)` handler: its bytes are the
/// inbound ring's own, with no copy and no allocation.
///
/// Valid only during the handler call: do not keep the struct, the pointer or views made
/// from it. Copy what must outlive the call (`materialize()`).
public struct BorrowedDelivery {
    /// The encoded message (its sections, as they came off the wire).
    public let bytes: UnsafeRawBufferPointer
    /// The sender's delivery tag.
    public let deliveryTag: DeliveryTag
    /// The delivery-id; settle later with `MessageReceiver.settle(deliveryID:_:)`.
    public let deliveryID: UInt32
    /// The sender settled it: there is nothing to settle.
    public let isSettled: Bool

    /// A view of the message's sections over `bytes` (nothing copied).
    public func view() throws(DecodeError) -> MessageView { try MessageView(bytes) }

    /// The message decoded into owned values, which may be kept.
    public func materialize() throws(DecodeError) -> Message { try Message(decoding: bytes) }
}
