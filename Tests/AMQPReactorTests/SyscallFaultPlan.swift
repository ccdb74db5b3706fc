import AMQPReactor
import CAMQPLinux
import Glibc
import Synchronization

/// A `SyscallTable` that makes the real calls, except the one a test names: the `nth`
/// call of one kind fails with an errno, moves fewer bytes, or (io_uring) finds the
/// submission queue full. It also counts every call and checks descriptors: each socket
/// it handed out (socket, accept) must come back through `close`.
///
/// Faults take the path a real one would, and keep the kernel's promises so a test only
/// sees what could happen: an injected EAGAIN or short transfer on an edge-triggered
/// epoll socket re-arms the socket (EPOLL_CTL_MOD), as data or room arriving a moment
/// later would; an io_uring request that "fails" is replaced by a NOP whose completion
/// carries the injected result, so no byte is read or written behind the reactor's back.
final class SyscallFaultPlan: Sendable {
    enum Call: String, CaseIterable, Sendable {
        case socket, connect, accept, socketError, setOption, epollControl, recv, send, sendVector
        case uringRecv, uringSend, uringSendMessage, uringConnect, uringSubmit
    }

    enum Fault: Sendable, CustomStringConvertible {
        /// The call fails with this errno.
        case errno(Int32)
        /// recv/send (and their io_uring requests): at most this many bytes.
        case short(Int)
        /// io_uring: the submission queue is full this many times in a row.
        case queueFull(Int)

        var description: String {
            switch self {
            case .errno(let e): errnoName(e)
            case .short(let n): "short(\(n))"
            case .queueFull(let n): "queue full x\(n)"
            }
        }
    }

    struct State {
        var rule: (call: Call, nth: Int, fault: Fault)?
        var counts: [Call: Int] = [:]
        var fired = false
        var queueFullLeft = 0
        var opened: Set<Int32> = []
        var everOpened = 0
        /// epoll: each registered descriptor's epoll instance, interest and data.
        var registrations: [Int32: (epoll: Int32, events: UInt32, data: UInt64)] = [:]
        /// io_uring: results to put into the completions of NOPs that stand in for requests.
        var rewrites: [UInt64: Int32] = [:]
    }

    let state = Mutex(State())

    init(_ call: Call? = nil, nth: Int = 1, _ fault: Fault = .errno(EIO)) {
        if let call { state.withLock { $0.rule = (call, nth, fault) } }
    }

    var counts: [Call: Int] { state.withLock { $0.counts } }
    var fired: Bool { state.withLock { $0.fired } }
    /// Sockets handed out and not closed.
    var openSockets: Set<Int32> { state.withLock { $0.opened } }
    var socketsOpened: Int { state.withLock { $0.everOpened } }

    /// Counts a call and returns the fault to inject into it, if this is the one.
    private func next(_ call: Call) -> Fault? {
        state.withLock { s in
            s.counts[call, default: 0] += 1
            if s.queueFullLeft > 0, call == .uringRecv || call == .uringSend || call == .uringSendMessage || call == .uringConnect {
                s.queueFullLeft -= 1
                return .queueFull(1)
            }
            guard let rule = s.rule, rule.call == call, s.counts[call] == rule.nth else { return nil }
            s.fired = true
            if case .queueFull(let n) = rule.fault {
                s.queueFullLeft = n - 1
                return .queueFull(1)
            }
            return rule.fault
        }
    }

    private func opened(_ fd: Int32) {
        guard fd >= 0 else { return }
        state.withLock {
            $0.opened.insert(fd)
            $0.everOpened += 1
        }
    }

    /// epoll: queue an edge for `fd` if it is ready, as the kernel would when the data or
    /// room the injected fault hid shows up.
    private func rearm(_ fd: Int32) {
        guard let r = state.withLock({ $0.registrations[fd] }) else { return }
        _ = camqp_epoll_ctl(r.epoll, CAMQP_EPOLL_CTL_MOD, fd, r.events, r.data)
    }

    /// io_uring: a NOP in place of a request, completing with `result`.
    private func standIn(_ ring: UnsafeMutablePointer<camqp_uring_t>, _ userData: UInt64, result: Int32) -> UnsafeMutablePointer<camqp_sqe_t>? {
        guard let sqe = camqp_uring_prep_nop(ring, userData) else { return nil }
        state.withLock { $0.rewrites[userData] = result }
        return sqe
    }

    var table: SyscallTable {
        var t = SyscallTable.system
        let system = SyscallTable.system
        t.socket = { [self] domain, type in
            if case .errno(let e)? = next(.socket) { return -e }
            let fd = system.socket(domain, type)
            opened(fd)
            return fd
        }
        t.connect = { [self] fd, address, length in
            if case .errno(let e)? = next(.connect) { return -e }
            return system.connect(fd, address, length)
        }
        t.accept = { [self] fd, address, length in
            if case .errno(let e)? = next(.accept) { return -e }
            let client = system.accept(fd, address, length)
            opened(client)
            return client
        }
        t.socketError = { [self] fd, error in
            if case .errno(let e)? = next(.socketError) {
                // The connect failed: SO_ERROR holds why.
                _ = system.socketError(fd, error)
                error.pointee = e
                return 0
            }
            return system.socketError(fd, error)
        }
        t.recv = { [self] fd, buffer in
            switch next(.recv) {
            case .errno(let e)?:
                if e == EAGAIN { rearm(fd) }
                return -Int(e)
            case .short(let n)?:
                let r = system.recv(fd, UnsafeMutableRawBufferPointer(rebasing: buffer.prefix(n)))
                rearm(fd)
                return r
            default:
                return system.recv(fd, buffer)
            }
        }
        t.send = { [self] fd, buffer in
            switch next(.send) {
            case .errno(let e)?:
                if e == EAGAIN { rearm(fd) }
                return -Int(e)
            case .short(let n)?:
                let r = system.send(fd, UnsafeRawBufferPointer(rebasing: buffer.prefix(n)))
                rearm(fd)
                return r
            default:
                return system.send(fd, buffer)
            }
        }
        t.sendVector = { [self] fd, vector in
            switch next(.sendVector) {
            case .errno(let e)?:
                if e == EAGAIN { rearm(fd) }
                return -Int(e)
            case .short(let n)?:
                let r = truncated(vector, to: n) { system.sendVector(fd, $0) }
                rearm(fd)
                return r
            default:
                return system.sendVector(fd, vector)
            }
        }
        t.close = { [self] fd in
            state.withLock {
                $0.opened.remove(fd)
                $0.registrations.removeValue(forKey: fd)
            }
            return system.close(fd)
        }
        t.setOption = { [self] fd, option, call in
            if case .errno(let e)? = next(.setOption) { return -e }
            return system.setOption(fd, option, call)
        }
        t.epollControl = { [self] epoll, operation, fd, events, data in
            // Only registrations fail: removing a registration cannot fail for a valid
            // descriptor (the reactor treats it as a bug), and re-arming is the plan's own.
            if operation == CAMQP_EPOLL_CTL_ADD, case .errno(let e)? = next(.epollControl) { return -e }
            let rc = system.epollControl(epoll, operation, fd, events, data)
            if rc == 0 && operation == CAMQP_EPOLL_CTL_ADD {
                state.withLock { $0.registrations[fd] = (epoll, events, data) }
            }
            return rc
        }
        t.uringRecv = { [self] ring, userData, fd, buffer in
            switch next(.uringRecv) {
            case .errno(let e)?: return standIn(ring, userData, result: -e)
            case .short(let n)?: return system.uringRecv(ring, userData, fd, UnsafeMutableRawBufferPointer(rebasing: buffer.prefix(n)))
            case .queueFull?: return nil
            case nil: return system.uringRecv(ring, userData, fd, buffer)
            }
        }
        t.uringSend = { [self] ring, userData, fd, buffer in
            switch next(.uringSend) {
            case .errno(let e)?: return standIn(ring, userData, result: -e)
            case .short(let n)?: return system.uringSend(ring, userData, fd, UnsafeRawBufferPointer(rebasing: buffer.prefix(n)))
            case .queueFull?: return nil
            case nil: return system.uringSend(ring, userData, fd, buffer)
            }
        }
        t.uringSendMessage = { [self] ring, userData, fd, message in
            switch next(.uringSendMessage) {
            case .errno(let e)?: return standIn(ring, userData, result: -e)
            case .short(let n)?:
                // The reactor builds the iovecs again for every send, so cutting them in
                // place is safe.
                let vector = UnsafeMutableBufferPointer(start: message.pointee.msg_iov, count: Int(message.pointee.msg_iovlen))
                message.pointee.msg_iovlen = Self.cut(vector, to: n)
                return system.uringSendMessage(ring, userData, fd, message)
            case .queueFull?: return nil
            case nil: return system.uringSendMessage(ring, userData, fd, message)
            }
        }
        t.uringConnect = { [self] ring, userData, fd, address, length in
            switch next(.uringConnect) {
            case .errno(let e)?: return standIn(ring, userData, result: -e)
            case .queueFull?: return nil
            default: return system.uringConnect(ring, userData, fd, address, length)
            }
        }
        t.uringSubmit = { [self] ring in
            if case .errno(let e)? = next(.uringSubmit) { return -e }
            return system.uringSubmit(ring)
        }
        t.uringReap = { [self] ring, out in
            let n = system.uringReap(ring, out)
            state.withLock { s in
                guard !s.rewrites.isEmpty else { return }
                for i in 0..<Int(n) {
                    if let result = s.rewrites.removeValue(forKey: out[i].user_data) { out[i].res = result }
                }
            }
            return n
        }
        return t
    }
}

extension SyscallFaultPlan {
    /// Calls `body` with a copy of `vector` that holds at most `n` bytes.
    func truncated(_ vector: UnsafeBufferPointer<iovec>, to n: Int, _ body: (UnsafeBufferPointer<iovec>) -> Int) -> Int {
        let copy = UnsafeMutableBufferPointer<iovec>.allocate(capacity: vector.count)
        defer { copy.deallocate() }
        _ = copy.initialize(from: vector)
        let count = Self.cut(copy, to: n)
        return body(UnsafeBufferPointer(rebasing: copy[..<count]))
    }

    /// Shortens the entries of `vector` to `n` bytes in all; returns how many are used.
    static func cut(_ vector: UnsafeMutableBufferPointer<iovec>, to n: Int) -> Int {
        var left = n
        for i in vector.indices {
            if vector[i].iov_len >= left {
                vector[i].iov_len = left
                return i + 1
            }
            left -= vector[i].iov_len
        }
        return vector.count
    }
}

func errnoName(_ e: Int32) -> String {
    let names: [Int32: String] = [
        EAGAIN: "EAGAIN", EINTR: "EINTR", ECONNRESET: "ECONNRESET", EPIPE: "EPIPE", ENOBUFS: "ENOBUFS",
        ENOMEM: "ENOMEM", EMFILE: "EMFILE", ECONNABORTED: "ECONNABORTED", ECONNREFUSED: "ECONNREFUSED",
        ENETUNREACH: "ENETUNREACH", EBUSY: "EBUSY", ETIMEDOUT: "ETIMEDOUT", EHOSTUNREACH: "EHOSTUNREACH", ENOSPC: "ENOSPC",
    ]
    return names[e] ?? "errno \(e)"
}
