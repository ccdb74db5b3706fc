// The restricted types that link performatives and termini carry (part 2, section 2.8;
// part 3, section 3.5), with the field readers and writers that check them.

/// Which end of a link a performative comes from (part 2, section 2.8.1): `false` on
/// the wire for the sender, `true` for the receiver.
public enum Role: Hashable, Sendable, RawRepresentable {
    /// The sending end (`false`).
    case sender
    /// The receiving end (`true`).
    case receiver

    /// The role whose wire value is `rawValue`.
    public init(rawValue: Bool) { self = rawValue ? .receiver : .sender }
    /// The wire value: `true` for the receiver.
    public var rawValue: Bool {
        // A switch, not `==`: RawRepresentable's `==` compares raw values, so comparing
        // here would recurse.
        switch self {
        case .sender: false
        case .receiver: true
        }
    }
}

/// How the sender settles deliveries (part 2, section 2.8.2), a `ubyte`.
public enum SenderSettleMode: UInt8, Hashable, Sendable {
    /// Every delivery is sent unsettled.
    case unsettled = 0
    /// Every delivery is sent settled.
    case settled = 1
    /// The sender may send settled or unsettled deliveries (the default).
    case mixed = 2
}

/// How the receiver settles deliveries (part 2, section 2.8.3), a `ubyte`.
public enum ReceiverSettleMode: UInt8, Hashable, Sendable {
    /// The receiver settles as soon as it has a delivery (the default).
    case first = 0
    /// The receiver settles only after the sender has settled its disposition.
    case second = 1
}

/// What state of a terminus survives (part 3, section 3.5.5), a `uint`.
public enum TerminusDurability: UInt32, Hashable, Sendable {
    /// No state is durable (the default).
    case none = 0
    /// Only the existence and configuration of the terminus are durable.
    case configuration = 1
    /// Configuration and unsettled state are durable.
    case unsettledState = 2
}

/// When a terminus's expiry timer starts (part 3, section 3.5.6), a `symbol`.
public enum TerminusExpiryPolicy: String, Hashable, Sendable {
    /// When the terminus is detached.
    case linkDetach = "link-detach"
    /// When the most recently associated session ends (the default).
    case sessionEnd = "session-end"
    /// When the most recently associated connection closes.
    case connectionClose = "connection-close"
    /// The terminus never expires.
    case never = "never"

    /// The policy as it travels: `link-detach`, `session-end`, …
    public var symbol: Symbol { Symbol(rawValue) }
}

/// How messages leave a source (part 3, section 3.5.7): a `symbol` that nodes may extend.
public enum DistributionMode: Hashable, Sendable {
    /// Each message goes to one link and leaves the node (`move`).
    case move
    /// Each link gets its own copy; the node keeps the message (`copy`).
    case copy
    /// A mode this codec does not know by name.
    case other(Symbol)

    /// The mode as it travels.
    public var symbol: Symbol {
        switch self {
        case .move: "move"
        case .copy: "copy"
        case .other(let s): s
        }
    }

    /// The mode named `symbol`.
    public init(_ symbol: Symbol) {
        switch symbol.rawValue {
        case "move": self = .move
        case "copy": self = .copy
        default: self = .other(symbol)
        }
    }
}

/// The lifetime of a dynamically created node (part 3, section 3.5.10): the value of the
/// `lifetime-policy` entry of dynamic-node-properties, a described empty list.
public enum LifetimePolicy: Hashable, Sendable, CaseIterable {
    /// `amqp:delete-on-close:list`: deleted when the link that created it closes.
    case deleteOnClose
    /// `amqp:delete-on-no-links:list`: deleted when no link is attached to it.
    case deleteOnNoLinks
    /// `amqp:delete-on-no-messages:list`: deleted when it holds no messages.
    case deleteOnNoMessages
    /// `amqp:delete-on-no-links-or-messages:list`: deleted when it has neither.
    case deleteOnNoLinksOrMessages

    /// The numeric descriptor.
    public var descriptor: UInt64 {
        switch self {
        case .deleteOnClose: Descriptors.deleteOnClose
        case .deleteOnNoLinks: Descriptors.deleteOnNoLinks
        case .deleteOnNoMessages: Descriptors.deleteOnNoMessages
        case .deleteOnNoLinksOrMessages: Descriptors.deleteOnNoLinksOrMessages
        }
    }

    /// The policy `described` encodes; its list's fields, which the specification does
    /// not define, are ignored.
    public init(decoding described: DescribedView) throws(DecodeError) {
        switch described.descriptor.knownCode {
        case Descriptors.deleteOnClose: self = .deleteOnClose
        case Descriptors.deleteOnNoLinks: self = .deleteOnNoLinks
        case Descriptors.deleteOnNoMessages: self = .deleteOnNoMessages
        case Descriptors.deleteOnNoLinksOrMessages: self = .deleteOnNoLinksOrMessages
        default:
            throw DecodeError(
                .unexpectedDescriptor, at: described.encodedValue.offset,
                detail: "lifetime-policy: descriptor \(described.descriptor.text) is not a lifetime policy")
        }
        _ = try FieldReader(described, composite: "lifetime-policy")
    }

    /// The policy held by an owned value (as found in `Fields`); `nil` when `value` is
    /// not one of the four policies.
    public init?(_ value: AMQPValue) {
        guard case .described(let d, .list) = value else { return nil }
        let code: UInt64?
        switch d {
        case .ulong(let c): code = c
        case .symbol(let s):
            code = withUTF8Bytes(s.rawValue) { Descriptors.code(forName: $0) }
        default: code = nil
        }
        guard let policy = Self.allCases.first(where: { $0.descriptor == code }) else { return nil }
        self = policy
    }

    /// The policy as an owned value: its descriptor and an empty list.
    public var value: AMQPValue { .described(descriptor: .ulong(descriptor), value: .list([])) }

    /// Encodes as a described empty list.
    public func encode(into e: inout AMQPEncoder) throws(EncodeError) {
        try e.encodeDescriptor(descriptor)
        try e.endList(try e.beginList(), count: 0)
    }
}

extension Fields {
    /// The `lifetime-policy` entry of node properties (part 3, section 3.5.9); `nil` when
    /// absent or not a known policy. Setting `nil` removes the entry.
    public var lifetimePolicy: LifetimePolicy? {
        get { self["lifetime-policy"].flatMap(LifetimePolicy.init) }
        set { self["lifetime-policy"] = newValue?.value }
    }
}

// MARK: Field readers and writers

extension FieldReader {
    @inline(__always)
    mutating func role(_ field: StaticString) throws(DecodeError) -> Role? {
        guard let b = try bool(field) else { return nil }
        return Role(rawValue: b)
    }
    @inline(__always)
    mutating func senderSettleMode(_ field: StaticString) throws(DecodeError) -> SenderSettleMode? {
        guard let v = try ubyte(field) else { return nil }
        guard let m = SenderSettleMode(rawValue: v) else { throw invalid(field, "\(v) is not a sender-settle-mode") }
        return m
    }
    @inline(__always)
    mutating func receiverSettleMode(_ field: StaticString) throws(DecodeError) -> ReceiverSettleMode? {
        guard let v = try ubyte(field) else { return nil }
        guard let m = ReceiverSettleMode(rawValue: v) else { throw invalid(field, "\(v) is not a receiver-settle-mode") }
        return m
    }
    mutating func terminusDurability(_ field: StaticString) throws(DecodeError) -> TerminusDurability? {
        guard let v = try uint(field) else { return nil }
        guard let d = TerminusDurability(rawValue: v) else { throw invalid(field, "\(v) is not a terminus-durability") }
        return d
    }
    mutating func terminusExpiryPolicy(_ field: StaticString) throws(DecodeError) -> TerminusExpiryPolicy? {
        guard let v = try next() else { return nil }
        guard case .symbol(let s) = v else { throw wrongType(field, v, "symbol") }
        guard let p = TerminusExpiryPolicy(rawValue: s.description) else {
            throw invalid(field, "\(s) is not a terminus-expiry-policy")
        }
        return p
    }
    mutating func distributionMode(_ field: StaticString) throws(DecodeError) -> DistributionMode? {
        guard let s = try symbol(field) else { return nil }
        return DistributionMode(s)
    }
    /// A `multiple` symbol field where null and the empty array mean the same: none.
    mutating func symbolList(_ field: StaticString) throws(DecodeError) -> [Symbol] {
        try symbols(field) ?? []
    }
    /// A delivery state field, checked as `deliveryState` checks it, kept as its encoding
    /// (decode it with `DeliveryState(decoding:)`).
    @inline(__always)
    mutating func encodedDeliveryState(_ field: StaticString) throws(DecodeError) -> EncodedValueView? {
        if nextCode == FormatCode.null {
            takeCode()
            return nil
        }
        let start = cursor.reader.position
        let offset = cursor.reader.absoluteOffset
        guard try deliveryState(field) != nil else { return nil }
        let bytes = UnsafeRawBufferPointer(rebasing: cursor.reader.buffer[start..<cursor.reader.position])
        return EncodedValueView(bytes: bytes, offset: offset, depth: cursor.depth, limits: cursor.limits)
    }
    /// A field of type `*` that requires a delivery state (with `outcomeOnly`, an outcome).
    @inline(__always)
    mutating func deliveryState(_ field: StaticString, outcomeOnly: Bool = false) throws(DecodeError) -> DeliveryState? {
        // Fast path for the states nearly every disposition carries: accepted and released
        // in their smallest encoding, `00 53 24 45` and `00 53 26 45`.
        if nextCode == FormatCode.described, cursor.reader.remaining >= 4, cursor.depth <= cursor.limits.maxDepth {
            let p = cursor.reader.position
            let b = cursor.reader.buffer
            if b[p &+ 1] == FormatCode.smallULong && b[p &+ 3] == FormatCode.list0 {
                let state: DeliveryState? =
                    switch UInt64(b[p &+ 2]) {
                    case Descriptors.accepted: .accepted
                    case Descriptors.released: .released
                    default: nil
                    }
                if let state {
                    cursor.reader.position = p &+ 4
                    cursor.remaining &-= 1
                    return state
                }
            }
        }
        guard let d = try described(field) else { return nil }
        let state = try DeliveryState(decoding: d)
        if outcomeOnly && !state.isOutcome {
            throw invalid(field, "\(state.name) is not an outcome")
        }
        return state
    }
}

extension FieldWriter {
    /// A composite-typed field written by its own `encode(into:)`, or null.
    @inline(__always)
    mutating func deliveryState(_ v: DeliveryState?, _ e: inout AMQPEncoder) throws(EncodeError) {
        // Only the null is inlined: a state's encoding can nest another state
        // (transactional-state), and that recursion kept this whole method out of line.
        guard let v else { return try null(&e) }
        try presentDeliveryState(v, &e)
    }

    @inline(never)
    mutating func presentDeliveryState(_ v: DeliveryState, _ e: inout AMQPEncoder) throws(EncodeError) {
        try v.encode(into: &e)
        wrote(&e)
    }
}
