package import CAMQPLinux
import Glibc

/// The system calls a reactor makes on sockets, epoll and io_uring, as function values
/// chosen when the reactor is made (`ReactorOptions.syscalls`): the kernel's (`system`),
/// or a test's that injects faults (EAGAIN, EINTR, short reads and writes, resets, failed
/// accepts and connects, refused io_uring submissions) at any step of a connection's life.
///
/// Why a table rather than a protocol the reactor is generic over: the reactor is already
/// generic over its protocol machine, and a second parameter would spread to every user
/// of `Reactor<ConnectionEngine>`. A table costs one indirect call per system call (a
/// system call itself costs a hundred times more; measured with ReactorProbe, see
/// Docs/reactor.md), and its policy stays in `Syscall` and the callers: a faked errno
/// takes exactly the path a real one would.
///
/// Every entry returns what the `camqp_*` shim returns: a result (>= 0) or -errno; the
/// io_uring preparations return the prepared entry, or `nil` when the submission queue
/// is full.
package struct SyscallTable: Sendable {
    /// socket(2): non-blocking, close-on-exec (`camqp_socket_open`).
    package var socket: @Sendable (_ domain: Int32, _ type: Int32) -> Int32
    /// connect(2) on a non-blocking socket.
    package var connect: @Sendable (_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32
    /// accept4(2), non-blocking and close-on-exec.
    package var accept: @Sendable (_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>, _ length: UnsafeMutablePointer<socklen_t>) -> Int32
    /// getsockopt(SO_ERROR): a connect's outcome.
    package var socketError: @Sendable (_ fd: Int32, _ error: UnsafeMutablePointer<Int32>) -> Int32
    /// recv(2).
    package var recv: @Sendable (_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Int
    /// send(2) with MSG_NOSIGNAL.
    package var send: @Sendable (_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Int
    /// sendmsg(2) of an iovec array with MSG_NOSIGNAL (a gathered send).
    package var sendVector: @Sendable (_ fd: Int32, _ vector: UnsafeBufferPointer<iovec>) -> Int
    /// setsockopt(2) as `Socket` makes it: `option` names it (`TCP_NODELAY`, …) and `call`
    /// makes the real call, returning 0 or -errno; a test may fail it instead.
    package var setOption: @Sendable (_ fd: Int32, _ option: StaticString, _ call: () -> Int32) -> Int32
    /// close(2) of a socket (connections and listeners): 0 or -errno.
    package var close: @Sendable (_ fd: Int32) -> Int32
    /// epoll_ctl(2).
    package var epollControl: @Sendable (_ epoll: Int32, _ operation: Int32, _ fd: Int32, _ events: UInt32, _ data: UInt64) -> Int32
    /// epoll_wait(2): the count of events written to `events`.
    package var epollWait: @Sendable (_ epoll: Int32, _ events: UnsafeMutableBufferPointer<epoll_event>, _ timeoutMilliseconds: Int32) -> Int32
    /// Prepares a recv into `buffer`.
    package var uringRecv: @Sendable (_ ring: UnsafeMutablePointer<camqp_uring_t>, _ userData: UInt64, _ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> UnsafeMutablePointer<camqp_sqe_t>?
    /// Prepares a send of `buffer` (MSG_NOSIGNAL).
    package var uringSend: @Sendable (_ ring: UnsafeMutablePointer<camqp_uring_t>, _ userData: UInt64, _ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> UnsafeMutablePointer<camqp_sqe_t>?
    /// Prepares a gathered send of `message` (MSG_NOSIGNAL); the message, its iovecs and
    /// their bytes must stay put until the completion.
    package var uringSendMessage: @Sendable (_ ring: UnsafeMutablePointer<camqp_uring_t>, _ userData: UInt64, _ fd: Int32, _ message: UnsafeMutablePointer<msghdr>) -> UnsafeMutablePointer<camqp_sqe_t>?
    /// Prepares a connect.
    package var uringConnect: @Sendable (_ ring: UnsafeMutablePointer<camqp_uring_t>, _ userData: UInt64, _ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> UnsafeMutablePointer<camqp_sqe_t>?
    /// io_uring_enter(2) to submit what is prepared: the count submitted, or -errno.
    package var uringSubmit: @Sendable (_ ring: UnsafeMutablePointer<camqp_uring_t>) -> Int32
    /// Copies up to `out.count` completions out of the completion queue.
    package var uringReap: @Sendable (_ ring: UnsafeMutablePointer<camqp_uring_t>, _ out: UnsafeMutableBufferPointer<camqp_cqe_t>) -> UInt32

    /// The kernel's calls, through the C shim.
    package static let system = SyscallTable(
        socket: { camqp_socket_open($0, $1) },
        connect: { camqp_connect($0, $1, $2) },
        accept: { camqp_accept($0, $1, $2) },
        socketError: { camqp_socket_error($0, $1) },
        recv: { camqp_recv($0, $1.baseAddress, $1.count, 0) },
        send: { camqp_send_nosignal($0, $1.baseAddress, $1.count, 0) },
        sendVector: { camqp_sendv_nosignal($0, $1.baseAddress, Int32(clamping: $1.count)) },
        setOption: { _, _, call in call() },
        close: { Glibc.close($0) == -1 ? -errno : 0 },
        epollControl: { camqp_epoll_ctl($0, $1, $2, $3, $4) },
        epollWait: { camqp_epoll_wait($0, $1.baseAddress, Int32(clamping: $1.count), $2) },
        uringRecv: { camqp_uring_prep_recv($0, $1, $2, $3.baseAddress, $3.count, 0, 0) },
        uringSend: { camqp_uring_prep_send($0, $1, $2, $3.baseAddress, $3.count, Int32(MSG_NOSIGNAL), 0) },
        uringSendMessage: { camqp_uring_prep_sendmsg($0, $1, $2, $3, Int32(MSG_NOSIGNAL)) },
        uringConnect: { camqp_uring_prep_connect($0, $1, $2, $3, $4) },
        uringSubmit: { camqp_uring_submit($0) },
        uringReap: { camqp_uring_reap($0, $1.baseAddress, UInt32($1.count)) })
}
