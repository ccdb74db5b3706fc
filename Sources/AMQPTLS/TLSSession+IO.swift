import AMQPEngine
import AMQPReactor
import CAMQPTLS

// The byte plumbing of a session: headers, ciphertext in and out, decryption into the
// ring, encryption from the staging buffer. `TLSConnection` decides when each runs.

extension TLSSession {
    enum HandshakeStep {
        case done(TLSPeerInfo)
        case waiting
        case failed
    }

    /// Starts the handshake clock at the first call that has a `now`.
    func armDeadline(_ now: EngineInstant) {
        guard handshakeDeadline == nil, phase != .established, phase != .failed else { return }
        let (seconds, attoseconds) = configuration.handshakeTimeout.components
        let ns = UInt64(max(0, seconds)) &* 1_000_000_000 &+ UInt64(max(0, attoseconds) / 1_000_000_000)
        handshakeDeadline = now.advanced(byNanoseconds: ns)
    }

    // MARK: Protocol headers

    /// Server: decides from the first bytes whether TLS starts at once (a TLS handshake
    /// record), after the AMQP TLS header, or not at all (a plaintext AMQP header: the
    /// client is told, with our header, that this port wants TLS). Client: checks the
    /// server's answer to our TLS header. Returns the bytes consumed.
    func receiveHeader(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard let first = bytes.first else { return 0 }
        let header = Self.tlsHeader
        if phase == .detecting && first == 0x16 {
            // A TLS handshake record (ContentType 22): TLS from the first byte.
            phase = .handshaking
            return 0
        }
        let prefix = min(bytes.count, 4)
        guard bytes.prefix(prefix).elementsEqual(header.prefix(prefix)) else {
            let seen = bytes.prefix(8).map { String($0, radix: 16) }.joined(separator: " ")
            if phase == .detecting {
                fail(TLSError(.notTLS, detail: "the client's first bytes (\(seen)) are neither a TLS handshake nor an AMQP protocol header"))
            } else {
                fail(TLSError(.protocolHeaderMismatch, detail: "the server answered the AMQP TLS header with bytes \(seen), not a protocol header"))
            }
            return bytes.count
        }
        guard bytes.count >= 8 else { return 0 }
        let id = bytes[4]
        let version = "\(bytes[5]).\(bytes[6]).\(bytes[7])"
        if id == 2 && bytes[5] == 1 && bytes[6] == 0 && bytes[7] == 0 {
            if phase == .detecting { headerToSend = header.count }
            phase = .handshaking
            return 8
        }
        if phase == .detecting {
            // AMQP part 2.2: answer with the header we do support, then close.
            headerToSend = header.count
            let what = id == 3 ? "SASL" : id == 0 ? "AMQP" : "id \(id)"
            fail(TLSError(.plaintextPeer, detail: "the client sent a plaintext \(what) protocol header (version \(version)) to a TLS endpoint; it must use TLS (amqps://)"))
        } else {
            fail(TLSError(.protocolHeaderMismatch, detail: "the server answered the AMQP TLS header with protocol id \(id) (version \(version)): it does not offer TLS this way; try TLS from the first byte (port 5671)"))
        }
        return bytes.count
    }

    /// Client, before the server's first TLS byte: an answer that starts like an AMQP
    /// header means the server speaks plaintext here. True when the bytes are (or may
    /// become) such a header; then either the session failed or more bytes are needed.
    func rejectsPlaintextAnswer(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard configuration.role == .client, !receivedAny else { return false }
        let header = Self.tlsHeader
        let prefix = min(bytes.count, 4)
        guard bytes.prefix(prefix).elementsEqual(header.prefix(prefix)) else {
            receivedAny = true
            return false
        }
        guard bytes.count >= 8 else { return true }
        let id = bytes[4]
        let what = id == 3 ? "SASL" : id == 0 ? "AMQP" : id == 2 ? "TLS" : "id \(id)"
        fail(TLSError(
            .plaintextPeer,
            detail: "the server answered the TLS handshake with a plaintext AMQP protocol header (\(what)): it does not speak TLS on this port (use amqp://, or the AMQP TLS header)"))
        return true
    }

    /// Writes what is left of our AMQP TLS header.
    func writeHeader(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard headerToSend > 0 else { return 0 }
        let header = Self.tlsHeader
        let start = header.count - headerToSend
        let n = min(headerToSend, buffer.count)
        for i in 0..<n { buffer[i] = header[start + i] }
        headerToSend -= n
        return n
    }

    // MARK: Ciphertext

    /// Copies ciphertext into OpenSSL's read BIO, keeping it bounded.
    func feed(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard !bytes.isEmpty else { return 0 }
        let held = camqp_tls_pending_in(ssl)
        guard held < Self.maxBufferedCiphertext else {
            inputStalled = true
            return 0
        }
        let n = min(bytes.count, Self.maxBufferedCiphertext - held)
        if n < bytes.count { inputStalled = true }
        guard camqp_tls_feed(ssl, bytes.baseAddress, n) == n else {
            fail(TLSError(.protocolFailure, detail: "OpenSSL could not buffer \(n) bytes of input: \(TLSFailure.take().text)"))
            return bytes.count
        }
        return n
    }

    /// Ciphertext waiting to be written.
    var pendingCiphertext: Int { camqp_tls_pending_out(ssl) }

    /// Moves queued ciphertext into `buffer`.
    func drain(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard !buffer.isEmpty, pendingCiphertext > 0 else { return 0 }
        return camqp_tls_drain(ssl, buffer.baseAddress, buffer.count)
    }

    // MARK: Handshake

    func handshake() -> HandshakeStep {
        switch Int(camqp_tls_handshake(ssl)) {
        case Int(CAMQP_TLS_OK):
            phase = .established
            handshakeDeadline = nil
            var subject: String? = nil
            if camqp_tls_verify_result(ssl) == 0 && configuration.verification != .none {
                var buffer = [CChar](repeating: 0, count: 1024)
                let n = buffer.withUnsafeMutableBufferPointer { camqp_tls_peer_subject(ssl, $0.baseAddress, $0.count) }
                if n > 0 { subject = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } }
            }
            let info = TLSPeerInfo(
                version: String(cString: camqp_tls_version(ssl)), cipher: String(cString: camqp_tls_cipher(ssl)),
                verifiedSubject: subject,
                requestedServerName: configuration.role == .server ? camqp_tls_requested_server_name(ssl).map { String(cString: $0) } : nil)
            peer = info
            return .done(info)
        case Int(CAMQP_TLS_WANT_READ), Int(CAMQP_TLS_WANT_WRITE):
            return .waiting
        default:
            fail(classify(during: true))
            return .failed
        }
    }

    // MARK: Plaintext

    /// Decrypts into the ring until OpenSSL wants more ciphertext or the ring is full.
    /// False when the TLS stream failed.
    func decrypt() -> Bool {
        if plain == nil {
            do {
                plain = try ByteRing(minimumCapacity: plainCapacity, storage: plainStorage)
            } catch {
                fail(TLSError(.protocolFailure, detail: "no memory for the decrypted bytes: \(error)"))
                return false
            }
        }
        while true {
            guard let room = plain?.writable else { return true }
            if room.isEmpty {
                inputStalled = true
                return true
            }
            let r = camqp_tls_read(ssl, room.baseAddress, room.count)
            if r > 0 {
                plain?.commitWrite(r)
                continue
            }
            switch Int(-r) {
            case Int(CAMQP_TLS_WANT_READ), Int(CAMQP_TLS_WANT_WRITE):
                return true
            case Int(CAMQP_TLS_CLOSED):
                receivedCloseNotify = true
                return true
            default:
                fail(classify(during: false))
                return false
            }
        }
    }

    /// Hands the decrypted bytes not yet consumed to `body` (the protocol above), in place.
    func offer(_ body: (UnsafeRawBufferPointer) -> Int) {
        guard let readable = plain?.readable else { return }
        guard readable.count > parsed else { return }
        let unparsed = UnsafeRawBufferPointer(rebasing: readable[parsed...])
        let used = body(unparsed)
        precondition(used >= 0 && used <= unparsed.count, "receive consumed \(used) of \(unparsed.count) bytes")
        parsed += used
    }

    /// Decrypted bytes the protocol above has not consumed.
    var unparsedPlaintext: Int { (plain?.count ?? parsed) - parsed }

    /// The events that could borrow decrypted bytes were delivered: release them. True
    /// when input had been left waiting for room.
    func released() -> Bool {
        let consumed = parsed > 0
        if consumed {
            plain?.consume(parsed)
            parsed = 0
        }
        // Also when nothing was consumed: a compacting ring full of one partial frame
        // that starts past the front must move it there, or the frame never completes.
        let moved = plain?.reclaim() ?? false
        let stalled = inputStalled
        inputStalled = false
        // Offer again only when room was made, so a machine that takes nothing is not
        // re-served on every tick.
        return stalled && (consumed || moved) && phase == .established
    }

    // MARK: Output

    /// Room in the staging buffer for `wanted` bytes of plaintext (grown on demand, up to
    /// `maxStaging`).
    func stagingRoom(for wanted: Int) -> UnsafeMutableRawBufferPointer {
        let size = min(max(wanted, 16 << 10), Self.maxStaging)
        if staging.count < size {
            staging.deallocate()
            staging = .allocate(byteCount: size, alignment: 16)
        }
        return UnsafeMutableRawBufferPointer(rebasing: staging[..<size])
    }

    /// Encrypts `bytes` into the write BIO (which takes them all). False on failure.
    func encrypt(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let r = camqp_tls_write(ssl, bytes.baseAddress! + offset, bytes.count - offset)
            guard r > 0 else {
                fail(classify(during: false))
                return false
            }
            offset += r
        }
        return true
    }

    func closeNotify() {
        sentCloseNotify = true
        camqp_tls_shutdown(ssl)
    }
}
