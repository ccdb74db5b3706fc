import CAMQPLinux
import Glibc

/// The one place where system call results become values, errors or traps.
///
/// Every call goes through here so the policy is written once: `EINTR` is retried,
/// `EAGAIN`/`EWOULDBLOCK` become `.wouldBlock`, errnos that only a bug in this library can
/// produce (a closed or wrong descriptor, a bad pointer) trap with the call's name, and
/// everything else becomes a typed `ReactorError` naming the call and where it was made.
enum Syscall {
    /// What a call that may not block did.
    enum Outcome<Value> {
        /// It finished with this result.
        case completed(Value)
        /// It would have blocked (`EAGAIN`/`EWOULDBLOCK`); wait for readiness.
        case wouldBlock
    }

    /// The errnos that, for one call, can only come from a programming error.
    struct Bugs: OptionSet {
        let rawValue: UInt8
        /// EBADF: the descriptor is closed or was never ours.
        static let badDescriptor = Bugs(rawValue: 1)
        /// EFAULT: a pointer we passed is outside our address space.
        static let fault = Bugs(rawValue: 2)
        /// ENOTSOCK: a socket call on something that is not a socket.
        static let notSocket = Bugs(rawValue: 4)
        /// EINVAL, for calls whose every argument is ours (epoll_ctl, eventfd, accept on a
        /// socket we made listen), so it cannot come from user input.
        static let invalid = Bugs(rawValue: 8)
        /// The usual set for calls on our own descriptors.
        static let standard: Bugs = [.badDescriptor, .fault, .notSocket]

        func traps(_ errno: Int32) -> Bool {
            switch errno {
            case EBADF: contains(.badDescriptor)
            case EFAULT: contains(.fault)
            case ENOTSOCK: contains(.notSocket)
            case EINVAL: contains(.invalid)
            default: false
            }
        }
    }

    /// Runs a `camqp_*` call, which returns its result (>= 0) or -errno.
    @inline(__always)
    static func run<T: FixedWidthInteger & SignedInteger>(
        _ operation: StaticString, bugs: Bugs = .standard, fileID: String = #fileID, line: Int = #line,
        _ call: () -> T
    ) throws(ReactorError) -> Outcome<T> {
        while true {
            let rc = call()
            if rc >= 0 { return .completed(rc) }
            let code = Int32(truncatingIfNeeded: 0 - rc)
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
            throw failure(operation, code, bugs: bugs, fileID: fileID, line: line)
        }
    }

    /// Runs a `camqp_*` call that cannot block, or for which blocking is itself a failure
    /// the caller does not expect (EAGAIN then becomes an error like any other).
    @inline(__always)
    @discardableResult
    static func check<T: FixedWidthInteger & SignedInteger>(
        _ operation: StaticString, bugs: Bugs = .standard, fileID: String = #fileID, line: Int = #line,
        _ call: () -> T
    ) throws(ReactorError) -> T {
        while true {
            let rc = call()
            if rc >= 0 { return rc }
            let code = Int32(truncatingIfNeeded: 0 - rc)
            if code == EINTR { continue }
            throw failure(operation, code, bugs: bugs, fileID: fileID, line: line)
        }
    }

    /// Runs a Glibc call that returns -1 and sets `errno` on failure.
    @inline(__always)
    @discardableResult
    static func posix(
        _ operation: StaticString, bugs: Bugs = .standard, fileID: String = #fileID, line: Int = #line,
        _ call: () -> Int32
    ) throws(ReactorError) -> Int32 {
        try check(operation, bugs: bugs, fileID: fileID, line: line) {
            let rc = call()
            return rc == -1 ? -errno : rc
        }
    }

    /// Closes a descriptor we own.
    ///
    /// Never retried: on Linux the descriptor is released even when close reports EINTR,
    /// and retrying could close a descriptor another thread has just been given. Errors
    /// other than EBADF (a double close: a bug) are dropped, because there is nothing a
    /// caller could do with them for a socket.
    static func close(_ fd: Int32, fileID: String = #fileID, line: Int = #line) {
        if Glibc.close(fd) == -1 && errno == EBADF {
            fatalError("close(\(fd)): EBADF — closing a descriptor twice is a bug [\(fileID):\(line)]")
        }
    }

    /// Closes a socket through the reactor's table (so a test's table sees every socket
    /// it handed out come back), with the same policy as `close(_:)`.
    static func close(_ fd: Int32, via sys: SyscallTable, fileID: String = #fileID, line: Int = #line) {
        if sys.close(fd) == -EBADF {
            fatalError("close(\(fd)): EBADF — closing a descriptor twice is a bug [\(fileID):\(line)]")
        }
    }

    private static func failure(
        _ operation: StaticString, _ code: Int32, bugs: Bugs, fileID: String, line: Int
    ) -> ReactorError {
        if bugs.traps(code) {
            fatalError("\(operation): \(ErrnoName.of(code)) can only come from a bug [\(fileID):\(line)]")
        }
        return .system("\(operation)", errno: code, fileID: fileID, line: line)
    }
}
