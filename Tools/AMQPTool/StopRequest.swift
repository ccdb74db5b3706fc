import Dispatch
import Foundation
import Glibc

/// A request to stop a running command cleanly, from another thread: a signal handler
/// in the real tool, the test itself in tests.
///
/// The command registers what wakes it (`onStop`, e.g. closing its receiver, which ends
/// a blocking receive at once); `stop()` sets the flag and runs that, once.
public final class StopRequest: @unchecked Sendable {
    // @unchecked: the fields are touched only under `lock`.
    private let lock = NSLock()
    private var requested = false
    private var wake: (@Sendable () -> Void)? = nil

    /// A request not yet made.
    public init() {}

    /// True once `stop()` was called.
    public var isRequested: Bool { lock.withLock { requested } }

    /// Asks the command to stop; wakes it if it waits.
    public func stop() {
        let wake: (@Sendable () -> Void)? = lock.withLock {
            guard !requested else { return nil }
            requested = true
            return self.wake
        }
        wake?()
    }

    /// Runs `wake` on `stop()`, or at once if the stop was already requested.
    func onStop(_ wake: @escaping @Sendable () -> Void) {
        let already: Bool = lock.withLock {
            self.wake = wake
            return requested
        }
        if already { wake() }
    }

    /// Turns SIGINT and SIGTERM into `stop()` for as long as the returned sources live
    /// (cancel them when done). Their default action would kill the process before the
    /// connection closes.
    func stopOnSignals() -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { signal in
            Glibc.signal(signal, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signal, queue: .global())
            source.setEventHandler { [self] in stop() }
            source.resume()
            return source
        }
    }
}
