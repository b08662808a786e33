import CredentialVault
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The login flows of one app on a `CredentialVault`: device-code login, refresh,
/// personal access tokens, workspace API keys, prod/dev modes, the resolver, status and
/// logout. The `credvault auth`, `workspace` and `mode` verbs are thin layers over this.
///
/// ```swift
/// let session = try await AuthSession.open(app: AppProfile("skillmeat"))
/// let credential = try await session.resolve(CredentialRequest())
/// print(credential.source)   // "SKILLMEAT_AUTH_TOKEN environment variable", …
/// ```
public struct AuthSession: Sendable {
    public let vault: CredentialVault
    public let settings: AuthSettings
    public let store: AuthStore
    public var http: HTTPTransport
    /// The clock; tests move it.
    public var now: @Sendable () -> Date = { Date() }
    var environment: [String: String] { vault.context.environment }

    public init(vault: CredentialVault, settings: AuthSettings, http: HTTPTransport? = nil) {
        self.vault = vault
        self.settings = settings
        self.store = AuthStore(vault: vault)
        self.http = http ?? HTTPTransport(timeout: settings.requestTimeout)
    }

    /// Opens the app's vault (automatic backend selection) and reads its settings.
    public static func open(app: AppProfile, options: VaultOptions = VaultOptions(), commandName: String? = nil) async throws -> AuthSession {
        let vault = try await CredentialVault.open(app: app, registry: .standardWithLogin, options: options)
        let settings = try AuthSettings(app: app, environment: vault.context.environment,
                                        configuration: vault.context.configuration, commandName: commandName)
        return AuthSession(vault: vault, settings: settings)
    }

    // MARK: Modes

    /// The mode in force and what chose it: `override` (`--mode`), `<APP>_MODE`, `mode prod|dev`,
    /// the config file, or the default `prod`.
    public func currentMode(override: ServiceMode? = nil, record: AuthRecord? = nil) async throws -> (mode: ServiceMode, source: String) {
        if let override { return (override, "--mode") }
        if let (name, value) = settings.variable("MODE") {
            return (try ServiceMode.parse(value, source: name), name)
        }
        let record = try await resolveRecord(record)
        if let selected = record.selectedMode { return (selected, "`mode \(selected)`") }
        if let configured = settings.configuredMode { return (configured, "config file") }
        return (.prod, "default")
    }

    func resolveRecord(_ record: AuthRecord?) async throws -> AuthRecord {
        if let record { return record }
        return try await store.load()
    }

    /// What `mode` reports or did.
    public struct ModeReport: Sendable {
        public var mode: ServiceMode
        public var source: String
        public var changed: Bool
        /// Whether the mode has a stored OAuth token set.
        public var hasLogin: Bool
        /// `<APP>_MODE`, when it overrides the stored choice.
        public var overriddenBy: String?
    }

    /// Switches to `mode` (nil = toggle). Never logs in: the other mode's token set is used
    /// when it has one; the report says when it has none.
    public func switchMode(to target: ServiceMode?) async throws -> ModeReport {
        let current = try await currentMode()
        let mode = target ?? current.mode.other
        let record = try await store.update { $0.selectedMode = mode }
        let override = settings.variable("MODE")
        return ModeReport(mode: mode, source: "`mode \(mode)`", changed: mode != current.mode,
                          hasLogin: record[mode].tokens != nil, overriddenBy: override?.name)
    }

    /// The mode in force and whether it has a login.
    public func modeReport() async throws -> ModeReport {
        let record = try await store.load()
        let current = try await currentMode(record: record)
        return ModeReport(mode: current.mode, source: current.source, changed: false,
                          hasLogin: record[current.mode].tokens != nil, overriddenBy: nil)
    }

    // MARK: Device-code login

    /// Options of `auth login`.
    public struct LoginOptions: Sendable {
        /// Log in to this mode instead of the current one.
        public var mode: ServiceMode?
        /// Stop waiting after this long (never past the server's `expires_in`).
        public var timeout: Duration = .seconds(600)
        /// Open the verification URL in the browser when a display is available.
        public var openBrowser = true
        public init(mode: ServiceMode? = nil, timeout: Duration = .seconds(600), openBrowser: Bool = true) {
            self.mode = mode
            self.timeout = timeout
            self.openBrowser = openBrowser
        }
    }

    /// What a login achieved.
    public enum LoginOutcome: Sendable {
        /// Zero-auth mode: nothing to do.
        case zeroAuth(variable: String)
        /// Logged in; the token set is stored at `location`.
        case loggedIn(mode: ServiceMode, identity: IDTokenClaims?, location: String, expiresAt: Date?)
    }

    /// RFC 8628 login: discovery, device code, prompt, browser, polling, then the token set
    /// stored (refresh token sealed) for the mode. Nothing is written before the server
    /// issues tokens.
    public func login(_ options: LoginOptions = LoginOptions(), events: @escaping @Sendable (LoginEvent) -> Void) async throws -> LoginOutcome {
        if settings.authMode == .local { return .zeroAuth(variable: settings.authModeSource) }
        let mode = try await currentMode(override: options.mode).mode
        let client = try settings.oauthClient(mode: mode)
        let endpoints = try await OAuthEndpoints.resolve(client, http: http)
        var device = DeviceAuthorizationClient(client: client, endpoints: endpoints, http: http)
        device.now = now
        let timeout = TimeInterval(options.timeout.components.seconds)
        let grant = try await device.requestGrant(timeout: timeout)
        events(.prompt(grant.prompt))
        if options.openBrowser {
            if BrowserLauncher.displayAvailable(environment) {
                let url = grant.prompt.verificationURIComplete ?? grant.prompt.verificationURI
                let result = BrowserLauncher.open(url, environment: environment)
                events(.browser(opened: result.opened, detail: result.detail))
            } else {
                events(.browser(opened: false, detail: "no display (DISPLAY and WAYLAND_DISPLAY are unset)"))
            }
        }
        let response = try await device.poll(grant, events: events)
        let key = TokenRefresher.refreshTokenKey(app: settings.app, mode: mode)
        var sealed: [UInt8]?
        if let refreshToken = response.refreshToken { sealed = try await vault.seal(refreshToken, for: key) }
        let tokens = response.tokenSet(sealedRefreshToken: sealed, endpoints: endpoints, clientID: client.clientID)
        let held = try store.lock("auth-refresh-\(mode.rawValue).lock", timeout: TokenRefresher.lockTimeout)
        defer { withExtendedLifetime(held) {} }
        try await store.update { $0[mode].tokens = tokens }
        return .loggedIn(mode: mode, identity: tokens.idToken.flatMap(IDTokenClaims.init), location: store.location, expiresAt: tokens.expiresAt)
    }

    // MARK: Personal access tokens

    /// Stores a personal access token; returns where it went.
    ///
    /// - Throws: `.dataError` for an empty value or one shaped like a JWT (OAuth tokens come
    ///   from `auth login`).
    public func storePersonalAccessToken(_ token: SecretBytes) async throws -> String {
        let trimmed = token.utf8String()?.trimmingWhitespaceAndNewlines()
        guard let trimmed, !trimmed.isEmpty else {
            throw CredentialVaultError(.dataError, "the personal access token is empty; paste the token on standard input")
        }
        guard !trimmed.contains(where: { $0.isWhitespace }) else {
            throw CredentialVaultError(.dataError, "the personal access token contains white space; a token is one word")
        }
        let value = SecretBytes(utf8: trimmed)
        if APIKey.looksLikeJWT(value) {
            throw CredentialVaultError(.dataError, "that looks like an OAuth token (a JWT), not a personal access token; use `\(settings.loginCommand)` for OAuth tokens")
        }
        try await store.update { $0.personalAccessToken = value }
        return store.location
    }

    // MARK: Workspaces

    /// One workspace of the current mode.
    public struct Workspace: Sendable, Equatable {
        public var name: String
        public var hasKey: Bool
        public var isActive: Bool
        /// The key's last four characters.
        public var maskedKey: String?
    }

    /// Stores `key` for workspace `name` in the current mode.
    ///
    /// - Throws: `.dataError` (exit 65) with the expected shape when the key is malformed or
    ///   belongs to another workspace.
    public func setWorkspaceKey(_ name: String, key: SecretBytes) async throws -> ServiceMode {
        try APIKey.validateWorkspace(name)
        let trimmed = SecretBytes(utf8: key.utf8String()?.trimmingWhitespaceAndNewlines() ?? "")
        try APIKey.validate(trimmed, prefix: settings.apiKeyPrefix, workspace: name, source: "standard input")
        let mode = try await currentMode().mode
        try await store.update { $0[mode].workspaceKeys[name] = trimmed }
        return mode
    }

    /// Removes workspace `name`'s key from the current mode.
    ///
    /// - Throws: `.notFound` when it has none.
    public func removeWorkspaceKey(_ name: String) async throws -> ServiceMode {
        try APIKey.validateWorkspace(name)
        let mode = try await currentMode().mode
        var found = false
        try await store.update { record in
            found = record[mode].workspaceKeys.removeValue(forKey: name) != nil
        }
        guard found else { throw CredentialVaultError(.notFound, "no key is stored for workspace '\(name)' in \(mode) mode") }
        return mode
    }

    /// The current mode's workspaces: those with keys, and the active one.
    public func workspaces() async throws -> (mode: ServiceMode, workspaces: [Workspace]) {
        let record = try await store.load()
        let mode = try await currentMode(record: record).mode
        let state = record[mode]
        var names = Set(state.workspaceKeys.keys)
        if let active = state.activeWorkspace { names.insert(active) }
        return (mode, names.sorted().map { name in
            Workspace(name: name, hasKey: state.workspaceKeys[name] != nil, isActive: name == state.activeWorkspace,
                      maskedKey: state.workspaceKeys[name].map(APIKey.masked))
        })
    }

    /// Makes `name` the current mode's active workspace. A workspace without a stored key is
    /// allowed (OAuth covers every workspace the person belongs to); the result says so.
    public func useWorkspace(_ name: String) async throws -> (mode: ServiceMode, hasKey: Bool) {
        try APIKey.validateWorkspace(name)
        let mode = try await currentMode().mode
        let record = try await store.update { $0[mode].activeWorkspace = name }
        return (mode, record[mode].workspaceKeys[name] != nil)
    }

    /// The active workspace of the current mode and what chose it (`--workspace`, `<APP>_WORKSPACE`, stored).
    public func currentWorkspace(selected: String? = nil) async throws -> (mode: ServiceMode, name: String?, source: String?) {
        try await currentWorkspace(selected: selected, record: store.load())
    }

    func currentWorkspace(selected: String?, record: AuthRecord) async throws -> (mode: ServiceMode, name: String?, source: String?) {
        let mode = try await currentMode(record: record).mode
        if let selected { return (mode, selected, "--workspace") }
        if let (variable, value) = settings.variable("WORKSPACE") { return (mode, value, variable) }
        return (mode, record[mode].activeWorkspace, record[mode].activeWorkspace == nil ? nil : "active workspace")
    }

    // MARK: Logout

    /// What logout did.
    public struct LogoutOutcome: Sendable {
        public var removedModes: [ServiceMode]
        public var removedPersonalAccessToken: Bool
        /// Revocation results, best effort ("revoked at …", or why not).
        public var revocation: [String]
        /// Variables that will still supply a credential.
        public var remainingEnvironment: [String]
        /// Modes whose tokens were removed here but not revoked, because the server names no
        /// revocation endpoint: they stay valid at the server until they expire.
        public var notRevocable: [ServiceMode] = []
    }

    /// Removes the current mode's OAuth token set and the personal access token (all modes'
    /// token sets with `all`), revoking them at the server first when it has a revocation
    /// endpoint (RFC 7009, best effort within 5 s). Workspace keys stay (`workspace key
    /// remove`). Idempotent.
    public func logout(all: Bool) async throws -> LogoutOutcome {
        let record = try await store.load()
        let modes = all ? ServiceMode.allCases : [try await currentMode(record: record).mode]
        var outcome = LogoutOutcome(removedModes: [], removedPersonalAccessToken: record.personalAccessToken != nil,
                                    revocation: [], remainingEnvironment: [])
        for mode in modes {
            guard let tokens = record[mode].tokens else { continue }
            let held = try store.lock("auth-refresh-\(mode.rawValue).lock", timeout: TokenRefresher.lockTimeout)
            if tokens.endpoints.revocation != nil {
                outcome.revocation.append(await revoke(tokens, mode: mode))
            } else {
                outcome.notRevocable.append(mode)
            }
            try await store.update { $0[mode].tokens = nil }
            withExtendedLifetime(held) {}
            outcome.removedModes.append(mode)
        }
        if record.personalAccessToken != nil { try await store.update { $0.personalAccessToken = nil } }
        outcome.remainingEnvironment = ["API_KEY", "AUTH_TOKEN"].compactMap { settings.variable($0)?.name }
        return outcome
    }

    /// RFC 7009: revokes the refresh token, then the access token, within 5 s in all.
    func revoke(_ tokens: TokenSet, mode: ServiceMode) async -> String {
        guard let endpoint = tokens.endpoints.revocation else { return "no revocation endpoint" }
        let vault = self.vault
        var transport = self.http
        transport.timeout = .seconds(5)
        let http = transport
        let app = settings.app
        let work: @Sendable () async -> String = {
            var results: [String] = []
            var items: [(String, String)] = []
            if let sealed = tokens.sealedRefreshToken,
               let refresh = try? await vault.openSealed(sealed, for: TokenRefresher.refreshTokenKey(app: app, mode: mode)) {
                items.append(("refresh_token", refresh.utf8String() ?? ""))
            }
            items.append(("access_token", tokens.accessToken.utf8String() ?? ""))
            for (hint, token) in items {
                do {
                    let reply = try await http.postForm(endpoint, fields: [("token", token), ("token_type_hint", hint), ("client_id", tokens.clientID)],
                                                        bearer: tokens.endpoints.revocationAcceptsBearer ? tokens.accessToken.utf8String() : nil)
                    results.append(reply.status == 200 ? "\(hint) revoked" : "\(hint) not revoked (HTTP \(reply.status))")
                } catch let error as CredentialVaultError {
                    results.append("\(hint) not revoked (\(error.message))")
                } catch {
                    results.append("\(hint) not revoked")
                }
            }
            return "\(mode): " + results.joined(separator: ", ") + " at \(endpoint)"
        }
        return await withTaskGroup(of: String.self) { group in
            group.addTask { await work() }
            group.addTask {
                try? await Task.sleep(for: .seconds(5))
                return "\(mode): revocation at \(endpoint) did not finish within 5 s; the tokens were removed locally"
            }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
    }
}
