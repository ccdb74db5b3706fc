public import AMQPReactor
import Glibc
import Synchronization

/// A TCP proxy for tests that breaks streams on command: it listens (on loopback, as a
/// rule), connects each accepted client to the target, forwards bytes both ways, and
/// applies `FaultProxy.Faults`: delays, a stream that goes silent, truncation, a
/// corrupted byte, a reset.
///
/// ```swift
/// let proxy = try FaultProxy(listen: .loopbackIPv4(), target: peer.address)
/// proxy.faults = FaultProxy.Faults(resetAfter: 300)     // for connections accepted from now
/// // ... connect a client to proxy.address ...
/// proxy.resetAll()                                      // or break every live stream now
/// proxy.stop()
/// ```
///
/// One thread accepts and one thread per connection forwards (blocking sockets and
/// poll(2)): plain and obviously correct matters more here than speed. `stop()` joins
/// them all and closes every socket the proxy opened (`openSockets` counts them). Call
/// it: the threads keep the proxy alive until then.
public final class FaultProxy: Sendable {
    /// What the proxy does to a connection's streams. Byte offsets count each direction
    /// from the connection's first byte; `directions` says which directions they watch.
    public struct Faults: Hashable, Sendable, CustomStringConvertible {
        /// Which streams the byte-offset faults apply to.
        public enum Directions: String, Hashable, Sendable, CaseIterable {
            /// Client to target.
            case toTarget = "to-target"
            /// Target to client.
            case toClient = "to-client"
            /// Both.
            case both
        }
        /// Wait this long before forwarding each chunk read (both directions).
        public var delayMilliseconds: UInt32 = 0
        /// After this many bytes, discard everything further in the stream (the
        /// connection stays open and silent, as behind a broken middlebox).
        public var dropAfter: Int? = nil
        /// After this many bytes, close both connections cleanly (FIN).
        public var truncateAfter: Int? = nil
        /// Flip every bit of the byte at this offset.
        public var corruptAt: Int? = nil
        /// After this many bytes, reset both connections (RST).
        public var resetAfter: Int? = nil
        /// The streams the offsets apply to.
        public var directions: Directions = .both

        /// Faults as given; none by default (the proxy forwards faithfully).
        public init(
            delayMilliseconds: UInt32 = 0, dropAfter: Int? = nil, truncateAfter: Int? = nil, corruptAt: Int? = nil,
            resetAfter: Int? = nil, directions: Directions = .both
        ) {
            self.delayMilliseconds = delayMilliseconds
            self.dropAfter = dropAfter
            self.truncateAfter = truncateAfter
            self.corruptAt = corruptAt
            self.resetAfter = resetAfter
            self.directions = directions
        }

        /// `delay 5 ms, reset after 300 B (both)`, or `none`.
        public var description: String {
            var parts: [String] = []
            if delayMilliseconds > 0 { parts.append("delay \(delayMilliseconds) ms") }
            if let n = dropAfter { parts.append("drop after \(n) B") }
            if let n = truncateAfter { parts.append("truncate after \(n) B") }
            if let n = corruptAt { parts.append("corrupt byte \(n)") }
            if let n = resetAfter { parts.append("reset after \(n) B") }
            return parts.isEmpty ? "none" : parts.joined(separator: ", ") + " (\(directions.rawValue))"
        }

        func watches(_ direction: Int) -> Bool {
            directions == .both || (direction == 0) == (directions == .toTarget)
        }
    }

    /// What happened to the connections so far.
    public struct Statistics: Hashable, Sendable {
        /// Clients accepted.
        public var accepted = 0
        /// Connections finished (both sockets closed).
        public var finished = 0
        /// Connections whose client closed its end (end of stream or reset) before the
        /// proxy did: the client let go of its socket.
        public var clientClosed = 0
        /// Bytes forwarded from the client to the target.
        public var forwardedToTarget = 0
        /// Bytes forwarded from the target to the client.
        public var forwardedToClient = 0
        /// Faults applied: truncations, resets, drops, corrupted bytes.
        public var applied = 0
    }

    struct State {
        var faults = Faults()
        var statistics = Statistics()
        var threads: [pthread_t] = []
        var resetGeneration = 0
        var openSockets = 0
    }

    /// The address clients connect to.
    public let address: SocketAddress
    /// Where connections are forwarded.
    public let target: SocketAddress
    private let listener: Int32
    private let state = Mutex(State())
    private let stopping = Atomic<Bool>(false)

    /// Listens on `listen` (port 0: any free port; see `address`) and starts forwarding
    /// to `target`.
    public init(listen: SocketAddress, target: SocketAddress, faults: Faults = Faults()) throws(ReactorError) {
        self.target = target
        let fd = socket(listen.family == .ipv4 ? AF_INET : AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Self.failure("socket", errno, listen) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = listen.withSockaddr { bind(fd, $0, $1) }
        guard bound == 0, Glibc.listen(fd, 64) == 0 else {
            let e = errno
            Glibc.close(fd)
            throw Self.failure("bind/listen", e, listen)
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let local = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> SocketAddress? in
                getsockname(fd, sa, &length) == 0 ? SocketAddress(sa, length: length) : nil
            }
        }
        guard let local else {
            Glibc.close(fd)
            throw ReactorError(.unsupported, operation: "getsockname", detail: "not an IP socket")
        }
        address = local
        listener = fd
        state.withLock {
            $0.faults = faults
            $0.openSockets = 1
        }
        spawn { [self] in acceptLoop() }
    }

    deinit {
        stop()
    }

    /// The faults applied to connections accepted from now on (the command).
    public var faults: Faults {
        get { state.withLock { $0.faults } }
        set { state.withLock { $0.faults = newValue } }
    }

    /// Resets every live connection now (both sides see RST).
    public func resetAll() {
        state.withLock { $0.resetGeneration += 1 }
    }

    /// What happened so far.
    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// Sockets the proxy holds open (its listener until `stop`, two per live connection).
    public var openSockets: Int { state.withLock { $0.openSockets } }

    /// Stops accepting, resets every live connection, and waits for every thread.
    /// Afterwards `openSockets` is 0.
    public func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // The threads poll with a short time-out and see `stopping`.
        while true {
            let threads = state.withLock { s -> [pthread_t] in
                let t = s.threads
                s.threads = []
                return t
            }
            if threads.isEmpty { break }
            for t in threads { pthread_join(t, nil) }
        }
        closeSocket(listener)
    }

    private static func failure(_ operation: String, _ e: Int32, _ address: SocketAddress) -> ReactorError {
        ReactorError(.from(errno: e), errno: e, operation: operation, detail: "\(address)")
    }

    // MARK: Threads

    private func spawn(_ body: @escaping @Sendable () -> Void) {
        final class Box {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let box = Unmanaged.passRetained(Box(body))
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, box.toOpaque())
        precondition(rc == 0, "pthread_create failed with \(rc)")
        state.withLock { $0.threads.append(thread) }
    }

    private func closeSocket(_ fd: Int32) {
        Glibc.close(fd)
        state.withLock { $0.openSockets -= 1 }
    }

    /// Closes with RST instead of FIN (SO_LINGER with a zero time-out).
    private func resetSocket(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        closeSocket(fd)
    }

    private func acceptLoop() {
        while !stopping.load(ordering: .acquiring) {
            var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 20) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            state.withLock { $0.openSockets += 1 }
            let upstream = socket(target.family == .ipv4 ? AF_INET : AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard upstream >= 0 else {
                closeSocket(client)
                continue
            }
            state.withLock { $0.openSockets += 1 }
            var one: Int32 = 1
            _ = setsockopt(upstream, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            _ = setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            guard target.withSockaddr({ connect(upstream, $0, $1) }) == 0 else {
                // The target refuses: the client sees a reset, as it would without us.
                resetSocket(client)
                closeSocket(upstream)
                continue
            }
            let (faults, generation) = state.withLock { s in
                s.statistics.accepted += 1
                return (s.faults, s.resetGeneration)
            }
            spawn { [self] in forward(client: client, target: upstream, faults: faults, generation: generation) }
        }
    }

    /// Forwards one connection until either side ends it, a fault ends it, or `stop`.
    private func forward(client: Int32, target: Int32, faults: Faults, generation: Int) {
        let fds = [client, target]
        var counts = [0, 0]
        var open = [true, true]  // reading from fds[i] still possible
        var dropping = [false, false]
        var clientLetGo = false
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 << 10, alignment: 1)
        defer { buffer.deallocate() }
        // nil while forwarding; then true to reset both sockets, false to close them.
        var ending: Bool? = nil

        loop: while ending == nil {
            if stopping.load(ordering: .acquiring) || state.withLock({ $0.resetGeneration }) != generation {
                ending = true
                break
            }
            if !open[0] && !open[1] { break }
            var polls = (0..<2).map { pollfd(fd: fds[$0], events: open[$0] ? Int16(POLLIN) : 0, revents: 0) }
            guard poll(&polls, 2, 20) > 0 else { continue }
            for d in 0..<2 where open[d] && polls[d].revents != 0 {
                let n = recv(fds[d], buffer.baseAddress, buffer.count, 0)
                if n <= 0 {
                    // End of stream (or reset) from this side: pass the FIN on.
                    open[d] = false
                    if d == 0 { clientLetGo = true }
                    if n < 0 {
                        ending = true
                        continue loop
                    }
                    shutdown(fds[1 - d], Int32(SHUT_WR))
                    continue
                }
                let start = counts[d]
                counts[d] += n
                if faults.delayMilliseconds > 0 { usleep(faults.delayMilliseconds * 1000) }
                var length = n
                var after: Bool? = nil
                if faults.watches(d) {
                    if let c = faults.corruptAt, c >= start && c < start + n {
                        buffer[c - start] ^= 0xFF
                        note { $0.applied += 1 }
                    }
                    if let t = faults.truncateAfter, start + n > t {
                        length = max(0, t - start)
                        after = false
                    }
                    if let r = faults.resetAfter, start + n > r {
                        length = min(length, max(0, r - start))
                        after = true
                    }
                    if let drop = faults.dropAfter, start + n > drop {
                        if !dropping[d] { note { $0.applied += 1 } }
                        dropping[d] = true
                        length = min(length, max(0, drop - start))
                    }
                }
                if !writeAll(fds[1 - d], UnsafeRawBufferPointer(rebasing: buffer[0..<length])) {
                    ending = true
                    continue loop
                }
                note { s in if d == 0 { s.forwardedToTarget += length } else { s.forwardedToClient += length } }
                if let after {
                    note { $0.applied += 1 }
                    ending = after
                    continue loop
                }
                if dropping[d] {
                    // Keep reading (and discarding) so the sender does not block.
                    continue
                }
            }
        }
        if ending == true {
            resetSocket(client)
            resetSocket(target)
        } else {
            closeSocket(client)
            closeSocket(target)
        }
        note { s in
            s.finished += 1
            if clientLetGo { s.clientClosed += 1 }
        }
    }

    private func note(_ body: (inout Statistics) -> Void) {
        state.withLock { body(&$0.statistics) }
    }

    private func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var at = 0
        while at < bytes.count {
            let n = send(fd, bytes.baseAddress! + at, bytes.count - at, Int32(MSG_NOSIGNAL))
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            at += n
        }
        return true
    }
}
