/// The descriptors AMQP 1.0 defines (parts 1–5), by numeric code and symbolic name.
///
/// Numeric codes are `0x00000000_000000XX` (domain 0, the AMQP domain); symbolic names
/// are the specification's `amqp:<name>:<encoding>`.
public enum Descriptors {
    public static let open: UInt64 = 0x10
    public static let begin: UInt64 = 0x11
    public static let attach: UInt64 = 0x12
    public static let flow: UInt64 = 0x13
    public static let transfer: UInt64 = 0x14
    public static let disposition: UInt64 = 0x15
    public static let detach: UInt64 = 0x16
    public static let end: UInt64 = 0x17
    public static let close: UInt64 = 0x18
    public static let error: UInt64 = 0x1D
    public static let received: UInt64 = 0x23
    public static let accepted: UInt64 = 0x24
    public static let rejected: UInt64 = 0x25
    public static let released: UInt64 = 0x26
    public static let modified: UInt64 = 0x27
    public static let source: UInt64 = 0x28
    public static let target: UInt64 = 0x29
    public static let deleteOnClose: UInt64 = 0x2B
    public static let deleteOnNoLinks: UInt64 = 0x2C
    public static let deleteOnNoMessages: UInt64 = 0x2D
    public static let deleteOnNoLinksOrMessages: UInt64 = 0x2E
    public static let coordinator: UInt64 = 0x30
    public static let declare: UInt64 = 0x31
    public static let discharge: UInt64 = 0x32
    public static let declared: UInt64 = 0x33
    public static let transactionalState: UInt64 = 0x34
    public static let saslMechanisms: UInt64 = 0x40
    public static let saslInit: UInt64 = 0x41
    public static let saslChallenge: UInt64 = 0x42
    public static let saslResponse: UInt64 = 0x43
    public static let saslOutcome: UInt64 = 0x44
    public static let header: UInt64 = 0x70
    public static let deliveryAnnotations: UInt64 = 0x71
    public static let messageAnnotations: UInt64 = 0x72
    public static let properties: UInt64 = 0x73
    public static let applicationProperties: UInt64 = 0x74
    public static let data: UInt64 = 0x75
    public static let amqpSequence: UInt64 = 0x76
    public static let amqpValue: UInt64 = 0x77
    public static let footer: UInt64 = 0x78

    /// Every known descriptor: code and symbolic name.
    public static let all: [(code: UInt64, name: String)] = [
        (open, "amqp:open:list"), (begin, "amqp:begin:list"), (attach, "amqp:attach:list"),
        (flow, "amqp:flow:list"), (transfer, "amqp:transfer:list"),
        (disposition, "amqp:disposition:list"), (detach, "amqp:detach:list"),
        (end, "amqp:end:list"), (close, "amqp:close:list"), (error, "amqp:error:list"),
        (received, "amqp:received:list"), (accepted, "amqp:accepted:list"),
        (rejected, "amqp:rejected:list"), (released, "amqp:released:list"),
        (modified, "amqp:modified:list"), (source, "amqp:source:list"),
        (target, "amqp:target:list"), (deleteOnClose, "amqp:delete-on-close:list"),
        (deleteOnNoLinks, "amqp:delete-on-no-links:list"),
        (deleteOnNoMessages, "amqp:delete-on-no-messages:list"),
        (deleteOnNoLinksOrMessages, "amqp:delete-on-no-links-or-messages:list"),
        (coordinator, "amqp:coordinator:list"), (declare, "amqp:declare:list"),
        (discharge, "amqp:discharge:list"), (declared, "amqp:declared:list"),
        (transactionalState, "amqp:transactional-state:list"),
        (saslMechanisms, "amqp:sasl-mechanisms:list"), (saslInit, "amqp:sasl-init:list"),
        (saslChallenge, "amqp:sasl-challenge:list"), (saslResponse, "amqp:sasl-response:list"),
        (saslOutcome, "amqp:sasl-outcome:list"), (header, "amqp:header:list"),
        (deliveryAnnotations, "amqp:delivery-annotations:map"),
        (messageAnnotations, "amqp:message-annotations:map"),
        (properties, "amqp:properties:list"),
        (applicationProperties, "amqp:application-properties:map"),
        (data, "amqp:data:binary"), (amqpSequence, "amqp:amqp-sequence:list"),
        (amqpValue, "amqp:amqp-value:*"), (footer, "amqp:footer:map"),
    ]

    /// The symbolic name of a known code.
    public static func name(forCode code: UInt64) -> String? {
        all.first { $0.code == code }?.name
    }

    /// The code of a known symbolic name given as ASCII bytes.
    public static func code(forName ascii: UnsafeRawBufferPointer) -> UInt64? {
        for entry in all where ViewCompare.equal(ascii, entry.name) { return entry.code }
        return nil
    }
}
