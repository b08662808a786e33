import CredentialVault

/// Which of an app's two environments a command talks to. Each mode has its own token set,
/// endpoints, workspace keys and active workspace.
public enum ServiceMode: String, Sendable, CaseIterable, CustomStringConvertible {
    case prod
    case dev

    /// The other mode (`mode toggle`).
    public var other: ServiceMode { self == .prod ? .dev : .prod }

    public var description: String { rawValue }

    /// Parses `prod` or `dev`; `source` names where the text came from in the error.
    public static func parse(_ text: String, source: String) throws -> ServiceMode {
        guard let mode = ServiceMode(rawValue: text.lowercased()) else {
            throw CredentialVaultError(.usage, "\(source) is '\(text)'; expected 'prod' or 'dev'")
        }
        return mode
    }
}

/// Whether the app needs authentication at all (`<APP>_AUTH_MODE`).
public enum AuthMode: String, Sendable {
    /// Device-code login, tokens and keys (the default). `clerk` is accepted as a synonym.
    case oauth
    /// Zero-auth: the app runs locally and no credential is required.
    case local
}


