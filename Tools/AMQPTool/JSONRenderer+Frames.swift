public import AMQPCodec

extension JSONRenderer {
    /// A protocol header as a JSON line.
    public static func render(_ header: ProtocolHeader) -> String {
        var r = JSONRenderer()
        r.write(header)
        return r.text
    }

    /// A frame as a JSON line; `byteLimit` as for `init`.
    public static func render(_ frame: FrameView, byteLimit: Int = .max) throws(DecodeError) -> String {
        var r = JSONRenderer(byteLimit: byteLimit)
        try r.write(frame)
        return r.text
    }

    /// Appends `{"protocol-header":{…}}`.
    public mutating func write(_ header: ProtocolHeader) {
        raw(#"{"protocol-header":{"id":""#)
        switch header.id {
        case .amqp: raw("amqp")
        case .tls: raw("tls")
        case .sasl: raw("sasl")
        }
        raw(#"","major":\#(header.major),"minor":\#(header.minor),"revision":\#(header.revision)}}"#)
    }

    /// Appends a frame: its header, then `"empty":true` or the performative, then the
    /// payload when bytes follow the performative.
    ///
    /// A known performative prints as `{"name":…,"fields":{…}}` with only the fields
    /// present on the wire (not null). Elements beyond the fields the specification
    /// defines are keyed by their zero-based position (`"11"`). A body whose descriptor
    /// is not a performative, or whose described value is not a list, prints as a plain
    /// described node under `"performative"`, so nothing in a capture is hidden.
    public mutating func write(_ frame: FrameView) throws(DecodeError) {
        let h = frame.header
        raw(#"{"frame":{"size":\#(h.size),"doff":\#(h.dataOffset),"type":""#)
        raw(h.type == .amqp ? "amqp" : "sasl")
        raw(#"","channel":\#(h.channel)}"#)
        if frame.extendedHeader.count > 0 {
            raw(#","extended-header":""#)
            hexBytes(frame.extendedHeader.bytes)
            raw("\"")
        }
        guard let performative = frame.performative else {
            raw(#","empty":true}"#)
            return
        }
        raw(#","performative":"#)
        try write(performative: performative)
        if frame.payload.count > 0 {
            raw(#","payload":""#)
            hexBytes(frame.payload.bytes)
            raw("\"")
        }
        raw("}")
    }

    mutating func write(performative p: DescribedView) throws(DecodeError) {
        let value = try p.value()
        guard let code = p.descriptor.knownCode, let known = PerformativeFields.lookup(code),
            case .list(let list) = value
        else {
            try described(p.descriptor) { (r) throws(DecodeError) in try r.write(value) }
            return
        }
        raw(#"{"name":""#)
        raw(known.name)
        raw(#"","fields":{"#)
        var cursor = list.makeCursor()
        var index = 0
        var first = true
        while let field = try cursor.next() {
            defer { index += 1 }
            if case .null = field { continue }
            comma(&first)
            raw("\"")
            raw(index < known.fields.count ? known.fields[index] : String(index))
            raw("\":")
            try write(field)
        }
        raw("}}")
    }
}
