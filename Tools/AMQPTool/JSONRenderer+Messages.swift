public import AMQPCodec

// Messages as the one-line JSON of `amqp receive --print` (Docs/amqp-cli.md).
//
// Fields whose AMQP type the specification fixes (header fields, `to`, `subject`,
// times…) are plain JSON; values whose type travels with them (application properties,
// annotations, message ids, amqp-value and amqp-sequence bodies) are the typed nodes of
// `amqp decode`, so nothing about them is lost. Binary is lowercase hex throughout, as
// in `amqp decode`.

extension JSONRenderer {
    /// One message as a JSON line (without the newline): the sections present, in wire
    /// order (`header`, `delivery-annotations`, `message-annotations`, `properties`,
    /// `application-properties`, `body`, `footer`). `byteLimit` as for `init`.
    public static func render(_ message: Message, byteLimit: Int = .max) throws -> String {
        var r = JSONRenderer(byteLimit: byteLimit)
        try r.write(message)
        return r.text
    }

    /// Appends a message object.
    public mutating func write(_ message: Message) throws {
        raw("{")
        var first = true
        if let h = message.header {
            member("header", &first)
            raw(#"{"durable":"#)
            raw(h.durable ? "true" : "false")
            raw(#","priority":"#)
            raw(String(h.priority))
            if let ttl = h.ttl {
                raw(#","ttl":"#)
                raw(String(ttl))
            }
            raw(#","first-acquirer":"#)
            raw(h.firstAcquirer ? "true" : "false")
            raw(#","delivery-count":"#)
            raw(String(h.deliveryCount))
            raw("}")
        }
        if let a = message.deliveryAnnotations {
            member("delivery-annotations", &first)
            try write(a)
        }
        if let a = message.messageAnnotations {
            member("message-annotations", &first)
            try write(a)
        }
        if let p = message.properties {
            member("properties", &first)
            try write(p)
        }
        if let ap = message.applicationProperties {
            member("application-properties", &first)
            raw("{")
            var inner = true
            for entry in ap.entries {
                member(entry.key, &inner)
                try write(owned: entry.value)
            }
            raw("}")
        }
        if let body = message.body {
            member("body", &first)
            try write(body)
        }
        if let f = message.footer {
            member("footer", &first)
            try write(f)
        }
        raw("}")
    }

    /// `{"type":"data","value":["<hex>",…],"text":"…"}` (`text` when the sections,
    /// joined, are UTF-8), `{"type":"value","value":node}` or
    /// `{"type":"sequence","value":[[node,…],…]}`.
    mutating func write(_ body: MessageBody) throws {
        switch body {
        case .data(let sections):
            raw(#"{"type":"data","value":["#)
            var first = true
            for s in sections {
                comma(&first)
                raw("\"")
                s.withUnsafeBytes { hexBytes($0) }
                raw("\"")
            }
            raw("]")
            let joined = sections.count == 1 ? sections[0] : Array(sections.joined())
            if let text = String(validating: joined, as: UTF8.self) {
                raw(#","text":"#)
                jsonString(text)
            }
            raw("}")
        case .value(let v):
            raw(#"{"type":"value","value":"#)
            try write(owned: v)
            raw("}")
        case .sequence(let sections):
            raw(#"{"type":"sequence","value":["#)
            var first = true
            for items in sections {
                comma(&first)
                raw("[")
                var inner = true
                for item in items {
                    comma(&inner)
                    try write(owned: item)
                }
                raw("]")
            }
            raw("]}")
        }
    }

    /// The properties set, in the specification's order; ids as typed nodes, the rest
    /// plain (times in milliseconds since the Unix epoch, `user-id` in hex).
    mutating func write(_ p: MessageProperties) throws {
        raw("{")
        var first = true
        if let id = p.messageID {
            member("message-id", &first)
            try writeEncoded { (e) throws(EncodeError) in try id.encode(into: &e) }
        }
        if let userID = p.userID {
            member("user-id", &first)
            raw("\"")
            userID.withUnsafeBytes { hexBytes($0) }
            raw("\"")
        }
        text("to", p.to, &first)
        text("subject", p.subject, &first)
        text("reply-to", p.replyTo, &first)
        if let id = p.correlationID {
            member("correlation-id", &first)
            try writeEncoded { (e) throws(EncodeError) in try id.encode(into: &e) }
        }
        text("content-type", p.contentType?.rawValue, &first)
        text("content-encoding", p.contentEncoding?.rawValue, &first)
        number("absolute-expiry-time", p.absoluteExpiryTime.map { String($0.millisecondsSinceEpoch) }, &first)
        number("creation-time", p.creationTime.map { String($0.millisecondsSinceEpoch) }, &first)
        text("group-id", p.groupID, &first)
        number("group-sequence", p.groupSequence.map { String($0) }, &first)
        text("reply-to-group-id", p.replyToGroupID, &first)
        raw("}")
    }

    /// An annotations map as an object: symbol keys by name, ulong keys in decimal.
    mutating func write(_ annotations: Annotations) throws {
        raw("{")
        var first = true
        for entry in annotations.entries {
            member(entry.key.description, &first)
            try write(owned: entry.value)
        }
        raw("}")
    }

    /// An owned value as the typed node `amqp decode` prints for its encoding.
    mutating func write(owned value: AMQPValue) throws {
        try writeEncoded { (e) throws(EncodeError) in try value.encode(into: &e) }
    }

    /// Encodes one value with `body` and renders it from the bytes, so owned values and
    /// wire values print through the same code.
    mutating func writeEncoded(_ body: (inout AMQPEncoder) throws(EncodeError) -> Void) throws {
        let bytes = try AMQPEncoder.encode(body)
        // An untyped closure: a typed-throws one here crashed Swift 6.3.1's IR
        // generation (reabstracting `throws(DecodeError)` to `throws`).
        try bytes.withUnsafeBytes { raw in
            let (view, _) = try ValueDecoder.decode(raw)
            try write(view)
        }
    }

    // MARK: Pieces

    /// `"name":`, after a comma unless it is the first member.
    mutating func member(_ name: String, _ first: inout Bool) {
        comma(&first)
        jsonString(name)
        raw(":")
    }

    mutating func text(_ name: String, _ value: String?, _ first: inout Bool) {
        guard let value else { return }
        member(name, &first)
        jsonString(value)
    }

    mutating func number(_ name: String, _ literal: String?, _ first: inout Bool) {
        guard let literal else { return }
        member(name, &first)
        raw(literal)
    }

    /// A Swift string as a JSON string, escaped as `amqp decode` escapes.
    mutating func jsonString(_ s: String) {
        var s = s
        s.withUTF8 { string(UnsafeRawBufferPointer($0)) }
    }
}
