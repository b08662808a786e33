/// What a backend's probe found.
public enum BackendAvailability: Sendable, Equatable {
    /// The backend can be used now.
    case available
    /// The backend cannot be used; `reason` says why in words a person can act on.
    case unavailable(reason: String)

    public var isAvailable: Bool { self == .available }
}

/// What a backend protects its secrets with, which decides whether choosing it
/// automatically counts as a plaintext fallback.
public enum StorageProtection: String, Sendable {
    /// A keyring service that encrypts at rest and can be locked (the Secret Service).
    case keyring
    /// Secrets encrypted at rest by CredentialVault itself.
    case encrypted
    /// Secrets in a plaintext file protected only by file permissions.
    case plaintextFile = "plaintext-file"
    /// Secrets held in this process's memory only.
    case memory
    /// Secrets held by a remote service.
    case remote
}
