/// How a connection authenticates with CBS tokens (claims-based security, as Azure
/// Service Bus, Event Hubs and IoT Hub require): the audience, where tokens come from,
/// and when to refresh them. The reference's `SASTokenAuth` and `JWTTokenAuth`.
///
/// ```swift
/// let auth = TokenAuthentication.sas(
///     audience: "sb://ns.servicebus.windows.net/orders", keyName: "RootManageSharedAccessKey", key: key)
/// let connection = try Connection(hostname: "amqp://ns.servicebus.windows.net", tokenAuthentication: auth)
/// try connection.waitUntilAuthenticated()
/// ```
///
/// A connection with token authentication opens a session of its own when it starts,
/// attaches a sender and a receiver to `$cbs`, puts the token, and keeps it fresh until
/// `destroy()` (which ends that session before the CLOSE).
public struct TokenAuthentication: Sendable {
    /// The entity the tokens are for (put-token `name`), e.g.
    /// `sb://ns.servicebus.windows.net/orders`.
    public var audience: String
    /// Supplies the tokens (SAS, JWT, or any other type the CBS node takes).
    public var provider: any TokenProvider
    /// How long to wait for the provider, and then for the CBS node's answer.
    public var responseTimeout: Duration
    /// The fraction of a token's lifetime left when it is refreshed, in (0, 1).
    public var refreshFraction: Double
    /// The put-token `reply-to`, also the target address of the `$cbs` receiver.
    public var replyTo: String

    /// Creates token authentication.
    ///
    /// - Precondition: `refreshFraction` is in (0, 1).
    public init(
        audience: String, provider: any TokenProvider, responseTimeout: Duration = .seconds(60),
        refreshFraction: Double = 0.1, replyTo: String = CBS.defaultReplyTo
    ) {
        precondition(refreshFraction > 0 && refreshFraction < 1, "refreshFraction \(refreshFraction) is not in (0, 1)")
        self.audience = audience
        self.provider = provider
        self.responseTimeout = responseTimeout
        self.refreshFraction = refreshFraction
        self.replyTo = replyTo
    }

    /// SAS tokens signed with a shared access key (the reference's `SASTokenAuth`), each
    /// valid for `validity`.
    public static func sas(
        audience: String, keyName: String, key: String, validity: Duration = .seconds(3600)
    ) -> TokenAuthentication {
        TokenAuthentication(audience: audience, provider: SASTokenProvider(keyName: keyName, key: key, validity: validity))
    }

    /// Tokens from `fetch`, asked again before each expires (the reference's
    /// `JWTTokenAuth`): for tokens obtained elsewhere, e.g. from Microsoft Entra ID. The
    /// closure is called on the library's threads and must not block for long.
    public static func jwt(
        audience: String, fetch: @escaping @Sendable (String) throws -> CBSToken
    ) -> TokenAuthentication {
        TokenAuthentication(audience: audience, provider: ClosureTokenProvider(fetch))
    }

    /// Tokens from the async `fetch` (a network round trip to an identity service), run
    /// in a task of its own.
    public static func jwt(
        audience: String, fetchAsync: @escaping @Sendable (String) async throws -> CBSToken
    ) -> TokenAuthentication {
        TokenAuthentication(audience: audience, provider: ClosureTokenProvider(async: fetchAsync))
    }
}

/// A `TokenProvider` that can answer without suspending (a SAS signature, a fixed
/// token): the CBS session then asks it on the thread that needs the token, with no task,
/// so authentication never waits for a free thread of the cooperative pool.
public protocol ImmediateTokenProvider: TokenProvider {
    /// A token for `audience` at once; `nil` when only `token(for:)` can tell.
    func immediateToken(for audience: String) throws -> CBSToken?
}

extension SASTokenProvider: ImmediateTokenProvider {
    /// `makeToken(for:)`.
    public func immediateToken(for audience: String) throws -> CBSToken? { makeToken(for: audience) }
}

extension StaticTokenProvider: ImmediateTokenProvider {
    /// The token.
    public func immediateToken(for audience: String) throws -> CBSToken? { cbsToken }
}

/// A `TokenProvider` made of a closure, plain or async.
public struct ClosureTokenProvider: ImmediateTokenProvider {
    private enum Fetch {
        case immediate(@Sendable (String) throws -> CBSToken)
        case async(@Sendable (String) async throws -> CBSToken)
    }
    private let fetch: Fetch

    /// Wraps `fetch`, which gets the audience and answers at once.
    public init(_ fetch: @escaping @Sendable (String) throws -> CBSToken) { self.fetch = .immediate(fetch) }
    /// Wraps the async `fetch`, which gets the audience.
    public init(async fetch: @escaping @Sendable (String) async throws -> CBSToken) { self.fetch = .async(fetch) }

    /// Calls the closure.
    public func token(for audience: String) async throws -> CBSToken {
        switch fetch {
        case .immediate(let f): try f(audience)
        case .async(let f): try await f(audience)
        }
    }

    /// Calls a plain closure; `nil` for an async one.
    public func immediateToken(for audience: String) throws -> CBSToken? {
        guard case .immediate(let f) = fetch else { return nil }
        return try f(audience)
    }
}
