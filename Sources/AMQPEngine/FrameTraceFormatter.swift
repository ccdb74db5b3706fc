public import AMQPCodec

/// Renders frames the way uAMQP-C traces them (the C library under the reference client,
/// uamqp), so logs read the same as the ones its users already know:
///
/// ```
/// -> Header (AMQP 3.1.0.0)
/// -> [SASL INIT]* {PLAIN,<redacted 13 bytes>,broker.example.com}
/// -> Header (AMQP 0.1.0.0)
/// -> [OPEN]* {my-container,broker.example.com,63488,NULL,240000}
/// <- [CLOSE]* {* {amqp:connection:forced,idle}}
/// -> Empty frame
/// ```
///
/// A performative is shown as uAMQP-C's `amqpvalue_to_string` shows the described list on
/// the wire: fields in order, absent ones as `NULL`, trailing absent ones left out;
/// described values as `* value`, lists and arrays as `{a,b}`, maps as `{[k:v],[k:v]}`,
/// binary as `<0A 1B>`, strings and symbols bare. Where uAMQP-C prints nothing or prints
/// twice (uuid, decimals, floats, chars) this prints the value once.
///
/// SASL `initial-response` and `response` can carry a password (PLAIN): they are shown as
/// `<redacted N bytes>`, never in clear.
///
/// Everything here allocates; it runs only when tracing is on.
public enum FrameTraceFormatter {
    /// Which way a frame went.
    public enum Direction: Hashable, Sendable {
        /// We sent it (`->`).
        case outgoing
        /// We received it (`<-`).
        case incoming

        /// `->` or `<-`.
        public var arrow: String { self == .outgoing ? "->" : "<-" }
    }

    /// `-> Header (AMQP 0.1.0.0)`: protocol id, major, minor, revision.
    public static func header(_ header: ProtocolHeader, _ direction: Direction) -> String {
        "\(direction.arrow) Header (AMQP \(header.id.rawValue).\(header.major).\(header.minor).\(header.revision))"
    }

    /// `-> Empty frame` (a heartbeat).
    public static func emptyFrame(_ direction: Direction) -> String {
        "\(direction.arrow) Empty frame"
    }

    /// `-> [OPEN]* {…}`.
    public static func performative(_ p: Performative, _ direction: Direction) -> String {
        let fields = render(encoding: { (e) throws(EncodeError) in try p.encode(into: &e) })
        return "\(direction.arrow) [\(p.name.uppercased())]\(fields)"
    }

    /// `-> [SASL INIT]* {…}`, with credentials redacted.
    public static func sasl(_ p: SASLPerformative, _ direction: Direction) -> String {
        let fields = render(
            encoding: { (e) throws(EncodeError) in try p.encode(into: &e) },
            redacting: redactedIndex(p))
        return "\(direction.arrow) [\(saslLabel(p))]\(fields)"
    }

    /// A received frame exactly as it arrived (fields the sender left out stay out).
    /// Empty frames render as `<- Empty frame`; an undecodable body as `[MALFORMED]`.
    public static func frame(_ frame: FrameView, _ direction: Direction) -> String {
        guard let body = frame.performative else { return emptyFrame(direction) }
        let label: String
        var redacted: Int? = nil
        if frame.header.type == .sasl {
            guard let p = try? SASLPerformative(decoding: body) else { return "\(direction.arrow) [MALFORMED]" }
            label = saslLabel(p)
            redacted = redactedIndex(p)
        } else {
            guard let p = try? Performative(decoding: body) else { return "\(direction.arrow) [MALFORMED]" }
            label = p.name.uppercased()
        }
        guard let value = try? AMQPValueView.described(body).materialize() else { return "\(direction.arrow) [MALFORMED]" }
        return "\(direction.arrow) [\(label)]\(render(value, redactingField: redacted))"
    }

    /// One value in uAMQP-C's `amqpvalue_to_string` style.
    public static func render(_ value: AMQPValue) -> String {
        render(value, redactingField: nil)
    }

    // MARK: Internals

    static func saslLabel(_ p: SASLPerformative) -> String {
        switch p {
        case .saslMechanisms: "SASL MECHANISMS"
        case .saslInit: "SASL INIT"
        case .saslChallenge: "SASL CHALLENGE"
        case .saslResponse: "SASL RESPONSE"
        case .saslOutcome: "SASL OUTCOME"
        }
    }

    /// The field of a SASL performative that may hold a secret.
    static func redactedIndex(_ p: SASLPerformative) -> Int? {
        switch p {
        case .saslInit: 1  // initial-response
        case .saslResponse: 0  // response
        default: nil
        }
    }

    /// Encodes, decodes back and renders: what is shown is what the wire carries.
    static func render(encoding body: (inout AMQPEncoder) throws(EncodeError) -> Void, redacting: Int? = nil) -> String {
        let bytes: [UInt8]
        do {
            bytes = try AMQPEncoder.encode(body)
        } catch {
            return " (cannot encode: \(error))"
        }
        let value: AMQPValue? = bytes.withUnsafeBytes { raw in
            try? ValueDecoder.decode(raw).value.materialize()
        }
        guard let value else { return " (cannot decode own encoding)" }
        return render(value, redactingField: redacting)
    }

    static func render(_ value: AMQPValue, redactingField: Int?) -> String {
        var out = ""
        if case .described(_, .list(let fields)) = value, let redactingField {
            out += "* {"
            for (i, field) in fields.enumerated() {
                if i > 0 { out += "," }
                if i == redactingField, case .binary(let b) = field {
                    out += "<redacted \(b.count) bytes>"
                } else {
                    write(field, into: &out)
                }
            }
            out += "}"
            return out
        }
        write(value, into: &out)
        return out
    }

    static func write(_ value: AMQPValue, into out: inout String) {
        switch value {
        case .null: out += "NULL"
        case .boolean(let v): out += v ? "true" : "false"
        case .ubyte(let v): out += String(v)
        case .ushort(let v): out += String(v)
        case .uint(let v): out += String(v)
        case .ulong(let v): out += String(v)
        case .byte(let v): out += String(v)
        case .short(let v): out += String(v)
        case .int(let v): out += String(v)
        case .long(let v): out += String(v)
        case .float(let v): out += twoDecimals(Double(v))
        case .double(let v): out += twoDecimals(v)
        case .decimal32(let v): out += "decimal32:" + hex(UInt64(v.bits), digits: 8)
        case .decimal64(let v): out += "decimal64:" + hex(v.bits, digits: 16)
        case .decimal128(let v): out += "decimal128:" + hex(v.high, digits: 16) + hex(v.low, digits: 16)
        case .char(let c): out += "U" + hex(UInt64(c.value), digits: 8)
        case .timestamp(let t): out += String(t.millisecondsSinceEpoch)
        case .uuid(let u): out += u.description
        case .binary(let b):
            out += "<"
            for (i, byte) in b.enumerated() {
                if i > 0 { out += " " }
                out += hex(UInt64(byte), digits: 2)
            }
            out += ">"
        case .string(let s): out += s
        case .symbol(let s): out += s.rawValue
        case .list(let items): writeSequence(items, into: &out)
        case .array(let a): writeSequence(a.elements, into: &out)
        case .map(let m):
            out += "{"
            for (i, entry) in m.entries.enumerated() {
                if i > 0 { out += "," }
                out += "["
                write(entry.key, into: &out)
                out += ":"
                write(entry.value, into: &out)
                out += "]"
            }
            out += "}"
        case .described(_, let inner):
            out += "* "
            write(inner, into: &out)
        }
    }

    static func writeSequence(_ items: [AMQPValue], into out: inout String) {
        out += "{"
        for (i, item) in items.enumerated() {
            if i > 0 { out += "," }
            write(item, into: &out)
        }
        out += "}"
    }

    static func hex(_ v: UInt64, digits: Int) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return s.count >= digits ? s : String(repeating: "0", count: digits - s.count) + s
    }

    /// C's `%.02f`, without Foundation: two decimals, rounded half away from zero.
    static func twoDecimals(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v < 0 ? "-inf" : "inf" }
        // Past 2^53 / 100 the cents no longer fit exactly; print the value as Swift does.
        guard abs(v) < 9.0e13 else { return String(v) }
        let cents = (abs(v) * 100).rounded(.toNearestOrAwayFromZero)
        let whole = UInt64(cents) / 100
        let frac = UInt64(cents) % 100
        let sign = v.sign == .minus ? "-" : ""  // as printf: -0.001 is "-0.00"
        return "\(sign)\(whole).\(frac < 10 ? "0" : "")\(frac)"
    }
}
