/// An HTTP/1.1 head (start line and header fields) as the opening handshake uses it:
/// the bytes up to the blank line, split into lines, field names lower-cased, values
/// trimmed. Repeated fields are joined with commas, as HTTP allows for lists.
struct HTTPHeaders {
    /// The request or status line.
    var startLine: String
    /// Field values by lower-cased name.
    var fields: [String: String] = [:]

    /// The end of the head in `bytes` (the index after CR LF CR LF), or `nil` while it
    /// is incomplete.
    static func headEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var i = 3
        while i < bytes.count {
            // Step by what the last byte allows: only a LF can end the head.
            if bytes[i] == 10 {
                if bytes[i - 1] == 13 && bytes[i - 2] == 10 && bytes[i - 3] == 13 { return i + 1 }
                i += 2
            } else if bytes[i] == 13 {
                i += 1
            } else {
                i += 4
            }
        }
        return nil
    }

    /// Parses `head` (ending with the blank line). Throws `.malformedHandshake` for what
    /// is not HTTP: bare line feeds, folded lines, fields without a colon, bytes that
    /// are not text.
    init(parsing head: UnsafeRawBufferPointer) throws(WebSocketError) {
        func fail(_ detail: String) -> WebSocketError { WebSocketError(.malformedHandshake, detail: detail) }
        var lines: [String] = []
        var start = 0
        var i = 0
        while i < head.count {
            if head[i] == 13 {
                guard i + 1 < head.count, head[i + 1] == 10 else { throw fail("a carriage return without a line feed") }
                let line = UnsafeRawBufferPointer(rebasing: head[start..<i])
                guard !line.contains(where: { ($0 < 32 && $0 != 9) || $0 == 127 }) else {
                    throw fail("control characters in a header line")
                }
                lines.append(String(decoding: line, as: UTF8.self))
                i += 2
                start = i
            } else if head[i] == 10 {
                throw fail("a line feed without a carriage return")
            } else {
                i += 1
            }
        }
        // The last line is the empty one that ends the head.
        guard lines.count >= 2, lines.last!.isEmpty, !lines[0].isEmpty else { throw fail("no start line") }
        startLine = lines[0]
        for line in lines[1..<(lines.count - 1)] {
            guard let first = line.first, first != " " && first != "\t" else {
                throw fail("a folded header line (obsolete in HTTP/1.1)")
            }
            guard let colon = line.firstIndex(of: ":") else { throw fail("a header line without a colon: \"\(line.prefix(60))\"") }
            let name = line[..<colon]
            guard !name.isEmpty, name.utf8.allSatisfy(Self.isTokenByte) else { throw fail("a header name that is not a token: \"\(name.prefix(60))\"") }
            let value = line[line.index(after: colon)...].trimmingSpaces
            let key = name.lowercased()
            if let old = fields[key] { fields[key] = old + ", " + value } else { fields[key] = String(value) }
        }
    }

    subscript(_ name: String) -> String? { fields[name] }

    /// True when the comma-separated list in field `name` holds `token` (any case).
    func list(_ name: String, contains token: String) -> Bool {
        guard let v = fields[name] else { return false }
        return v.split(separator: ",").contains { $0.trimmingSpaces.lowercased() == token.lowercased() }
    }

    /// The bytes HTTP allows in a token (RFC 9110 section 5.6.2).
    static func isTokenByte(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: Array("!#$%&'*+-.^_`|~".utf8).contains(c)
        }
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
