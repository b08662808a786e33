@_exported import CredentialVaultCore
@_exported import CredentialVaultCrypto
@_exported import CredentialVaultSystem
@_exported import EncryptedFileBackend
import FileBackend
import MemoryBackend
@_exported import OpenBaoBackend
import SecretServiceBackend

extension BackendRegistry {
    /// The backends CredentialVault ships: `secret-service` (priority 100), `encrypted-file`
    /// (20: the file store once a password is set), `file` (10, the plaintext fallback) and
    /// `memory` (0: only by name).
    public static var standard: BackendRegistry {
        var registry = BackendRegistry()
        registry.register(SecretServiceBackend.self)
        registry.register(EncryptedFileBackend.self)
        registry.register(FileBackend.self)
        registry.register(MemoryBackend.self)
        registry.register(OpenBaoBackend.self)
        registry.homeStore = HomeRecordFile()
        registry.configurationReader = CheckedFileReader()
        return registry
    }
}

extension CredentialVault {
    /// Opens the vault of `app` with the standard backends, choosing one automatically unless
    /// `options`, `<APP>_BACKEND` or the config file names one.
    public static func open(app: String = "credvault", options: VaultOptions = VaultOptions()) async throws -> CredentialVault {
        try await open(app: AppProfile(app), registry: .standard, options: options)
    }
}
