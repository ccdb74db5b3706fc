import Dispatch
import Foundation
import Glibc

/// A request to stop a running command cleanly, from another thread: a signal handler
/// in the real tool, the test itself in tests. The command checks it between short
/// waits and between batches, so it never stops halfway through one.
public final class StopRequest: @unchecked Sendable {
    // @unchecked: the fields are touched only under `lock`.
    private let lock = NSLock()
    private var requested = false

    /// A request not yet made.
    public init() {}

    /// True once `stop()` was called.
    public var isRequested: Bool { lock.withLock { requested } }

    /// Asks the command to stop; it notices within its next short wait.
    public func stop() {
        lock.withLock { requested = true }
    }

    /// Turns SIGINT and SIGTERM into `stop()` for as long as the returned sources live
    /// (cancel them when done). Their default action would kill the process before the
    /// connection closes.
    func stopOnSignals() -> [any DispatchSourceSignal] {
        onStopSignals { [self] in stop() }
    }
}

/// Runs `action` on SIGINT and SIGTERM for as long as the returned sources live (cancel
/// them when done), instead of their default action, which would kill the process before
/// it has closed its connections.
func onStopSignals(_ action: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { signal in
        Glibc.signal(signal, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signal, queue: .global())
        source.setEventHandler(handler: action)
        source.resume()
        return source
    }
}
