import CredentialVaultCore
import CredentialVaultCrypto
import CredentialVaultSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where the passphrase of a password-protected store comes from, tried in this order:
/// systemd credentials (`$CREDENTIALS_DIRECTORY/credvault.passphrase`, for units with
/// `LoadCredentialEncrypted=`), `<APP>_PASSPHRASE_FILE` (a 0600 file of yours),
/// `<APP>_PASSPHRASE_FD` (a descriptor number, as `--passphrase-fd` sets it), then a no-echo
/// prompt on a terminal. Never an environment variable holding the passphrase itself.
public enum UnlockSource: Sendable, Equatable, CustomStringConvertible {
    /// The unlock cache (``UnlockCache``): no passphrase needed until `expires`.
    case kernelKeyring(expires: Date)
    case systemdCredential(path: String)
    case passphraseFile(path: String)
    case fileDescriptor(Int32)
    case prompt

    public var description: String {
        switch self {
        case .kernelKeyring(let expires): return "kernel keyring cache (until \(Timestamp.format(expires)))"
        case .systemdCredential(let path): return "systemd credential \(path)"
        case .passphraseFile(let path): return "passphrase file \(path)"
        case .fileDescriptor(let fd): return "file descriptor \(fd)"
        case .prompt: return "prompt"
        }
    }

    /// The first passphrase source available in `context`, without reading it (the cache,
    /// which holds a key rather than a passphrase, is checked by the store itself).
    public static func first(in context: BackendContext) -> UnlockSource? {
        let environment = context.environment
        if let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty,
           SecureFileSystem.exists(directory + "/credvault.passphrase") {
            return .systemdCredential(path: directory + "/credvault.passphrase")
        }
        if let path = environment[context.app.variable("PASSPHRASE_FILE")], !path.isEmpty { return .passphraseFile(path: path) }
        if let text = environment[context.app.variable("PASSPHRASE_FD")], let fd = Int32(text), fd >= 0 { return .fileDescriptor(fd) }
        if context.passphrasePrompt != nil { return .prompt }
        return nil
    }

    /// Reads the passphrase from the first available source.
    ///
    /// - Throws: `.unavailable` (69) "store is locked" with the ways to unlock it when there
    ///   is no source; `.permissionDenied` (77) for a passphrase file open to others.
    public static func passphrase(for store: String, in context: BackendContext) throws -> (SecureBuffer, UnlockSource) {
        guard let source = first(in: context) else {
            let app = context.app
            throw CredentialVaultError(.unavailable,
                "the store \(store) is locked: it is password-protected and no passphrase source is available. Unlock it with one of: `\(app.commandName) unlock` (caches the key in the kernel keyring for a while), a terminal (you will be asked), \(app.variable("PASSPHRASE_FILE"))=PATH (a 0600 file), --passphrase-fd N on `password` verbs or \(app.variable("PASSPHRASE_FD"))=N, or systemd's LoadCredentialEncrypted=credvault.passphrase")
        }
        switch source {
        case .kernelKeyring:
            throw CredentialVaultError(.internal, "the unlock cache holds a key, not a passphrase")
        case .systemdCredential(let path), .passphraseFile(let path):
            return (try SecretInput.passphrase(from: .file(path)), source)
        case .fileDescriptor(let fd):
            return (try SecretInput.passphrase(from: .descriptor(fd)), source)
        case .prompt:
            guard var bytes = try context.passphrasePrompt?("Passphrase for \(store): ") else {
                throw CredentialVaultError(.unavailable, "the store \(store) is locked and no passphrase was given")
            }
            defer { bytes.wipe() }
            return (SecureBuffer(copying: bytes), source)
        }
    }
}
