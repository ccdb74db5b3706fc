package import CAMQPLinux
import Glibc

/// An IPv4 or IPv6 socket address (address and port), stored by value.
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    /// The address family.
    public enum Family: Hashable, Sendable {
        /// AF_INET.
        case ipv4
        /// AF_INET6.
        case ipv6
    }

    /// IPv4 or IPv6.
    public let family: Family
    /// The port, in host byte order.
    public let port: UInt16
    /// The IPv6 scope (interface index) for link-local addresses; 0 otherwise.
    public let scopeID: UInt32
    /// The address in network byte order: the first 4 bytes for IPv4, all 16 for IPv6.
    let bytes: SIMD16<UInt8>

    private init(family: Family, port: UInt16, scopeID: UInt32, bytes: SIMD16<UInt8>) {
        self.family = family
        self.port = port
        self.scopeID = scopeID
        self.bytes = bytes
    }

    /// A numeric IPv4 address such as `127.0.0.1`, or `nil` if `text` is not one.
    public init?(ipv4 text: String, port: UInt16) {
        var addr = in_addr()
        guard inet_pton(AF_INET, text, &addr) == 1 else { return nil }
        self.init(family: .ipv4, port: port, scopeID: 0, bytes: Self.bytes(of: addr))
    }

    /// A numeric IPv6 address such as `::1`, or `nil` if `text` is not one.
    public init?(ipv6 text: String, port: UInt16, scopeID: UInt32 = 0) {
        var addr = in6_addr()
        guard inet_pton(AF_INET6, text, &addr) == 1 else { return nil }
        self.init(family: .ipv6, port: port, scopeID: scopeID, bytes: Self.bytes(of: addr))
    }

    /// A numeric IPv4 or IPv6 address, or `nil` if `host` is neither (then it is a name:
    /// see `resolve(host:port:)`).
    public init?(numericHost host: String, port: UInt16) {
        if let v4 = SocketAddress(ipv4: host, port: port) {
            self = v4
        } else if let v6 = SocketAddress(ipv6: host, port: port) {
            self = v6
        } else {
            return nil
        }
    }

    /// `127.0.0.1:port`.
    public static func loopbackIPv4(port: UInt16 = 0) -> SocketAddress { SocketAddress(ipv4: "127.0.0.1", port: port)! }
    /// `[::1]:port`.
    public static func loopbackIPv6(port: UInt16 = 0) -> SocketAddress { SocketAddress(ipv6: "::1", port: port)! }

    /// This address with another port.
    public func with(port: UInt16) -> SocketAddress {
        SocketAddress(family: family, port: port, scopeID: scopeID, bytes: bytes)
    }

    /// Resolves `host` (a name or a numeric address) to stream-socket addresses, in the
    /// order the system resolver prefers.
    ///
    /// This calls `getaddrinfo`, which BLOCKS the calling thread while it asks DNS. Call it
    /// before handing work to a reactor thread, or accept that a slow resolver stalls
    /// every connection on that reactor (numeric hosts never block).
    public static func resolve(host: String, port: UInt16) throws(ReactorError) -> [SocketAddress] {
        if let numeric = SocketAddress(numericHost: host, port: port) { return [numeric] }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>? = nil
        var rc: Int32
        repeat {
            rc = getaddrinfo(host, String(port), &hints, &list)
        } while rc == EAI_SYSTEM && errno == EINTR
        guard rc == 0 else {
            let why = rc == EAI_SYSTEM ? ErrnoName.of(errno) : String(cString: gai_strerror(rc))
            throw ReactorError(.nameResolutionFailed, errno: rc == EAI_SYSTEM ? errno : 0, operation: "getaddrinfo", detail: "\(host): \(why)")
        }
        defer { freeaddrinfo(list) }
        var result: [SocketAddress] = []
        var entry = list
        while let e = entry {
            if let sa = e.pointee.ai_addr, let address = SocketAddress(sa, length: e.pointee.ai_addrlen), !result.contains(address) {
                result.append(address)
            }
            entry = e.pointee.ai_next
        }
        guard !result.isEmpty else {
            throw ReactorError(.nameResolutionFailed, operation: "getaddrinfo", detail: "\(host): no stream address")
        }
        return result
    }

    /// Reads a `sockaddr_in` or `sockaddr_in6`; `nil` for other families. (Package
    /// access: the fault proxy in Tools/ makes its own sockets.)
    package init?(_ sa: UnsafePointer<sockaddr>, length: socklen_t) {
        switch Int32(sa.pointee.sa_family) {
        case AF_INET where length >= MemoryLayout<sockaddr_in>.size:
            let v4 = UnsafeRawPointer(sa).loadUnaligned(as: sockaddr_in.self)
            self.init(family: .ipv4, port: UInt16(bigEndian: v4.sin_port), scopeID: 0, bytes: Self.bytes(of: v4.sin_addr))
        case AF_INET6 where length >= MemoryLayout<sockaddr_in6>.size:
            let v6 = UnsafeRawPointer(sa).loadUnaligned(as: sockaddr_in6.self)
            self.init(family: .ipv6, port: UInt16(bigEndian: v6.sin6_port), scopeID: v6.sin6_scope_id, bytes: Self.bytes(of: v6.sin6_addr))
        default:
            return nil
        }
    }

    /// AF_INET or AF_INET6.
    var domain: Int32 { family == .ipv4 ? AF_INET : AF_INET6 }

    /// Writes this address into `storage` as a `sockaddr_in` or `sockaddr_in6`; returns
    /// its length.
    func fill(_ storage: inout sockaddr_storage) -> socklen_t {
        storage = sockaddr_storage()
        switch family {
        case .ipv4:
            var v4 = sockaddr_in()
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &v4.sin_addr) { raw in
                for i in 0..<4 { raw[i] = bytes[i] }
            }
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: v4, as: sockaddr_in.self) }
            return socklen_t(MemoryLayout<sockaddr_in>.size)
        case .ipv6:
            var v6 = sockaddr_in6()
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
            v6.sin6_scope_id = scopeID
            withUnsafeMutableBytes(of: &v6.sin6_addr) { raw in
                for i in 0..<16 { raw[i] = bytes[i] }
            }
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: v6, as: sockaddr_in6.self) }
            return socklen_t(MemoryLayout<sockaddr_in6>.size)
        }
    }

    /// Calls `body` with this address as a `sockaddr` and its length.
    package func withSockaddr<R, E: Error>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(E) -> R) throws(E) -> R {
        var storage = sockaddr_storage()
        let length = fill(&storage)
        // Result(catching:) keeps the typed error through the rethrowing pointer scope.
        let result: Result<R, E> = withUnsafePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in Result { () throws(E) -> R in try body(sa, length) } }
        }
        return try result.get()
    }

    /// `127.0.0.1:5672` or `[::1]:5672`.
    public var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        var raw = bytes
        let ok = withUnsafeBytes(of: &raw) { src in
            inet_ntop(domain, src.baseAddress, &text, socklen_t(text.count)) != nil
        }
        let host = ok ? String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
        switch family {
        case .ipv4: return "\(host):\(port)"
        case .ipv6: return scopeID == 0 ? "[\(host)]:\(port)" : "[\(host)%\(scopeID)]:\(port)"
        }
    }

    private static func bytes<T>(of value: T) -> SIMD16<UInt8> {
        var result = SIMD16<UInt8>()
        withUnsafeBytes(of: value) { raw in
            for i in 0..<min(raw.count, 16) { result[i] = raw[i] }
        }
        return result
    }
}
