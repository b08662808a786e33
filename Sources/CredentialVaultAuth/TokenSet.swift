import CredentialVault
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An OAuth token set as stored for one app and mode. The refresh token is kept sealed
/// (see `CredentialVault.seal(_:for:)`) and opened only when a refresh needs it.
public struct TokenSet: Sendable, Equatable, CustomStringConvertible {
    public var accessToken: SecretBytes
    public var tokenType: String
    /// The sealed refresh token (`CVS1…`), or nil when the server issued none.
    public var sealedRefreshToken: [UInt8]?
    /// When the access token expires, computed from the moment the response arrived.
    public var expiresAt: Date?
    public var storedAt: Date
    public var idToken: SecretBytes?
    public var scope: String?
    /// Set when a refresh was refused (`invalid_grant`): the data is kept, but a login is needed.
    public var needsLogin: Bool
    /// The endpoints the token came from, so a refresh or a revocation needs no discovery.
    public var endpoints: OAuthEndpoints
    public var clientID: String

    public var description: String {
        "TokenSet(\(tokenType), expires \(expiresAt.map(Timestamp.format) ?? "never"), refresh token: \(sealedRefreshToken == nil ? "none" : "sealed"), secrets redacted)"
    }

    /// Whether a refresh is due: less than `window` left, or less than half the token's
    /// lifetime when that is shorter (a server issuing 60-second tokens would otherwise be
    /// asked for a new one on every use). A token without an expiry never is.
    public func isDue(now: Date, window: TimeInterval) -> Bool {
        guard let dueAt = refreshDueAt(window: window) else { return false }
        return now >= dueAt
    }

    /// When a refresh becomes due (see ``isDue(now:window:)``).
    public func refreshDueAt(window: TimeInterval) -> Date? {
        guard let expiresAt else { return nil }
        let lifetime = max(0, expiresAt.timeIntervalSince(storedAt))
        return expiresAt.addingTimeInterval(-min(window, lifetime / 2))
    }

    /// Whether the access token can still be used at `now`.
    public func isValid(now: Date) -> Bool {
        guard let expiresAt else { return true }
        return expiresAt > now
    }

    var json: JSONValue {
        var object: [String: JSONValue] = [
            "access_token": .string(accessToken.utf8String() ?? ""),
            "token_type": .string(tokenType),
            "stored_at": .number(storedAt.timeIntervalSince1970),
            "needs_login": .bool(needsLogin),
            "client_id": .string(clientID),
            "token_endpoint": .string(endpoints.token),
            "device_authorization_endpoint": .string(endpoints.deviceAuthorization),
        ]
        if let sealedRefreshToken { object["refresh_token_sealed"] = .string(Base64.encode(sealedRefreshToken)) }
        if let expiresAt { object["expires_at"] = .number(expiresAt.timeIntervalSince1970) }
        if let idToken { object["id_token"] = .string(idToken.utf8String() ?? "") }
        if let scope { object["scope"] = .string(scope) }
        if let revocation = endpoints.revocation { object["revocation_endpoint"] = .string(revocation) }
        if endpoints.revocationAcceptsBearer { object["revocation_accepts_bearer"] = .bool(true) }
        return .object(object)
    }

    package init(json: JSONValue, context: String) throws {
        func bad(_ field: String) -> CredentialVaultError {
            CredentialVaultError(.dataError, "\(context): field '\(field)' is missing or not valid; run `auth logout` and log in again")
        }
        guard let access = json["access_token"]?.stringValue else { throw bad("access_token") }
        guard let storedAt = json["stored_at"]?.numberValue else { throw bad("stored_at") }
        guard let token = json["token_endpoint"]?.stringValue, let device = json["device_authorization_endpoint"]?.stringValue else { throw bad("token_endpoint") }
        accessToken = SecretBytes(utf8: access)
        tokenType = json["token_type"]?.stringValue ?? "Bearer"
        if let sealed = json["refresh_token_sealed"]?.stringValue {
            guard let bytes = Base64.decode(sealed) else { throw bad("refresh_token_sealed") }
            sealedRefreshToken = bytes
        }
        expiresAt = json["expires_at"]?.numberValue.map { Date(timeIntervalSince1970: $0) }
        self.storedAt = Date(timeIntervalSince1970: storedAt)
        idToken = json["id_token"]?.stringValue.map { SecretBytes(utf8: $0) }
        scope = json["scope"]?.stringValue
        if case .bool(let flag)? = json["needs_login"] { needsLogin = flag } else { needsLogin = false }
        var accepts = false
        if case .bool(let flag)? = json["revocation_accepts_bearer"] { accepts = flag }
        endpoints = OAuthEndpoints(deviceAuthorization: device, token: token,
                                   revocation: json["revocation_endpoint"]?.stringValue, revocationAcceptsBearer: accepts)
        clientID = json["client_id"]?.stringValue ?? ""
    }

    init(accessToken: SecretBytes, tokenType: String, sealedRefreshToken: [UInt8]?, expiresAt: Date?, storedAt: Date,
         idToken: SecretBytes?, scope: String?, endpoints: OAuthEndpoints, clientID: String) {
        self.accessToken = accessToken
        self.tokenType = tokenType
        self.sealedRefreshToken = sealedRefreshToken
        self.expiresAt = expiresAt
        self.storedAt = storedAt
        self.idToken = idToken
        self.scope = scope
        self.needsLogin = false
        self.endpoints = endpoints
        self.clientID = clientID
    }
}
