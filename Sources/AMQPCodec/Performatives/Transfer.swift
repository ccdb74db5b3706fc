/// Carries (part of) a message on a link: `amqp:transfer:list` (part 2, section 2.7.5).
/// The message bytes follow the performative in the frame.
///
/// On the hot path: decoding and encoding allocate nothing when `state` is absent,
/// accepted, released or received; the delivery tag is stored inline.
public struct Transfer: Hashable, Sendable {
    /// The link (mandatory).
    public var handle: UInt32
    /// The delivery's id; required on the first transfer of a delivery.
    public var deliveryID: UInt32?
    /// The delivery's tag (at most 32 bytes); required on the first transfer.
    public var deliveryTag: DeliveryTag?
    /// The message format (0 for the AMQP format); required on the first transfer.
    public var messageFormat: UInt32?
    /// Settled at the sender. No default: absent means "as before" on continuation
    /// transfers and `false` on the first.
    public var settled: Bool?
    /// More transfers follow for this delivery. Default `false`.
    public var more: Bool
    /// Overrides the link's receiver settle mode for this delivery; `nil` keeps it.
    public var rcvSettleMode: ReceiverSettleMode?
    /// The delivery's state at the sender.
    public var state: DeliveryState?
    /// The transfer resumes an unsettled delivery of a detached link. Default `false`.
    public var resume: Bool
    /// The delivery is aborted; its payload must be ignored. Default `false`.
    public var aborted: Bool
    /// Hint that the peer need not answer urgently. Default `false`.
    public var batchable: Bool

    /// Creates a transfer; every optional field defaults to its absent value.
    @inline(__always)
    public init(
        handle: UInt32, deliveryID: UInt32? = nil, deliveryTag: DeliveryTag? = nil, messageFormat: UInt32? = nil,
        settled: Bool? = nil, more: Bool = false, rcvSettleMode: ReceiverSettleMode? = nil,
        state: DeliveryState? = nil, resume: Bool = false, aborted: Bool = false, batchable: Bool = false
    ) {
        self.handle = handle
        self.deliveryID = deliveryID
        self.deliveryTag = deliveryTag
        self.messageFormat = messageFormat
        self.settled = settled
        self.more = more
        self.rcvSettleMode = rcvSettleMode
        self.state = state
        self.resume = resume
        self.aborted = aborted
        self.batchable = batchable
    }

    /// Decodes an `amqp:transfer:list`.
    @inline(__always)
    public init(decoding d: DescribedView) throws(DecodeError) {
        // The usual TRANSFER first (see `commonFields`), its fields stored straight into
        // `self`: building a `Transfer` and moving it in costs value witness calls
        // (its optional state holds references).
        guard let v = Self.commonFields(d) else {
            self = try Transfer(readingFields: d)
            return
        }
        handle = v.handle
        deliveryID = v.flags.contains(.hasID) ? v.id : nil
        if let base = v.tagBase, v.flags.contains(.hasTag) {
            deliveryTag = DeliveryTag(bytes: UnsafeRawBufferPointer(start: base, count: Int(v.tagCount)))
        } else {
            deliveryTag = nil
        }
        messageFormat = v.flags.contains(.hasFormat) ? v.format : nil
        settled = v.flags.contains(.hasSettled) ? v.flags.contains(.settled) : nil
        more = v.flags.contains(.more)
        rcvSettleMode = nil
        state = nil
        resume = false
        aborted = false
        batchable = false
    }

    /// `init(decoding:)` through the field reader alone: any encoding, every check.
    init(readingFields d: DescribedView) throws(DecodeError) {
        var r = try FieldReader(d, code: Descriptors.transfer, composite: "transfer")
        handle = try r.required(try r.uint("handle"), "handle")
        deliveryID = try r.uint("delivery-id")
        deliveryTag = try r.deliveryTag("delivery-tag")
        messageFormat = try r.uint("message-format")
        settled = try r.bool("settled")
        more = try r.bool("more") ?? false
        rcvSettleMode = try r.receiverSettleMode("rcv-settle-mode")
        state = try r.deliveryState("state")
        resume = try r.bool("resume") ?? false
        aborted = try r.bool("aborted") ?? false
        batchable = try r.bool("batchable") ?? false
    }

    /// The fields of the TRANSFER in `d` when its descriptor is the numeric one and they are a
    /// `list8` in the forms `TransferView.readCommon` reads (what senders write for a
    /// delivery's frames), without the field reader's cursor; `nil` for anything else,
    /// which the field reader then reads, or refuses, as it always has. The checks on
    /// the list header are the field reader's (`FieldReader.init(_:composite:)`).
    @inline(__always)
    static func commonFields(_ d: DescribedView) -> TransferView? {
        guard case .code(Descriptors.transfer) = d.descriptor else { return nil }
        let encoded = d.encodedValue
        guard encoded.bytes.count >= 3, let base = encoded.bytes.baseAddress, base.load(as: UInt8.self) == FormatCode.list8,
            encoded.depth <= encoded.limits.maxDepth
        else { return nil }
        let size = Int(base.load(fromByteOffset: 1, as: UInt8.self))
        let count = Int(base.load(fromByteOffset: 2, as: UInt8.self))
        guard size == encoded.bytes.count &- 2, count < size, UInt32(count) <= encoded.limits.storedMaxElements,
            let v = TransferView.readCommon(base + 3, size: size &- 1, count: count)
        else { return nil }
        return v
    }

    /// Encodes as an `amqp:transfer:list`, dropping trailing defaults.
    @inline(__always)
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        try Self.encode(
            handle: handle, deliveryID: deliveryID, deliveryTag: deliveryTag, messageFormat: messageFormat,
            settled: settled, more: more, rcvSettleMode: rcvSettleMode, state: state, resume: resume, aborted: aborted,
            batchable: batchable, into: &e)
    }

    /// Encodes an `amqp:transfer:list` from its fields (the parameters are the properties
    /// of the same names), without building a `Transfer`: a sender's per-frame path, where
    /// building, copying and destroying one (its optional state holds references) costs
    /// value witness calls.
    @inline(__always)
    public static func encode(
        handle: UInt32, deliveryID: UInt32? = nil, deliveryTag: DeliveryTag? = nil, messageFormat: UInt32? = nil,
        settled: Bool? = nil, more: Bool = false, rcvSettleMode: ReceiverSettleMode? = nil,
        state: DeliveryState? = nil, resume: Bool = false, aborted: Bool = false, batchable: Bool = false,
        into e: inout AMQPEncoder
    ) throws(EncodeError) {
        // Nearly every transfer leaves the fields after `settled` at their defaults:
        // then the whole performative is sized first and written with one claim.
        if !(more || rcvSettleMode != nil || state != nil || resume || aborted || batchable) {
            return try encodeShort(
                handle: handle, deliveryID: deliveryID, deliveryTag: deliveryTag, messageFormat: messageFormat, settled: settled,
                into: &e)
        }
        var w = try FieldWriter(descriptor: Descriptors.transfer, &e)
        try w.uint(handle, &e)
        try w.uint(deliveryID, &e)
        try w.deliveryTag(deliveryTag, &e)
        try w.uint(messageFormat, &e)
        try w.bool(settled, &e)
        try w.bool(more, default: false, &e)
        try w.ubyte(rcvSettleMode?.rawValue, &e)
        try w.deliveryState(state, &e)
        try w.bool(resume, default: false, &e)
        try w.bool(aborted, default: false, &e)
        try w.bool(batchable, default: false, &e)
        try w.finish(&e)
    }

    /// The first five fields of an `amqp:transfer:list` (the rest at their defaults),
    /// byte for byte as the field writer writes them (trailing nulls dropped, a
    /// `settled` of `false` kept), sized first and written with one claim: no
    /// bookkeeping per field, no rewinding. Throws `bufferTooSmall`, writing nothing,
    /// when it does not fit.
    @inline(__always)
    static func encodeShort(
        handle: UInt32, deliveryID: UInt32?, deliveryTag: DeliveryTag?, messageFormat: UInt32?, settled: Bool?,
        into e: inout AMQPEncoder
    ) throws(EncodeError) {
        let fields = settled != nil ? 5 : messageFormat != nil ? 4 : deliveryTag != nil ? 3 : deliveryID != nil ? 2 : 1
        // A null takes one byte; at most 50 bytes of fields: always a list8.
        var content = uintSize(handle)
        if fields >= 2 { content &+= deliveryID.map { uintSize($0) } ?? 1 }
        let tagCount = deliveryTag?.count ?? 0
        if fields >= 3 { content &+= deliveryTag == nil ? 1 : 2 &+ tagCount }
        if fields >= 4 { content &+= messageFormat.map { uintSize($0) } ?? 1 }
        if fields >= 5 { content &+= 1 }
        let p = try claimList(&e, content: content, fields: fields)
        var i = 6
        storeUInt(handle, p, &i)
        guard fields >= 2 else { return }
        storeOptionalUInt(deliveryID, p, &i)
        guard fields >= 3 else { return }
        if let deliveryTag {
            (p + i).storeBytes(of: 0xA0, as: UInt8.self)  // vbin8
            (p + (i &+ 1)).storeBytes(of: UInt8(truncatingIfNeeded: tagCount), as: UInt8.self)
            withUnsafeBytes(of: deliveryTag.storage) { raw in
                (p + (i &+ 2)).copyMemory(from: raw.baseAddress.unsafelyUnwrapped, byteCount: tagCount)
            }
            i &+= 2 &+ tagCount
        } else {
            (p + i).storeBytes(of: 0x40, as: UInt8.self)
            i &+= 1
        }
        guard fields >= 4 else { return }
        storeOptionalUInt(messageFormat, p, &i)
        guard let settled else { return }
        (p + i).storeBytes(of: settled ? 0x41 : 0x42, as: UInt8.self)
    }

    /// Writes `v` at `p + i` as the field writer does: null when absent.
    @inline(__always)
    static func storeOptionalUInt(_ v: UInt32?, _ p: UnsafeMutableRawPointer, _ i: inout Int) {
        if let v {
            storeUInt(v, p, &i)
        } else {
            (p + i).storeBytes(of: 0x40, as: UInt8.self)
            i &+= 1
        }
    }
}

extension Transfer {
    /// Encodes the `amqp:transfer:list` of a delivery's first frame, byte for byte as
    /// `encode(handle:deliveryID:deliveryTag:messageFormat:settled:more:into:)` does with
    /// `settled: settled ? true : nil` (absent means unsettled on a first frame), but
    /// sized first and written with one claim, without the field writer's bookkeeping: a
    /// sender's per-delivery path. Throws `bufferTooSmall`, writing nothing, when it
    /// does not fit.
    @inlinable
    @inline(__always)
    public static func encodeFirst(
        handle: UInt32, deliveryID: UInt32, deliveryTag: borrowing DeliveryTag, messageFormat: UInt32, settled: Bool, more: Bool,
        into e: inout AMQPEncoder
    ) throws(EncodeError) {
        // Trailing nulls, and a `more` of false (its default), are dropped as the field
        // writer drops them. Constants are spelled as literals: this is inlined into
        // other modules, where `FormatCode`'s globals would be read through accessors.
        let fields = more ? 6 : settled ? 5 : 4
        let tagCount = deliveryTag.count
        let fixed = uintSize(handle) &+ uintSize(deliveryID) &+ uintSize(messageFormat)
        // At most 51 bytes of fields: always a list8.
        let content = fixed &+ 2 &+ tagCount &+ (fields &- 4)
        // Room for the tag's four words whole (see below)?
        let wholeWords = e.free >= 6 &+ content &+ 32
        let p = try claimList(&e, content: content, fields: fields)
        var i = 6
        storeUInt(handle, p, &i)
        storeUInt(deliveryID, p, &i)
        (p + i).storeBytes(of: 0xA0, as: UInt8.self)  // vbin8
        (p + (i &+ 1)).storeBytes(of: UInt8(truncatingIfNeeded: tagCount), as: UInt8.self)
        if wholeWords {
            // What lands past the tag's end is free space: overwritten by the fields
            // that follow, or left beyond `count`.
            (p + (i &+ 2)).storeBytes(of: deliveryTag.storage.0, as: UInt64.self)
            (p + (i &+ 10)).storeBytes(of: deliveryTag.storage.1, as: UInt64.self)
            (p + (i &+ 18)).storeBytes(of: deliveryTag.storage.2, as: UInt64.self)
            (p + (i &+ 26)).storeBytes(of: deliveryTag.storage.3, as: UInt64.self)
        } else {
            withUnsafeBytes(of: deliveryTag.storage) { raw in
                (p + (i &+ 2)).copyMemory(from: raw.baseAddress.unsafelyUnwrapped, byteCount: tagCount)
            }
        }
        i &+= 2 &+ tagCount
        storeUInt(messageFormat, p, &i)
        if more {
            // settled (true or null), more: true
            (p + i).storeBytes(of: settled ? 0x41 : 0x40, as: UInt8.self)
            (p + (i &+ 1)).storeBytes(of: 0x41, as: UInt8.self)
        } else if settled {
            (p + i).storeBytes(of: 0x41, as: UInt8.self)
        }
    }

    /// Encodes the `amqp:transfer:list` of a delivery's later frame (handle,
    /// delivery-id, and `more` when set), byte for byte as `encode(handle:deliveryID:
    /// more:into:)` does, with one claim. Throws `bufferTooSmall`, writing nothing, when
    /// it does not fit.
    @inlinable
    @inline(__always)
    public static func encodeContinuation(handle: UInt32, deliveryID: UInt32, more: Bool, into e: inout AMQPEncoder) throws(EncodeError) {
        // handle, delivery-id, then null tag, format and settled before a `more` of true.
        let content = uintSize(handle) &+ uintSize(deliveryID) &+ (more ? 4 : 0)
        let p = try claimList(&e, content: content, fields: more ? 6 : 2)
        var i = 6
        storeUInt(handle, p, &i)
        storeUInt(deliveryID, p, &i)
        if more { (p + i).storeBytes(of: 0x4140_4040, as: UInt32.self) }  // null, null, null, true
    }

    /// Claims a TRANSFER of `fields` fields whose bytes take `content`, and writes what
    /// comes before them: described, smallulong, amqp:transfer:list, list8, size, count.
    /// The fields go at offset 6 of the pointer returned.
    @inlinable
    @inline(__always)
    static func claimList(_ e: inout AMQPEncoder, content: Int, fields: Int) throws(EncodeError) -> UnsafeMutableRawPointer {
        let p = try e.claim(6 &+ content)
        p.storeBytes(of: 0xC0_1453_00, as: UInt32.self)
        (p + 4).storeBytes(of: UInt8(truncatingIfNeeded: content &+ 1), as: UInt8.self)
        (p + 5).storeBytes(of: UInt8(truncatingIfNeeded: fields), as: UInt8.self)
        return p
    }

    /// Bytes `AMQPEncoder.encode(_: UInt32)` writes for `v`.
    @inlinable
    @inline(__always)
    static func uintSize(_ v: UInt32) -> Int { v == 0 ? 1 : v < 256 ? 2 : 5 }

    /// Writes `v` at `p + i` as `AMQPEncoder.encode(_: UInt32)` does.
    @inlinable
    @inline(__always)
    static func storeUInt(_ v: UInt32, _ p: UnsafeMutableRawPointer, _ i: inout Int) {
        if v == 0 {
            (p + i).storeBytes(of: 0x43, as: UInt8.self)  // uint0
            i &+= 1
        } else if v < 256 {
            (p + i).storeBytes(of: 0x52, as: UInt8.self)  // smalluint
            (p + (i &+ 1)).storeBytes(of: UInt8(truncatingIfNeeded: v), as: UInt8.self)
            i &+= 2
        } else {
            (p + i).storeBytes(of: 0x70, as: UInt8.self)  // uint
            (p + (i &+ 1)).storeBytes(of: v.bigEndian, as: UInt32.self)
            i &+= 5
        }
    }
}
