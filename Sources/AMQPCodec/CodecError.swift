/// An AMQP error condition symbol, such as `amqp:decode-error`.
///
/// Conditions are open-ended (brokers add their own), so this wraps the symbol text
/// rather than enumerating cases; the ones the codec raises are static members.
public struct ErrorCondition: Hashable, Sendable, CustomStringConvertible {
    /// The condition as it travels on the wire, e.g. `amqp:connection:framing-error`.
    public var symbol: Symbol

    /// Wraps a condition symbol.
    public init(_ symbol: Symbol) { self.symbol = symbol }

    /// `amqp:decode-error`: data could not be decoded.
    public static let decodeError = ErrorCondition("amqp:decode-error")
    /// `amqp:connection:framing-error`: a frame violates the framing rules.
    public static let framingError = ErrorCondition("amqp:connection:framing-error")
    /// `amqp:invalid-field`: a field holds a value the specification does not allow.
    public static let invalidField = ErrorCondition("amqp:invalid-field")
    /// `amqp:resource-limit-exceeded`: a configured limit was exceeded.
    public static let resourceLimitExceeded = ErrorCondition("amqp:resource-limit-exceeded")

    /// The condition's symbol text.
    public var description: String { symbol.rawValue }
}

/// Why decoding failed, and where.
///
/// Every malformed input yields one of these; the decoder never reads past the view it
/// was given. `offset` is counted from the start of the outermost buffer handed to the
/// decoder, so tools can point at the offending byte.
public struct DecodeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: StaticString
        init(_ name: StaticString) { self.name = name }

        /// Input ended inside a value or frame.
        public static let truncated = Code("truncated input")
        /// A format code that AMQP 1.0 does not define.
        public static let unknownConstructor = Code("unknown constructor")
        /// A size field claims more bytes than the input holds.
        public static let sizeExceedsInput = Code("size exceeds the bytes left")
        /// A count claims more elements than its size can hold.
        public static let countExceedsSize = Code("element count exceeds the size")
        /// A size field is too small to hold the count that must follow it.
        public static let sizeTooSmall = Code("size too small for its count field")
        /// A compound's elements do not fill exactly the size it declared.
        public static let sizeMismatch = Code("compound size does not match its elements")
        /// A map has an odd number of elements.
        public static let oddMapCount = Code("map with an odd element count")
        /// A string is not valid UTF-8.
        public static let invalidUTF8 = Code("invalid UTF-8 in a string")
        /// A symbol holds a byte outside ASCII.
        public static let nonASCIISymbol = Code("non-ASCII byte in a symbol")
        /// A char is not a Unicode scalar value.
        public static let invalidChar = Code("char is not a Unicode scalar value")
        /// A boolean's byte is neither 0 nor 1.
        public static let invalidBoolean = Code("boolean byte is neither 0 nor 1")
        /// Compound or described values nest deeper than the decoder's limit.
        public static let nestingTooDeep = Code("nesting deeper than the limit")
        /// A compound holds more elements than the decoder's limit.
        public static let tooManyElements = Code("more elements than the limit")
        /// An array's element constructor cannot be used in an array.
        public static let invalidArrayConstructor = Code("invalid array element constructor")
        /// A value has a different type than its position requires.
        public static let unexpectedType = Code("unexpected type")
        /// A mandatory field of a composite is absent or null.
        public static let missingMandatoryField = Code("mandatory field missing")
        /// A field holds a value its type does not allow (e.g. an unknown enum value).
        public static let invalidFieldValue = Code("invalid field value")
        /// A composite's descriptor is not the one expected, or is unknown.
        public static let unexpectedDescriptor = Code("unexpected descriptor")
        /// A frame's size is below 8 or its data offset below 2 or beyond its size.
        public static let invalidFrameHeader = Code("invalid frame header")
        /// A frame is larger than the negotiated maximum frame size.
        public static let frameTooLarge = Code("frame larger than the maximum frame size")
        /// A frame's type is neither AMQP (0) nor SASL (1).
        public static let unknownFrameType = Code("unknown frame type")
        /// A frame body does not start with a described performative.
        public static let invalidPerformative = Code("invalid performative")
        /// Bytes that should be a protocol header are not `AMQP` followed by a known id.
        public static let invalidProtocolHeader = Code("invalid protocol header")
        /// A delivery tag is longer than the 32 bytes the specification allows.
        public static let deliveryTagTooLong = Code("delivery tag longer than 32 bytes")
        /// A message section is repeated or out of the order part 3, section 3.2 requires
        /// (e.g. properties after application-properties, data after amqp-value).
        public static let sectionOutOfOrder = Code("message section out of order")

        /// A short English description of the code.
        public var description: String { "\(name)" }
        public static func == (a: Code, b: Code) -> Bool {
            a.name.utf8Start == b.name.utf8Start
        }
        public func hash(into hasher: inout Hasher) { hasher.combine(name.utf8Start) }
    }

    /// What went wrong.
    public var code: Code
    /// Byte offset, from the start of the outermost input, where the problem was found.
    public var offset: Int
    /// Extra detail (the field or type involved); empty when the code says it all.
    public var detail: String
    /// The AMQP condition a connection closes with because of this error.
    public var condition: ErrorCondition

    /// Creates an error; `condition` defaults to `amqp:decode-error`.
    public init(_ code: Code, at offset: Int, detail: String = "", condition: ErrorCondition = .decodeError) {
        self.code = code
        self.offset = offset
        self.detail = detail
        self.condition = condition
    }

    /// `<code>[ (<detail>)] at byte <offset>`.
    public var description: String {
        detail.isEmpty ? "\(code) at byte \(offset)" : "\(code) (\(detail)) at byte \(offset)"
    }
}

/// Why encoding failed.
public struct EncodeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: StaticString
        init(_ name: StaticString) { self.name = name }
        /// The destination buffer has no room for the encoding.
        public static let bufferTooSmall = Code("destination buffer too small")
        /// A symbol holds a character outside ASCII.
        public static let nonASCIISymbol = Code("non-ASCII character in a symbol")
        /// Array elements are not all of the array's element type.
        public static let heterogeneousArray = Code("array element of another type")
        /// A value is too large for any encoding (over 4 GiB).
        public static let valueTooLarge = Code("value too large to encode")
        /// A value breaks a rule of its field (e.g. max-frame-size below 512).
        public static let invalidFieldValue = Code("invalid field value")
        /// A short English description of the code.
        public var description: String { "\(name)" }
        public static func == (a: Code, b: Code) -> Bool { a.name.utf8Start == b.name.utf8Start }
        public func hash(into hasher: inout Hasher) { hasher.combine(name.utf8Start) }
    }
    /// What went wrong.
    public var code: Code
    /// Extra detail; empty when the code says it all.
    public var detail: String
    /// Creates an error.
    public init(_ code: Code, detail: String = "") {
        self.code = code
        self.detail = detail
    }
    /// `<code>[ (<detail>)]`.
    public var description: String { detail.isEmpty ? "\(code)" : "\(code) (\(detail))" }
}
