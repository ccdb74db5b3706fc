#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A joinable pthread running one closure: the thread a `ConnectionReactor` drives its
/// reactor on, and the embedded peer's in `amqp bench`. (A plain pthread rather than a
/// Swift task: the reactor sleeps in the kernel, which must never happen on the
/// cooperative pool.)
package struct NativeThread: @unchecked Sendable {
    private let thread: pthread_t

    /// Starts `body` on a new thread, named `name` (at most 15 bytes are kept) if given.
    package init(name: String? = nil, _ body: @escaping @Sendable () -> Void) {
        let run: @Sendable () -> Void = {
            // Named from inside: the Glibc module does not import pthread_setname_np.
            if let name {
                let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
                if fd >= 0 {
                    let bytes = Array(name.utf8.prefix(15))
                    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                    close(fd)
                }
            }
            body()
        }
        final class Box {
            let body: @Sendable () -> Void
            init(body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let box = Unmanaged.passRetained(Box(body: run))
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box.toOpaque())
        // Only EAGAIN (no threads left) is possible here.
        precondition(rc == 0, "pthread_create failed with \(rc)")
        self.thread = thread
    }

    /// Waits for the thread to finish.
    package func join() {
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
