/// What a backend's probe found.
public enum BackendAvailability: Sendable, Equatable {
    /// The backend can be used now.
    case available
    /// The backend cannot be used; `reason` says why in words a person can act on, `code` is
    /// the error to report when this backend was asked for by name (for example
    /// ``CredentialVaultError/Code/permissionDenied`` for unsafe file modes), and `nextStep`,
    /// when the backend knows it, what fixes it (`doctor` shows it as is).
    case unavailable(reason: String, code: CredentialVaultError.Code = .unavailable, nextStep: String? = nil)

    public var isAvailable: Bool { self == .available }

    /// Why the backend is unavailable, or `nil` when it is available.
    public var reason: String? {
        if case .unavailable(let reason, _, _) = self { return reason }
        return nil
    }

    /// The error code for an unavailable backend, or `nil` when it is available.
    public var failureCode: CredentialVaultError.Code? {
        if case .unavailable(_, let code, _) = self { return code }
        return nil
    }

    /// What fixes an unavailable backend, when its backend knows.
    public var nextStep: String? {
        if case .unavailable(_, _, let step) = self { return step }
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
