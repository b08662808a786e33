import CredentialVault
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Refreshes one mode's access token safely across processes (RFC 6749 §6), following the
/// algorithm in docs/FORMAT.md and SECURITY.md:
///
/// 1. A token with 5 minutes or more left is used as it is (no lock, no network).
/// 2. Otherwise take an exclusive `flock` on `<app dir>/auth-refresh-<mode>.lock`
///    (persistent, never unlinked) and re-read the stored record.
/// 3. If another process stored a different token set meanwhile, adopt it without calling
///    the server: with one-use refresh tokens, a second refresh would break the chain.
/// 4. Otherwise refresh; keep the old refresh token when the response carries none; store
///    atomically.
/// 5. On `invalid_grant` (or an empty-body 400, as Glewlwyd sends), re-read: adopt a newer
///    set if one appeared, else keep the data, mark the session as needing login, exit 80.
/// 6. On a network failure or 5xx while the access token is still valid, use it and warn.
struct TokenRefresher: Sendable {
    let store: AuthStore
    let mode: ServiceMode
    let http: HTTPTransport
    let loginCommand: String
    var now: @Sendable () -> Date = { Date() }

    /// A token with less than this left is refreshed.
    static let window: TimeInterval = 300
    /// How long to wait for another process's refresh.
    static let lockTimeout: Duration = .seconds(60)

    var refreshTokenKey: CredentialKey { Self.refreshTokenKey(app: store.app, mode: mode) }

    static func refreshTokenKey(app: AppProfile, mode: ServiceMode) -> CredentialKey {
        try! CredentialKey(service: AuthRecord.service, account: "\(app.name)/\(mode.rawValue)/refresh_token")
    }

    func needsLoginError(_ detail: String) -> CredentialVaultError {
        CredentialVaultError(.authenticationRequired, "Token refresh failed; run `\(loginCommand)`\(mode == .prod ? "" : " --mode \(mode)") (\(detail))")
    }

    /// A usable token set for `seen` (the set read without the lock), and warnings.
    func usable(_ seen: TokenSet) async throws -> (TokenSet, [String]) {
        if seen.needsLogin { throw needsLoginError("the last refresh was refused by the server") }
        if !seen.isDue(now: now(), window: Self.window) { return (seen, []) }

        let held = try store.lock("auth-refresh-\(mode.rawValue).lock", timeout: Self.lockTimeout)
        defer { withExtendedLifetime(held) {} }
        guard let current = try await store.load()[mode].tokens else {
            throw CredentialVaultError(.authenticationRequired, "the \(mode) login was removed while waiting to refresh it; run `\(loginCommand)`")
        }
        if current != seen {
            // Another process logged in or refreshed while we waited: adopt its result.
            if current.needsLogin { throw needsLoginError("another process's refresh was refused by the server") }
            return (current, [])
        }
        guard let sealed = current.sealedRefreshToken else {
            if current.isValid(now: now()) { return (current, []) }
            throw CredentialVaultError(.authenticationRequired, "the \(mode) access token expired and the server issued no refresh token; run `\(loginCommand)`")
        }
        let refreshToken = try await store.vault.openSealed(sealed, for: refreshTokenKey)
        let reply: HTTPReply
        do {
            reply = try await http.postForm(current.endpoints.token, fields: [
                ("grant_type", "refresh_token"),
                ("refresh_token", refreshToken.utf8String() ?? ""),
                ("client_id", current.clientID),
            ])
        } catch let error as CredentialVaultError where error.code == .unavailable || error.code == .timedOut {
            return try keepOrFail(current, reason: error.message, code: error.code)
        }
        let received = now()
        if let response = TokenResponse(reply, received: received) {
            var newSealed = sealed
            if let rotated = response.refreshToken { newSealed = try await store.vault.seal(rotated, for: refreshTokenKey) }
            let tokens = response.tokenSet(sealedRefreshToken: newSealed, endpoints: current.endpoints,
                                           clientID: current.clientID, keepingIDToken: current.idToken)
            do {
                try await store.update { $0[mode].tokens = tokens }
            } catch let error as CredentialVaultError where error.code == .cannotWrite {
                // The server has issued (and may have rotated) tokens we cannot keep: use them
                // now, and say what the next run will need.
                let rotated = response.refreshToken != nil
                return (tokens, ["the refreshed \(mode) tokens could not be saved: \(error.message)."
                                 + (rotated ? " The server rotated the refresh token, so the stored one may no longer work: free space, then run `\(loginCommand)` if the next command asks for a login." : "")])
            }
            return (tokens, [])
        }
        let error = OAuthErrorReply(reply)
        if reply.status >= 500 || reply.status == 429 {
            return try keepOrFail(current, reason: "the token endpoint answered HTTP \(reply.status)\(error.map { " \($0.summary)" } ?? "")", code: .unavailable)
        }
        if error?.code == "invalid_grant" || (error == nil && (reply.status == 400 || reply.status == 401)) {
            // Re-read: a process that did not take our lock (an older version, another host
            // sharing the keyring) may have stored a newer set.
            if let newer = try await store.load()[mode].tokens, newer != current, !newer.needsLogin { return (newer, []) }
            try await store.update { record in
                if var tokens = record[mode].tokens, tokens == current {
                    tokens.needsLogin = true
                    record[mode].tokens = tokens
                }
            }
            throw needsLoginError(error.map { "the server answered \($0.summary)" } ?? "the server refused the refresh token with HTTP \(reply.status)")
        }
        let detail = error?.summary ?? "HTTP \(reply.status) without an OAuth error"
        if current.isValid(now: now()) {
            return (current, ["cannot refresh the \(mode) access token (\(detail)); using it until it expires at \(Timestamp.format(current.expiresAt!))"])
        }
        throw CredentialVaultError(.authenticationRequired, "the \(mode) access token expired and the refresh failed (\(detail)); run `\(loginCommand)`")
    }

    private func keepOrFail(_ tokens: TokenSet, reason: String, code: CredentialVaultError.Code) throws -> (TokenSet, [String]) {
        if tokens.isValid(now: now()), let expiresAt = tokens.expiresAt {
            return (tokens, ["cannot refresh the \(mode) access token: \(reason); using the current one until it expires at \(Timestamp.format(expiresAt))"])
        }
        throw CredentialVaultError(code, "the \(mode) access token expired and cannot be refreshed: \(reason)")
    }
}
