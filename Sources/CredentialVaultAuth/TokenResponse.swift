import CredentialVault
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A token endpoint's successful answer (RFC 6749 §5.1), before it is sealed and stored.
package struct TokenResponse: Sendable {
    var accessToken: SecretBytes
    var tokenType: String
    var refreshToken: SecretBytes?
    package var expiresIn: Double?
    var idToken: SecretBytes?
    var scope: String?
    /// When the response arrived; `expires_at` counts from here.
    var received: Date

    /// The fields of a 200 answer, or nil when it carries no `access_token`.
    package init?(_ reply: HTTPReply, received: Date) {
        guard reply.status == 200, let access = reply.string("access_token"), !access.isEmpty else { return nil }
        accessToken = SecretBytes(utf8: access)
        tokenType = reply.string("token_type") ?? "Bearer"
        refreshToken = reply.string("refresh_token").flatMap { $0.isEmpty ? nil : SecretBytes(utf8: $0) }
        expiresIn = reply.lifetime("expires_in")
        idToken = reply.string("id_token").map { SecretBytes(utf8: $0) }
        scope = reply.string("scope")
        self.received = received
    }

    /// The token set to store; `keeping` is the sealed refresh token to keep when this
    /// response carries none (RFC 6749 §6).
    func tokenSet(sealedRefreshToken: [UInt8]?, endpoints: OAuthEndpoints, clientID: String,
                  keepingIDToken oldIDToken: SecretBytes? = nil) -> TokenSet {
        TokenSet(accessToken: accessToken, tokenType: tokenType, sealedRefreshToken: sealedRefreshToken,
                 expiresAt: expiresIn.map { received.addingTimeInterval($0) }, storedAt: received,
                 idToken: idToken ?? oldIDToken, scope: scope, endpoints: endpoints, clientID: clientID)
    }
}

/// An OAuth error answer (RFC 6749 §5.2): the `error` code and its description.
package struct OAuthErrorReply: Sendable {
    var code: String
    var errorDescription: String?

    package init?(_ reply: HTTPReply) {
        guard let code = reply.string("error"), !code.isEmpty else { return nil }
        self.code = code
        self.errorDescription = reply.string("error_description")
    }

    /// `invalid_grant (the refresh token was revoked)`.
    var summary: String { errorDescription.map { "\(code) (\($0))" } ?? code }
}
