public import AMQPCodec

/// Compact one-line renderings of frames and performatives for failure messages: the
/// name in capitals and only the fields that differ from their defaults, e.g.
/// `OPEN(container-id: "c", max-frame-size: 512, idle-time-out: 1000)`.
public enum FrameDescription {
    /// Describes an AMQP performative.
    public static func describe(_ p: Performative) -> String {
        var f = FieldList()
        switch p {
        case .open(let o):
            f.add("container-id", quoted: o.containerID)
            f.add("hostname", quoted: o.hostname)
            f.add("max-frame-size", o.maxFrameSize, unless: .max)
            f.add("channel-max", o.channelMax, unless: .max)
            f.add("idle-time-out", o.idleTimeOut)
            f.add("outgoing-locales", o.outgoingLocales)
            f.add("incoming-locales", o.incomingLocales)
            f.add("offered-capabilities", o.offeredCapabilities)
            f.add("desired-capabilities", o.desiredCapabilities)
            f.add("properties", o.properties)
        case .begin(let b):
            f.add("remote-channel", b.remoteChannel)
            f.add("next-outgoing-id", b.nextOutgoingID)
            f.add("incoming-window", b.incomingWindow)
            f.add("outgoing-window", b.outgoingWindow)
            f.add("handle-max", b.handleMax, unless: .max)
            f.add("offered-capabilities", b.offeredCapabilities)
            f.add("desired-capabilities", b.desiredCapabilities)
            f.add("properties", b.properties)
        case .attach(let a):
            f.add("name", quoted: a.name)
            f.add("handle", a.handle)
            f.add("role", a.role == .sender ? "sender" : "receiver")
            f.add("snd-settle-mode", "\(a.sndSettleMode)")
            f.add("rcv-settle-mode", "\(a.rcvSettleMode)")
            if let source = a.source { f.add("source", "\(source)") }
            if let target = a.target { f.add("target", "\(target)") }
            f.add("initial-delivery-count", a.initialDeliveryCount)
            f.add("max-message-size", a.maxMessageSize)
            f.add("offered-capabilities", a.offeredCapabilities)
            f.add("desired-capabilities", a.desiredCapabilities)
            f.add("properties", a.properties)
        case .flow(let fl):
            f.add("next-incoming-id", fl.nextIncomingID)
            f.add("incoming-window", fl.incomingWindow)
            f.add("next-outgoing-id", fl.nextOutgoingID)
            f.add("outgoing-window", fl.outgoingWindow)
            f.add("handle", fl.handle)
            f.add("delivery-count", fl.deliveryCount)
            f.add("link-credit", fl.linkCredit)
            f.add("available", fl.available)
            f.add("drain", fl.drain, unless: false)
            f.add("echo", fl.echo, unless: false)
            f.add("properties", fl.properties)
        case .transfer(let t):
            f.add("handle", t.handle)
            f.add("delivery-id", t.deliveryID)
            if let tag = t.deliveryTag { f.add("delivery-tag", "\(tag)") }
            f.add("message-format", t.messageFormat)
            f.add("settled", t.settled)
            f.add("more", t.more, unless: false)
            if let state = t.state { f.add("state", "\(state)") }
            f.add("resume", t.resume, unless: false)
            f.add("aborted", t.aborted, unless: false)
            f.add("batchable", t.batchable, unless: false)
        case .disposition(let d):
            f.add("role", d.role == .sender ? "sender" : "receiver")
            f.add("first", d.first)
            f.add("last", d.last)
            f.add("settled", d.settled, unless: false)
            if let state = d.state { f.add("state", "\(state)") }
            f.add("batchable", d.batchable, unless: false)
        case .detach(let d):
            f.add("handle", d.handle)
            f.add("closed", d.closed, unless: false)
            f.add("error", d.error)
        case .end(let e):
            f.add("error", e.error)
        case .close(let c):
            f.add("error", c.error)
        }
        return p.name.uppercased() + f.rendered
    }

    /// Describes a SASL performative.
    public static func describe(_ p: SASLPerformative) -> String {
        var f = FieldList()
        switch p {
        case .saslMechanisms(let m):
            f.add("sasl-server-mechanisms", m.saslServerMechanisms)
        case .saslInit(let i):
            f.add("mechanism", i.mechanism.rawValue)
            if let r = i.initialResponse { f.add("initial-response", hex(r, limit: 32)) }
            f.add("hostname", quoted: i.hostname)
        case .saslChallenge(let c):
            f.add("challenge", hex(c.challenge, limit: 32))
        case .saslResponse(let r):
            f.add("response", hex(r.response, limit: 32))
        case .saslOutcome(let o):
            f.add("code", describe(o.code))
            if let d = o.additionalData { f.add("additional-data", hex(d, limit: 32)) }
        }
        return p.name.uppercased() + f.rendered
    }

    /// The specification's name of a SASL code: `ok`, `auth`, `sys`, `sys-perm`, `sys-temp`.
    public static func describe(_ code: SASLCode) -> String {
        switch code {
        case .ok: "ok"
        case .auth: "auth"
        case .sys: "sys"
        case .sysPerm: "sys-perm"
        case .sysTemp: "sys-temp"
        }
    }

    /// Describes a frame header: `size=12 doff=2 type=0 channel=0`.
    public static func describe(_ h: FrameHeader) -> String {
        "size=\(h.size) doff=\(h.dataOffset) type=\(h.type.rawValue) channel=\(h.channel)"
    }

    /// `text` cut to `limit` characters, with the total when cut.
    public static func truncated(_ text: String, to limit: Int) -> String {
        text.count <= limit ? text : text.prefix(limit) + "… (\(text.count) characters)"
    }

    /// Up to `limit` bytes in hex, with the total when cut: `41 4d 51 50 … (300 bytes)`.
    public static func hex(_ bytes: [UInt8], limit: Int = 64) -> String {
        let digits: [Character] = Array("0123456789abcdef")
        var s = ""
        for (i, b) in bytes.prefix(limit).enumerated() {
            if i > 0 { s.append(" ") }
            s.append(digits[Int(b >> 4)])
            s.append(digits[Int(b & 0xF)])
        }
        if bytes.count > limit { s += " … (\(bytes.count) bytes)" }
        return bytes.isEmpty ? "<no bytes>" : s
    }
}

/// `(name: value, …)`, skipping absent and default fields.
struct FieldList {
    private var parts: [String] = []

    var rendered: String { parts.isEmpty ? "" : "(" + parts.joined(separator: ", ") + ")" }

    mutating func add(_ name: String, _ value: String) { parts.append("\(name): \(value)") }
    mutating func add(_ name: String, quoted value: String?) {
        if let value { add(name, "\"\(value)\"") }
    }
    mutating func add<T: BinaryInteger>(_ name: String, _ value: T?) {
        if let value { add(name, "\(value)") }
    }
    mutating func add<T: BinaryInteger>(_ name: String, _ value: T, unless defaultValue: T) {
        if value != defaultValue { add(name, "\(value)") }
    }
    mutating func add(_ name: String, _ value: Bool?) {
        if let value { add(name, "\(value)") }
    }
    mutating func add(_ name: String, _ value: Bool, unless defaultValue: Bool) {
        if value != defaultValue { add(name, "\(value)") }
    }
    mutating func add(_ name: String, _ symbols: [Symbol]) {
        if !symbols.isEmpty { add(name, "[" + symbols.map(\.rawValue).joined(separator: " ") + "]") }
    }
    mutating func add(_ name: String, _ fields: Fields?) {
        guard let fields else { return }
        add(name, "{" + fields.entries.map { "\($0.key.rawValue): \($0.value)" }.joined(separator: ", ") + "}")
    }
    mutating func add(_ name: String, _ error: AMQPError?) {
        guard let error else { return }
        var s = error.condition.symbol.rawValue
        if let d = error.errorDescription { s += " \"" + FrameDescription.truncated(d, to: 120) + "\"" }
        if let info = error.info { s += " info {" + info.entries.map { "\($0.key.rawValue): \($0.value)" }.joined(separator: ", ") + "}" }
        add(name, s)
    }
}
