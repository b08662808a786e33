import CredentialVault
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Everything the login flows of one app need to know, from the environment
/// (`<APP>_AUTH_ISSUER_URL`, `<APP>_AUTH_CLIENT_ID`, `<APP>_AUTH_AUDIENCE`, `<APP>_AUTH_MODE`,
/// `<APP>_MODE`) and the app's config file (`issuer`, `client_id`, `audience`, `scopes`,
/// `device_authorization_endpoint`, `token_endpoint`, `revocation_endpoint`,
/// `api_key_prefix`, `auth_mode`, `mode`; each endpoint setting may be written `prod.KEY` or
/// `dev.KEY`). The environment wins over the file.
public struct AuthSettings: Sendable {
    public let app: AppProfile
    /// `oauth` or `local` (zero-auth).
    public var authMode: AuthMode
    /// Where `authMode` came from, for messages.
    public var authModeSource: String
    /// The API-key prefix `api_key_prefix` configures (a cmdop-style app sets `cmd_`); nil
    /// when not configured: then any `<prefix>_<workspace>_<hex>` key is accepted.
    public var apiKeyPrefix: String?
    /// The command people run to log in, used in hints (`skillmeat auth login`).
    public var loginCommand: String
    /// The mode from the config file (`mode = dev`), used when nothing else chose one.
    public var configuredMode: ServiceMode?
    /// How long one HTTP request may take.
    public var requestTimeout: Duration = .seconds(15)
    private let environment: [String: String]
    private let file: [String: String]
    private let filePath: String?

    /// Reads the settings for `app` from `environment` and `configuration`.
    ///
    /// - Parameters:
    ///   - app: the app whose settings these are.
    ///   - environment: the process environment (`<APP>_AUTH_*` variables).
    ///   - configuration: the app's config file.
    ///   - commandName: the program as people type it, for hints (default: the app name).
    public init(app: AppProfile, environment: [String: String], configuration: VaultConfiguration,
                commandName: String? = nil) throws {
        self.app = app
        self.environment = environment
        self.file = configuration.settings
        self.filePath = configuration.path
        self.loginCommand = "\(commandName ?? app.name) auth login"
        let modeVariable = app.variable("AUTH_MODE")
        if let value = environment[modeVariable], !value.isEmpty {
            authMode = try Self.parseAuthMode(value, source: modeVariable)
            authModeSource = modeVariable
        } else if let value = file["auth_mode"] {
            authMode = try Self.parseAuthMode(value, source: "auth_mode in \(configuration.path ?? "the config file")")
            authModeSource = "auth_mode in \(configuration.path ?? "the config file")"
        } else {
            authMode = .oauth
            authModeSource = "default"
        }
        apiKeyPrefix = file["api_key_prefix"]
        configuredMode = file["mode"].flatMap { ServiceMode(rawValue: $0) }
    }

    static func parseAuthMode(_ value: String, source: String) throws -> AuthMode {
        switch value.lowercased() {
        case "oauth", "clerk": return .oauth
        case "local": return .local
        default: throw CredentialVaultError(.configuration, "\(source) is '\(value)'; expected 'oauth' or 'local'")
        }
    }

    /// An environment variable of this app, if set and not empty.
    public func variable(_ suffix: String) -> (name: String, value: String)? {
        let name = app.variable(suffix)
        guard let value = environment[name], !value.isEmpty else { return nil }
        return (name, value)
    }

    /// A config-file setting for `mode` (`dev.issuer` before `issuer`).
    func fileSetting(_ key: String, mode: ServiceMode) -> String? {
        file["\(mode.rawValue).\(key)"] ?? file[key]
    }

    /// The OAuth client settings of `mode`.
    ///
    /// - Throws: `.configuration` (exit 78) "Auth not configured…" when the issuer (or explicit
    ///   endpoints) or the client id is missing.
    public func oauthClient(mode: ServiceMode) throws -> OAuthClientSettings {
        let issuer = variable("AUTH_ISSUER_URL")?.value ?? fileSetting("issuer", mode: mode)
        let clientID = variable("AUTH_CLIENT_ID")?.value ?? fileSetting("client_id", mode: mode)
        let device = fileSetting("device_authorization_endpoint", mode: mode)
        let token = fileSetting("token_endpoint", mode: mode)
        guard let clientID, issuer != nil || (device != nil && token != nil) else {
            throw CredentialVaultError(.configuration,
                "Auth not configured. Set \(app.variable("AUTH_ISSUER_URL")) and \(app.variable("AUTH_CLIENT_ID")) (or issuer and client_id in \(filePath ?? "the app's config file")), or set \(app.variable("AUTH_MODE"))=local if this app needs no authentication")
        }
        if let issuer, !(issuer.hasPrefix("https://") || issuer.hasPrefix("http://")) {
            throw CredentialVaultError(.configuration, "\(app.variable("AUTH_ISSUER_URL")) is '\(issuer)'; expected an https:// URL")
        }
        let scopes = fileSetting("scopes", mode: mode) ?? "openid"
        return OAuthClientSettings(issuer: issuer, clientID: clientID,
                                   audience: variable("AUTH_AUDIENCE")?.value ?? fileSetting("audience", mode: mode),
                                   scopes: scopes,
                                   deviceAuthorizationEndpoint: device, tokenEndpoint: token,
                                   revocationEndpoint: fileSetting("revocation_endpoint", mode: mode))
    }
}

/// The OAuth client of one mode: who we are and where the server is.
public struct OAuthClientSettings: Sendable, Equatable {
    public var issuer: String?
    public var clientID: String
    public var audience: String?
    public var scopes: String
    /// Explicit endpoints; when missing they come from discovery.
    public var deviceAuthorizationEndpoint: String?
    public var tokenEndpoint: String?
    public var revocationEndpoint: String?

    public init(issuer: String?, clientID: String, audience: String? = nil, scopes: String = "openid",
                deviceAuthorizationEndpoint: String? = nil, tokenEndpoint: String? = nil, revocationEndpoint: String? = nil) {
        self.issuer = issuer
        self.clientID = clientID
        self.audience = audience
        self.scopes = scopes
        self.deviceAuthorizationEndpoint = deviceAuthorizationEndpoint
        self.tokenEndpoint = tokenEndpoint
        self.revocationEndpoint = revocationEndpoint
    }
}
