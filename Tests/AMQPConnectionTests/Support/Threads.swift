@testable import AMQP
import AMQPReactor
import Foundation

/// Runs `body` on a new thread (never on the cooperative pool: these bodies block) and
/// lets the test wait for its result, at most `seconds`.
final class TestThread<T: Sendable>: Sendable {
    private let result = Locked<T?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () -> T) {
        let thread = Thread { [self] in
            let value = body()
            result.withLock { $0 = value }
            done.signal()
        }
        thread.start()
    }

    /// The result, or `nil` if the thread did not finish within `seconds`.
    func join(within seconds: Double = 10) -> T? {
        guard done.wait(timeout: .now() + seconds) == .success else { return nil }
        return result.withLock { $0 }
    }
}

/// Seconds since an arbitrary start, monotonic.
func secondsNow() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// Polls `condition` every 5 ms for at most `seconds` (for state another thread changes).
func eventually(within seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let end = secondsNow() + seconds
    while !condition() {
        if secondsNow() > end { return false }
        usleep(5_000)
    }
    return true
}

/// The backends this kernel lets a reactor use: epoll always, io_uring when a ring can
/// be set up here (sandboxes often refuse it).
let availableBackends: [ReactorOptions.Backend] = {
    var options = ReactorOptions()
    options.backend = .uring
    return [.epoll] + ((try? ConnectionReactor(driving: .manual, options: options)) != nil ? [.uring] : [])
}()

/// A reactor on `backend`.
func makeReactor(_ driving: ConnectionReactor.Driving, _ backend: ReactorOptions.Backend) throws -> ConnectionReactor {
    var options = ReactorOptions()
    options.backend = backend
    return try ConnectionReactor(driving: driving, options: options)
}
