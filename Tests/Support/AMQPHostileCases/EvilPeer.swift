import AMQPCodec
package import AMQPTesting
import Glibc
import Synchronization

// A scriptable evil peer on a real loopback socket: a raw TCP listener that accepts one
// connection and plays a script (bytes to send, frames to wait for, half-close, reset,
// one byte at a time, floods, never answering). It never blocks: `step()` does what it
// can and returns, so a test can interleave it with the ticks of a reactor on the same
// thread (io_uring's single-issuer rings must be driven by the thread that made them),
// or run it on a thread of its own with `run(until:)`.

/// One thing the evil peer does.
package enum EvilStep: Sendable, CustomStringConvertible {
    /// Writes these bytes (as fast as the socket takes them).
    case send([UInt8])
    /// Writes these bytes one per `step()`, each in a segment of its own (TCP_NODELAY).
    case trickle([UInt8])
    /// Reads frames (protocol headers included) until one matches; `what` names it.
    case expect(_ what: String, @Sendable (DecodedFrame) -> Bool)
    /// Writes `chunk` again and again until `total` bytes went out, without reading, and
    /// without waiting once the socket stops taking them (the flood stops there).
    case flood([UInt8], total: Int)
    /// Shuts its sending side (FIN) and goes on.
    case halfClose
    /// Closes with a reset (SO_LINGER 0) and ends the script.
    case reset
    /// Closes (FIN) and ends the script.
    case close
    /// Reads and drops everything, answering nothing, until the other end closes.
    case drain
    /// Neither reads nor writes, until the script is stopped: a peer whose application
    /// hung, alive at TCP level (its kernel still takes what fits in the receive buffer,
    /// then advertises a zero window).
    case stall
    /// Answers like a broker that plays along: END for an END with an error (on the
    /// setup's channel), DETACH for a closing DETACH with an error (ours answer the
    /// peer's own, which need no answer), CLOSE for CLOSE and then a FIN; it ends when
    /// the other end closes.
    case answer

    package var description: String {
        switch self {
        case .send(let b): "send \(b.count) B"
        case .trickle(let b): "trickle \(b.count) B"
        case .expect(let what, _): "expect \(what)"
        case .flood(let c, let total): "flood \(total) B in \(c.count) B pieces"
        case .halfClose: "half-close"
        case .reset: "reset"
        case .close: "close"
        case .drain: "drain"
        case .stall: "stall"
        case .answer: "answer"
        }
    }

    /// Waits for a protocol header.
    package static let header = EvilStep.expect("a protocol header") { $0.protocolHeader != nil }

    /// Waits for an AMQP performative of the kind `name` (`open`, `begin`, …) as its
    /// description starts.
    package static func performative(_ name: String) -> EvilStep {
        .expect(name.uppercased()) { f in
            guard let p = f.performative else { return false }
            return "\(p)".lowercased().hasPrefix(name.lowercased())
        }
    }

    /// Waits for a SASL performative of the kind `name` (`saslInit`, …).
    package static func sasl(_ name: String) -> EvilStep {
        .expect(name) { f in
            guard let p = f.saslPerformative else { return false }
            return "\(p)".lowercased().hasPrefix(name.lowercased())
        }
    }
}

/// Why the evil peer could not go on.
package struct EvilPeerError: Error, CustomStringConvertible {
    /// What failed.
    package let description: String
}

/// The evil peer: a listener on 127.0.0.1 (kernel-chosen port) and, once accepted, the
/// one connection it plays its script on.
package final class EvilPeer {
    /// The listener's port.
    package let port: UInt16
    private var listener: Int32
    private var socket: Int32 = -1
    private let script: [EvilStep]
    private var index = 0
    private var sendOffset = 0
    private var flooded = 0
    private var decoder = FrameStreamDecoder()
    private var pendingFrames: [DecodedFrame] = []
    /// Frames read from the other end so far.
    package private(set) var framesRead: [DecodedFrame] = []
    /// Bytes read from the other end so far.
    package private(set) var bytesRead = 0
    /// Bytes written so far; tests read it from their own thread while the peer runs.
    package var bytesWritten: Int { written.load(ordering: .relaxed) }
    private let written = Atomic<Int>(0)
    /// True once the other end closed (EOF or reset) after the connection was accepted.
    package private(set) var peerClosed = false
    /// True when the script ended (its last step finished, or a close or reset ended it).
    package private(set) var finished = false
    /// What went wrong on our side (a failed system call), if anything.
    package private(set) var failure: String? = nil
    private var sentClose = false

    /// Listens on 127.0.0.1 and prepares to play `script` on the first connection.
    package init(script: [EvilStep]) throws(EvilPeerError) {
        self.script = script
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw EvilPeerError(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0, listen(fd, 4) == 0 else {
            let e = errno
            Glibc.close(fd)
            throw EvilPeerError(description: "bind/listen: errno \(e)")
        }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
    }

    deinit {
        if socket >= 0 { Glibc.close(socket) }
        if listener >= 0 { Glibc.close(listener) }
    }

    /// The index of the step the script is at (its count once it ended).
    package var stepIndex: Int { finished ? script.count : index }

    /// True once a connection was accepted.
    package var accepted: Bool { socket >= 0 }

    /// The step the script is at, for messages.
    package var position: String {
        finished ? "finished" : index < script.count ? "step \(index + 1) of \(script.count): \(script[index])" : "after the script"
    }

    /// Stops listening (the accepted connection, if any, stays).
    package func stopListening() {
        if listener >= 0 { Glibc.close(listener) }
        listener = -1
    }

    /// Closes everything now.
    package func shutdown() {
        stopListening()
        closeSocket()
        finished = true
    }

    /// Does what can be done without blocking; returns true if anything happened.
    @discardableResult
    package func step() -> Bool {
        guard !finished else { return false }
        if socket < 0 {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return false }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            socket = fd
            stopListening()
        }
        var progress = false
        while !finished, index < script.count {
            let (done, moved) = perform(script[index])
            progress = progress || moved
            guard done else { return progress }
            index += 1
            sendOffset = 0
            flooded = 0
        }
        if index >= script.count { finished = true }
        return progress
    }

    /// Runs the script on this thread until it finishes, `stop` returns true, or
    /// `seconds` pass; polls the socket between steps.
    package func run(for seconds: Double, until stop: () -> Bool = { false }) {
        let deadline = monotonicSeconds() + seconds
        while !finished, !stop(), monotonicSeconds() < deadline {
            if !step() {
                var p = pollfd(fd: socket >= 0 ? socket : listener, events: Int16(POLLIN), revents: 0)
                _ = poll(&p, 1, 5)
            }
        }
    }

    // MARK: Steps

    /// Performs (part of) a step: whether it is done, and whether anything moved.
    private func perform(_ step: EvilStep) -> (done: Bool, moved: Bool) {
        switch step {
        case .send(let bytes):
            let before = sendOffset
            sendOffset += write(bytes, from: sendOffset)
            return (sendOffset >= bytes.count || peerClosed, sendOffset > before)
        case .trickle(let bytes):
            // Reads between bytes, as a peer that reads and writes at once would: what the
            // other end wrote before it closed is read before the reset that writing to a
            // closed socket draws (a reset drops what is unread).
            let read = readAvailable()
            guard sendOffset < bytes.count, !peerClosed else { return (true, read) }
            let n = write(bytes, from: sendOffset, limit: 1)
            sendOffset += n
            // One byte per call: not done yet, so `step()` returns and the caller ticks
            // its reactor before the next byte.
            return (sendOffset >= bytes.count || peerClosed, n > 0 || read)
        case .expect(_, let matches):
            let moved = readAvailable()
            while !pendingFrames.isEmpty {
                let f = pendingFrames.removeFirst()
                if matches(f) { return (true, true) }
            }
            return (peerClosed, moved)
        case .flood(let chunk, let total):
            var moved = false
            while flooded < total, !peerClosed {
                let n = write(chunk, from: 0)
                guard n > 0 else { return (true, moved) }
                flooded += n
                moved = true
            }
            return (true, moved)
        case .halfClose:
            if socket >= 0 { Glibc.shutdown(socket, Int32(SHUT_WR)) }
            return (true, true)
        case .reset:
            if socket >= 0 {
                var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                _ = setsockopt(socket, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            }
            closeSocket()
            finished = true
            return (true, true)
        case .close:
            closeSocket()
            finished = true
            return (true, true)
        case .drain:
            let moved = readAvailable()
            pendingFrames.removeAll()
            return (peerClosed, moved)
        case .stall:
            // The socket stays readable (nothing is read), so `run`'s poll would return at
            // once: sleep instead of spinning.
            usleep(5_000)
            return (false, false)
        case .answer:
            var moved = readAvailable()
            while !pendingFrames.isEmpty {
                let f = pendingFrames.removeFirst()
                guard case .amqp(let channel, let p, _) = f, channel == 0 else { continue }
                switch p {
                case .end(let e) where e.error != nil:
                    moved = true
                    _ = write(FrameBytes.frame(.end(End()), channel: HostileSetup.peerChannel), from: 0)
                case .detach(let d) where d.closed && d.error != nil:
                    moved = true
                    let answer = Detach(handle: HostileSetup.peerHandle + d.handle, closed: true)
                    _ = write(FrameBytes.frame(.detach(answer), channel: HostileSetup.peerChannel), from: 0)
                case .close where !sentClose:
                    moved = true
                    sentClose = true
                    _ = write(FrameBytes.frame(.close(Close())), from: 0)
                    if socket >= 0 { Glibc.shutdown(socket, Int32(SHUT_WR)) }
                default:
                    break
                }
            }
            return (peerClosed, moved)
        }
    }

    /// Writes from `bytes[offset...]` (at most `limit`) what the socket takes; returns
    /// the count. A reset or broken pipe marks the other end closed.
    private func write(_ bytes: [UInt8], from offset: Int, limit: Int = .max) -> Int {
        guard socket >= 0, offset < bytes.count else { return 0 }
        let count = min(bytes.count - offset, limit)
        let n = bytes.withUnsafeBytes { send(socket, $0.baseAddress! + offset, count, Int32(MSG_NOSIGNAL)) }
        if n < 0 {
            if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { peerClosed = true }
            return 0
        }
        written.add(n, ordering: .relaxed)
        return n
    }

    /// Reads what is there into the frame decoder; returns true if anything was read.
    private func readAvailable() -> Bool {
        guard socket >= 0, !peerClosed else { return false }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var moved = false
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                moved = true
                bytesRead += n
                let frames = decoder.feed(buffer[0..<n])
                framesRead += frames
                pendingFrames += frames
                continue
            }
            if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                peerClosed = true
                moved = true
            }
            return moved
        }
    }

    private func closeSocket() {
        if socket >= 0 { Glibc.close(socket) }
        socket = -1
    }
}

/// Seconds on the monotonic clock.
package func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
