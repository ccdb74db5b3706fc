/// A message read in place from a transfer payload (part 3, section 3.2).
///
/// Making a view walks the sections once: it checks their order, decodes the header's
/// scalars and the properties' fields, checks annotation and application-property keys
/// and values, and decodes every nested value of the annotations, sequence and value
/// bodies, so a malformed payload is refused here, with the section named, rather than
/// later. Nothing is copied and nothing is allocated: every field is a view into
/// `bytes`, valid while they are.
///
/// A payload without a body section is accepted (every section `nil`, and an empty
/// payload is an empty message). The specification's grammar asks for a body, but Qpid
/// Proton and go-amqp both send a message whose body was never set without any body
/// section, and refusing what those peers send would make such messages undeliverable.
/// Pass `requireBody: true` to refuse them. `Message.encode` always writes a body.
public struct MessageView {
    /// The payload the views point into.
    public let bytes: UnsafeRawBufferPointer
    /// Absolute offset of `bytes[0]` in the outermost input, for error reports.
    public let baseOffset: Int
    /// The header section, decoded (its fields are scalars).
    public internal(set) var header: MessageHeader?
    /// The delivery-annotations section.
    public private(set) var deliveryAnnotations: AnnotationsView?
    /// The message-annotations section.
    public private(set) var messageAnnotations: AnnotationsView?
    /// The properties section.
    public internal(set) var properties: MessagePropertiesView?
    /// The application-properties section.
    public private(set) var applicationProperties: ApplicationPropertiesView?
    /// The body; `nil` when the payload has no body section.
    public internal(set) var body: MessageBodyView?
    /// The footer section.
    public private(set) var footer: AnnotationsView?
    /// The bytes of the bare message (properties, application-properties and body, as
    /// sent by the producer; part 3, section 3.2), for signatures and hashes; empty when
    /// the message has none of those sections.
    public internal(set) var bareMessage: BytesView

    /// Reads the message in `bytes`.
    ///
    /// - Parameters:
    ///   - bytes: the whole payload of a delivery (all its transfers' payloads, joined).
    ///   - baseOffset: absolute offset of `bytes[0]`, for error reports.
    ///   - limits: nesting and element-count bounds for every value inside.
    ///   - requireBody: refuse a payload without a body section.
    /// - Throws: `DecodeError` whose detail starts with the offending section's name:
    ///   `.sectionOutOfOrder` for a repeated or misplaced section, `.unexpectedDescriptor`
    ///   for a descriptor that is not a message section, `.unexpectedType` for a
    ///   top-level value that is not described or a section of the wrong type, and the
    ///   decoder's codes for malformed values.
    public init(
        _ bytes: UnsafeRawBufferPointer, baseOffset: Int = 0, limits: DecodeLimits = .default, requireBody: Bool = false
    ) throws(DecodeError) {
        try self.init(bytes, baseOffset: baseOffset, limits: limits, requireBody: requireBody, commonReaders: true)
    }

    /// `init(_:baseOffset:limits:requireBody:)`; with `commonReaders: false`, every
    /// section takes the general reader (for tests that compare the two).
    @inline(__always)
    init(
        _ bytes: UnsafeRawBufferPointer, baseOffset: Int, limits: DecodeLimits, requireBody: Bool, commonReaders: Bool
    ) throws(DecodeError) {
        self.bytes = bytes
        self.baseOffset = baseOffset
        bareMessage = BytesView(UnsafeRawBufferPointer(start: bytes.baseAddress, count: 0), offset: baseOffset)
        if commonReaders && readCommonMessage(limits: limits) { return }
        var r = ByteReader(bytes, baseOffset: baseOffset)
        var previous: MessageSection? = nil
        var bodyStart = 0
        var bareStart = -1
        var bareEnd = 0
        var sectionCount = 0
        var byteCount = 0
        var firstData: BytesView? = nil
        while !r.isAtEnd {
            let start = r.position
            // The usual sections in their usual forms first; `nil` leaves `r` in place
            // for the general reader.
            var commonHeader: MessageHeader? = nil
            var commonProperties: MessagePropertiesView? = nil
            var commonData: BytesView? = nil
            switch commonReaders ? Self.nextDescriptor(r) : -1 {
            case 0x70: commonHeader = Self.readCommonHeader(&r, limits: limits)
            case 0x73: commonProperties = Self.readCommonProperties(&r, limits: limits)
            case 0x75: commonData = Self.readCommonData(&r, limits: limits)
            default: break
            }
            let section: MessageSection
            var value = AMQPValueView.null
            var described: DescribedView? = nil
            if commonHeader != nil {
                section = .header
            } else if commonProperties != nil {
                section = .properties
            } else if commonData != nil {
                section = .data
            } else {
                let read = try Self.readSection(&r, limits: limits)
                section = read.0
                value = read.1
                described = read.2
            }
            if let previous, !section.mayFollow(previous) {
                throw DecodeError(.sectionOutOfOrder, at: r.baseOffset &+ start, detail: "\(section.name) after \(previous.name)")
            }
            if section == .properties || section == .applicationProperties || section.isBody {
                if bareStart < 0 { bareStart = start }
                bareEnd = r.position
            }
            if section.isBody && previous?.isBody != true {
                bodyStart = start
            }
            // Sections read by the common readers were checked in full there.
            if let commonHeader {
                header = commonHeader
            } else if let commonProperties {
                properties = commonProperties
            } else if let b = commonData {
                if firstData == nil { firstData = b }
                sectionCount &+= 1
                byteCount &+= b.count
            } else if let described {
                do throws(DecodeError) {
                    switch section {
                    case .header:
                        header = try MessageHeader(decoding: described)
                    case .deliveryAnnotations:
                        deliveryAnnotations = try AnnotationsView(validating: try Self.map(value, described, section), section: section)
                    case .messageAnnotations:
                        messageAnnotations = try AnnotationsView(validating: try Self.map(value, described, section), section: section)
                    case .properties:
                        properties = try MessagePropertiesView(decoding: described)
                    case .applicationProperties:
                        applicationProperties = try ApplicationPropertiesView(validating: try Self.map(value, described, section))
                    case .data:
                        guard case .binary(let b) = value else { throw Self.wrongType(value, described, section, expected: "binary") }
                        if firstData == nil { firstData = b }
                        sectionCount &+= 1
                        byteCount &+= b.count
                    case .amqpSequence:
                        guard case .list = value else { throw Self.wrongType(value, described, section, expected: "list") }
                        try value.validateDeep()
                        sectionCount &+= 1
                    case .amqpValue:
                        try value.validateDeep()
                        body = .value(value)
                    case .footer:
                        footer = try AnnotationsView(validating: try Self.map(value, described, section), section: section)
                    }
                } catch {
                    throw error.naming(section)
                }
            }
            if section == .data || section == .amqpSequence {
                let region = BodyRegion(
                    bytes: UnsafeRawBufferPointer(rebasing: bytes[bodyStart..<r.position]),
                    offset: r.baseOffset &+ bodyStart, limits: limits)
                if section == .data, let firstData {
                    body = .data(DataSectionsView(region: region, count: sectionCount, byteCount: byteCount, first: firstData))
                } else {
                    body = .sequence(SequenceSectionsView(region: region, count: sectionCount))
                }
            }
            previous = section
        }
        if bareStart >= 0 {
            bareMessage = BytesView(UnsafeRawBufferPointer(rebasing: bytes[bareStart..<bareEnd]), offset: baseOffset &+ bareStart)
        }
        if requireBody && body == nil {
            throw DecodeError(.missingMandatoryField, at: r.absoluteOffset, detail: "body: the message has no data, amqp-sequence or amqp-value section")
        }
    }

    /// Reads the message in a frame's payload (`FrameView.payload`), keeping its offset.
    public init(payload: BytesView, limits: DecodeLimits = .default, requireBody: Bool = false) throws(DecodeError) {
        try self.init(payload.bytes, baseOffset: payload.offset, limits: limits, requireBody: requireBody)
    }

    /// Reads one top-level section: its descriptor, and its value decoded one level.
    static func readSection(
        _ r: inout ByteReader, limits: DecodeLimits
    ) throws(DecodeError) -> (MessageSection, AMQPValueView, DescribedView) {
        let start = r.position
        let code = try r.readByte()
        guard code == FormatCode.described else {
            let type = AMQPType(formatCode: code)?.rawValue ?? "unknown constructor 0x" + Hex.encode([code])
            throw r.error(.unexpectedType, detail: "message: a section must be a described value, found \(type)", at: start)
        }
        guard limits.maxDepth >= 2 else { throw r.error(.nestingTooDeep, detail: "message section", at: start) }
        let descriptor: DescriptorView
        // Fast path: every section descriptor is a smallulong (`53 xx`) in practice.
        if r.remaining >= 2, r.buffer[r.position] == FormatCode.smallULong {
            descriptor = .code(UInt64(r.buffer[r.position &+ 1]))
            r.position &+= 2
        } else {
            do throws(DecodeError) {
                descriptor = try ValueDecoder.decodeDescriptor(&r, depth: 2, limits: limits)
            } catch {
                var e = error
                e.detail = e.detail.isEmpty ? "message: section descriptor" : "message: section descriptor: " + e.detail
                throw e
            }
        }
        guard let known = descriptor.knownCode, let section = MessageSection(descriptor: known) else {
            let name: String
            switch descriptor {
            case .code(let c): name = Descriptors.name(forCode: c) ?? "0x" + Hex.encode(withUnsafeBytes(of: c.bigEndian) { Array($0) })
            case .symbol(let s): name = s.description
            case .other: name = "a non-ulong, non-symbol value"
            }
            throw r.error(.unexpectedDescriptor, detail: "message: \(name) is not a message section", at: start)
        }
        let valueStart = r.position
        let value: AMQPValueView
        do throws(DecodeError) {
            value = try readSectionValue(&r, section: section, limits: limits)
        } catch {
            throw error.naming(section)
        }
        let encoded = EncodedValueView(
            bytes: UnsafeRawBufferPointer(rebasing: r.buffer[valueStart..<r.position]),
            offset: r.baseOffset &+ valueStart, depth: 2, limits: limits)
        return (section, value, DescribedView(descriptor: descriptor, encodedValue: encoded))
    }

    /// The section's value, decoded one level. The header and properties lists are only
    /// framed here (their field readers parse them next), and a data section's binary is
    /// taken in place: building the general `AMQPValueView` for them costs more than
    /// everything else a consumer does with a small message. Any other encoding takes
    /// the general decoder, which reports problems exactly as before.
    @inline(__always)
    static func readSectionValue(_ r: inout ByteReader, section: MessageSection, limits: DecodeLimits) throws(DecodeError) -> AMQPValueView {
        guard r.remaining >= 2 else { return try ValueDecoder.decode(&r, depth: 2, limits: limits) }
        let code = r.buffer[r.position]
        switch (section, code) {
        case (.header, FormatCode.list8), (.properties, FormatCode.list8),
            (.header, FormatCode.list32), (.properties, FormatCode.list32):
            r.position &+= 1
            let (count, body, bodyOffset) = try ValueDecoder.readCompoundHeader(&r, wide: code == FormatCode.list32, limits: limits)
            return .list(ListView(count: count, body: body, bodyOffset: bodyOffset, depth: 2, limits: limits))
        case (.data, FormatCode.vbin8):
            let n = Int(r.buffer[r.position &+ 1])
            guard r.remaining &- 2 >= n else { return try ValueDecoder.decode(&r, depth: 2, limits: limits) }
            r.position &+= 2
            let offset = r.absoluteOffset
            return .binary(BytesView(try r.readSlice(n), offset: offset))
        default:
            return try ValueDecoder.decode(&r, depth: 2, limits: limits)
        }
    }

    static func map(_ value: AMQPValueView, _ d: DescribedView, _ section: MessageSection) throws(DecodeError) -> MapView {
        guard case .map(let m) = value else { throw wrongType(value, d, section, expected: "map") }
        return m
    }

    static func wrongType(_ value: AMQPValueView, _ d: DescribedView, _ section: MessageSection, expected: StaticString) -> DecodeError {
        DecodeError(.unexpectedType, at: d.encodedValue.offset, detail: "\(section.name) is \(value.typeName), expected \(expected)")
    }

    /// An owned copy of every section. It cannot fail for a view that was made (every
    /// value was decoded then); it throws only because the value copies are built by
    /// the same throwing decoder.
    public func materialize() throws(DecodeError) -> Message {
        Message(
            header: header,
            deliveryAnnotations: try deliveryAnnotations?.materialize(),
            messageAnnotations: try messageAnnotations?.materialize(),
            properties: properties?.materialize(),
            applicationProperties: try applicationProperties?.materialize(),
            body: try body?.materialize(),
            footer: try footer?.materialize())
    }
}
