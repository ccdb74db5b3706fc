/// Opens a connection and negotiates its limits: `amqp:open:list` (part 2, section 2.7.1).
///
/// Optional fields with a specification default are plain properties set to that
/// default; the others are optionals. Multiple-valued fields are empty when absent.
public struct Open: Hashable, Sendable {
    /// The sending container's id (mandatory).
    public var containerID: String
    /// The host the sender wants to reach (virtual hosting), as in a URL.
    public var hostname: String?
    /// The largest frame the sender accepts, in bytes; at least 512. Default
    /// 4294967295 (no limit).
    public var maxFrameSize: UInt32
    /// The highest channel number the sender accepts. Default 65535.
    public var channelMax: UInt16
    /// The sender's idle timeout in milliseconds; `nil` (or 0) for none.
    public var idleTimeOut: UInt32?
    /// Locales the sender may write text in (ietf-language-tag symbols).
    public var outgoingLocales: [Symbol]
    /// Locales the sender wants to read text in, in order of preference.
    public var incomingLocales: [Symbol]
    /// Extension capabilities the sender supports.
    public var offeredCapabilities: [Symbol]
    /// Extension capabilities the sender may use if the peer offers them.
    public var desiredCapabilities: [Symbol]
    /// Connection properties (e.g. `product`, `version`).
    public var properties: Fields?

    /// Creates an open; every optional field defaults to its absent value.
    public init(
        containerID: String, hostname: String? = nil, maxFrameSize: UInt32 = .max,
        channelMax: UInt16 = .max, idleTimeOut: UInt32? = nil, outgoingLocales: [Symbol] = [],
        incomingLocales: [Symbol] = [], offeredCapabilities: [Symbol] = [],
        desiredCapabilities: [Symbol] = [], properties: Fields? = nil
    ) {
        self.containerID = containerID
        self.hostname = hostname
        self.maxFrameSize = maxFrameSize
        self.channelMax = channelMax
        self.idleTimeOut = idleTimeOut
        self.outgoingLocales = outgoingLocales
        self.incomingLocales = incomingLocales
        self.offeredCapabilities = offeredCapabilities
        self.desiredCapabilities = desiredCapabilities
        self.properties = properties
    }

    /// Decodes an `amqp:open:list`. A `max-frame-size` below 512 is `invalidFieldValue`:
    /// every peer must accept frames of 512 bytes.
    public init(decoding d: DescribedView) throws(DecodeError) {
        var r = try FieldReader(d, code: Descriptors.open, composite: "open")
        containerID = try r.required(try r.string("container-id"), "container-id")
        hostname = try r.string("hostname")
        maxFrameSize = try r.uint("max-frame-size") ?? .max
        guard maxFrameSize >= FrameHeader.minimumMaxFrameSize else {
            throw r.invalid("max-frame-size", "\(maxFrameSize) is below 512")
        }
        channelMax = try r.ushort("channel-max") ?? .max
        idleTimeOut = try r.uint("idle-time-out")
        outgoingLocales = try r.symbolList("outgoing-locales")
        incomingLocales = try r.symbolList("incoming-locales")
        offeredCapabilities = try r.symbolList("offered-capabilities")
        desiredCapabilities = try r.symbolList("desired-capabilities")
        properties = try r.fields("properties")
    }

    /// Encodes as an `amqp:open:list`, dropping trailing defaults. Throws
    /// `invalidFieldValue` when `maxFrameSize` is below 512.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        guard maxFrameSize >= FrameHeader.minimumMaxFrameSize else {
            throw EncodeError(.invalidFieldValue, detail: "open.max-frame-size: \(maxFrameSize) is below 512")
        }
        var w = try FieldWriter(descriptor: Descriptors.open, &e)
        try w.string(containerID, &e)
        try w.string(hostname, &e)
        try w.uint(maxFrameSize, default: .max, &e)
        try w.ushort(channelMax, default: .max, &e)
        try w.uint(idleTimeOut, &e)
        try w.symbols(outgoingLocales, &e)
        try w.symbols(incomingLocales, &e)
        try w.symbols(offeredCapabilities, &e)
        try w.symbols(desiredCapabilities, &e)
        try w.fields(properties, &e)
        try w.finish(&e)
    }
}
