import CredentialVault
import CredentialVaultSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension AuthSession {
    /// The credential to use, where it came from, and which other sources were present but
    /// shadowed. Order: `--api-key-file` or `--api-key`, `<APP>_API_KEY`, `<APP>_AUTH_TOKEN`,
    /// the stored key of `--workspace` (or `<APP>_WORKSPACE`), the active workspace's stored
    /// key, the stored personal access token, the current mode's OAuth token (refreshed when
    /// due). In zero-auth mode the answer is "none (zero-auth)".
    ///
    /// - Throws: `.authenticationRequired` (exit 80) with the commands that would fix it;
    ///   `.dataError` for a malformed API key, naming its source.
    public func resolve(_ request: CredentialRequest = CredentialRequest()) async throws -> ResolvedCredential {
        try await resolve(request, record: store.load())
    }

    /// ``resolve(_:)`` on a record already read.
    func resolve(_ request: CredentialRequest, record: AuthRecord) async throws -> ResolvedCredential {
        let mode = try await currentMode(override: request.mode, record: record).mode
        let state = record[mode]
        let location = store.location
        var warnings: [String] = []
        let prefix = settings.apiKeyPrefix

        // Every candidate, in order, with a closure producing its value.
        typealias Candidate = (source: CredentialSource, workspace: String?, value: () async throws -> (SecretBytes, TokenSet?))
        var candidates: [Candidate] = []

        if let path = request.apiKeyFile {
            candidates.append((.apiKeyFile(path: path), nil, {
                let key = try Self.readKeyFile(path)
                try APIKey.validate(key, prefix: prefix, workspace: nil, source: "--api-key-file \(path)")
                return (key, nil)
            }))
        } else if let key = request.apiKey {
            candidates.append((.apiKeyArgument, nil, {
                try APIKey.validate(key, prefix: prefix, workspace: nil, source: "the --api-key argument")
                return (key, nil)
            }))
        }
        if let (name, value) = settings.variable("API_KEY") {
            candidates.append((.environment(variable: name), nil, {
                let key = SecretBytes(utf8: value)
                try APIKey.validate(key, prefix: prefix, workspace: nil, source: "the \(name) environment variable")
                return (key, nil)
            }))
        }
        if let (name, value) = settings.variable("AUTH_TOKEN") {
            candidates.append((.environment(variable: name), nil, { (SecretBytes(utf8: value), nil) }))
        }
        let selected: (name: String, by: String)? = request.workspace.map { ($0, "--workspace") }
            ?? settings.variable("WORKSPACE").map { ($0.value, $0.name) }
        if let selected {
            try APIKey.validateWorkspace(selected.name)
            if let key = state.workspaceKeys[selected.name] {
                candidates.append((.selectedWorkspaceKey(workspace: selected.name, selectedBy: selected.by, location: location), selected.name, {
                    try APIKey.validate(key, prefix: prefix, workspace: selected.name, source: "the stored key of workspace '\(selected.name)' in \(location)")
                    return (key, nil)
                }))
            }
        }
        // The active workspace's key is for that workspace only: not used when another one was selected.
        if let active = state.activeWorkspace, selected == nil,
           let key = state.workspaceKeys[active] {
            candidates.append((.activeWorkspaceKey(workspace: active, mode: mode, location: location), active, {
                try APIKey.validate(key, prefix: prefix, workspace: active, source: "the stored key of active workspace '\(active)' in \(location)")
                return (key, nil)
            }))
        }
        if let pat = record.personalAccessToken {
            candidates.append((.personalAccessToken(location: location), nil, { (pat, nil) }))
        }
        if let tokens = state.tokens {
            let refresher = TokenRefresher(store: store, mode: mode, http: http, loginCommand: settings.loginCommand, now: now)
            let refresh = request.refresh
            candidates.append((.oauth(mode: mode, location: location), nil, {
                if !refresh { return (tokens.accessToken, tokens) }
                let (usable, notes) = try await refresher.usable(tokens)
                warnings.append(contentsOf: notes)
                return (usable.accessToken, usable)
            }))
        }

        if settings.authMode == .local {
            return ResolvedCredential(value: nil, source: .zeroAuth(variable: settings.authModeSource),
                                      shadowed: candidates.map(\.source), warnings: [], workspace: nil, tokens: nil, mode: mode)
        }
        guard let winner = candidates.first else {
            throw notAuthenticated(mode: mode, selectedWorkspace: selected?.name)
        }
        if case .environment(let variable) = winner.source, let selected {
            warnings.append("\(variable) overrides \(selected.by) \(selected.name); unset \(variable) to use that workspace's stored key")
        }
        if case .apiKeyArgument = winner.source {
            warnings.append("--api-key puts the key in the process list, where other local users can read it; use --api-key-file or \(settings.app.variable("API_KEY")) instead")
        }
        let (value, tokens) = try await winner.value()
        var workspace = winner.workspace
        if workspace == nil, let text = value.utf8String(), tokens == nil { workspace = APIKey.workspace(of: text, prefix: prefix) }
        return ResolvedCredential(value: value, source: winner.source, shadowed: candidates.dropFirst().map(\.source),
                                  warnings: warnings, workspace: workspace ?? selected?.name ?? state.activeWorkspace,
                                  tokens: tokens, mode: mode)
    }

    func notAuthenticated(mode: ServiceMode, selectedWorkspace: String?) -> CredentialVaultError {
        let command = settings.loginCommand.dropLast(" auth login".count)
        var fixes = ["`\(settings.loginCommand)\(mode == .prod ? "" : " --mode \(mode)")` (browser or device code)",
                     "`\(command) auth token` (personal access token, from standard input)"]
        if let selectedWorkspace {
            fixes.append("`\(command) workspace key set \(selectedWorkspace)` (that workspace's API key)")
        } else {
            fixes.append("`\(command) workspace key set NAME` then `\(command) workspace use NAME`")
        }
        fixes.append("set \(settings.app.variable("API_KEY")) or \(settings.app.variable("AUTH_TOKEN"))")
        return CredentialVaultError(.authenticationRequired,
            "not authenticated: no credential for \(settings.app.name) in \(mode) mode. Fix with one of: " + fixes.joined(separator: "; "))
    }

    /// Reads an API key file: one line (a trailing newline ignored), not empty, with the checks
    /// every secret file gets (yours, mode 0600 or stricter, not a link, a regular file).
    static func readKeyFile(_ path: String) throws -> SecretBytes {
        let key = try SecretInput.read(.file(path), as: .line, limit: 4096, what: "the API key")
        guard key.count > 0 else { throw CredentialVaultError(.dataError, "--api-key-file \(path) is empty") }
        return SecretBytes(key)
    }
}
