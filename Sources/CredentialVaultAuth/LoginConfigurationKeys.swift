import CredentialVault

extension AuthSettings {
    /// The config-file keys of the login flows. All but `mode` may also be written
    /// `prod.KEY` or `dev.KEY`, for one mode.
    public static let configurationKeys: [ConfigurationKey] = {
        let url: @Sendable (String) -> Bool = { $0.hasPrefix("https://") || $0.hasPrefix("http://") }
        return [
            ConfigurationKey("auth_mode", perMode: true, expected: "'oauth' or 'local'") { ["oauth", "clerk", "local"].contains($0) },
            ConfigurationKey("mode", expected: "'prod' or 'dev'") { ["prod", "dev"].contains($0) },
            ConfigurationKey("issuer", perMode: true, expected: "an http:// or https:// URL", isValid: url),
            ConfigurationKey("client_id", perMode: true),
            ConfigurationKey("audience", perMode: true),
            ConfigurationKey("scopes", perMode: true),
            ConfigurationKey("device_authorization_endpoint", perMode: true, expected: "an http:// or https:// URL", isValid: url),
            ConfigurationKey("token_endpoint", perMode: true, expected: "an http:// or https:// URL", isValid: url),
            ConfigurationKey("revocation_endpoint", perMode: true, expected: "an http:// or https:// URL", isValid: url),
            ConfigurationKey("api_key_prefix", perMode: true, expected: "lower-case letters or digits ending in '_', such as cv_ or cmd_") { value in
                value.count <= 16 && value.hasSuffix("_")
                    && value.dropLast().allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) }
            },
        ]
    }()
}

extension BackendRegistry {
    /// `BackendRegistry.standard` with the login flows' config-file keys: the registry for
    /// programs that use ``AuthSession``.
    public static var standardWithLogin: BackendRegistry {
        var registry = BackendRegistry.standard
        registry.additionalConfigurationKeys += AuthSettings.configurationKeys
        return registry
    }
}
