import CredentialVault
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What `auth status` reports: who, where, which source won and what it shadowed.
public struct AuthStatus: Sendable {
    public var app: String
    public var authMode: AuthMode
    public var mode: ServiceMode
    public var modeSource: String
    public var workspace: String?
    public var workspaceSource: String?
    /// The backend and where the login record lives.
    public var backend: String
    public var storage: String
    /// The resolved credential, or nil when none (then `problem` says why).
    public var credential: ResolvedCredential?
    public var problem: CredentialVaultError?
    /// Claims of the ID token of the mode, not verified.
    public var identity: IDTokenClaims?
    public var expiresAt: Date?
    /// When a refresh will be attempted (5 minutes before expiry, or half-way for short-lived tokens).
    public var refreshDueAt: Date?
    public var needsLogin: Bool

    /// The status as one JSON document; values are masked.
    public var json: JSONValue { json(exitStatus: nil) }

    /// The status as one JSON document, its `error` carrying `exit_status` from `exitStatus`
    /// (the CLI's mapping of codes to statuses) when given.
    public func json(exitStatus: ((CredentialVaultError.Code) -> Int32)?) -> JSONValue {
        var object: [String: JSONValue] = [
            "app": .string(app), "auth_mode": .string(authMode.rawValue), "mode": .string(mode.rawValue),
            "mode_source": .string(modeSource), "backend": .string(backend), "storage": .string(storage),
            "authenticated": .bool(credential != nil), "needs_login": .bool(needsLogin),
        ]
        object["workspace"] = workspace.map { .string($0) } ?? .null
        if let workspaceSource { object["workspace_source"] = .string(workspaceSource) }
        if let credential {
            object["source"] = credential.source.json
            if let value = credential.value { object["masked"] = .string(APIKey.masked(value)) }
            object["shadowed"] = .array(credential.shadowed.map(\.json))
            if !credential.warnings.isEmpty { object["warnings"] = .array(credential.warnings.map { .string($0) }) }
        }
        if let problem {
            var error: [String: JSONValue] = ["message": .string(problem.message), "code": .string(problem.code.description)]
            if let exitStatus { error["exit_status"] = .number(Double(exitStatus(problem.code))) }
            object["error"] = .object(error)
        }
        if let identity, let name = identity.displayName {
            object["identity"] = .object(["name": .string(name), "claim": .string(identity.displayClaim ?? "sub"),
                                          "verified": .bool(false), "sub": identity.subject.map { .string($0) } ?? .null])
        }
        if let expiresAt { object["expires_at"] = .string(Timestamp.format(expiresAt)) }
        if let refreshDueAt { object["refresh_due_at"] = .string(Timestamp.format(refreshDueAt)) }
        return .object(object)
    }
}

extension AuthSession {
    /// The status for `request`, without refreshing and without network calls; the record is read once.
    public func status(_ request: CredentialRequest = CredentialRequest()) async throws -> AuthStatus {
        let record = try await store.load()
        let current = try await currentMode(override: request.mode, record: record)
        let workspace = try await currentWorkspace(selected: request.workspace, record: record)
        var noRefresh = request
        noRefresh.refresh = false
        var status = AuthStatus(app: settings.app.name, authMode: settings.authMode, mode: current.mode, modeSource: current.source,
                                workspace: workspace.name, workspaceSource: workspace.source,
                                backend: vault.selection.backend, storage: store.location,
                                credential: nil, problem: nil, identity: nil, expiresAt: nil, refreshDueAt: nil, needsLogin: false)
        do {
            status.credential = try await resolve(noRefresh, record: record)
        } catch let error as CredentialVaultError {
            status.problem = error
        }
        if let tokens = record[current.mode].tokens {
            status.identity = tokens.idToken.flatMap(IDTokenClaims.init)
            status.expiresAt = tokens.expiresAt
            status.refreshDueAt = tokens.refreshDueAt(window: TokenRefresher.window)
            status.needsLogin = tokens.needsLogin
        }
        if let credential = status.credential, credential.workspace != nil { status.workspace = credential.workspace }
        return status
    }
}
