import Glibc

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

