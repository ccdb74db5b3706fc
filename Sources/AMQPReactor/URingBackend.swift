import CAMQPLinux
import Glibc

/// Completions through io_uring: recv straight into a connection's inbound ring, send
/// straight from its outbound ring, connect, and poll for listeners and the eventfd.
///
/// Every request carries a packed `Token` as `user_data` (slot, generation, operation),
/// never a pointer. Requests are only prepared during a tick; they reach the kernel in
/// one `io_uring_enter` per tick (at the end of the tick, or with the next wait), so a
/// tick that serves a thousand connections makes one system call for all their sends.
///
/// Memory the kernel writes into (a recv's span of the inbound ring) or reads from (a
/// send's span of the outbound ring) must stay put until the completion arrives. The
/// reactor keeps at most one recv and one send in flight per connection, never reclaims
/// (compacts) a ring with a transfer in flight, and keeps a closed connection's record,
/// and so its rings, until every request it had in flight has completed.
final class URingBackend {
    /// What each connection request is, in `Token.operation`.
    enum Operation: UInt8 {
        case recv = 1
        case send = 2
        case connect = 3
        case cancel = 4
        case poll = 5
    }

    private let ring: UnsafeMutablePointer<camqp_uring_t>
    private let completions: UnsafeMutableBufferPointer<camqp_cqe_t>
    private let sys: SyscallTable
    /// The setup flags in use (CAMQP_SETUP_*).
    let flags: UInt32

    /// The setup flags this kernel accepts, found once per process (the probe sets up and
    /// tears down a few small rings).
    static let features: camqp_uring_features_t = {
        var f = camqp_uring_features_t()
        _ = camqp_uring_query_features(&f)
        return f
    }()

    /// True when io_uring can be used here (a sandbox may refuse io_uring_setup).
    static var isAvailable: Bool { features.setup_errno == 0 }

    /// Sets up a ring.
    ///
    /// - Parameter singleIssuer: only the creating thread will ever submit to this ring,
    ///   for its whole life. Then SINGLE_ISSUER and DEFER_TASKRUN are used where the
    ///   kernel accepts them (completions are posted only when this thread waits, with no
    ///   interrupts of other work); otherwise a submission from any other thread would
    ///   fail with EEXIST, so without the promise they are never used.
    init(entries: UInt32, completionEntries: UInt32, batch: Int, singleIssuer: Bool, syscalls: SyscallTable) throws(ReactorError) {
        sys = syscalls
        let features = Self.features
        guard features.setup_errno == 0 else {
            throw ReactorError.system("io_uring_setup", errno: features.setup_errno)
        }
        flags = singleIssuer ? features.best_flags_single_thread : features.best_flags_any_thread
        ring = .allocate(capacity: 1)
        let rc = camqp_uring_init(ring, entries, completionEntries, flags, nil)
        guard rc == 0 else {
            ring.deallocate()
            throw ReactorError.system("io_uring_setup", errno: -rc, detail: "\(entries) entries, flags 0x\(String(flags, radix: 16))")
        }
        completions = .allocate(capacity: max(1, batch))
    }

    deinit {
        // The reactor has cancelled and waited for every request that points into a
        // connection's ring before letting go of this object (see Reactor.deinit).
        camqp_uring_exit(ring)
        ring.deallocate()
        completions.deallocate()
    }

    // MARK: Preparing requests

    /// Gets an SQE from `prepare`; when the submission queue is full, submits what is
    /// there and tries once more.
    private func prepared(_ prepare: () -> UnsafeMutablePointer<camqp_sqe_t>?) throws(ReactorError) {
        if prepare() != nil { return }
        try submit()
        guard prepare() != nil else {
            throw ReactorError(.outOfMemory, operation: "io_uring_get_sqe", detail: "the submission queue is still full after a submit")
        }
    }

    /// A recv into `buffer`. `pollFirst`: the socket was drained by the last recv, so the
    /// kernel should not try the recv at submission (it would find nothing and then arm
    /// a poll anyway) but arm the poll at once (IORING_RECVSEND_POLL_FIRST).
    func recv(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, pollFirst: Bool = false, token: Token) throws(ReactorError) {
        try prepared {
            let sqe = sys.uringRecv(ring, token.packed, fd, buffer)
            // Set on the prepared entry rather than passed through the syscall table, so
            // a test's table (which may replace a recv with a NOP that ignores ioprio)
            // keeps its shape.
            if pollFirst, let sqe { sqe.pointee.ioprio |= UInt16(CAMQP_RECVSEND_POLL_FIRST) }
            return sqe
        }
    }

    func send(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, token: Token) throws(ReactorError) {
        try prepared {
            sys.uringSend(ring, token.packed, fd, buffer)
        }
    }

    /// A gathered send (SENDMSG, MSG_NOSIGNAL): `message`, its iovec array and the bytes
    /// they point at must stay valid and unchanged until the completion.
    func send(_ fd: Int32, message: UnsafeMutablePointer<msghdr>, token: Token) throws(ReactorError) {
        try prepared {
            sys.uringSendMessage(ring, token.packed, fd, message)
        }
    }

    /// A connect; `address` must stay valid until the next submit (the kernel copies it
    /// when the request is submitted).
    func connect(_ fd: Int32, to address: UnsafePointer<sockaddr>, length: socklen_t, token: Token) throws(ReactorError) {
        try prepared { sys.uringConnect(ring, token.packed, fd, address, length) }
    }

    /// A multishot poll for input (listeners, the eventfd).
    func pollInput(_ fd: Int32, token: Token) throws(ReactorError) {
        try prepared { camqp_uring_prep_poll_add(ring, token.packed, fd, UInt32(POLLIN), true) }
    }

    /// Cancels the request whose user_data is `target`; the cancel's own completion comes
    /// back with `token`.
    func cancel(_ target: Token, token: Token) throws(ReactorError) {
        try prepared { camqp_uring_prep_cancel(ring, token.packed, target.packed, 0) }
    }

    /// Prepared requests not yet submitted.
    var unsubmitted: Int { Int(camqp_uring_sq_ready(ring)) }

    // MARK: Submitting and waiting

    /// Hands every prepared request to the kernel.
    func submit() throws(ReactorError) {
        // EBUSY/EAGAIN: the completion queue overflowed and the kernel wants it reaped
        // first; the requests stay queued and go with the next submit.
        let rc = sys.uringSubmit(ring)
        if rc >= 0 || rc == -EBUSY || rc == -EAGAIN || rc == -EINTR { return }
        try Syscall.check("io_uring_enter(submit)", bugs: [.badDescriptor, .fault]) { rc }
    }

    /// Submits, waits up to `timeoutNanoseconds` for a completion (`nil`: no limit; 0: do
    /// not wait), and reports each completion to `record`, which must only take note: no
    /// user code. Drains the completion queue.
    func wait(timeoutNanoseconds: UInt64?, _ record: (UInt64, Int32, UInt32) -> Void) throws(ReactorError) {
        if timeoutNanoseconds == 0 || camqp_uring_cq_ready(ring) > 0 {
            try submit()
            // Completions held back as task work (DEFER_TASKRUN) or overflowed are only
            // posted when the thread enters the kernel.
            if camqp_uring_cq_ready(ring) == 0 || camqp_uring_cq_needs_enter(ring) {
                let rc = camqp_uring_get_events(ring)
                if rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY {
                    try Syscall.check("io_uring_enter(get_events)", bugs: [.badDescriptor, .fault]) { rc }
                }
            }
        } else {
            let timeout = timeoutNanoseconds.map { Int64(clamping: $0) } ?? -1
            let rc = camqp_uring_submit_and_wait_timeout(ring, 1, timeout)
            // ETIME: the time-out passed; EINTR: a signal; EBUSY: overflow, reap below.
            if rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN {
                try Syscall.check("io_uring_enter(wait)", bugs: [.badDescriptor, .fault]) { rc }
            }
        }
        while true {
            let n = Int(sys.uringReap(ring, completions))
            for i in 0..<n {
                let c = completions[i]
                record(c.user_data, c.res, c.flags)
            }
            if n < completions.count { return }
        }
    }
}
