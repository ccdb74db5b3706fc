import AMQP
import AMQPPeer
import AMQPReactor
import Glibc
import Synchronization

/// The embedded peer of `amqp bench --mode idle`, on a thread with a descriptor table of
/// its own.
///
/// RLIMIT_NOFILE bounds each descriptor table, not the process: with its own table
/// (`unshare(CLONE_FILES)`) the peer's 10,000 sockets and the client's 10,000 fit under a
/// hard limit of 20,000, which one table would not. A `ReactorHandle` cannot stop it (its
/// eventfd would be in the peer's table, out of other threads' reach), so the thread
/// looks at `stopRequested` after each tick, which is at most 200 ms apart.
final class IdlePeerThread: Sendable {
    private enum State: Sendable {
        case starting
        case listening(SocketAddress)
        case failed(String)
    }

    private let state = Mutex<State>(.starting)
    private let stopRequested = Atomic<Bool>(false)
    private let connections = Atomic<Int>(0)
    /// The thread's CPU clock (`pthread_getcpuclockid`; such ids are negative), once it
    /// runs; `Int64.max` before.
    private let clock = Atomic<Int64>(.max)
    private let failureText = Mutex<String?>(nil)
    private let thread = Mutex<NativeThread?>(nil)

    /// Starts the thread; `waitUntilListening` tells where it listens.
    init(configuration: PeerConfiguration) {
        let started = NativeThread(name: "amqp-idle-peer") { [self] in serve(configuration) }
        thread.withLock { $0 = started }
    }

    /// Where the peer listens, once it does (polled, at most 10 s).
    func waitUntilListening() throws(ReactorError) -> SocketAddress {
        for _ in 0..<10_000 {
            switch state.withLock({ $0 }) {
            case .starting: usleep(1_000)
            case .listening(let address): return address
            case .failed(let why): throw ReactorError(.invalidArgument, operation: "embedded peer", detail: why)
            }
        }
        throw ReactorError(.timedOut, operation: "embedded peer", detail: "did not start listening within 10 s")
    }

    /// Connections the peer holds (updated after each of its ticks).
    var openConnections: Int { connections.load(ordering: .acquiring) }

    /// The first thing that went wrong on the peer's thread, if anything.
    var failure: String? { failureText.withLock { $0 } }

    /// CPU time (user + system) the peer's thread has used, in seconds.
    func cpuSeconds() -> Double {
        let id = clock.load(ordering: .acquiring)
        guard id != .max else { return 0 }
        var t = timespec()
        guard clock_gettime(clockid_t(id), &t) == 0 else { return 0 }
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// Stops the peer (it closes its connections, at most 5 s) and joins its thread.
    /// Doing it twice does nothing.
    func stop() {
        stopRequested.store(true, ordering: .releasing)
        let t = thread.withLock { t in
            defer { t = nil }
            return t
        }
        t?.join()
    }

    private func serve(_ configuration: PeerConfiguration) {
        var id = clockid_t()
        if pthread_getcpuclockid(pthread_self(), &id) == 0 { clock.store(Int64(id), ordering: .releasing) }
        guard unshareDescriptorTable() else {
            state.withLock { $0 = .failed("unshare(CLONE_FILES) failed: errno \(errno)") }
            return
        }
        do throws(ReactorError) {
            let reactor = try Reactor<EmbeddedPeer.Machine>(options: configuration.reactor)
            let peer = try EmbeddedPeer(configuration: configuration, reactor: reactor)
            state.withLock { $0 = .listening(peer.address) }
            while !stopRequested.load(ordering: .acquiring) {
                try reactor.runOnce(timeout: .milliseconds(200))
                connections.store(peer.connectionCount, ordering: .releasing)
            }
            try peer.shutdown(within: .seconds(5))
        } catch {
            let text = "\(error)"
            failureText.withLock { if $0 == nil { $0 = text } }
            state.withLock { s in
                if case .starting = s { s = .failed(text) }
            }
        }
    }

    /// Gives the calling thread a descriptor table of its own (a copy of the process's).
    /// unshare is a GNU extension Swift's Glibc module does not export.
    private func unshareDescriptorTable() -> Bool {
        guard let symbol = dlsym(nil, "unshare") else { return false }
        let unshare = unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Int32).self)
        return unshare(0x400 /* CLONE_FILES */) == 0
    }
}
