import CAMQPLinux
import Glibc
import Testing

@Suite("io_uring")
struct URingTests {
    /// The one io_uring test that must run everywhere: either a ring works
    /// here and a NOP comes back with our user_data, or the sandbox refused
    /// io_uring_setup with one of the errnos a sandbox uses.
    @Test func ringSetsUpAndNopRoundTripsUserData() throws {
        var err: Int32 = -1
        let rc = camqp_uring_probe(0, &err)
        guard rc == 0 else {
            print("io_uring_setup refused here: \(errnoName(err)) — the reactor must fall back to epoll")
            #expect(rc == -err)
            #expect(
                sandboxRefusals.contains(err),
                "io_uring_setup failed with \(errnoName(err)), which no sandbox uses to refuse it")
            return
        }
        #expect(err == 0)

        let ring = try Ring(entries: 8)
        let userData: UInt64 = 0xA5A5_0001_DEAD_BEEF
        #expect(camqp_uring_prep_nop(ring.ring, userData) != nil)
        #expect(camqp_uring_sq_ready(ring.ring) == 1)
        let cqes = ring.complete(1)
        #expect(cqes.count == 1)
        #expect(cqes.first?.user_data == userData)
        #expect(cqes.first?.res == 0)
        #expect(camqp_uring_cq_ready(ring.ring) == 0)
    }

    @Test(.enabled(if: URing.available, URing.unavailableComment))
    func featureQueryReportsWhatTheKernelAccepts() throws {
        var f = camqp_uring_features_t()
        #expect(camqp_uring_query_features(&f) == 0)
        #expect(f.setup_errno == 0)
        func names(_ flags: UInt32) -> String {
            let all: [(UInt32, String)] = [
                (CAMQP_SETUP_SUBMIT_ALL, "SUBMIT_ALL"), (CAMQP_SETUP_COOP_TASKRUN, "COOP_TASKRUN"),
                (CAMQP_SETUP_TASKRUN_FLAG, "TASKRUN_FLAG"), (CAMQP_SETUP_SINGLE_ISSUER, "SINGLE_ISSUER"),
                (CAMQP_SETUP_DEFER_TASKRUN, "DEFER_TASKRUN"),
            ]
            let s = all.filter { flags & $0.0 != 0 }.map(\.1).joined(separator: "|")
            return s.isEmpty ? "0" : s
        }
        print("""
            io_uring here: accepted setup flags \(names(f.accepted_setup_flags)); \
            best single-thread \(names(f.best_flags_single_thread)); \
            best any-thread \(names(f.best_flags_any_thread)); \
            features 0x\(String(f.kernel_features, radix: 16)); \
            PROVIDE_BUFFERS \(f.op_provide_buffers) MSG_RING \(f.op_msg_ring) \
            SEND_ZC \(f.op_send_zc) SOCKET \(f.op_socket) \
            buf_ring \(f.buf_ring) recv_multishot \(f.recv_multishot)
            """)
        // The recommendations must be combinations the kernel really accepts.
        #expect(camqp_uring_probe(f.best_flags_single_thread, nil) == 0)
        #expect(camqp_uring_probe(f.best_flags_any_thread, nil) == 0)
        #expect(f.best_flags_any_thread & (CAMQP_SETUP_SINGLE_ISSUER | CAMQP_SETUP_DEFER_TASKRUN) == 0)
        // Unknown setup bits are refused with EINVAL, not silently ignored.
        var err: Int32 = 0
        #expect(camqp_uring_probe(1 << 31, &err) == -EINVAL)
        #expect(err == EINVAL)
    }

    @Test(.enabled(if: URing.available, URing.unavailableComment))
    func bestSingleThreadFlagsRunANop() throws {
        let ring = try Ring(entries: 8, flags: URing.features.best_flags_single_thread)
        #expect(camqp_uring_prep_nop(ring.ring, 42) != nil)
        let cqes = ring.complete(1)
        #expect(cqes.map(\.user_data) == [42])
    }

    @Test(.enabled(if: URing.available, URing.unavailableComment))
    func reapCopiesAtMostMaxAndDropsLiburingTimeouts() throws {
        let ring = try Ring(entries: 8)
        for ud in [1, 2, 3, 4] as [UInt64] {
            #expect(camqp_uring_prep_nop(ring.ring, ud) != nil)
        }
        // A completion carrying liburing's internal timeout marker must never
        // reach the reactor.
        #expect(camqp_uring_prep_nop(ring.ring, CAMQP_UDATA_TIMEOUT) != nil)
        #expect(camqp_uring_submit_and_wait(ring.ring, 5) == 5)
        #expect(camqp_uring_cq_ready(ring.ring) == 5)

        var out = [camqp_cqe_t](repeating: camqp_cqe_t(), count: 2)
        var seen: [UInt64] = []
        for expected in [2, 2, 0, 0] as [UInt32] {
            let n = out.withUnsafeMutableBufferPointer { camqp_uring_reap(ring.ring, $0.baseAddress, 2) }
            #expect(n == expected)
            seen += out[0..<Int(n)].map(\.user_data)
        }
        #expect(seen == [1, 2, 3, 4])
        #expect(camqp_uring_cq_ready(ring.ring) == 0)
        #expect(out.withUnsafeMutableBufferPointer { camqp_uring_reap(ring.ring, $0.baseAddress, 0) } == 0)
    }

    @Test(.enabled(if: URing.available, URing.unavailableComment))
    func prepReturnsNilWhenTheSubmissionQueueIsFull() throws {
        let ring = try Ring(entries: 4)
        #expect(camqp_uring_sq_space_left(ring.ring) == 4)
        for ud in 0..<4 as Range<UInt64> {
            #expect(camqp_uring_prep_nop(ring.ring, ud) != nil)
        }
        #expect(camqp_uring_prep_nop(ring.ring, 99) == nil)
        #expect(camqp_uring_submit(ring.ring) == 4)
        #expect(ring.complete(4).count == 4)
        #expect(camqp_uring_prep_nop(ring.ring, 5) != nil)
        #expect(ring.complete(1).map(\.user_data) == [5])
    }

    @Test(.enabled(if: URing.available, URing.unavailableComment))
    func waitTimesOutWithETIMEWhenNothingCompletes() throws {
        let ring = try Ring()
        // -EINTR is retried: see epollWait in Support.swift for why it occurs.
        func retrying(_ call: () -> Int32) -> Int32 {
            for _ in 0..<100 {
                let rc = call()
                if rc != -EINTR { return rc }
            }
            return -EINTR
        }
        let start = camqp_monotonic_ns()
        #expect(retrying { camqp_uring_submit_and_wait_timeout(ring.ring, 1, 5_000_000) } == -ETIME)
        #expect(retrying { camqp_uring_wait(ring.ring, 1, 1_000_000) } == -ETIME)
        #expect(retrying { camqp_uring_submit_and_wait_timeout(ring.ring, 1, 0) } == -ETIME)
        let elapsed = camqp_monotonic_ns() - start
        #expect(elapsed >= 6_000_000)
        #expect(elapsed < 1_000_000_000)
    }

    @Test(.enabled(if: URing.available, URing.unavailableComment))
    func sendRecvWritevAndSendmsgOnASocketPair() throws {
        let ring = try Ring()
        let (a, b) = try makeSocketPair()
        defer { close(a); close(b) }

        let hello: [UInt8] = Array("hello".utf8)
        var inbox = [UInt8](repeating: 0, count: 64)
        try hello.withUnsafeBytes { src in
            try inbox.withUnsafeMutableBytes { dst in
                #expect(camqp_uring_prep_send(ring.ring, 1, a, src.baseAddress, src.count, Int32(MSG_NOSIGNAL), 0) != nil)
                let cqes = ring.complete(1)
                #expect(cqes.map(\.res) == [5])
                #expect(camqp_uring_prep_recv(ring.ring, 2, b, dst.baseAddress, dst.count, 0, 0) != nil)
                let got = ring.complete(1)
                try #require(got.count == 1)
                #expect(got[0].user_data == 2)
                #expect(got[0].res == 5)
            }
        }
        #expect(Array(inbox[0..<5]) == hello)

        // Gathered writes: two iovecs, one completion, bytes arrive in order.
        var head: [UInt8] = Array("AMQP".utf8)
        var tail: [UInt8] = [0, 1, 0, 0]
        try head.withUnsafeMutableBytes { h in
            try tail.withUnsafeMutableBytes { t in
                var iov = [
                    iovec(iov_base: h.baseAddress, iov_len: h.count),
                    iovec(iov_base: t.baseAddress, iov_len: t.count),
                ]
                try iov.withUnsafeMutableBufferPointer { iovs in
                    #expect(camqp_uring_prep_writev(ring.ring, 3, a, iovs.baseAddress, 2) != nil)
                    #expect(ring.complete(1).map(\.res) == [8])

                    var msg = msghdr()
                    msg.msg_iov = iovs.baseAddress
                    msg.msg_iovlen = 2
                    #expect(camqp_uring_prep_sendmsg(ring.ring, 4, a, &msg, Int32(MSG_NOSIGNAL)) != nil)
                    let done = ring.complete(1)
                    try #require(done.count == 1)
                    #expect(done[0].user_data == 4)
                    #expect(done[0].res == 8)
                }
            }
        }
        var received = [UInt8](repeating: 0, count: 32)
        let n = camqp_recv(b, &received, received.count, 0)
        #expect(n == 16)
        #expect(Array(received[0..<16]) == head + tail + head + tail)
    }

    @Test(.enabled(if: URing.available, URing.unavailableComment))
    func timeoutFiresAndCancelRemovesAPendingOne() throws {
        let ring = try Ring()
        var short = camqp_timespec_t(tv_sec: 0, tv_nsec: 1_000_000)
        #expect(camqp_uring_prep_timeout(ring.ring, 10, &short, 0, 0) != nil)
        #expect(ring.complete(1).map(\.res) == [-ETIME])

        var long = camqp_timespec_t(tv_sec: 60, tv_nsec: 0)
        #expect(camqp_uring_prep_timeout(ring.ring, 11, &long, 0, 0) != nil)
        #expect(camqp_uring_submit(ring.ring) == 1)
        #expect(camqp_uring_prep_cancel(ring.ring, 12, 11, 0) != nil)
        let cqes = ring.complete(2)
        let byData = Dictionary(uniqueKeysWithValues: cqes.map { ($0.user_data, $0.res) })
        #expect(byData[11] == -ECANCELED)
        #expect(byData[12] == 0)
        // Cancelling something that does not exist says so.
        #expect(camqp_uring_prep_cancel(ring.ring, 13, 0xFFFF, 0) != nil)
        #expect(ring.complete(1).map(\.res) == [-ENOENT])
    }

    @Test(.enabled(if: URing.available, URing.unavailableComment))
    func linkTimeoutCancelsAStalledRecv() throws {
        let ring = try Ring()
        let (a, b) = try makeSocketPair()
        defer { close(a); close(b) }
        var buf = [UInt8](repeating: 0, count: 8)
        var ts = camqp_timespec_t(tv_sec: 0, tv_nsec: 2_000_000)
        try buf.withUnsafeMutableBytes { dst in
            let recv = try #require(camqp_uring_prep_recv(ring.ring, 20, b, dst.baseAddress, dst.count, 0, 0))
            camqp_sqe_add_flags(recv, CAMQP_IOSQE_IO_LINK)
            #expect(camqp_uring_prep_link_timeout(ring.ring, 21, &ts, 0) != nil)
            let cqes = ring.complete(2)
            let byData = Dictionary(uniqueKeysWithValues: cqes.map { ($0.user_data, $0.res) })
            #expect(byData[20] == -ECANCELED)
            #expect(byData[21] == -ETIME)
        }
    }

    @Test(.enabled(if: URing.available, URing.unavailableComment))
    func pollAddReportsReadiness() throws {
        let ring = try Ring()
        let (a, b) = try makeSocketPair()
        defer { close(a); close(b) }
        #expect(camqp_uring_prep_poll_add(ring.ring, 30, b, UInt32(POLLIN), false) != nil)
        #expect(camqp_uring_submit(ring.ring) == 1)
        #expect(camqp_uring_cq_ready(ring.ring) == 0)
        #expect(camqp_send_nosignal(a, "x", 1, 0) == 1)
        let cqes = ring.complete(1)
        try #require(cqes.count == 1)
        #expect(cqes[0].user_data == 30)
        #expect(Int32(cqes[0].res) & Int32(POLLIN) != 0)
    }

    @Test(.enabled(if: URing.available, URing.unavailableComment))
    func acceptConnectShutdownAndCloseOverLoopback() throws {
        let ring = try Ring()
        let listener = try makeListener()
        defer { close(listener.fd) }
        let client = try check("socket", camqp_socket_open(AF_INET, Int32(SOCK_STREAM.rawValue)))
        var addr = loopbackAddress(port: listener.port)
        let cqes = try withUnsafePointer(to: &addr) { p in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                let flags = Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
                #expect(camqp_uring_prep_accept(ring.ring, 40, listener.fd, nil, nil, flags, false) != nil)
                #expect(camqp_uring_prep_connect(
                    ring.ring, 41, client, sa, socklen_t(MemoryLayout<sockaddr_in>.size)) != nil)
                let cqes = ring.complete(2)
                try #require(cqes.count == 2)
                return cqes
            }
        }
        let byData = Dictionary(uniqueKeysWithValues: cqes.map { ($0.user_data, $0.res) })
        #expect(byData[41] == 0)
        let server = try #require(byData[40])
        #expect(server >= 0)
        #expect(fcntl(server, F_GETFL) & O_NONBLOCK != 0)

        #expect(camqp_uring_prep_shutdown(ring.ring, 42, client, Int32(SHUT_WR)) != nil)
        #expect(ring.complete(1).map(\.res) == [0])
        var byte: UInt8 = 0
        #expect(camqp_recv(server, &byte, 1, 0) == 0)  // orderly EOF after SHUT_WR

        // Closing through the ring really closes: the client sees EOF. (Not
        // checked with fcntl on the old fd number: a concurrently running
        // test may already have been handed that number.)
        #expect(camqp_uring_prep_close(ring.ring, 43, server) != nil)
        #expect(ring.complete(1).map(\.res) == [0])
        #expect(try waitFor(client, CAMQP_EPOLLIN | CAMQP_EPOLLRDHUP) & CAMQP_EPOLLRDHUP != 0)
        #expect(camqp_recv(client, &byte, 1, 0) == 0)
        #expect(camqp_uring_prep_close(ring.ring, 44, client) != nil)
        #expect(ring.complete(1).map(\.res) == [0])
    }

    @Test(.enabled(if: URing.available, URing.unavailableComment),
          .enabled(if: URing.features.op_msg_ring, "kernel lacks IORING_OP_MSG_RING (< 5.18)"))
    func msgRingPostsACompletionOnAnotherRing() throws {
        let sender = try Ring()
        let receiver = try Ring()
        #expect(camqp_uring_prep_msg_ring(sender.ring, 50, receiver.fd, 7, 0xC0FFEE) != nil)
        #expect(sender.complete(1).map(\.res) == [0])
        let got = receiver.complete(1)
        try #require(got.count == 1)
        #expect(got[0].user_data == 0xC0FFEE)
        #expect(got[0].res == 7)
    }

    @Test(.enabled(if: URing.available, URing.unavailableComment),
          .enabled(if: URing.features.op_provide_buffers, "kernel lacks IORING_OP_PROVIDE_BUFFERS (< 5.7)"))
    func providedBuffersFeedARecvWithBufferSelect() throws {
        let ring = try Ring()
        let (a, b) = try makeSocketPair()
        defer { close(a); close(b) }
        let bufLen = 32, count = 4, group: UInt16 = 3
        let pool = UnsafeMutableRawBufferPointer.allocate(byteCount: bufLen * count, alignment: 16)
        defer { pool.deallocate() }
        #expect(camqp_uring_prep_provide_buffers(
            ring.ring, 60, pool.baseAddress, Int32(bufLen), Int32(count), group, 100) != nil)
        #expect(ring.complete(1).map(\.res) == [0])

        #expect(camqp_send_nosignal(a, "frame", 5, 0) == 5)
        let sqe = try #require(camqp_uring_prep_recv(ring.ring, 61, b, nil, bufLen, 0, 0))
        camqp_sqe_select_buffer(sqe, group)
        let got = ring.complete(1)
        try #require(got.count == 1)
        #expect(got[0].res == 5)
        #expect(got[0].flags & CAMQP_CQE_F_BUFFER != 0)
        let bid = Int(camqp_cqe_buffer_id(got[0].flags))
        #expect((100..<100 + count).contains(bid))
        let slot = UnsafeRawBufferPointer(rebasing: pool[(bid - 100) * bufLen..<(bid - 100) * bufLen + 5])
        #expect(Array(slot) == Array("frame".utf8))

        #expect(camqp_uring_prep_remove_buffers(ring.ring, 62, Int32(count), group) != nil)
        #expect(ring.complete(1).map(\.res) == [Int32(count - 1)])
    }

    @Test(.enabled(if: URing.available, URing.unavailableComment),
          .enabled(if: URing.features.buf_ring && URing.features.recv_multishot,
                   "kernel lacks buffer rings or multishot recv (< 6.0)"))
    func multishotRecvFromABufferRingKeepsDelivering() throws {
        let ring = try Ring()
        let (a, b) = try makeSocketPair()
        defer { close(a); close(b) }
        let entries: UInt32 = 8, bufLen = 64, group: UInt16 = 9
        var err: Int32 = 0
        let br = try #require(camqp_buf_ring_setup(ring.ring, entries, group, &err), "\(errnoName(err))")
        let pool = UnsafeMutableRawBufferPointer.allocate(byteCount: bufLen * Int(entries), alignment: 64)
        defer { pool.deallocate() }
        for i in 0..<entries {
            camqp_buf_ring_add(br, entries, pool.baseAddress! + Int(i) * bufLen, UInt32(bufLen), UInt16(i), i)
        }
        camqp_buf_ring_advance(br, entries)

        #expect(camqp_uring_prep_recv_multishot(ring.ring, 70, b, group, 0) != nil)
        #expect(camqp_uring_submit(ring.ring) == 1)
        var bids: [Int] = []
        for word in ["one", "three"] {
            #expect(camqp_send_nosignal(a, word, word.utf8.count, 0) == word.utf8.count)
            let got = ring.complete(1)
            try #require(got.count == 1)
            #expect(got[0].user_data == 70)
            #expect(got[0].res == Int32(word.utf8.count))
            #expect(got[0].flags & CAMQP_CQE_F_MORE != 0)
            #expect(got[0].flags & CAMQP_CQE_F_BUFFER != 0)
            let bid = Int(camqp_cqe_buffer_id(got[0].flags))
            bids.append(bid)
            let bytes = UnsafeRawBufferPointer(rebasing: pool[bid * bufLen..<bid * bufLen + word.utf8.count])
            #expect(String(decoding: bytes, as: UTF8.self) == word)
        }
        #expect(bids[0] != bids[1])

        // Disarm: the multishot request ends with a final CQE without F_MORE.
        #expect(camqp_uring_prep_cancel(ring.ring, 71, 70, 0) != nil)
        let tail = ring.complete(2)
        #expect(tail.contains { $0.user_data == 71 && $0.res == 0 })
        #expect(tail.contains { $0.user_data == 70 && $0.flags & CAMQP_CQE_F_MORE == 0 })
        #expect(camqp_buf_ring_free(ring.ring, br, entries, group) == 0)
        #expect(camqp_buf_ring_setup(ring.ring, 3, 10, &err) == nil)
        #expect(err == EINVAL)
    }

    /// Documents why the reactor may only use SINGLE_ISSUER when one thread
    /// creates and drives the ring for its whole life.
    @Test(.enabled(if: URing.available, URing.unavailableComment),
          .enabled(if: URing.features.accepted_setup_flags & CAMQP_SETUP_SINGLE_ISSUER != 0,
                   "kernel lacks IORING_SETUP_SINGLE_ISSUER (< 6.0)"))
    func singleIssuerRingRefusesSubmissionsFromAnotherThread() throws {
        let ring = try Ring(entries: 4, flags: CAMQP_SETUP_SINGLE_ISSUER)
        #expect(camqp_uring_prep_nop(ring.ring, 1) != nil)
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { arg in
            let ring = arg!.assumingMemoryBound(to: camqp_uring_t.self)
            let rc = camqp_uring_submit(ring)
            return UnsafeMutableRawPointer(bitPattern: Int(rc < 0 ? -rc : 1000 + rc))
        }, UnsafeMutableRawPointer(ring.ring))
        try #require(started == 0)
        var result: UnsafeMutableRawPointer?
        pthread_join(thread, &result)
        #expect(Int(bitPattern: result) == Int(EEXIST))
        // The owning thread still can.
        #expect(ring.complete(1).map(\.user_data) == [1])
    }

    /// On a DEFER_TASKRUN ring completions wait in the kernel until the owner
    /// enters it; TASKRUN_FLAG is how the reactor learns that without a
    /// syscall, and camqp_uring_get_events is how it collects them.
    @Test(.enabled(if: URing.available, URing.unavailableComment),
          .enabled(if: URing.features.accepted_setup_flags & CAMQP_SETUP_DEFER_TASKRUN != 0
                       && URing.features.accepted_setup_flags & CAMQP_SETUP_TASKRUN_FLAG != 0,
                   "kernel lacks IORING_SETUP_DEFER_TASKRUN (< 6.1)"))
    func deferredCompletionsNeedAKernelEntry() throws {
        let ring = try Ring(entries: 4, flags: CAMQP_SETUP_SINGLE_ISSUER | CAMQP_SETUP_DEFER_TASKRUN
                                               | CAMQP_SETUP_TASKRUN_FLAG)
        var ts = camqp_timespec_t(tv_sec: 0, tv_nsec: 1_000_000)
        #expect(camqp_uring_prep_timeout(ring.ring, 80, &ts, 0, 0) != nil)
        #expect(camqp_uring_submit(ring.ring) == 1)
        // Poll (bounded, 1 ms steps) until the kernel flags pending work.
        let deadline = camqp_monotonic_ns() + 2_000_000_000
        var pause = timespec(tv_sec: 0, tv_nsec: 1_000_000)
        while !camqp_uring_cq_needs_enter(ring.ring) && camqp_monotonic_ns() < deadline {
            nanosleep(&pause, nil)
        }
        #expect(camqp_uring_cq_needs_enter(ring.ring))
        #expect(camqp_uring_cq_ready(ring.ring) == 0)
        #expect(camqp_uring_get_events(ring.ring) >= 0)
        #expect(camqp_uring_cq_ready(ring.ring) == 1)
        #expect(!camqp_uring_cq_needs_enter(ring.ring))
        #expect(ring.complete(1).map(\.res) == [-ETIME])
    }
}
