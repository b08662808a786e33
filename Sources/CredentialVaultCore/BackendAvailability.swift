/// What a backend's probe found.
public enum BackendAvailability: Sendable, Equatable {
    /// The backend can be used now.
    case available
    /// The backend cannot be used; `reason` says why in words a person can act on, and
    /// `code` is the error to report when this backend was asked for by name (for example
    /// ``CredentialVaultError/Code/permissionDenied`` for unsafe file modes).
    case unavailable(reason: String, code: CredentialVaultError.Code = .unavailable)

    public var isAvailable: Bool { self == .available }

    /// Why the backend is unavailable, or `nil` when it is available.
    public var reason: String? {
        if case .unavailable(let reason, _) = self { return reason }
        return nil
    }

    /// The error code for an unavailable backend, or `nil` when it is available.
    public var failureCode: CredentialVaultError.Code? {
        if case .unavailable(_, let code) = self { return code }
        return nil
    }
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
