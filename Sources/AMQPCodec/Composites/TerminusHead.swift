// The six fields that source and target share, in the same places (part 3, sections
// 3.5.3 and 3.5.4): address, durable, expiry-policy, timeout, dynamic and
// dynamic-node-properties. One reader and one writer keep their rules (defaults, and
// node properties only on a dynamic terminus) in one place.

/// The shared leading fields of a source or target.
struct TerminusHead {
    var address: String?
    var durable: TerminusDurability
    var expiryPolicy: TerminusExpiryPolicy
    var timeout: UInt32
    var dynamic: Bool
    var dynamicNodeProperties: Fields?

    /// Reads the six fields; `kind` (`source` or `target`) names the terminus in errors.
    init(reading r: inout FieldReader, kind: StaticString) throws(DecodeError) {
        address = try r.string("address")
        durable = try r.terminusDurability("durable") ?? .none
        expiryPolicy = try r.terminusExpiryPolicy("expiry-policy") ?? .sessionEnd
        timeout = try r.uint("timeout") ?? 0
        dynamic = try r.bool("dynamic") ?? false
        dynamicNodeProperties = try r.fields("dynamic-node-properties")
        if dynamicNodeProperties != nil && !dynamic {
            throw r.invalid("dynamic-node-properties", "set on a \(kind) that is not dynamic")
        }
    }

    init(
        address: String?, durable: TerminusDurability, expiryPolicy: TerminusExpiryPolicy, timeout: UInt32,
        dynamic: Bool, dynamicNodeProperties: Fields?
    ) {
        self.address = address
        self.durable = durable
        self.expiryPolicy = expiryPolicy
        self.timeout = timeout
        self.dynamic = dynamic
        self.dynamicNodeProperties = dynamicNodeProperties
    }

    /// Refuses node properties without `dynamic`; called before anything is written.
    func check(kind: StaticString) throws(EncodeError) {
        if dynamicNodeProperties != nil && !dynamic {
            throw EncodeError(.invalidFieldValue, detail: "\(kind).dynamic-node-properties: set on a \(kind) that is not dynamic")
        }
    }

    /// Writes the six fields, defaults as null (after `check`).
    func write(to w: inout FieldWriter, _ e: inout AMQPEncoder) throws(EncodeError) {
        try w.string(address, &e)
        try w.uint(durable.rawValue, default: TerminusDurability.none.rawValue, &e)
        try w.symbol(expiryPolicy.symbol, default: TerminusExpiryPolicy.sessionEnd.symbol, &e)
        try w.uint(timeout, default: 0, &e)
        try w.bool(dynamic, default: false, &e)
        try w.fields(dynamicNodeProperties, &e)
    }
}
