/// The kind of token put to a CBS node (the put-token request's `type`).
public struct CBSTokenType: Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The type string sent.
    public var rawValue: String
    /// Creates a type.
    public init(_ rawValue: String) { self.rawValue = rawValue }
    /// A literal is the type string.
    public init(stringLiteral value: String) { self.rawValue = value }
    /// The type string.
    public var description: String { rawValue }

    /// A Shared Access Signature (Azure Service Bus, Event Hubs, IoT Hub).
    public static let sasToken = CBSTokenType("servicebus.windows.net:sastoken")
    /// A JSON Web Token (Microsoft Entra ID / Azure AD).
    public static let jwt = CBSTokenType("jwt")
}

/// A token to put to a CBS node, with its type and when it stops being valid.
public struct CBSToken: Hashable, Sendable, CustomStringConvertible {
    /// The token itself, sent as the request's body.
    public var token: String
    /// Its type.
    public var type: CBSTokenType
    /// When it expires (wall-clock time).
    public var expiresAt: Timestamp

    /// Creates a token.
    public init(token: String, type: CBSTokenType, expiresAt: Timestamp) {
        self.token = token
        self.type = type
        self.expiresAt = expiresAt
    }

    /// Type and expiry only: the token is a secret and stays out of logs.
    public var description: String { "\(type) token expiring at \(expiresAt.secondsSinceEpoch) (Unix seconds)" }
}

/// Supplies tokens for CBS authentication, and fresh ones before they expire.
///
/// Asynchronous because obtaining a token may take a network round trip (a JWT from an
/// identity service); a SAS token is computed at once. Called from the connection's
/// driver, never while the engine is in the middle of a step.
public protocol TokenProvider: Sendable {
    /// A token valid for `audience` (the entity URI, e.g.
    /// `sb://ns.servicebus.windows.net/queue`).
    func token(for audience: String) async throws -> CBSToken
}

/// Signs SAS tokens with a shared access key (Azure's `SharedAccessKeyName` and
/// `SharedAccessKey`).
public struct SASTokenProvider: TokenProvider {
    /// The key's name (`skn`), e.g. `RootManageSharedAccessKey`.
    public var keyName: String
    /// The key, as given by the portal (its text is the HMAC key; it is not base64-decoded,
    /// as Azure's own clients do).
    public var key: String
    /// How long each token is valid. Default one hour, as the reference's.
    public var validity: Duration
    /// The wall clock; replace it in tests.
    public var clock: @Sendable () -> Timestamp

    /// Creates a provider.
    public init(keyName: String, key: String, validity: Duration = .seconds(3600), clock: @escaping @Sendable () -> Timestamp = { Timestamp.now() }) {
        self.keyName = keyName
        self.key = key
        self.validity = validity
        self.clock = clock
    }

    /// A token for `audience` expiring `validity` from now (whole seconds).
    public func makeToken(for audience: String) -> CBSToken {
        let expiry = clock().advanced(by: validity).secondsSinceEpoch
        return CBSToken(
            token: SharedAccessSignature.token(resource: audience, keyName: keyName, key: key, expiry: expiry),
            type: .sasToken, expiresAt: Timestamp(secondsSinceEpoch: expiry))
    }

    /// `makeToken(for:)`, at once.
    public func token(for audience: String) async throws -> CBSToken { makeToken(for: audience) }
}

/// Hands out one fixed token: a SAS token or JWT obtained elsewhere.
public struct StaticTokenProvider: TokenProvider {
    /// The token.
    public var cbsToken: CBSToken
    /// Creates a provider.
    public init(_ token: CBSToken) { self.cbsToken = token }
    /// The token, whatever the audience.
    public func token(for audience: String) async throws -> CBSToken { cbsToken }
}

/// Shared Access Signature tokens, as Azure Service Bus, Event Hubs and IoT Hub accept them.
public enum SharedAccessSignature {
    /// `SharedAccessSignature sr=<resource>&sig=<signature>&se=<expiry>&skn=<keyName>`.
    ///
    /// The signature is HMAC-SHA256, keyed with the UTF-8 bytes of `key`, over
    /// `<url-encoded resource>\n<expiry>`, in base64. `sr`, `sig` and `skn` are URL-encoded
    /// as the reference encodes them (Python's `quote_plus`: `%XX` in upper case).
    ///
    /// - Parameters:
    ///   - resource: the URI the token grants access to (the CBS audience).
    ///   - keyName: the shared access key's name; omitted from the token when empty.
    ///   - key: the shared access key.
    ///   - expiry: when the token expires, in seconds since the Unix epoch.
    public static func token(resource: String, keyName: String, key: String, expiry: Int64) -> String {
        let encodedResource = FormEncoding.quotePlus(resource)
        let signed = Array("\(encodedResource)\n\(expiry)".utf8)
        let signature = Base64.encode(HMACSHA256.authenticate(signed, key: Array(key.utf8)))
        var token = "SharedAccessSignature sr=\(encodedResource)&sig=\(FormEncoding.quotePlus(signature))&se=\(expiry)"
        if !keyName.isEmpty { token += "&skn=\(FormEncoding.quotePlus(keyName))" }
        return token
    }
}
