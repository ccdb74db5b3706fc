import CAMQPLinux
import Glibc

// The few places where epoll (readiness, then system calls) and io_uring (requests, then
// completions) differ. Everything else in the reactor is shared, so both backends behave
// the same and pass the same tests.

extension Reactor {
    /// The kernel interface in use.
    enum IO {
        case epoll(EpollBackend)
        case uring(URingBackend)
    }

    /// Resolves `.automatic` (environment, then io_uring if the kernel allows it, then
    /// epoll) and sets the backend up.
    static func makeIO(_ options: ReactorOptions) throws(ReactorError) -> (IO, ReactorOptions.Backend) {
        var choice = options.backend
        if choice == .automatic, let env = getenv("AMQP_REACTOR_BACKEND") {
            let value = String(cString: env)
            guard let named = ReactorOptions.Backend(rawValue: value), named != .automatic else {
                throw ReactorError(.invalidArgument, operation: "AMQP_REACTOR_BACKEND", detail: "'\(value)' is not epoll or uring")
            }
            choice = named
        }
        if choice == .automatic {
            choice = URingBackend.isAvailable ? .uring : .epoll
        }
        switch choice {
        case .uring:
            let uring = try URingBackend(
                entries: options.uringEntries, completionEntries: options.uringCompletionEntries,
                batch: options.eventBatch, singleIssuer: options.uringSingleIssuer, syscalls: options.syscalls)
            return (.uring(uring), .uring)
        case .epoll, .automatic:
            return (.epoll(try EpollBackend(batch: options.eventBatch, syscalls: options.syscalls)), .epoll)
        }
    }

    /// Watches the eventfd that other threads signal.
    func watchWakeUps() throws(ReactorError) {
        switch io {
        case .epoll(let epoll):
            try epoll.add(inbox.eventFD, token: Token(kind: .wake), interest: EpollBackend.inputInterest)
            watchingWakeUps = true
        case .uring(let uring):
            // Prepared, not submitted: the driving thread's first tick submits it. An
            // io_uring request belongs to the thread that submits it and is cancelled when
            // that thread exits, and a reactor is often made on one thread and driven on
            // another (`ConnectionReactor`'s own thread): submitted here, the poll would
            // die with the creating thread and wake-ups from other threads with it.
            try uring.pollInput(inbox.eventFD, token: Token(kind: .wake, operation: URingBackend.Operation.poll.rawValue))
        }
    }

    /// Starts watching a new connection socket.
    func watch(_ record: Record) throws(ReactorError) {
        switch io {
        case .epoll(let epoll):
            try epoll.add(record.fd, token: record.token(), interest: EpollBackend.connectionInterest)
        case .uring:
            // Nothing to register: the first recv goes out after the first delivery.
            break
        }
    }

    func watch(_ listener: ListenerRecord) throws(ReactorError) {
        let token = Token(kind: .listener, operation: URingBackend.Operation.poll.rawValue, slot: Int(listener.id.slot), generation: listener.id.generation)
        switch io {
        case .epoll(let epoll):
            try epoll.add(listener.fd, token: token, interest: EpollBackend.inputInterest)
        case .uring(let uring):
            try uring.pollInput(listener.fd, token: token)
        }
    }

    /// Stops watching a listener and closes it.
    func unwatch(_ listener: ListenerRecord) {
        switch io {
        case .epoll(let epoll):
            epoll.remove(listener.fd)
        case .uring(let uring):
            // The poll holds its own reference to the socket; cancelling it lets the socket
            // go. Its completions carry the old generation and are dropped.
            let poll = Token(kind: .listener, operation: URingBackend.Operation.poll.rawValue, slot: Int(listener.id.slot), generation: listener.id.generation)
            let cancel = Token(kind: .listener, operation: URingBackend.Operation.cancel.rawValue, slot: Int(listener.id.slot), generation: listener.id.generation)
            try? uring.cancel(poll, token: cancel)
        }
        Syscall.close(listener.fd, via: sys)
    }

    /// Starts connecting `record` to `address`; true if it completed at once.
    func startConnect(_ record: Record, to address: SocketAddress) throws(ReactorError) -> Bool {
        switch io {
        case .epoll:
            return try Socket.startConnect(record.fd, to: address, via: sys)
        case .uring(let uring):
            let length = address.fill(&record.connectAddress)
            let fd = record.fd
            let token = record.token(.connect)
            let result: Result<Void, ReactorError> = withUnsafePointer(to: &record.connectAddress) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    Result { () throws(ReactorError) in try uring.connect(fd, to: sa, length: length, token: token) }
                }
            }
            try result.get()
            record.connectInFlight = true
            return false
        }
    }

    /// Closes a connection's socket. With io_uring, the requests it has in flight are
    /// cancelled; its record (and the rings they point into) stays until they complete.
    func closeSocket(_ record: Record) {
        switch io {
        case .epoll(let epoll):
            // Closing the last descriptor of a socket removes it from the epoll set; a
            // socket handed in may have duplicates elsewhere, and is removed explicitly.
            if record.unregisterOnClose { epoll.remove(record.fd) }
        case .uring(let uring):
            let cancel = record.token(.cancel)
            for (inFlight, operation) in [(record.recvInFlight, URingBackend.Operation.recv), (record.sendInFlight, .send), (record.connectInFlight, .connect)] where inFlight {
                if (try? uring.cancel(record.token(operation), token: cancel)) != nil {
                    record.cancelsInFlight += 1
                }
            }
        }
        // io_uring requests hold their own reference to the socket, so closing the
        // descriptor now is safe; the socket itself goes when they have completed. (-1:
        // a connect moving to its next address could not open a new socket.)
        if record.fd >= 0 { Syscall.close(record.fd, via: sys) }
    }

    /// Waits (bounded by `timeoutNanoseconds`) and takes note of what the kernel reports:
    /// readiness (epoll) or completions (io_uring). Runs no user code.
    func collect(timeoutNanoseconds: UInt64?) throws(ReactorError) {
        switch io {
        case .epoll(let epoll):
            try epoll.wait(timeoutNanoseconds: timeoutNanoseconds) { data, events in
                noteReadiness(data, events)
            }
        case .uring(let uring):
            try uring.wait(timeoutNanoseconds: timeoutNanoseconds) { data, result, flags in
                noteCompletion(data, result, flags, uring)
            }
        }
    }

    private func noteReadiness(_ data: UInt64, _ events: UInt32) {
        guard let token = Token(packed: data) else { return }
        switch token.kind {
        case .connection:
            guard let record = liveRecord(token) else { return }
            if events & (CAMQP_EPOLLIN | CAMQP_EPOLLRDHUP) != 0 { record.readReady = true }
            if events & CAMQP_EPOLLRDHUP != 0 { record.peerShutDown = true }
            if events & CAMQP_EPOLLOUT != 0 { record.writeReady = true }
            if events & (CAMQP_EPOLLERR | CAMQP_EPOLLHUP) != 0 {
                // The next recv or send (or SO_ERROR, while connecting) says what
                // happened; make sure one is made.
                record.hangUp = true
                record.readReady = true
                record.writeReady = true
            }
            enqueue(record)
        case .listener:
            liveListener(token)?.pending = true
        case .wake:
            wakePending = true
        case .timer:
            break
        }
    }

    private func noteCompletion(_ data: UInt64, _ result: Int32, _ flags: UInt32, _ uring: URingBackend) {
        guard let token = Token(packed: data) else { return }
        let operation = URingBackend.Operation(rawValue: token.operation)
        switch token.kind {
        case .connection:
            guard token.slot < records.count, let record = records[token.slot], record.id.generation == token.generation else {
                return
            }
            noteCompletion(of: operation, result, for: record)
        case .listener:
            guard operation == .poll, let listener = liveListener(token) else { return }
            if result >= 0 { listener.pending = true }
            // A multishot poll the kernel ended (it may, e.g. on overflow, or cancel it
            // when the thread that submitted it exits): arm it again. The listener is
            // still live, so the cancel was not ours.
            if flags & CAMQP_CQE_F_MORE == 0 {
                do {
                    try uring.pollInput(listener.fd, token: token)
                } catch {
                    listener.pending = true
                }
            }
        case .wake:
            wakePending = true
            // Ended by the kernel, or cancelled with the thread that submitted it (we
            // never cancel it ourselves): arm it again, from this thread.
            if flags & CAMQP_CQE_F_MORE == 0 {
                try? uring.pollInput(inbox.eventFD, token: token)
            }
        case .timer:
            break
        }
    }

    private func noteCompletion(of operation: URingBackend.Operation?, _ result: Int32, for record: Record) {
        let open = record.phase != .closed
        switch operation {
        case .recv?:
            record.recvInFlight = false
            let outside = record.recvIntoKeepAlive
            record.recvIntoKeepAlive = false
            if !open || result == -ECANCELED || result == -EAGAIN || result == -EINTR { break }
            if result > 0 && outside {
                // Offered by the next serve, before anything else is read.
                record.keepAliveArrived = Int(result)
                record.recvDrained = Int(result) < record.recvLength
            } else if result > 0 {
                record.inbound.commitWrite(Int(result))
                record.arrived = true
                record.moved = true
                record.recvDrained = Int(result) < record.recvLength
            } else if result == 0 {
                record.peerClosed = true
            } else {
                record.ioError = record.ioError ?? .system("recv", errno: -result)
            }
        case .send?:
            record.sendInFlight = false
            record.writeReady = true
            // Closed: nothing more is sent, and the kernel no longer reads the payloads.
            if !open { record.segments.removeAll() }
            if record.keepAliveSendLength > 0 {
                // A heartbeat from the keep-alive buffer: the ring was not involved.
                keepAliveSent(record, result: result, open: open)
                break
            }
            if !open || result == -ECANCELED || result == -EAGAIN || result == -EINTR { break }
            if result >= 0 {
                record.outbound.consume(record.segments.advance(Int(result)))
                record.moved = true
                // As with epoll: freed room is offered to a machine that found too little.
                if result > 0 { record.outputStalled = false }
            } else {
                record.ioError = record.ioError ?? .system("send", errno: -result)
            }
        case .connect?:
            record.connectInFlight = false
            if open && record.phase == .connecting && result != -ECANCELED { record.connectResult = result }
        case .cancel?:
            record.cancelsInFlight -= 1
        case .poll?, nil:
            break
        }
        if open {
            enqueue(record)
        } else if record.retiring && !record.hasRequestsInFlight {
            freeSlot(of: record)
        }
    }

    /// A connection record the token still names, and which is not closed.
    func liveRecord(_ token: Token) -> Record? {
        guard token.slot < records.count, let record = records[token.slot],
            record.id.generation == token.generation, record.phase != .closed
        else { return nil }
        return record
    }

    func liveListener(_ token: Token) -> ListenerRecord? {
        guard token.slot < listeners.count, let listener = listeners[token.slot], listener.id.generation == token.generation else {
            return nil
        }
        return listener
    }

    /// Writes the outbound ring's unread span: one `send` (epoll) or one send request
    /// (io_uring, at most one in flight). With payloads held by reference, one gathered
    /// `sendmsg` (one SENDMSG request) of ring spans and payload ranges in stream order.
    func transmit(_ record: Record) throws(ReactorError) {
        guard record.writeReady, record.hasUnsentOutput else { return }
        switch io {
        case .epoll:
            let outcome: Syscall.Outcome<Int>
            if record.segments.isEmpty {
                outcome = try Socket.send(record.fd, record.outbound.readable, via: sys)
            } else {
                let iovecs = gatherIovecs(record)
                outcome = try Socket.send(record.fd, vector: UnsafeBufferPointer(start: record.iovecs, count: iovecs), via: sys)
            }
            switch outcome {
            case .wouldBlock:
                record.writeReady = false
            case .completed(let n):
                record.outbound.consume(record.segments.advance(n))
                record.moved = true
                // The room just freed may be what a stalled machine waited for; nothing
                // else would offer it (a sender that hears nothing back gets no other
                // serve), so let `hasWork` ask it again.
                if n > 0 { record.outputStalled = false }
                // A short write means the send buffer is full: wait for the next EPOLLOUT
                // edge rather than spend a call on EAGAIN.
                if record.hasUnsentOutput { record.writeReady = false }
            }
        case .uring(let uring):
            if record.segments.isEmpty {
                try uring.send(record.fd, record.outbound.readable, token: record.token(.send))
            } else {
                // The msghdr and iovecs live in the record, and the payloads they point
                // into in `segments`, until the completion: entries are released only by
                // `advance` with the count the kernel reports.
                let iovecs = gatherIovecs(record)
                let message: UnsafeMutablePointer<msghdr>
                if let made = record.message {
                    message = made
                } else {
                    message = .allocate(capacity: 1)
                    record.message = message
                }
                message.initialize(to: msghdr())
                message.pointee.msg_iov = record.iovecs
                message.pointee.msg_iovlen = iovecs
                try uring.send(record.fd, message: message, token: record.token(.send))
            }
            record.sendInFlight = true
            // "Ready to write" means "no send in flight" here.
            record.writeReady = false
        }
    }

    /// Fills the record's iovec array with what is unsent, in stream order: before each
    /// payload range the ring bytes that precede it, and the ring bytes after the last.
    /// Returns the entry count.
    func gatherIovecs(_ record: Record) -> Int {
        let segments = record.segments
        let iov: UnsafeMutablePointer<iovec>
        if let made = record.iovecs {
            iov = made
        } else {
            iov = .allocate(capacity: 2 &* segments.capacity &+ 1)
            record.iovecs = iov
        }
        let ring = record.outbound.readable
        var position = 0
        var n = 0
        for i in 0..<segments.count {
            let entry = segments[i]
            if entry.ringBytes > 0 {
                iov[n] = iovec(iov_base: UnsafeMutableRawPointer(mutating: ring.baseAddress! + position), iov_len: entry.ringBytes)
                position &+= entry.ringBytes
                n &+= 1
            }
            // The entry holds the array, which nothing mutates (a writer would copy it
            // first), so its elements stay at this address until the entry is released.
            let base = entry.payload.withUnsafeBytes { $0.baseAddress! }
            iov[n] = iovec(iov_base: UnsafeMutableRawPointer(mutating: base + entry.offset), iov_len: entry.count)
            n &+= 1
        }
        let trailing = segments.trailingRingBytes
        precondition(position &+ trailing == ring.count, "gathered ring bytes \(position) + \(trailing) of \(ring.count)")
        if trailing > 0 {
            iov[n] = iovec(iov_base: UnsafeMutableRawPointer(mutating: ring.baseAddress! + position), iov_len: trailing)
            n &+= 1
        }
        return n
    }

    /// io_uring: keeps one recv in flight into the inbound ring's writable span.
    func armReceive(_ record: Record) {
        guard case .uring(let uring) = io, record.phase == .established, !record.recvInFlight,
            !record.peerClosed, record.ioError == nil
        else { return }
        // A cold connection reads into its keep-alive buffer (Reactor+KeepAlive.swift).
        let outside = readsOutsideRing(record)
        let room = outside ? keepAliveSpan(record, send: false) : record.inbound.writable
        // Full: as with epoll, nothing is read until delivery releases bytes or the
        // application changes the machine.
        guard !room.isEmpty else { return }
        do {
            try uring.recv(record.fd, into: room, pollFirst: record.recvDrained, token: record.token(.recv))
            record.recvInFlight = true
            record.recvIntoKeepAlive = outside
            record.recvLength = room.count
        } catch {
            record.ioError = error
            enqueue(record)
        }
    }

    /// io_uring: hands the tick's requests to the kernel (one system call for all).
    func submitRequests() throws(ReactorError) {
        guard case .uring(let uring) = io, uring.unsubmitted > 0 else { return }
        try uring.submit()
    }

    /// io_uring: cancels every request that points into a connection's ring and waits
    /// (bounded) for them to complete, so the rings can be unmapped safely.
    func cancelAllRequests() {
        guard case .uring(let uring) = io else { return }
        for case let record? in records where record.phase != .closed {
            record.phase = .closed
            closeSocket(record)
        }
        let deadline = monotonicNow() &+ 2_000_000_000
        while records.contains(where: { $0?.hasRequestsInFlight == true }) && monotonicNow() < deadline {
            do {
                try uring.wait(timeoutNanoseconds: 10_000_000) { data, result, flags in
                    guard let token = Token(packed: data), token.kind == .connection, token.slot < records.count,
                        let record = records[token.slot], record.id.generation == token.generation
                    else { return }
                    noteCompletion(of: URingBackend.Operation(rawValue: token.operation), result, for: record)
                }
            } catch {
                break
            }
        }
        // Requests that did not complete (the kernel refused the cancels, e.g. a single-
        // issuer ring released on another thread) may still write into their rings: keep
        // those records, and their memory, alive for the rest of the process rather than
        // unmap memory the kernel may touch.
        for case let record? in records where record.hasRequestsInFlight {
            _ = Unmanaged.passRetained(record)
        }
    }
}
