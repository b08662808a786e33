import CredentialVaultCore
import CredentialVaultSystem
import CredentialVaultCrypto
import FileBackend
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The password-protected file store, `credentials.cvstore`: the whole `credentials.json`
/// document sealed with `crypto_secretbox` under a data key that an Argon2id-derived key
/// wraps (format in docs/FORMAT.md). Every guarantee of the file backend holds (flock,
/// atomic rename, modes, refusals). Available once `credvault password set` made the store;
/// the plaintext file backend then steps aside.
public struct EncryptedFileBackend: CredentialBackend {
    public static let name = "encrypted-file"
    /// Above the plaintext file (10), below the Secret Service.
    public static let priority = 20
    public static let protection = StorageProtection.encrypted

    public let directory: String
    public let path: String
    private let store: FileBackend
    private let codec: EncryptedStoreCodec
    private let context: BackendContext

    public init(context: BackendContext) {
        self.context = context
        directory = context.directory
        path = context.directory + "/" + FileBackend.encryptedFileName
        codec = EncryptedStoreCodec(context: context)
        store = FileBackend(directory: context.directory, lockTimeout: context.lockTimeout, codec: codec)
    }

    /// Available when the store exists and its directory is safe; never unlocks.
    public func probe(timeout: Duration) async -> BackendAvailability {
        guard SecureFileSystem.exists(path) else {
            return .unavailable(reason: "no password-protected store in \(directory)",
                                nextStep: "`\(context.app.commandName) password set` encrypts the file store with a password")
        }
        return await store.probe(timeout: timeout)
    }

    public func item(for key: CredentialKey) async throws -> CredentialItem? { try await store.item(for: key) }
    public func secret(for key: CredentialKey) async throws -> SecretBytes? { try await store.secret(for: key) }
    public func store(_ item: CredentialItem) async throws { try await store.store(item) }
    public func allItems(service: String?) async throws -> [CredentialItem] { try await store.allItems(service: service) }
    public func storeAllAtomically(_ items: [CredentialItem]) async throws -> Bool { try await store.storeAllAtomically(items) }
    public func removeItem(for key: CredentialKey) async throws -> Bool { try await store.removeItem(for: key) }
    public func summaries(service: String?) async throws -> [CredentialSummary] { try await store.summaries(service: service) }

    /// Whether this backend holds the store's data key (it unlocks at its first read).
    package var isUnlocked: Bool { codec.isUnlocked }

    /// Unlocks with `passphrase` now, rather than from the ``UnlockSource``s at the first read.
    ///
    /// - Throws: `.permissionDenied` (77) for a wrong passphrase or second step.
    package func unlock(passphrase: SecureBuffer) throws { try codec.unlock(passphrase: passphrase, path: path) }

    /// Unlocks with the store's data key (handed over by `credvault unlock`), once it is shown
    /// to open the store.
    ///
    /// - Throws: `.permissionDenied` (77) when it does not.
    package func unlock(dataKey: SecureBuffer) throws { try codec.unlock(dataKey: dataKey, path: path) }

    /// Forgets the data key held by this backend; the next read unlocks again from the
    /// ``UnlockSource``s. The unlock cache in the kernel keyring is not touched.
    package func forgetKey() { codec.forget() }

    public func diagnostics() async -> [Diagnostic] {
        var lines = [Diagnostic("encrypted-file.path", path)]
        guard let status = try? PasswordProtection.status(directory: directory), status.enabled else {
            lines.append(Diagnostic("encrypted-file.password", "not set (`\(context.app.commandName) password set` encrypts the file store)"))
            return lines
        }
        lines.append(Diagnostic("encrypted-file.kdf", "Argon2id v1.3, \(status.opsLimit) passes, \(status.memLimit / 1_048_576) MiB"))
        let source = status.unlockSource(in: context)
        lines.append(Diagnostic("encrypted-file.unlock", source?.description ?? "no source: locked for non-interactive use",
                                nextStep: source == nil ? "run `\(context.app.commandName) unlock` on a terminal, or set \(context.app.variable("PASSPHRASE_FILE")) to a 0600 file" : nil))
        lines.append(Diagnostic("encrypted-file.mfa", status.requiresSecondStep ? "TOTP second step required" : "no second step"))
        return lines
    }
}
