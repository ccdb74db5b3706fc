import CAMQPLinux
import Glibc

/// Readiness through epoll, edge-triggered.
///
/// Every socket is registered once, for input, output and peer hang-up, with EPOLLET, and
/// never modified afterwards. The reactor remembers readiness per connection ("may read",
/// "may write") and clears it only when a call returns EAGAIN (or writes short). Why edge
/// rather than level:
///
/// - Backpressure costs nothing. A connection whose inbound ring is full simply is not
///   read; level-triggered epoll would report it again on every wait (a busy loop) unless
///   its interest were removed and restored with two `epoll_ctl` calls.
/// - Waiting for output costs nothing: EPOLLOUT is always registered, and an edge arrives
///   only when a full send buffer drains, instead of on every wait.
/// - `tick(only:)` needs readiness to be remembered anyway, so that the connections it
///   does not serve keep theirs for their own turn.
///
/// The price is the discipline to read until EAGAIN, which the reactor's read loop keeps.
final class EpollBackend {
    let fd: Int32
    private let events: UnsafeMutableBufferPointer<epoll_event>
    private let sys: SyscallTable

    init(batch: Int, syscalls: SyscallTable) throws(ReactorError) {
        precondition(batch > 0, "epoll needs room for at least one event per wait")
        sys = syscalls
        fd = try Syscall.check("epoll_create1", bugs: [.invalid]) { camqp_epoll_create() }
        events = .allocate(capacity: batch)
    }

    deinit {
        events.deallocate()
        Syscall.close(fd)
    }

    /// The interest every connection socket is registered with.
    static let connectionInterest = CAMQP_EPOLLIN | CAMQP_EPOLLOUT | CAMQP_EPOLLRDHUP | CAMQP_EPOLLET
    /// The interest of listeners and the eventfd.
    static let inputInterest = CAMQP_EPOLLIN | CAMQP_EPOLLET

    /// Registers `socket` with `token`.
    func add(_ socket: Int32, token: Token, interest: UInt32) throws(ReactorError) {
        // EEXIST (registered twice) and EINVAL/EBADF/EPERM (not a pollable descriptor of
        // ours) are bugs; ENOMEM and ENOSPC (max_user_watches) are real.
        try Syscall.check("epoll_ctl(ADD)", bugs: [.badDescriptor, .fault, .invalid]) {
            sys.epollControl(fd, CAMQP_EPOLL_CTL_ADD, socket, interest, token.packed)
        }
    }

    /// Unregisters `socket` before it is closed.
    func remove(_ socket: Int32) {
        // close(2) would drop the registration too, unless the descriptor had been
        // duplicated; removing it explicitly keeps that from ever mattering. ENOENT is
        // a bug (not registered); nothing else can happen to a valid descriptor.
        let rc = sys.epollControl(fd, CAMQP_EPOLL_CTL_DEL, socket, 0, 0)
        precondition(rc == 0, "epoll_ctl(DEL, \(socket)) failed with \(ErrnoName.of(-rc))")
    }

    /// Waits up to `timeoutNanoseconds` (`nil`: until something happens; 0: not at all)
    /// and reports each event's token and flags to `record`, which must only take note:
    /// no I/O, no user code. An interrupted wait reports nothing.
    func wait(timeoutNanoseconds: UInt64?, _ record: (UInt64, UInt32) -> Void) throws(ReactorError) {
        let timeout: Int32
        if let ns = timeoutNanoseconds {
            // Round up: waking a little late is harmless, waking early means another wait.
            let ms = ns / 1_000_000 + (ns % 1_000_000 == 0 ? 0 : 1)
            timeout = Int32(clamping: ms)
        } else {
            timeout = -1
        }
        let n = sys.epollWait(fd, events, timeout)
        if n == -EINTR { return }
        let count = try Syscall.check("epoll_wait", bugs: [.badDescriptor, .fault, .invalid]) { n }
        for i in 0..<Int(count) {
            let event = events.baseAddress! + i
            record(camqp_epoll_event_data(event), camqp_epoll_event_events(event))
        }
    }
}
