/// The AMQP 1.0 format codes (constructors), part 1 section 1.6 of the specification.
public enum FormatCode {
    public static let described: UInt8 = 0x00
    public static let null: UInt8 = 0x40
    public static let boolean: UInt8 = 0x56
    public static let booleanTrue: UInt8 = 0x41
    public static let booleanFalse: UInt8 = 0x42
    public static let ubyte: UInt8 = 0x50
    public static let ushort: UInt8 = 0x60
    public static let uint: UInt8 = 0x70
    public static let smallUInt: UInt8 = 0x52
    public static let uint0: UInt8 = 0x43
    public static let ulong: UInt8 = 0x80
    public static let smallULong: UInt8 = 0x53
    public static let ulong0: UInt8 = 0x44
    public static let byte: UInt8 = 0x51
    public static let short: UInt8 = 0x61
    public static let int: UInt8 = 0x71
    public static let smallInt: UInt8 = 0x54
    public static let long: UInt8 = 0x81
    public static let smallLong: UInt8 = 0x55
    public static let float: UInt8 = 0x72
    public static let double: UInt8 = 0x82
    public static let decimal32: UInt8 = 0x74
    public static let decimal64: UInt8 = 0x84
    public static let decimal128: UInt8 = 0x94
    public static let char: UInt8 = 0x73
    public static let timestamp: UInt8 = 0x83
    public static let uuid: UInt8 = 0x98
    public static let vbin8: UInt8 = 0xA0
    public static let vbin32: UInt8 = 0xB0
    public static let str8: UInt8 = 0xA1
    public static let str32: UInt8 = 0xB1
    public static let sym8: UInt8 = 0xA3
    public static let sym32: UInt8 = 0xB3
    public static let list0: UInt8 = 0x45
    public static let list8: UInt8 = 0xC0
    public static let list32: UInt8 = 0xD0
    public static let map8: UInt8 = 0xC1
    public static let map32: UInt8 = 0xD1
    public static let array8: UInt8 = 0xE0
    public static let array32: UInt8 = 0xF0
}

/// The AMQP 1.0 primitive types, as named by the specification.
///
/// Used for array element types and for tools that print types.
public enum AMQPType: String, Hashable, Sendable, CaseIterable {
    case null, boolean, ubyte, ushort, uint, ulong, byte, short, int, long
    case float, double, decimal32, decimal64, decimal128, char, timestamp, uuid
    case binary, string, symbol, list, map, array

    /// The type a format code encodes; `nil` for `0x00` (described) and unknown codes.
    public init?(formatCode code: UInt8) {
        switch code {
        case FormatCode.null: self = .null
        case FormatCode.boolean, FormatCode.booleanTrue, FormatCode.booleanFalse: self = .boolean
        case FormatCode.ubyte: self = .ubyte
        case FormatCode.ushort: self = .ushort
        case FormatCode.uint, FormatCode.smallUInt, FormatCode.uint0: self = .uint
        case FormatCode.ulong, FormatCode.smallULong, FormatCode.ulong0: self = .ulong
        case FormatCode.byte: self = .byte
        case FormatCode.short: self = .short
        case FormatCode.int, FormatCode.smallInt: self = .int
        case FormatCode.long, FormatCode.smallLong: self = .long
        case FormatCode.float: self = .float
        case FormatCode.double: self = .double
        case FormatCode.decimal32: self = .decimal32
        case FormatCode.decimal64: self = .decimal64
        case FormatCode.decimal128: self = .decimal128
        case FormatCode.char: self = .char
        case FormatCode.timestamp: self = .timestamp
        case FormatCode.uuid: self = .uuid
        case FormatCode.vbin8, FormatCode.vbin32: self = .binary
        case FormatCode.str8, FormatCode.str32: self = .string
        case FormatCode.sym8, FormatCode.sym32: self = .symbol
        case FormatCode.list0, FormatCode.list8, FormatCode.list32: self = .list
        case FormatCode.map8, FormatCode.map32: self = .map
        case FormatCode.array8, FormatCode.array32: self = .array
        default: return nil
        }
    }
}
