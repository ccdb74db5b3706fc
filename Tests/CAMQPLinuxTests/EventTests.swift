import CAMQPLinux
import Glibc
import Testing

@Suite("epoll, eventfd, timerfd")
struct EventTests {
    @Test func epollConstantsMatchTheKernelABI() {
        #expect(CAMQP_EPOLLIN == 0x001)
        #expect(CAMQP_EPOLLOUT == 0x004)
        #expect(CAMQP_EPOLLERR == 0x008)
        #expect(CAMQP_EPOLLHUP == 0x010)
        #expect(CAMQP_EPOLLRDHUP == 0x2000)
        #expect(CAMQP_EPOLLET == 1 << 31)
        #expect(CAMQP_UDATA_TIMEOUT == UInt64.max)
        #expect(CAMQP_CQE_BUFFER_SHIFT == 16)
        #expect(camqp_cqe_buffer_id((7 << 16) | CAMQP_CQE_F_BUFFER | CAMQP_CQE_F_MORE) == 7)
    }

    @Test func eventfdCountsSignalsAndDrainsToZero() throws {
        let fd = try check("eventfd", camqp_eventfd_open(0))
        defer { close(fd) }
        var value: UInt64 = 99
        #expect(camqp_eventfd_drain(fd, &value) == -EAGAIN)
        #expect(try waitFor(fd, CAMQP_EPOLLIN, timeoutMs: 0) == 0)
        #expect(camqp_eventfd_signal(fd) == 0)
        #expect(camqp_eventfd_signal(fd) == 0)
        #expect(try waitFor(fd, CAMQP_EPOLLIN, timeoutMs: 0) & CAMQP_EPOLLIN != 0)
        #expect(camqp_eventfd_drain(fd, &value) == 0)
        #expect(value == 2)
        #expect(camqp_eventfd_drain(fd, &value) == -EAGAIN)
        #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
    }

    @Test func eventfdSignalOnASaturatedCounterStillSucceeds() throws {
        let fd = try check("eventfd", camqp_eventfd_open(0))
        defer { close(fd) }
        var max = UInt64.max - 1
        #expect(write(fd, &max, 8) == 8)
        #expect(camqp_eventfd_signal(fd) == 0)
        var value: UInt64 = 0
        #expect(camqp_eventfd_drain(fd, &value) == 0)
        #expect(value == UInt64.max - 1)
        #expect(camqp_eventfd_signal(-1) == -EBADF)
    }

    @Test func timerfdFiresAtAnAbsoluteDeadline() throws {
        let fd = try check("timerfd", camqp_timerfd_open())
        defer { close(fd) }
        var n: UInt64 = 0
        #expect(camqp_timerfd_read(fd, &n) == -EAGAIN)

        let deadline = camqp_monotonic_ns() + 2_000_000
        #expect(camqp_timerfd_arm(fd, deadline) == 0)
        #expect(try waitFor(fd, CAMQP_EPOLLIN) & CAMQP_EPOLLIN != 0)
        #expect(camqp_monotonic_ns() >= deadline)
        #expect(camqp_timerfd_read(fd, &n) == 0)
        #expect(n == 1)
        #expect(camqp_timerfd_read(fd, &n) == -EAGAIN)

        // Past deadlines, including 0, fire at once instead of disarming.
        for past in [UInt64(0), 1, camqp_monotonic_ns() - 1] {
            #expect(camqp_timerfd_arm(fd, past) == 0)
            #expect(try waitFor(fd, CAMQP_EPOLLIN, timeoutMs: 1000) & CAMQP_EPOLLIN != 0, "\(past)")
            #expect(camqp_timerfd_read(fd, &n) == 0)
        }
    }

    @Test func timerfdDisarmClearsThePendingExpiry() throws {
        let fd = try check("timerfd", camqp_timerfd_open())
        defer { close(fd) }
        #expect(camqp_timerfd_arm(fd, camqp_monotonic_ns() + 60_000_000_000) == 0)
        var its = itimerspec()
        #expect(timerfd_gettime(fd, &its) == 0)
        #expect(its.it_value.tv_sec > 0)
        #expect(camqp_timerfd_disarm(fd) == 0)
        #expect(timerfd_gettime(fd, &its) == 0)
        #expect(its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
        var n: UInt64 = 0
        #expect(camqp_timerfd_read(fd, &n) == -EAGAIN)
    }

    @Test func epollOnASocketPairReportsInOutAndPeerHangup() throws {
        let (a, b) = try makeSocketPair()
        var aOpen = true
        defer { close(b); if aOpen { close(a) } }
        let ep = try check("epoll", camqp_epoll_create())
        defer { close(ep) }
        #expect(fcntl(ep, F_GETFD) & FD_CLOEXEC != 0)
        let token: UInt64 = 0x1234_5678_9ABC_DEF0
        try check("epoll_ctl", camqp_epoll_ctl(ep, CAMQP_EPOLL_CTL_ADD, b, CAMQP_EPOLLIN | CAMQP_EPOLLRDHUP, token))
        #expect(camqp_epoll_ctl(ep, CAMQP_EPOLL_CTL_ADD, b, CAMQP_EPOLLIN, token) == -EEXIST)

        var events = [epoll_event](repeating: epoll_event(), count: 4)
        func wait(_ timeoutMs: Int32) -> [(UInt32, UInt64)] {
            events.withUnsafeMutableBufferPointer { buf in
                let n = epollWait(ep, buf.baseAddress, Int32(buf.count), timeoutMs: timeoutMs)
                guard n >= 0 else {
                    Issue.record("epoll_wait: \(errnoName(-n))")
                    return []
                }
                return (0..<Int(n)).map {
                    (camqp_epoll_event_events(buf.baseAddress! + $0), camqp_epoll_event_data(buf.baseAddress! + $0))
                }
            }
        }
        #expect(wait(0).isEmpty)

        #expect(camqp_send_nosignal(a, "ping", 4, 0) == 4)
        let ready = wait(1000)
        #expect(ready.count == 1)
        #expect(ready.first?.1 == token)
        #expect((ready.first?.0 ?? 0) & CAMQP_EPOLLIN != 0)

        // Level-triggered: still readable until drained.
        #expect(wait(0).count == 1)
        var buf = [UInt8](repeating: 0, count: 8)
        #expect(camqp_recv(b, &buf, 8, 0) == 4)
        #expect(wait(0).isEmpty)

        // Edge-triggered: one report per arrival, even if nothing is read.
        try check("epoll_ctl", camqp_epoll_ctl(
            ep, CAMQP_EPOLL_CTL_MOD, b, CAMQP_EPOLLIN | CAMQP_EPOLLOUT | CAMQP_EPOLLET, token + 1))
        let edge = wait(1000)
        #expect(edge.count == 1 && edge.first?.1 == token + 1)
        #expect((edge.first?.0 ?? 0) & CAMQP_EPOLLOUT != 0)
        #expect(wait(0).isEmpty)
        #expect(camqp_send_nosignal(a, "x", 1, 0) == 1)
        #expect((wait(1000).first?.0 ?? 0) & CAMQP_EPOLLIN != 0)
        #expect(wait(0).isEmpty)

        // Peer closes: RDHUP (and IN, for the EOF) are reported.
        try check("epoll_ctl", camqp_epoll_ctl(ep, CAMQP_EPOLL_CTL_MOD, b, CAMQP_EPOLLIN | CAMQP_EPOLLRDHUP, token))
        close(a)
        aOpen = false
        let hup = wait(1000)
        #expect((hup.first?.0 ?? 0) & CAMQP_EPOLLRDHUP != 0)

        try check("epoll_ctl", camqp_epoll_ctl(ep, CAMQP_EPOLL_CTL_DEL, b, 0, 0))
        #expect(camqp_epoll_ctl(ep, CAMQP_EPOLL_CTL_DEL, b, 0, 0) == -ENOENT)
        #expect(camqp_epoll_wait(-1, nil, 1, 0) == -EBADF)
    }
}
