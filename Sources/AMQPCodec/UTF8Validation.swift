/// UTF-8 and ASCII checks over borrowed bytes, without building a `String`.
enum TextValidation {
    /// True when `bytes` is well-formed UTF-8 (no overlongs, no surrogates, ≤ U+10FFFF).
    static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if isASCII(bytes) { return true }
        var i = 0
        let n = bytes.count
        // Fast path: eight ASCII bytes at a time.
        while i &+ 8 <= n {
            let w = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if w & 0x8080_8080_8080_8080 != 0 { break }
            i &+= 8
        }
        while i < n {
            let b0 = bytes[i]
            if b0 < 0x80 { i &+= 1; continue }
            let len: Int
            var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: len = 2
            case 0xE0: len = 3; lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: len = 3
            case 0xED: len = 3; hi = 0x9F
            case 0xF0: len = 4; lo = 0x90
            case 0xF1...0xF3: len = 4
            case 0xF4: len = 4; hi = 0x8F
            default: return false
            }
            guard i &+ len <= n else { return false }
            let b1 = bytes[i &+ 1]
            guard b1 >= lo && b1 <= hi else { return false }
            var k = 2
            while k < len {
                guard bytes[i &+ k] & 0xC0 == 0x80 else { return false }
                k &+= 1
            }
            i &+= len
        }
        return true
    }

    /// True when every byte is ASCII: whole words, the last one overlapping the one
    /// before it, so that the short strings and symbols of every message's properties
    /// are checked without a loop over their last bytes.
    @inline(__always)
    static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let n = bytes.count
        guard let p = bytes.baseAddress else { return true }
        let high: UInt64 = 0x8080_8080_8080_8080
        if n >= 8 {
            var seen: UInt64 = 0
            var i = 0
            while i &+ 8 < n {
                seen |= p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                i &+= 8
            }
            seen |= p.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
            return seen & high == 0
        }
        if n >= 4 {
            let w = p.loadUnaligned(as: UInt32.self) | p.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)
            return w & 0x8080_8080 == 0
        }
        var b: UInt8 = 0
        for i in 0..<n { b |= p.load(fromByteOffset: i, as: UInt8.self) }
        return b & 0x80 == 0
    }

    /// Offset of the first byte that is not ASCII, or `nil`.
    static func firstNonASCII(_ bytes: UnsafeRawBufferPointer) -> Int? {
        if isASCII(bytes) { return nil }
        var i = 0
        let n = bytes.count
        while i &+ 8 <= n {
            if bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { break }
            i &+= 8
        }
        while i < n {
            if bytes[i] >= 0x80 { return i }
            i &+= 1
        }
        return nil
    }
}
