/// Frame opcodes (RFC 6455 section 5.2).
public enum WebSocketOpcode: UInt8, Hashable, Sendable {
    /// The next fragment of a message.
    case continuation = 0x0
    /// A text message (refused: AMQP is binary).
    case text = 0x1
    /// A binary message: what carries AMQP bytes.
    case binary = 0x2
    /// Close.
    case close = 0x8
    /// Ping (answered with pong).
    case ping = 0x9
    /// Pong.
    case pong = 0xA

    /// True for close, ping and pong.
    public var isControl: Bool { rawValue & 0x8 != 0 }
}

/// Writing frames: headers and masking.
public enum WebSocketFrame {
    /// The header length for `payload` bytes: 2, 4 or 10, plus 4 for a mask key.
    public static func headerLength(payload: Int, masked: Bool) -> Int {
        (payload <= 125 ? 2 : payload <= 0xFFFF ? 4 : 10) + (masked ? 4 : 0)
    }

    /// Writes a final frame's header for `payload` bytes into `out` (at least
    /// `headerLength` bytes) and returns its length. The length uses the fewest bytes,
    /// as section 5.2 requires.
    public static func writeHeader(
        _ opcode: WebSocketOpcode, payload: Int, mask: UInt32?, into out: UnsafeMutableRawBufferPointer
    ) -> Int {
        out[0] = 0x80 | opcode.rawValue
        let maskBit: UInt8 = mask == nil ? 0 : 0x80
        var n: Int
        if payload <= 125 {
            out[1] = maskBit | UInt8(payload)
            n = 2
        } else if payload <= 0xFFFF {
            out[1] = maskBit | 126
            out[2] = UInt8(payload >> 8)
            out[3] = UInt8(payload & 0xFF)
            n = 4
        } else {
            out[1] = maskBit | 127
            for i in 0..<8 { out[2 + i] = UInt8(truncatingIfNeeded: UInt64(payload) >> UInt64(56 - 8 * i)) }
            n = 10
        }
        if let mask {
            // The key on the wire is the mask's bytes in order; `applyMask` uses them so.
            for i in 0..<4 { out[n + i] = UInt8(truncatingIfNeeded: mask >> UInt32(24 - 8 * i)) }
            n += 4
        }
        return n
    }

    /// XORs `bytes` with `mask` (its big-endian bytes repeated), starting at byte `phase`
    /// of the key; returns the phase after the last byte. Masking and unmasking are the
    /// same operation.
    @discardableResult
    public static func applyMask(_ mask: UInt32, phase: Int = 0, to bytes: UnsafeMutableRawBufferPointer) -> Int {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return phase }
        return xor(from: UnsafeRawPointer(base), to: base, count: bytes.count, mask: mask, phase: phase)
    }

    /// Copies `source` into `destination` (at least as long) XORed with `mask` from byte
    /// `phase` of the key, in one pass: a server unmasks while it copies a payload into
    /// its ring. Returns the phase after the last byte.
    @discardableResult
    public static func copyMasked(
        _ source: UnsafeRawBufferPointer, to destination: UnsafeMutableRawBufferPointer, mask: UInt32, phase: Int = 0
    ) -> Int {
        precondition(destination.count >= source.count, "copyMasked: \(source.count) bytes into \(destination.count)")
        guard let src = source.baseAddress, let dst = destination.baseAddress, !source.isEmpty else { return phase }
        return xor(from: src, to: dst, count: source.count, mask: mask, phase: phase)
    }

    /// The XOR itself: bytes one by one until the key is back at phase 0, then 8-byte
    /// words, four per round, then the tail. `from` may equal `to`. (A `SIMD32<UInt8>`
    /// loop measured 30 times slower here: its operators were not specialized.)
    static func xor(from src: UnsafeRawPointer, to dst: UnsafeMutableRawPointer, count: Int, mask: UInt32, phase: Int) -> Int {
        let key: (UInt8, UInt8, UInt8, UInt8) = (UInt8(mask >> 24), UInt8(mask >> 16 & 0xFF), UInt8(mask >> 8 & 0xFF), UInt8(mask & 0xFF))
        func keyByte(_ p: Int) -> UInt8 {
            switch p & 3 {
            case 0: key.0
            case 1: key.1
            case 2: key.2
            default: key.3
            }
        }
        var p = phase & 3
        var i = 0
        while i < count && p != 0 {
            dst.storeBytes(of: src.load(fromByteOffset: i, as: UInt8.self) ^ keyByte(p), toByteOffset: i, as: UInt8.self)
            i += 1
            p = (p + 1) & 3
        }
        if count - i >= 8 {
            // The key repeated in memory order, as a little-endian word (k0 k1 k2 k3 k0 …).
            var w: UInt64 = 0
            for j in 0..<8 { w |= UInt64(keyByte(j)) << UInt64(8 * j) }
            w = UInt64(littleEndian: w)
            while count - i >= 32 {
                let a = src.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let b = src.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)
                let c = src.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self)
                let d = src.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self)
                dst.storeBytes(of: a ^ w, toByteOffset: i, as: UInt64.self)
                dst.storeBytes(of: b ^ w, toByteOffset: i + 8, as: UInt64.self)
                dst.storeBytes(of: c ^ w, toByteOffset: i + 16, as: UInt64.self)
                dst.storeBytes(of: d ^ w, toByteOffset: i + 24, as: UInt64.self)
                i += 32
            }
            while count - i >= 8 {
                dst.storeBytes(of: src.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ w, toByteOffset: i, as: UInt64.self)
                i += 8
            }
        }
        while i < count {
            dst.storeBytes(of: src.load(fromByteOffset: i, as: UInt8.self) ^ keyByte(p), toByteOffset: i, as: UInt8.self)
            i += 1
            p = (p + 1) & 3
        }
        return p
    }
}

/// Reads frames from a byte stream, incrementally: data frame payloads are copied
/// (unmasked on the way) into a buffer the caller gives, as they arrive, whatever their
/// split; control frames are returned whole. Everything RFC 6455 forbids, and frames
/// over the configured bound, end reading with a typed error and the close status to
/// send.
public struct WebSocketFrameReader: Sendable {
    /// What one `read` call found.
    public struct Result: Sendable {
        /// Input bytes consumed.
        public var consumed = 0
        /// Payload bytes written into the output buffer.
        public var written = 0
        /// A control frame that ended the call (the caller handles it, then reads on).
        public var control: (opcode: WebSocketOpcode, payload: [UInt8])? = nil
        /// A violation: reading is over, and `error.closeStatus` is what to close with.
        public var error: WebSocketError? = nil
    }

    /// True when reading what a server sends (frames must be unmasked); false when
    /// reading what a client sends (frames must be masked).
    public let readsServerFrames: Bool
    /// The longest payload accepted.
    public let maxPayload: Int

    /// Payload bytes of the current data frame still to come (0: between frames).
    var remaining = 0
    var mask: UInt32? = nil
    var maskPhase = 0
    /// A data message without FIN has begun: continuation frames may follow.
    var inMessage = false
    /// After an error nothing more is read.
    public private(set) var failed = false

    /// A reader for frames from a server (`readsServerFrames`) or from a client.
    public init(readsServerFrames: Bool, maxPayload: Int) {
        self.readsServerFrames = readsServerFrames
        self.maxPayload = maxPayload
    }

    /// True between frames (no data frame payload is pending).
    public var isBetweenFrames: Bool { remaining == 0 }

    /// Payload bytes of the current data frame still to come.
    public var remainingPayload: Int { remaining }

    /// Marks `n` bytes of the current frame's payload as taken where they lie, in the
    /// input (a client parses a server's unmasked payload in place).
    public mutating func skipPayload(_ n: Int) {
        precondition(mask == nil && n >= 0 && n <= remaining, "skipPayload(\(n)) with \(remaining) left")
        remaining -= n
    }

    /// Reads frames from `input`, writing data payload into `output` until it is full.
    /// Returns after a control frame (in `control`), an error, or when input or room
    /// ran out. Bytes not consumed must be offered again, with more appended.
    public mutating func read(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Result {
        var r = Result()
        guard !failed else { return r }
        while true {
            if remaining > 0 {
                let n = min(remaining, input.count - r.consumed, output.count - r.written)
                if n == 0 { return r }
                let dst = UnsafeMutableRawBufferPointer(rebasing: output[r.written..<(r.written + n)])
                let src = UnsafeRawBufferPointer(rebasing: input[r.consumed..<(r.consumed + n)])
                if let mask {
                    maskPhase = WebSocketFrame.copyMasked(src, to: dst, mask: mask, phase: maskPhase)
                } else {
                    dst.copyMemory(from: src)
                }
                r.consumed += n
                r.written += n
                remaining -= n
                continue
            }
            let rest = UnsafeRawBufferPointer(rebasing: input[r.consumed...])
            guard rest.count >= 2 else { return r }
            let b0 = rest[0]
            let b1 = rest[1]
            func fail(_ code: WebSocketError.Code, _ status: WebSocketCloseStatus, _ detail: String) -> Result {
                failed = true
                r.error = WebSocketError(code, detail: detail, closeStatus: status)
                return r
            }
            guard b0 & 0x70 == 0 else {
                return fail(.reservedBits, .protocolError, "a frame with reserved bits \(String(b0 >> 4 & 7, radix: 2)) set; no extension was negotiated")
            }
            guard let opcode = WebSocketOpcode(rawValue: b0 & 0x0F) else {
                return fail(.reservedOpcode, .protocolError, "a frame with reserved opcode \(b0 & 0x0F)")
            }
            let fin = b0 & 0x80 != 0
            let masked = b1 & 0x80 != 0
            if masked == readsServerFrames {
                return fail(
                    .maskingViolation, .protocolError,
                    readsServerFrames ? "the server sent a masked frame (servers must not mask)" : "the client sent an unmasked frame (clients must mask every frame)")
            }
            let short = Int(b1 & 0x7F)
            var headerLength = 2
            var length = short
            if short == 126 {
                headerLength = 4
                guard rest.count >= 4 else { return r }
                length = Int(rest[2]) << 8 | Int(rest[3])
            } else if short == 127 {
                headerLength = 10
                guard rest.count >= 10 else { return r }
                guard rest[2] & 0x80 == 0 else {
                    return fail(.frameTooLarge, .protocolError, "a frame length with its most significant bit set")
                }
                var v: UInt64 = 0
                for i in 2..<10 { v = v << 8 | UInt64(rest[i]) }
                guard v <= UInt64(maxPayload) else {
                    return fail(.frameTooLarge, .messageTooBig, "a frame of \(v) bytes; at most \(maxPayload) are accepted")
                }
                length = Int(v)
            }
            if masked { headerLength += 4 }
            if opcode.isControl {
                guard fin else { return fail(.invalidControlFrame, .protocolError, "a fragmented \(opcode) frame (control frames must not be fragmented)") }
                guard length <= 125 else {
                    return fail(.invalidControlFrame, .protocolError, "a \(opcode) frame of \(length) bytes (control frames carry at most 125)")
                }
                // Control frames are short: wait until the whole frame is here.
                guard rest.count >= headerLength + length else { return r }
                var payload = Array(rest[headerLength..<(headerLength + length)])
                if masked {
                    let key = Self.key(rest, at: headerLength - 4)
                    payload.withUnsafeMutableBytes { _ = WebSocketFrame.applyMask(key, to: $0) }
                }
                r.consumed += headerLength + length
                r.control = (opcode, payload)
                return r
            }
            guard length <= maxPayload else {
                return fail(.frameTooLarge, .messageTooBig, "a frame of \(length) bytes; at most \(maxPayload) are accepted")
            }
            switch opcode {
            case .text:
                return fail(.textFrame, .unsupportedData, "a text frame; AMQP is carried in binary frames only")
            case .continuation:
                guard inMessage else { return fail(.invalidFragmentation, .protocolError, "a continuation frame with no message in progress") }
            default:
                guard !inMessage else { return fail(.invalidFragmentation, .protocolError, "a new binary message while a fragmented one was in progress") }
            }
            guard rest.count >= headerLength else { return r }
            inMessage = !fin
            mask = masked ? Self.key(rest, at: headerLength - 4) : nil
            maskPhase = 0
            remaining = length
            r.consumed += headerLength
        }
    }

    static func key(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }
}
