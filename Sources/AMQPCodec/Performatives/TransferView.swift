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

    @inlinable
    init(
        tagBase: UnsafeRawPointer?, stateBase: UnsafeRawPointer?, handle: UInt32, id: UInt32, format: UInt32, stateCount: UInt32,
        tagCount: UInt8, flags: Flags
    ) {
        self.tagBase = tagBase
        self.stateBase = stateBase
        self.handle = handle
        self.id = id
        self.format = format
        self.stateCount = stateCount
        self.tagCount = tagCount
        self.flags = flags
    }

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

    @inlinable
    init(channel: UInt16, transfer: TransferView, payload: UnsafeRawBufferPointer, length: Int) {
        self.channel = channel
        self.transfer = transfer
        self.payload = payload
        self.length = length
    }
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
    public func decodeTransferFrame(_ bytes: UnsafeRawBufferPointer, baseOffset: Int = 0) -> TransferFrame? {
        if let frame = decodeCommonTransferFrame(bytes) { return frame }
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

    /// `decodeTransferFrame` for a TRANSFER whose fields are in the forms senders write
    /// for a delivery's frames (`TransferView.readCommon`), inlinable: a receiving
    /// connection calls it for every frame, and inlined there the frame it returns stays
    /// in registers. Returns `nil` for anything else, including frames
    /// `decodeTransferFrame` reads: call that next. What this accepts,
    /// `decodeTransferFrame` reads the same.
    @inlinable
    @inline(__always)
    public func decodeCommonTransferFrame(_ bytes: UnsafeRawBufferPointer) -> TransferFrame? {
        // Header (8), then 00 53 14 (descriptor), c0 <size> <count> (list8).
        guard bytes.count >= 14, let base = bytes.baseAddress else { return nil }
        let size = UInt32(bigEndian: base.loadUnaligned(as: UInt32.self))
        guard size >= 14, size <= maxFrameSize, Int(size) <= bytes.count,
            base.loadUnaligned(fromByteOffset: 4, as: UInt16.self) == UInt16(bigEndian: 0x0200),  // doff 2, type AMQP
            base.loadUnaligned(fromByteOffset: 8, as: UInt32.self) == UInt32(bigEndian: 0x0053_14C0),
            limits.storedMaxDepth >= 2
        else { return nil }
        let total = Int(size)
        let listSize = Int(base.load(fromByteOffset: 12, as: UInt8.self))
        let count = Int(base.load(fromByteOffset: 13, as: UInt8.self))
        // The checks `readCompoundHeader` makes of a list8 inside the frame's body.
        guard listSize >= 1, listSize <= total &- 13, count <= listSize &- 1, UInt32(count) <= limits.storedMaxElements,
            let transfer = TransferView.readCommon(base + 14, size: listSize &- 1, count: count)
        else { return nil }
        let channel = UInt16(base.load(fromByteOffset: 6, as: UInt8.self)) &<< 8 | UInt16(base.load(fromByteOffset: 7, as: UInt8.self))
        let end = 13 &+ listSize
        return TransferFrame(
            channel: channel, transfer: transfer, payload: UnsafeRawBufferPointer(start: base + end, count: total &- end),
            length: total)
    }
}

extension TransferView {
    /// Reads the fields of a TRANSFER's list body (`size` bytes at `body`, `count`
    /// fields) when they are in the forms senders write for a delivery's frames: at most
    /// six fields (handle to `more`), the integers as null, `uint0`, `smalluint` or
    /// `uint`, the tag as null or a `vbin8` of 1 to 32 bytes, the booleans as null, true
    /// or false. Returns `nil` for anything else (a state, a receiver settle mode, any
    /// other encoding, a missing handle, a field cut short), which the field reader then
    /// reads, or refuses, as it always has.
    ///
    /// The field reader's result for the same bytes, without its cursor and limits: a
    /// receiver reads every TRANSFER frame, and this costs a third of what the general
    /// reader does. What this accepts, `init(reading:)` reads the same
    /// (TransferViewTests compare the two over every encoding of every field).
    @inlinable
    @inline(__always)
    static func readCommon(_ body: UnsafeRawPointer, size: Int, count: Int) -> TransferView? {
        guard count >= 1 && count <= 6 else { return nil }
        var s = CommonFieldScanner(base: body, size: size, left: count)
        let handle = s.uint()
        let id = s.uint()
        let tag = s.tag()
        let format = s.uint()
        let settled = s.bool()
        let more = s.bool()
        guard s.ok, handle.present else { return nil }
        var flags = Flags(rawValue: 0)
        if id.present { flags.insert(.hasID) }
        if tag.count > 0 { flags.insert(.hasTag) }
        if format.present { flags.insert(.hasFormat) }
        if settled != 0 { flags.insert(.hasSettled) }
        if settled == 1 { flags.insert(.settled) }
        if more == 1 { flags.insert(.more) }
        return TransferView(
            tagBase: tag.count > 0 ? body + tag.offset : nil, stateBase: nil, handle: handle.value, id: id.value,
            format: format.value, stateCount: 0, tagCount: UInt8(truncatingIfNeeded: tag.count), flags: flags)
    }
}

/// `TransferView.readCommon`'s reader: a position, the fields left, and whether every
/// field so far was in a form it reads (once false, the caller ignores the results).
/// Format codes are spelled as literals (null 0x40, true 0x41, false 0x42, uint0 0x43,
/// smalluint 0x52, uint 0x70, vbin8 0xA0): this is inlined into other modules, where
/// `FormatCode`'s globals would be read through their accessors.
@usableFromInline
struct CommonFieldScanner {
    @usableFromInline let base: UnsafeRawPointer
    @usableFromInline let size: Int
    @usableFromInline var i = 0
    @usableFromInline var left: Int
    @usableFromInline var ok = true

    @inlinable
    init(base: UnsafeRawPointer, size: Int, left: Int) {
        self.base = base
        self.size = size
        self.left = left
    }

    /// The next field's constructor, consumed; -1 when the list has no more fields
    /// (absent reads as null). A list cut short clears `ok`.
    @inlinable @inline(__always)
    mutating func code() -> Int {
        guard left > 0 else { return -1 }
        guard i < size else {
            ok = false
            return -1
        }
        left &-= 1
        let c = Int(base.load(fromByteOffset: i, as: UInt8.self))
        i &+= 1
        return c
    }

    @inlinable @inline(__always)
    mutating func uint() -> (present: Bool, value: UInt32) {
        switch code() {
        case -1, 0x40:
            return (false, 0)
        case 0x43:
            return (true, 0)
        case 0x52:
            guard i < size else { break }
            let v = base.load(fromByteOffset: i, as: UInt8.self)
            i &+= 1
            return (true, UInt32(v))
        case 0x70:
            guard size &- i >= 4 else { break }
            let v = UInt32(bigEndian: base.loadUnaligned(fromByteOffset: i, as: UInt32.self))
            i &+= 4
            return (true, v)
        default:
            break
        }
        ok = false
        return (false, 0)
    }

    /// The tag's offset and length; a length of 0 when the field is null or absent.
    @inlinable @inline(__always)
    mutating func tag() -> (offset: Int, count: Int) {
        switch code() {
        case -1, 0x40:
            return (0, 0)
        case 0xA0:
            guard i < size else { break }
            let n = Int(base.load(fromByteOffset: i, as: UInt8.self))
            guard n >= 1 && n <= 32 && size &- i &- 1 >= n else { break }
            let offset = i &+ 1
            i = offset &+ n
            return (offset, n)
        default:
            break
        }
        ok = false
        return (0, 0)
    }

    /// 0 for null or absent, 1 for true, 2 for false.
    @inlinable @inline(__always)
    mutating func bool() -> UInt8 {
        switch code() {
        case -1, 0x40: return 0
        case 0x41: return 1
        case 0x42: return 2
        default:
            ok = false
            return 0
        }
    }
}
