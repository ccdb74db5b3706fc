import AMQPEngine
import CAMQPLinux
import Glibc
import Synchronization

// Ticks: wait, take note of readiness, serve connections, then deliver events.

extension Reactor {
    /// Runs ticks until `stop()` (here, from a handler or job) or `handle.stop()` (from
    /// any thread). Between ticks the thread sleeps in the kernel until the next deadline
    /// or I/O, so an idle reactor uses no CPU.
    public func run() throws(ReactorError) {
        defer { inbox.stopRequested.store(false, ordering: .relaxed) }
        while !inbox.stopRequested.load(ordering: .acquiring) {
            try runOnce(timeout: nil)
        }
    }

    /// One tick for every connection.
    ///
    /// 1. Waits for readiness (epoll) or completions (io_uring), at most until the
    ///    earliest deadline and at most `timeout` (`nil`: no limit of its own; `.zero`: do
    ///    not wait). It does not wait at all while any connection still has work from an
    ///    earlier tick. What the kernel reports is only noted per connection (readiness
    ///    flags; with io_uring, received bytes committed to the inbound ring); nothing else
    ///    happens while it is walked.
    /// 2. Runs jobs handed over with `execute`.
    /// 3. Accepts waiting connections (up to `acceptsPerTick` per listener), asking each
    ///    listener's acceptor for a machine.
    /// 4. Serves every connection with something to do: completes connects, reads until
    ///    EAGAIN or a full inbound ring (io_uring: takes what its recv completed) and hands
    ///    the bytes to `receive`, runs due deadlines (`poll`), `produce`s into the outbound
    ///    ring and writes it with one `send` (io_uring: one send request). No user code
    ///    runs in this step.
    /// 5. Delivers each served connection's events to its handler, then releases the
    ///    inbound bytes the events could borrow.
    /// 6. Writes what the handlers asked for (`withConnection`) at once; with io_uring,
    ///    puts a recv in flight for each connection with room, and submits every request
    ///    the tick prepared in one system call.
    ///
    /// Must not be called from a handler or job.
    ///
    /// Specialized for `ConnectionEngine`: callers in other modules reach this generic
    /// entry, which checks the type once and jumps to code compiled for the engine
    /// (everything the tick calls, specialized with it), instead of running the whole
    /// tick through generic metadata and value-witness copies of the machine.
    @_specialize(where Connection == ConnectionEngine)
    public func runOnce(timeout: Duration? = nil) throws(ReactorError) {
        precondition(!inCallback, "runOnce called from an event handler or job")
        var wait: UInt64? = timeout?.wholeNanoseconds
        if !ready.isEmpty || wakePending || listeners.contains(where: { $0?.pending == true }) {
            wait = 0
        } else if let earliest = earliestDeadline {
            let now = monotonicNow()
            let untilDeadline = earliest > now ? earliest - now : 0
            wait = min(wait ?? .max, untilDeadline)
        }
        try collect(timeoutNanoseconds: wait)
        let now = monotonicNow()
        retryAccepts(now: now)
        if let due = ringPool.nextTrim, due <= now { ringPool.trim(now: now) }
        if let due = nextRingSweep, due <= now { sweepIdleRings(now: now) }
        if wakePending { runJobs() }
        acceptWaiting()
        collectDueDeadlines(now: now)

        swap(&ready, &batch)
        // A slot can be listed twice when its record was retired by `tick(only:)` and the
        // slot reused while still listed; serve each record once.
        batch.removeAll { slot in
            guard let record = records[slot], record.queued else { return true }
            record.queued = false
            return false
        }
        for slot in batch {
            guard let record = records[slot] else { continue }
            serve(record, now: now)
        }
        for slot in batch {
            guard let record = records[slot] else { continue }
            deliver(record)
        }
        for slot in batch {
            guard let record = records[slot] else { continue }
            afterDelivery(record, now: now)
        }
        batch.removeAll(keepingCapacity: true)
        freeRetiredSlots()
        try submitRequests()
    }

    /// One tick for one connection: the work `Connection.work()` does.
    ///
    /// Takes note of readiness the kernel has for every connection (without waiting), then
    /// serves only `id`: completes its connect, reads what its socket has (until EAGAIN or
    /// a full inbound ring) and parses it, runs its due deadlines, produces and writes its
    /// output, and delivers its events to its handler. It never blocks: when nothing is
    /// ready it returns at once.
    ///
    /// Every other connection is left as it was: readiness and due deadlines noted here
    /// are kept for its own turn (its `tick(only:)` or the next `runOnce`), its bytes stay
    /// unparsed (in its socket; with io_uring, possibly already in its inbound ring, where
    /// a recv in flight put them), and no handler but this connection's runs. Jobs and
    /// accepts also wait for `runOnce`.
    ///
    /// - Returns: false if `id` is closed (its `.closed` event may have been delivered by
    ///   this call).
    @discardableResult
    @_specialize(where Connection == ConnectionEngine)
    public func tick(only id: ConnectionID) throws(ReactorError) -> Bool {
        precondition(!inCallback, "tick(only:) called from an event handler or job")
        try collect(timeoutNanoseconds: 0)
        let now = monotonicNow()
        collectDueDeadlines(now: now)
        guard let record = record(id) else { return false }
        serve(record, now: now)
        deliver(record)
        afterDelivery(record, now: now)
        freeRetiredSlots()
        try submitRequests()
        return record.phase != .closed
    }

    // MARK: Steps

    func runJobs() {
        wakePending = false
        let jobs = inbox.take()
        inCallback = true
        defer { inCallback = false }
        for job in jobs { job(self) }
    }

    func acceptWaiting() {
        for slot in listeners.indices {
            guard let listener = listeners[slot], listener.pending else { continue }
            var accepted = 0
            accepting: while accepted < options.acceptsPerTick {
                let outcome: Syscall.Outcome<(Int32, SocketAddress?)>
                do {
                    outcome = try Socket.accept(listener.fd, via: sys)
                } catch {
                    switch error.code {
                    case .connectionAborted, .permissionDenied, .other:
                        // The one connection failed (ECONNABORTED, EPROTO, a firewall's
                        // EPERM); the listener is fine.
                        continue accepting
                    default:
                        // Out of descriptors or memory: stop for now, and try again a
                        // little later. Waiting for the listener's next edge instead
                        // left the connections already in the backlog unanswered until
                        // another client happened to connect (found by the syscall
                        // fault tests); trying again every tick would spin.
                        listener.pending = false
                        listener.retryAt = monotonicNow() &+ Self.acceptRetryNanoseconds
                        break accepting
                    }
                }
                guard case .completed(let (fd, peer)) = outcome else {
                    listener.pending = false
                    break accepting
                }
                accepted += 1
                if let handoff = listener.handoff {
                    inCallback = true
                    handoff(self, fd, peer)
                    inCallback = false
                    continue accepting
                }
                inCallback = true
                let machine = listener.accept(peer)
                inCallback = false
                guard let machine else {
                    Syscall.close(fd, via: sys)
                    continue accepting
                }
                let record: Record
                do {
                    // No setsockopt: the socket inherited the listener's options.
                    record = try register(fd: fd, connection: machine, socketOptions: nil, handler: listener.handler)
                } catch {
                    // A socket we could not set up is dropped; the peer sees it close.
                    Syscall.close(fd, via: sys)
                    continue accepting
                }
                do {
                    try established(record, peer: peer)
                } catch {
                    close(record, error: error)
                }
                enqueue(record)
            }
            // Left pending when the per-tick limit was reached: continue next tick.
        }
    }

    /// How long a listener rests after accept ran out of descriptors or memory.
    static var acceptRetryNanoseconds: UInt64 { 20_000_000 }

    /// The earliest connection deadline or listener retry.
    var earliestDeadline: UInt64? {
        var earliest = deadlines.earliest
        if let trim = ringPool.nextTrim { earliest = min(earliest ?? trim, trim) }
        if let sweep = nextRingSweep { earliest = min(earliest ?? sweep, sweep) }
        for case let listener? in listeners {
            if let at = listener.retryAt { earliest = min(earliest ?? at, at) }
        }
        return earliest
    }

    /// Listeners whose rest after a failed accept is over try again.
    func retryAccepts(now: UInt64) {
        for case let listener? in listeners {
            if let at = listener.retryAt, at <= now {
                listener.retryAt = nil
                listener.pending = true
            }
        }
    }

    func collectDueDeadlines(now: UInt64) {
        while let slot = deadlines.popDue(now: now) {
            guard let record = records[slot] else { continue }
            enqueue(record)
        }
    }

    /// Delivers the queued events of one connection to its handler, then releases the
    /// inbound bytes they could borrow (or retires the record after `.closed`).
    func deliver(_ record: Record) {
        while !record.events.isEmpty {
            swap(&record.events, &record.delivering)
            inCallback = true
            // By index rather than `for … in`: unspecialized (debug) code iterates through
            // a read coroutine whose frame is heap-allocated once per event.
            var i = 0
            while i < record.delivering.count {
                record.handler(self, record.id, record.delivering[i])
                i &+= 1
            }
            inCallback = false
            record.delivering.removeAll(keepingCapacity: true)
        }
        if record.phase == .closed {
            retire(record)
            return
        }
        if record.parsed > 0 {
            record.inbound.consume(record.parsed)
            record.parsed = 0
            record.moved = true
        }
        // A machine with buffers of its own (TLS) may have had to leave input waiting.
        if record.machine.eventsDelivered() { record.dirty = true }
        // No view into the inbound ring exists now: the one safe moment to compact
        // (unless the kernel is writing into it).
        if !record.recvInFlight { record.inbound.reclaim() }
    }

    /// Serves what handlers asked for, and keeps the connection on the ready list while it
    /// has work that needs no new readiness.
    func afterDelivery(_ record: Record, now: UInt64) {
        guard record.phase != .closed else { return }
        if record.dirty { serve(record, now: now) }
        if record.phase == .established { noteRingActivity(record, now: now) }
        armReceive(record)
        if record.hasWork { enqueue(record) }
    }

    /// Notes that bytes moved (the connection is not quiet), or finishes a release of
    /// its ring pages that had to wait for a cancelled recv.
    func noteRingActivity(_ record: Record, now: UInt64) {
        if record.moved {
            record.moved = false
            record.quietSince = now
            record.ringsGivenBack = false
            if nextRingSweep == nil, let delay = ringIdleRelease { nextRingSweep = now &+ delay }
        } else if record.releaseAfterCancel && !record.recvInFlight {
            record.releaseAfterCancel = false
            _ = releaseRings(record)
        }
    }

    /// Gives the ring pages of every connection that has been quiet for
    /// `ringIdleRelease` back to the kernel: an idle connection then holds address space,
    /// not memory. One pass over the connections, at most once per `ringIdleRelease`,
    /// and only while some connection has moved bytes since its pages went back; a
    /// connection whose rings still hold bytes is left alone (when they empty, bytes
    /// move, and it is looked at again).
    func sweepIdleRings(now: UInt64) {
        nextRingSweep = nil
        guard let delay = ringIdleRelease else { return }
        var next: UInt64? = nil
        for case let record? in records where record.phase == .established && !record.ringsGivenBack && !record.releaseAfterCancel {
            let due = record.quietSince &+ delay
            if due <= now {
                _ = releaseRings(record)
            } else {
                next = min(next ?? due, due)
            }
        }
        if let next { nextRingSweep = min(nextRingSweep ?? next, next) }
    }

    /// Gives both rings' pages back if they are empty and no transfer touches them. With
    /// io_uring the recv in flight is cancelled first (the kernel must not write into
    /// pages being removed); its completion serves the connection, `noteRingActivity`
    /// finishes the release, and a new recv is armed after it. False if the rings hold
    /// bytes.
    func releaseRings(_ record: Record) -> Bool {
        guard record.inbound.isEmpty, !record.hasUnsentOutput, record.parsed == 0, !record.sendInFlight else { return false }
        // A recv into the keep-alive buffer may stay: it does not touch the rings.
        if record.recvInFlight && !record.recvIntoKeepAlive {
            guard case .uring(let uring) = io else { return false }
            if (try? uring.cancel(record.token(.recv), token: record.token(.cancel))) != nil {
                record.cancelsInFlight += 1
                record.releaseAfterCancel = true
            }
            return true
        }
        record.inbound.giveBackMemory()
        record.outbound.giveBackMemory()
        record.ringsGivenBack = true
        return true
    }

    func freeRetiredSlots() {
        guard !retiredSlots.isEmpty else { return }
        freeSlots.append(contentsOf: retiredSlots)
        retiredSlots.removeAll(keepingCapacity: true)
    }
}

extension Reactor.Record {
    /// Work that can be done without waiting for the kernel.
    var hasWork: Bool {
        switch phase {
        case .closed: return !events.isEmpty
        case .connecting: return !events.isEmpty
        case .established:
            if !events.isEmpty || dirty || arrived || keepAliveArrived > 0 || ioError != nil || peerClosed { return true }
            // A layer (TLS) holding input until delivery frees room: deliver even when this
            // serve made no events (the middle frames of a large message make none).
            if read(\.isWaitingForDelivery) { return true }
            if readReady && !inbound.isFull { return true }
            if writeReady && hasUnsentOutput { return true }
            // Produce ahead into the ring even while the socket is full, until the ring is
            // full too: the next writable edge then sends a whole ring at once. A machine
            // that wrote nothing into the room it had waits for more room.
            return read(\.hasPendingOutput) && !outputStalled && !outbound.isFull
        }
    }
}
