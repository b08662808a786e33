/// A config-file key that a module outside the core reads: the login flows' (`issuer`,
/// `client_id`, …) and a backend's (`openbao_prefix`, …). The core parses the file; each
/// module declares its keys, so the core knows none of them and a typo is still refused.
///
/// Backends declare theirs as ``CredentialBackend/configurationKeys``; other modules add
/// theirs to ``BackendRegistry/additionalConfigurationKeys``.
public struct ConfigurationKey: Sendable {
    /// The key as written in the file.
    public let name: String
    /// Whether `prod.NAME` and `dev.NAME` may be written too (a value for one mode).
    public let perMode: Bool
    /// What a valid value is, for the refusal ("an http:// or https:// URL").
    public let expected: String
    /// Whether a (non-empty) value is valid.
    public let isValid: @Sendable (String) -> Bool

    public init(_ name: String, perMode: Bool = false, expected: String = "a value",
                isValid: @escaping @Sendable (String) -> Bool = { _ in true }) {
        self.name = name
        self.perMode = perMode
        self.expected = expected
        self.isValid = isValid
    }
}
