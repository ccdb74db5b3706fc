#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs `body` on a new detached pthread and returns its result to the awaiting task.
///
/// The async forms of the clients' blocking operations (opening with redirects and
/// back-offs, draining a send queue) use it, so their waits sleep on a thread of their
/// own rather than on the cooperative pool. Those operations are rare (once per open or
/// batch), so a thread each is cheap next to what they wait for.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { (c: CheckedContinuation<T, Never>) in
        startDetachedThread { c.resume(returning: body()) }
    }
}

/// Runs `body` on a new pthread that nobody joins.
func startDetachedThread(_ body: @escaping @Sendable () -> Void) {
    let box = Unmanaged.passRetained(ThreadBody(body))
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { raw in
        Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue().run()
        return nil
    }, box.toOpaque())
    precondition(rc == 0, "pthread_create failed with \(rc)")
    pthread_detach(thread)
}

/// The closure a detached thread runs, passed through pthread's `void *`.
private final class ThreadBody {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}
