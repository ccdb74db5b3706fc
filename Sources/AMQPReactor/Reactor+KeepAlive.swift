import AMQPEngine
import CAMQPLinux
import Glibc

// Heartbeats outside the rings. An idle connection's rings give their pages back to the
// kernel (`ringIdleRelease`); before this, every heartbeat took a page back into each ring
// (the empty frame written, the one read) and the next sweep gave both back again with
// MADV_REMOVE. Profiled with 10,000 idle connections, that page churn was 42% of the
// reactor thread's time. Now, while a connection's rings are given back, its heartbeats
// go through a 128-byte buffer of its own: the machine says which bytes are keep-alive
// units (`SansIOConnection.isKeepAlive`, `hasOnlyKeepAliveOutput`), and anything else
// goes into the rings as before, in stream order, which warms them up again.

extension Reactor {
    /// Bytes per direction in a connection's keep-alive buffer: eight AMQP empty frames.
    static var keepAliveHalf: Int { 64 }

    /// The receive half (`send: false`) or send half of the connection's keep-alive
    /// buffer, made on first use. It lives as long as the record, which is freed only when
    /// no io_uring request is left that points into it.
    func keepAliveSpan(_ record: Record, send: Bool) -> UnsafeMutableRawBufferPointer {
        let base: UnsafeMutableRawPointer
        if let made = record.keepAliveBuffer {
            base = made
        } else {
            base = .allocate(byteCount: 2 * Self.keepAliveHalf, alignment: 16)
            record.keepAliveBuffer = base
        }
        return UnsafeMutableRawBufferPointer(start: base + (send ? Self.keepAliveHalf : 0), count: Self.keepAliveHalf)
    }

    /// True while the connection's inbound side is cold: its rings gave their pages back
    /// and nothing is waiting in the inbound ring, so a read may land outside it.
    func readsOutsideRing(_ record: Record) -> Bool {
        record.ringsGivenBack && record.inbound.isEmpty && record.parsed == 0
    }

    /// epoll: one read into the keep-alive buffer of a cold connection.
    func readKeepAlive(_ record: Record, now: EngineInstant) throws(ReactorError) {
        let room = keepAliveSpan(record, send: false)
        let n = try receiveOnce(record, into: room)
        if n > 0 { offerKeepAlive(record, UnsafeRawBufferPointer(rebasing: room[..<n]), now: now) }
    }

    /// Hands bytes read into the keep-alive buffer to the machine if they are keep-alive
    /// units only; otherwise (or whatever it leaves) they go into the inbound ring, ahead
    /// of anything read later, and are parsed from there.
    func offerKeepAlive(_ record: Record, _ bytes: UnsafeRawBufferPointer, now: EngineInstant) {
        var rest = bytes
        if record.read({ $0.isKeepAlive(bytes) }) {
            let used = record.machine.receive(bytes, now: now)
            precondition(used >= 0 && used <= bytes.count, "receive consumed \(used) of \(bytes.count) bytes")
            drainEvents(record)
            rest = UnsafeRawBufferPointer(rebasing: bytes[used...])
            if rest.isEmpty { return }
        }
        // The ring is empty (that is when reads land outside it).
        Self.append(rest, to: &record.inbound)
        record.moved = true
        record.ringsGivenBack = false
        parse(record, now: now)
    }

    /// Writes a due heartbeat of a cold connection from its keep-alive buffer, without
    /// touching the outbound ring, and returns true. Returns false when the connection is
    /// not cold or more than a heartbeat is due: the usual path goes on (after any bytes
    /// the machine wrote here, which the ring now holds). Bytes of the heartbeat that
    /// cannot go out at once go into the outbound ring, for `transmit`.
    func writeKeepAlive(_ record: Record, now: EngineInstant) throws(ReactorError) -> Bool {
        guard record.ringsGivenBack, record.writeReady, !record.hasUnsentOutput, !record.sendInFlight,
            record.read(\.hasOnlyKeepAliveOutput)
        else { return false }
        let buffer = keepAliveSpan(record, send: true)
        let n = record.machine.produce(into: buffer, now: now)
        precondition(n >= 0 && n <= buffer.count, "produce wrote \(n) bytes into \(buffer.count)")
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[..<n])
        guard n > 0, !record.read(\.hasPendingOutput) else {
            // More than promised: the ring takes it, ahead of the rest.
            queueOutbound(record, bytes)
            return false
        }
        switch io {
        case .epoll:
            switch try Socket.send(record.fd, bytes, via: sys) {
            case .wouldBlock:
                record.writeReady = false
                queueOutbound(record, bytes)
            case .completed(let sent):
                if sent < n {
                    record.writeReady = false
                    queueOutbound(record, UnsafeRawBufferPointer(rebasing: bytes[sent...]))
                }
            }
        case .uring(let uring):
            try uring.send(record.fd, bytes, token: record.token(.send))
            record.sendInFlight = true
            record.writeReady = false
            record.keepAliveSendLength = n
        }
        return true
    }

    /// io_uring: a send from the keep-alive buffer completed with `result`. On an open
    /// connection, what did not go out (a short send, or one the kernel asks to retry) goes
    /// into the outbound ring, and a failed send becomes the connection's I/O error.
    func keepAliveSent(_ record: Record, result: Int32, open: Bool) {
        let length = record.keepAliveSendLength
        record.keepAliveSendLength = 0
        guard open else { return }
        let sent: Int
        if result == -EAGAIN || result == -EINTR || result == -ECANCELED {
            sent = 0
        } else if result >= 0 {
            sent = Int(result)
        } else {
            record.ioError = record.ioError ?? .system("send", errno: -result)
            return
        }
        guard sent < length, let base = record.keepAliveBuffer else { return }
        let bytes = UnsafeRawBufferPointer(start: base + Self.keepAliveHalf, count: length)
        queueOutbound(record, UnsafeRawBufferPointer(rebasing: bytes[sent...]))
    }

    /// Puts bytes that must go out next into the outbound ring (empty whenever the
    /// keep-alive buffer is used).
    private func queueOutbound(_ record: Record, _ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        Self.append(bytes, to: &record.outbound)
        record.moved = true
        record.ringsGivenBack = false
    }

    /// Copies `bytes` into `ring`, which has room: it is empty whenever the keep-alive
    /// buffer is in use, and every ring is far larger than that buffer.
    private static func append(_ bytes: UnsafeRawBufferPointer, to ring: inout ByteRing) {
        let room = ring.writable
        precondition(room.count >= bytes.count, "ring has \(room.count) bytes of room for \(bytes.count)")
        room.copyMemory(from: bytes)
        ring.commitWrite(bytes.count)
    }
}
