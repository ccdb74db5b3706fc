import AMQPEngine
import CAMQPLinux
import Glibc

// Serving one connection: connect completion, reads, deadlines, output. No user code runs
// here; events are only queued, and delivered by the tick afterwards.

extension Reactor {
    /// Does all the I/O and protocol work one connection has, without blocking.
    func serve(_ record: Record, now: UInt64) {
        if record.phase == .connecting {
            finishConnect(record, now: now)
        }
        guard record.phase == .established else { return }
        let instant = EngineInstant(nanoseconds: now)
        do throws(ReactorError) {
            if record.keepAliveArrived > 0, let base = record.keepAliveBuffer {
                // io_uring: a recv into the keep-alive buffer came in (before anything
                // in the ring: it was armed while the ring was empty).
                let n = record.keepAliveArrived
                record.keepAliveArrived = 0
                offerKeepAlive(record, UnsafeRawBufferPointer(start: base, count: n), now: instant)
            }
            if record.dirty || record.arrived {
                // New bytes from a recv completion, or the application may have changed
                // what the machine accepts: offer what is unparsed.
                record.dirty = false
                record.arrived = false
                parse(record, now: instant)
            }
            if let error = record.ioError { throw error }
            try readInbound(record, now: instant)
            // Deadlines after reading, so bytes that arrived just in time count as
            // received before the idle time-out is checked.
            if let due = record.read(\.nextDeadline), due.nanoseconds <= now {
                record.machine.poll(now: instant)
            }
            try writeOutbound(record, now: instant)
        } catch {
            close(record, error: record.read(\.isFinished) ? nil : error)
            return
        }
        drainEvents(record)
        if record.read(\.isFinished) && (!record.hasUnsentOutput || record.peerClosed) {
            close(record, error: nil)
        } else if record.peerClosed {
            close(record, error: ReactorError(.endOfStream, operation: "recv", detail: "the peer closed the connection"))
        } else {
            updateDeadline(record)
        }
    }

    /// A connect in flight: done, failed, or timed out?
    func finishConnect(_ record: Record, now: UInt64) {
        if let error = record.fallbackAfter {
            // io_uring: the timed-out connect was cancelled; move on once it is done.
            if !record.connectInFlight {
                record.connectResult = nil
                connectNext(record, after: error)
            }
            return
        }
        if let result = record.connectResult {
            // io_uring: the connect request completed.
            record.connectResult = nil
            do throws(ReactorError) {
                if result < 0 {
                    throw ReactorError.system("connect", errno: -result, detail: record.remote.map { "\($0)" } ?? "")
                }
                if let options = record.socketOptions { try Socket.apply(options, to: record.fd, via: sys) }
                try established(record, peer: record.remote)
            } catch {
                failConnect(record, error: error)
            }
        } else if case .epoll = io, record.writeReady || record.hangUp {
            let remote = record.remote.map { "\($0)" } ?? ""
            do {
                let error = try Socket.pendingError(record.fd, via: sys)
                if error != 0 {
                    failConnect(record, error: .system("connect", errno: error, detail: remote))
                    return
                }
                if let options = record.socketOptions { try Socket.apply(options, to: record.fd, via: sys) }
                try established(record, peer: record.remote)
            } catch {
                failConnect(record, error: error)
            }
        } else if let deadline = record.connectDeadline, now >= deadline {
            let remote = record.remote.map { "\($0)" } ?? "the peer"
            failConnect(record, error: ReactorError(
                .timedOut, errno: ETIMEDOUT, operation: "connect",
                detail: "\(remote) did not answer within \(record.connectTimeout)"))
        } else {
            updateDeadline(record)
        }
    }

    /// A connect failed: the next address, if there is one and another address may fare
    /// better (refused, unreachable, timed out); else the connection fails with `error`.
    func failConnect(_ record: Record, error: ReactorError) {
        let movesOn: Bool
        switch error.code {
        case .connectionRefused, .hostUnreachable, .networkUnreachable, .timedOut, .addressUnavailable: movesOn = true
        default: movesOn = false
        }
        guard !record.fallbackAddresses.isEmpty, movesOn else {
            close(record, error: error)
            return
        }
        if record.connectInFlight {
            // io_uring, timed out: the request still holds the socket and may yet complete;
            // cancel it and move on when its completion is in.
            if case .uring(let uring) = io, (try? uring.cancel(record.token(.connect), token: record.token(.cancel))) != nil {
                record.cancelsInFlight += 1
            }
            record.fallbackAfter = error
            record.connectDeadline = nil
            updateDeadline(record)
            return
        }
        connectNext(record, after: error)
    }

    /// Closes the socket of a failed connect and connects a new one to the next address.
    /// Nothing has been read or written on the old one, so the machine and its rings
    /// carry over as they are.
    func connectNext(_ record: Record, after error: ReactorError) {
        record.fallbackAfter = nil
        // Closing drops the epoll registration and any event not yet collected for it.
        if record.fd >= 0 { Syscall.close(record.fd, via: sys) }
        record.fd = -1
        record.readReady = false
        record.writeReady = false
        record.hangUp = false
        record.peerShutDown = false
        record.connectResult = nil
        let address = record.fallbackAddresses.removeFirst()
        do throws(ReactorError) {
            record.fd = try Socket.open(family: address.family, via: sys)
            try watch(record)
            record.remote = address
            if try startConnect(record, to: address) {
                try established(record, peer: address)
            } else {
                record.connectDeadline = monotonicNow() &+ record.connectTimeout.wholeNanoseconds
                updateDeadline(record)
            }
        } catch let next {
            failConnect(record, error: next)
        }
    }

    /// The socket is up: drive the machine from now on.
    func established(_ record: Record, peer: SocketAddress?) throws(ReactorError) {
        record.phase = .established
        record.connectDeadline = nil
        record.quietSince = monotonicNow()
        record.hangUp = false
        // Try both directions at once: a read that finds nothing costs one EAGAIN, and
        // output queued before the connect finished goes out in this tick. (io_uring reads
        // through requests instead, armed after delivery.)
        if case .epoll = io { record.readReady = true }
        record.writeReady = !record.sendInFlight
        record.events.append(.connected(peer: peer))
        updateDeadline(record)
    }

    /// epoll: reads until EAGAIN, end of stream or a full inbound ring, parsing after each
    /// read. (io_uring's recv completions commit bytes as they arrive; `readReady` stays
    /// false there.)
    func readInbound(_ record: Record, now: EngineInstant) throws(ReactorError) {
        while record.readReady {
            if readsOutsideRing(record) {
                try readKeepAlive(record, now: now)
                continue
            }
            let room = record.inbound.writable
            // Full: the unparsed bytes are not a whole unit yet, or the machine takes no
            // more for now. Stop reading (memory stays bounded; the kernel's buffer and
            // then TCP flow control hold the peer back) until delivery releases bytes or
            // the application changes the machine.
            guard !room.isEmpty else { return }
            let n = try receiveOnce(record, into: room)
            guard n > 0 else { continue }
            record.inbound.commitWrite(n)
            record.moved = true
            parse(record, now: now)
        }
    }

    /// epoll: one recv into `room`. Notes EAGAIN, the end of the stream and a short read
    /// on the record, and returns the bytes read (0 for none).
    func receiveOnce(_ record: Record, into room: UnsafeMutableRawBufferPointer) throws(ReactorError) -> Int {
        switch try Socket.receive(record.fd, into: room, via: sys) {
        case .wouldBlock:
            record.readReady = false
            return 0
        case .completed(0):
            record.readReady = false
            record.peerClosed = true
            return 0
        case .completed(let n):
            // A short read drained the socket (epoll(7): for a stream socket, fewer bytes
            // than asked means the read space is exhausted), and bytes arriving later
            // raise a new edge: no recv just to see EAGAIN. Half of all recv calls in
            // connection set-up and small-message fan-in were that EAGAIN. Not when the
            // peer has shut its side or the socket reported an error: the end of the
            // stream or the error raises no further edge.
            if n < room.count && !record.peerShutDown && !record.hangUp { record.readReady = false }
            return n
        }
    }

    /// Hands the bytes the machine has not consumed yet to `receive`.
    func parse(_ record: Record, now: EngineInstant) {
        let unparsed = UnsafeRawBufferPointer(rebasing: record.inbound.readable[record.parsed...])
        guard !unparsed.isEmpty || record.read(\.hasUnparsedInput) else { return }
        let used = record.machine.receive(unparsed, now: now)
        precondition(used >= 0 && used <= unparsed.count, "receive consumed \(used) of \(unparsed.count) bytes")
        record.parsed += used
        drainEvents(record)
    }

    /// Lets the machine produce into the outbound ring (large payloads by reference), then
    /// writes what is unsent with one `send` or gathered `sendmsg` (or one request).
    func writeOutbound(_ record: Record, now: EngineInstant) throws(ReactorError) {
        if record.read(\.hasPendingOutput), try !writeKeepAlive(record, now: now) {
            // Nothing borrows the outbound ring, so it may be compacted or replaced,
            // unless the kernel is reading from it.
            if !record.sendInFlight {
                try growOutbound(record)
                record.outbound.reclaim()
            }
            let room = record.outbound.writable
            if room.isEmpty {
                record.outputStalled = true
            } else {
                let gathered = record.segments.referencedBytes
                let n = record.machine.produce(into: room, gather: record.segments, now: now)
                precondition(n >= 0 && n <= room.count, "produce wrote \(n) bytes into \(room.count)")
                record.outbound.commitWrite(n)
                record.segments.produced(n)
                // Output by reference is progress too: a frame of a large message may put
                // only its header into the ring.
                let progressed = n > 0 || record.segments.referencedBytes != gathered
                record.outputStalled = !progressed
                if progressed { record.moved = true }
            }
        }
        try transmit(record)
    }

    /// Replaces the outbound ring with a larger one when the machine needs more room than
    /// it has (for AMQP: the peer's OPEN announced a max-frame-size above the ring), up
    /// to `maximumOutboundCapacity`. Unsent bytes move to the new ring. Never called
    /// while a send request reads from the ring.
    ///
    /// Growing once, to the size the protocol names, rather than doubling on demand: the
    /// engine cannot say "this frame did not fit" apart from "nothing to write", so the
    /// size must be known up front, and a connection's frame size does not change after
    /// OPEN.
    func growOutbound(_ record: Record) throws(ReactorError) {
        let capacity = record.outbound.capacity
        guard capacity < options.maximumOutboundCapacity else { return }
        let wanted = min(record.read(\.minimumOutboundCapacity), options.maximumOutboundCapacity)
        guard wanted > capacity else { return }
        var larger: ByteRing
        do {
            larger = try ringPool.take(minimumCapacity: wanted, storage: options.ringStorage)
        } catch {
            // Keeping the small ring would leave frames that do not fit waiting for ever.
            throw ReactorError(
                error.code, errno: error.errno, operation: "grow outbound ring",
                detail: "\(capacity) to \(wanted) bytes: \(error.detail)")
        }
        let unsent = record.outbound.readable
        if !unsent.isEmpty {
            larger.writable.copyMemory(from: unsent)
            larger.commitWrite(unsent.count)
        }
        // No send is in flight (the caller's rule), so the old ring may be reused.
        ringPool.give(&record.outbound, now: monotonicNow())
        record.outbound = larger
        record.outputStalled = false
    }

    /// Moves the machine's events to the connection's queue.
    func drainEvents(_ record: Record) {
        while let event = record.machine.nextEvent() {
            record.events.append(.connection(event))
        }
    }

    /// Closes the socket and queues `.closed(error)` after the connection's other events.
    func close(_ record: Record, error: ReactorError?) {
        guard record.phase != .closed else { return }
        if record.phase == .established {
            // A machine that has not finished learns that its transport is gone, so it
            // can end its sessions and report what was in flight.
            if let error, !record.read(\.isFinished) { record.machine.transportClosed("\(error)") }
            drainEvents(record)
        }
        record.phase = .closed
        closeSocket(record)
        // Payloads held by reference are released now, unless a send in flight still
        // reads them (its completion releases them).
        if !record.sendInFlight { record.segments.removeAll() }
        deadlines.set(Int(record.id.slot), to: nil)
        record.events.append(.closed(error))
        enqueue(record)
    }
}
