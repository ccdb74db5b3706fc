import Glibc

/// Why a socket, a connection or the reactor itself failed: a stable code, the errno it
/// came from (if any), the operation that raised it, and where in this library it was
/// raised.
///
/// Codes are values, not enum cases, so new ones can be added without breaking users who
/// switch over them; compare with `==` (`error.code == .connectionRefused`).
public struct ReactorError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, independent of the errno that reported it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// A short lower-case name, e.g. `connection refused`.
        public let name: String
        private init(_ name: String) { self.name = name }

        /// Nothing listens at the address (ECONNREFUSED).
        public static let connectionRefused = Code("connection refused")
        /// The peer reset the connection (ECONNRESET).
        public static let connectionReset = Code("connection reset")
        /// The connection was aborted by the local stack (ECONNABORTED).
        public static let connectionAborted = Code("connection aborted")
        /// Writing to a connection the peer has closed (EPIPE).
        public static let brokenPipe = Code("broken pipe")
        /// No route to the host (EHOSTUNREACH, EHOSTDOWN).
        public static let hostUnreachable = Code("host unreachable")
        /// The network is down or unreachable (ENETUNREACH, ENETDOWN, ENETRESET).
        public static let networkUnreachable = Code("network unreachable")
        /// A connect, or data in flight, took too long (ETIMEDOUT, or the reactor's own
        /// connect time-out).
        public static let timedOut = Code("timed out")
        /// The local address is taken (EADDRINUSE).
        public static let addressInUse = Code("address in use")
        /// The local address cannot be used here (EADDRNOTAVAIL).
        public static let addressUnavailable = Code("address unavailable")
        /// The process or system is out of file descriptors (EMFILE, ENFILE).
        public static let tooManyOpenFiles = Code("too many open files")
        /// The kernel is out of memory or buffers (ENOMEM, ENOBUFS).
        public static let outOfMemory = Code("out of memory")
        /// Not permitted here (EACCES, EPERM), e.g. a sandbox refusing io_uring.
        public static let permissionDenied = Code("permission denied")
        /// The kernel does not offer what was asked (EAFNOSUPPORT, EPROTONOSUPPORT,
        /// EOPNOTSUPP, ENOSYS).
        public static let unsupported = Code("unsupported")
        /// An argument from the caller is not acceptable (EINVAL where a user's value,
        /// not our own code, can cause it).
        public static let invalidArgument = Code("invalid argument")
        /// A host name could not be resolved (getaddrinfo).
        public static let nameResolutionFailed = Code("name resolution failed")
        /// The peer closed its side of the connection before the connection had finished.
        public static let endOfStream = Code("end of stream")
        /// The application aborted the connection.
        public static let aborted = Code("aborted")
        /// The connection is unknown: it was closed, or the id is from another reactor.
        public static let unknownConnection = Code("unknown connection")
        /// Any other errno; `ReactorError.errno` says which.
        public static let other = Code("system error")

        /// The code for an errno that did not come from a programming error.
        public static func from(errno: Int32) -> Code {
            switch errno {
            case ECONNREFUSED: .connectionRefused
            case ECONNRESET: .connectionReset
            case ECONNABORTED: .connectionAborted
            case EPIPE: .brokenPipe
            case EHOSTUNREACH, EHOSTDOWN: .hostUnreachable
            case ENETUNREACH, ENETDOWN, ENETRESET: .networkUnreachable
            case ETIMEDOUT: .timedOut
            case EADDRINUSE: .addressInUse
            case EADDRNOTAVAIL: .addressUnavailable
            case EMFILE, ENFILE: .tooManyOpenFiles
            case ENOMEM, ENOBUFS: .outOfMemory
            case EACCES, EPERM: .permissionDenied
            case EAFNOSUPPORT, EPROTONOSUPPORT, EOPNOTSUPP, ENOSYS: .unsupported
            case EINVAL: .invalidArgument
            default: .other
            }
        }

        /// The name.
        public var description: String { name }
    }

    /// What went wrong.
    public var code: Code
    /// The errno behind it, or 0 when the reactor decided (a time-out, end of stream).
    public var errno: Int32
    /// The system call or step that failed, e.g. `connect`, `recv`, `getaddrinfo`.
    public var operation: String
    /// More about it, for people: the address, the time-out, the resolver's message.
    public var detail: String
    /// Where in this library the error was raised.
    public var fileID: String
    /// The line in `fileID`.
    public var line: Int

    /// Creates an error.
    public init(
        _ code: Code, errno: Int32 = 0, operation: String, detail: String = "",
        fileID: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.errno = errno
        self.operation = operation
        self.detail = detail
        self.fileID = fileID
        self.line = line
    }

    /// An error from a failed system call.
    static func system(
        _ operation: String, errno: Int32, detail: String = "", fileID: String = #fileID, line: Int = #line
    ) -> ReactorError {
        ReactorError(.from(errno: errno), errno: errno, operation: operation, detail: detail, fileID: fileID, line: line)
    }

    /// `connect: connection refused (ECONNREFUSED): 127.0.0.1:5672 [AMQPReactor/Socket.swift:80]`.
    public var description: String {
        var s = "\(operation): \(code)"
        if errno != 0 { s += " (\(ErrnoName.of(errno)))" }
        if !detail.isEmpty { s += ": \(detail)" }
        return s + " [\(fileID):\(line)]"
    }
}

/// Symbolic errno names for messages people read. `strerror` is not thread-safe and its
/// text depends on the locale; these names are neither.
enum ErrnoName {
    static func of(_ code: Int32) -> String {
        switch code {
        case EPERM: "EPERM"
        case ENOENT: "ENOENT"
        case EINTR: "EINTR"
        case EBADF: "EBADF"
        case EAGAIN: "EAGAIN"
        case ENOMEM: "ENOMEM"
        case EACCES: "EACCES"
        case EFAULT: "EFAULT"
        case EBUSY: "EBUSY"
        case EEXIST: "EEXIST"
        case EINVAL: "EINVAL"
        case ENFILE: "ENFILE"
        case EMFILE: "EMFILE"
        case ENOSPC: "ENOSPC"
        case EPIPE: "EPIPE"
        case ENOSYS: "ENOSYS"
        case ETIME: "ETIME"
        case ENOTSOCK: "ENOTSOCK"
        case EPROTONOSUPPORT: "EPROTONOSUPPORT"
        case EOPNOTSUPP: "EOPNOTSUPP"
        case EAFNOSUPPORT: "EAFNOSUPPORT"
        case EADDRINUSE: "EADDRINUSE"
        case EADDRNOTAVAIL: "EADDRNOTAVAIL"
        case ENETDOWN: "ENETDOWN"
        case ENETUNREACH: "ENETUNREACH"
        case ENETRESET: "ENETRESET"
        case ECONNABORTED: "ECONNABORTED"
        case ECONNRESET: "ECONNRESET"
        case ENOBUFS: "ENOBUFS"
        case EISCONN: "EISCONN"
        case ENOTCONN: "ENOTCONN"
        case ETIMEDOUT: "ETIMEDOUT"
        case ECONNREFUSED: "ECONNREFUSED"
        case EHOSTDOWN: "EHOSTDOWN"
        case EHOSTUNREACH: "EHOSTUNREACH"
        case EALREADY: "EALREADY"
        case EINPROGRESS: "EINPROGRESS"
        case ECANCELED: "ECANCELED"
        default: "errno \(code)"
        }
    }
}
