#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A joinable pthread running one closure: the thread a `ConnectionReactor` drives its
/// reactor on. (A plain pthread rather than a Swift task: the reactor sleeps in the
/// kernel, which must never happen on the cooperative pool.)
struct NativeThread: @unchecked Sendable {
    private let thread: pthread_t

    /// Starts `body` on a new thread.
    init(_ body: @escaping @Sendable () -> Void) {
        final class Box {
            let body: @Sendable () -> Void
            init(body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let box = Unmanaged.passRetained(Box(body: body))
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box.toOpaque())
        precondition(rc == 0, "pthread_create failed with \(rc)")
        self.thread = thread
    }

    /// Waits for the thread to finish.
    func join() {
        pthread_join(thread, nil)
    }
}

/// Sleeps the calling thread (never call it on the cooperative pool).
func usleepMilliseconds(_ milliseconds: Int) {
    _ = usleep(UInt32(clamping: milliseconds * 1000))
}

/// Sleeps the calling thread for `seconds` (fractions allowed; nothing for 0 or less).
func sleepThread(seconds: Double) {
    guard seconds > 0 else { return }
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
    var remaining = timespec()
    while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
}
