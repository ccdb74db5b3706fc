// HMAC-SHA256, for signing Shared Access Signature tokens (see SHA256.swift for why
// this is not a crypto package).

/// HMAC (RFC 2104) over SHA-256.
enum HMACSHA256 {
    /// The 32-byte authentication code of `message` under `key`.
    static func authenticate(_ message: some Sequence<UInt8>, key: some Collection<UInt8>) -> [UInt8] {
        // Keys longer than the 64-byte block are hashed first; shorter ones zero-padded.
        var k = key.count > 64 ? SHA256.hash(key) : Array(key)
        k += [UInt8](repeating: 0, count: 64 - k.count)
        var inner = SHA256()
        inner.update(k.map { $0 ^ 0x36 })
        inner.update(message)
        var outer = SHA256()
        outer.update(k.map { $0 ^ 0x5c })
        outer.update(inner.finalize())
        return outer.finalize()
    }
}
