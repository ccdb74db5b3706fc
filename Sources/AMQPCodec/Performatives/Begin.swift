/// Begins a session on a channel: `amqp:begin:list` (part 2, section 2.7.2).
public struct Begin: Hashable, Sendable {
    /// The channel the peer's begin came on, when this begin answers it; `nil` when the
    /// session is initiated locally.
    public var remoteChannel: UInt16?
    /// The transfer-id of the first transfer the sender will send (mandatory).
    public var nextOutgoingID: UInt32
    /// The sender's initial incoming window, in transfers (mandatory).
    public var incomingWindow: UInt32
    /// The sender's initial outgoing window, in transfers (mandatory).
    public var outgoingWindow: UInt32
    /// The highest link handle the sender accepts. Default 4294967295.
    public var handleMax: UInt32
    /// Extension capabilities the sender supports.
    public var offeredCapabilities: [Symbol]
    /// Extension capabilities the sender may use if the peer offers them.
    public var desiredCapabilities: [Symbol]
    /// Session properties.
    public var properties: Fields?

    /// Creates a begin; every optional field defaults to its absent value.
    public init(
        remoteChannel: UInt16? = nil, nextOutgoingID: UInt32, incomingWindow: UInt32,
        outgoingWindow: UInt32, handleMax: UInt32 = .max, offeredCapabilities: [Symbol] = [],
        desiredCapabilities: [Symbol] = [], properties: Fields? = nil
    ) {
        self.remoteChannel = remoteChannel
        self.nextOutgoingID = nextOutgoingID
        self.incomingWindow = incomingWindow
        self.outgoingWindow = outgoingWindow
        self.handleMax = handleMax
        self.offeredCapabilities = offeredCapabilities
        self.desiredCapabilities = desiredCapabilities
        self.properties = properties
    }

    /// Decodes an `amqp:begin:list`.
    public init(decoding d: DescribedView) throws(DecodeError) {
        var r = try FieldReader(d, code: Descriptors.begin, composite: "begin")
        remoteChannel = try r.ushort("remote-channel")
        nextOutgoingID = try r.required(try r.uint("next-outgoing-id"), "next-outgoing-id")
        incomingWindow = try r.required(try r.uint("incoming-window"), "incoming-window")
        outgoingWindow = try r.required(try r.uint("outgoing-window"), "outgoing-window")
        handleMax = try r.uint("handle-max") ?? .max
        offeredCapabilities = try r.symbolList("offered-capabilities")
        desiredCapabilities = try r.symbolList("desired-capabilities")
        properties = try r.fields("properties")
    }

    /// Encodes as an `amqp:begin:list`, dropping trailing defaults.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        var w = try FieldWriter(descriptor: Descriptors.begin, &e)
        try w.ushort(remoteChannel, &e)
        try w.uint(nextOutgoingID, &e)
        try w.uint(incomingWindow, &e)
        try w.uint(outgoingWindow, &e)
        try w.uint(handleMax, default: .max, &e)
        try w.symbols(offeredCapabilities, &e)
        try w.symbols(desiredCapabilities, &e)
        try w.fields(properties, &e)
        try w.finish(&e)
    }
}
