import Glibc

/// A joinable pthread running one closure: the embedded peer's reactor thread in
/// `amqp bench`. (A plain pthread rather than a task: the reactor sleeps in the kernel,
/// which must never happen on Swift's cooperative pool.)
struct BenchThread {
    private let thread: pthread_t

    /// Starts `body` on a new thread.
    init(name: String, _ body: @escaping @Sendable () -> Void) {
        let named: @Sendable () -> Void = {
            // Named from inside (Glibc's module lacks pthread_setname_np): 15 bytes at most.
            let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
            if fd >= 0 {
                let bytes = Array(name.utf8.prefix(15))
                _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                close(fd)
            }
            body()
        }
        final class Box {
            let body: @Sendable () -> Void
            init(body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let box = Unmanaged.passRetained(Box(body: named))
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box.toOpaque())
        // Only EAGAIN (no threads left) is possible here; the bench cannot go on without it.
        precondition(rc == 0, "pthread_create failed with \(rc)")
        self.thread = thread
    }

    /// Waits for the thread to finish.
    func join() {
        pthread_join(thread, nil)
    }
}

/// CLOCK_MONOTONIC in nanoseconds: the clock the reactors give their machines, and the
/// one send stamps use (sender and receiver are in this process).
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) &* 1_000_000_000 &+ UInt64(t.tv_nsec)
}

/// CPU time (user + system) of the process (`RUSAGE_SELF`) or the calling thread
/// (`RUSAGE_THREAD`), in seconds.
func cpuSeconds(thread: Bool) -> Double {
    var usage = rusage()
    // RUSAGE_THREAD (1) is a GNU extension the Glibc module does not import.
    getrusage(thread ? 1 : RUSAGE_SELF.rawValue, &usage)
    func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return s(usage.ru_utime) + s(usage.ru_stime)
}

/// Raises the soft limit on open descriptors towards the hard limit when `needed` is
/// above it (a hundred connection pairs with the peer in process need 400 descriptors).
func raiseDescriptorLimit(to needed: Int) {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < rlim_t(needed) else { return }
    limit.rlim_cur = min(limit.rlim_max, rlim_t(needed))
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}

