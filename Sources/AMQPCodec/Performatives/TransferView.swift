/// A TRANSFER (`amqp:transfer:list`, part 2, section 2.7.5) read in place: the fields of
/// `Transfer`, with the delivery tag and state left as views of the decoded bytes.
///
/// It holds no references and is stored packed (40 bytes), so a receiver's per-frame
/// path copies it as a few words, without the value witness calls a `Transfer` (whose
/// optional `DeliveryState` holds references) costs on every copy and destroy. Valid
/// while the decoded bytes are. It reads the fields with the same checks as
/// `Transfer(decoding:)` (TransferViewTests keep the two in step; the owned decoder
/// does not go through the view because building the `Transfer` from it costs a
/// consumer that wants the owned value 15% more).
public struct TransferView {
    // Inlinable accessors over usable-from-inline storage: the receiving engine reads
    // the fields from another module, once per frame.
    @usableFromInline let tagBase: UnsafeRawPointer?
    @usableFromInline let stateBase: UnsafeRawPointer?
    /// The link (mandatory).
    public let handle: UInt32
    @usableFromInline let id: UInt32
    @usableFromInline let format: UInt32
    @usableFromInline let stateCount: UInt32
    @usableFromInline let tagCount: UInt8
    @usableFromInline let flags: Flags

    @usableFromInline
    struct Flags: OptionSet {
        @usableFromInline let rawValue: UInt16
        @inlinable init(rawValue: UInt16) { self.rawValue = rawValue }
        @inlinable static var hasID: Flags { Flags(rawValue: 1 << 0) }
        @inlinable static var hasTag: Flags { Flags(rawValue: 1 << 1) }
        @inlinable static var hasFormat: Flags { Flags(rawValue: 1 << 2) }
        @inlinable static var hasSettled: Flags { Flags(rawValue: 1 << 3) }
        @inlinable static var settled: Flags { Flags(rawValue: 1 << 4) }
        @inlinable static var more: Flags { Flags(rawValue: 1 << 5) }
        @inlinable static var hasRcvSettleMode: Flags { Flags(rawValue: 1 << 6) }
        @inlinable static var rcvSettleSecond: Flags { Flags(rawValue: 1 << 7) }
        @inlinable static var hasState: Flags { Flags(rawValue: 1 << 8) }
        @inlinable static var resume: Flags { Flags(rawValue: 1 << 9) }
        @inlinable static var aborted: Flags { Flags(rawValue: 1 << 10) }
        @inlinable static var batchable: Flags { Flags(rawValue: 1 << 11) }
    }

    /// The delivery's id; required on the first transfer of a delivery.
    @inlinable
    public var deliveryID: UInt32? { flags.contains(.hasID) ? id : nil }
    /// The delivery tag's bytes (at most `DeliveryTag.maxLength`); required on the first
    /// transfer.
    @inlinable
    public var deliveryTagBytes: UnsafeRawBufferPointer? {
        flags.contains(.hasTag) ? UnsafeRawBufferPointer(start: tagBase, count: Int(tagCount)) : nil
    }
    /// The message format (0 for the AMQP format); required on the first transfer.
    @inlinable
    public var messageFormat: UInt32? { flags.contains(.hasFormat) ? format : nil }
    /// Settled at the sender; absent means "as before" (`false` on a first transfer).
    @inlinable
    public var settled: Bool? { flags.contains(.hasSettled) ? flags.contains(.settled) : nil }
    /// More transfers follow for this delivery.
    @inlinable
    public var more: Bool { flags.contains(.more) }
    /// Overrides the link's receiver settle mode for this delivery; `nil` keeps it.
    @inlinable
    public var rcvSettleMode: ReceiverSettleMode? {
        flags.contains(.hasRcvSettleMode) ? (flags.contains(.rcvSettleSecond) ? .second : .first) : nil
    }
    /// The encoding of the delivery's state at the sender, already checked to decode;
    /// see `state()`.
    @inlinable
    public var stateBytes: UnsafeRawBufferPointer? {
        flags.contains(.hasState) ? UnsafeRawBufferPointer(start: stateBase, count: Int(stateCount)) : nil
    }
    /// True when the sender set a state (`state()` decodes it).
    @inlinable
    public var hasState: Bool { flags.contains(.hasState) }
    /// The transfer resumes an unsettled delivery of a detached link.
    @inlinable
    public var resume: Bool { flags.contains(.resume) }
    /// The delivery is aborted; its payload must be ignored.
    @inlinable
    public var aborted: Bool { flags.contains(.aborted) }
    /// Hint that the peer need not answer urgently.
    @inlinable
    public var batchable: Bool { flags.contains(.batchable) }

    /// Reads an `amqp:transfer:list`.
    @inline(__always)
    public init(decoding d: DescribedView) throws(DecodeError) {
        var r = try FieldReader(d, code: Descriptors.transfer, composite: "transfer")
        try self.init(reading: &r)
    }

    /// Reads the fields of an opened `amqp:transfer:list`.
    @inline(__always)
    init(reading r: inout FieldReader) throws(DecodeError) {
        var flags = Flags(rawValue: 0)
        handle = try r.required(try r.uint("handle"), "handle")
        if let v = try r.uint("delivery-id") {
            id = v
            flags.insert(.hasID)
        } else {
            id = 0
        }
        if let v = try r.deliveryTagBytes("delivery-tag") {
            tagBase = v.bytes.baseAddress
            tagCount = UInt8(truncatingIfNeeded: v.count)  // at most 32: checked
            flags.insert(.hasTag)
        } else {
            tagBase = nil
            tagCount = 0
        }
        if let v = try r.uint("message-format") {
            format = v
            flags.insert(.hasFormat)
        } else {
            format = 0
        }
        // No option-set literals: an unoptimized build makes an array for each.
        if let v = try r.bool("settled") {
            flags.insert(.hasSettled)
            if v { flags.insert(.settled) }
        }
        // Senders omit the rest when they are defaults, as nearly every transfer's are.
        guard r.hasFields else {
            stateBase = nil
            stateCount = 0
            self.flags = flags
            return
        }
        if try r.bool("more") == true { flags.insert(.more) }
        if let m = try r.receiverSettleMode("rcv-settle-mode") {
            flags.insert(.hasRcvSettleMode)
            if m == .second { flags.insert(.rcvSettleSecond) }
        }
        if let v = try r.encodedDeliveryState("state") {
            stateBase = v.bytes.baseAddress
            stateCount = UInt32(truncatingIfNeeded: v.bytes.count)  // within one frame
            flags.insert(.hasState)
        } else {
            stateBase = nil
            stateCount = 0
        }
        if try r.bool("resume") == true { flags.insert(.resume) }
        if try r.bool("aborted") == true { flags.insert(.aborted) }
        if try r.bool("batchable") == true { flags.insert(.batchable) }
        self.flags = flags
    }

    /// The delivery tag, copied out of the decoded bytes.
    @inlinable
    public var deliveryTag: DeliveryTag? {
        // The length was checked when decoding.
        deliveryTagBytes.map { DeliveryTag(bytes: $0).unsafelyUnwrapped }
    }

    /// The delivery's state at the sender, decoded.
    public func state() throws(DecodeError) -> DeliveryState? {
        guard let bytes = stateBytes else { return nil }
        // Already checked under the decoder's limits when the TRANSFER was read: read
        // again without them (they are not kept, to keep the view small).
        var reader = ByteReader(bytes, baseOffset: 0)
        let limits = DecodeLimits(maxDepth: .max, maxElements: .max, maxZeroWidthElements: .max)
        guard case .described(let d) = try ValueDecoder.decode(&reader, depth: 3, limits: limits) else {
            throw DecodeError(.unexpectedType, at: 0, detail: "transfer.state is not a described value")
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
    public let payload: UnsafeRawBufferPointer
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
        let payload = UnsafeRawBufferPointer(start: base + end, count: total &- end)
        return TransferFrame(channel: channel, transfer: transfer, payload: payload, length: total)
    }
}
