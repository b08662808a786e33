import CredentialVaultCore
import CredentialVaultCrypto
import Foundation
#if canImport(Glibc)
import Glibc
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
           access(directory + "/credvault.passphrase", F_OK) == 0 {
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
                "the store \(store) is locked: it is password-protected and no passphrase source is available. Unlock it with one of: `credvault unlock` (caches the key in the kernel keyring for a while), a terminal (you will be asked), \(app.variable("PASSPHRASE_FILE"))=PATH (a 0600 file), --passphrase-fd N on `password` verbs or \(app.variable("PASSPHRASE_FD"))=N, or systemd's LoadCredentialEncrypted=credvault.passphrase")
        }
        switch source {
        case .kernelKeyring:
            throw CredentialVaultError(.internal, "the unlock cache holds a key, not a passphrase")
        case .systemdCredential(let path), .passphraseFile(let path):
            return (try readFile(path, checkModes: { if case .passphraseFile = source { return true }; return false }()), source)
        case .fileDescriptor(let fd):
            return (try readDescriptor(fd, name: "file descriptor \(fd)"), source)
        case .prompt:
            guard var bytes = try context.passphrasePrompt?("Passphrase for \(store): ") else {
                throw CredentialVaultError(.unavailable, "the store \(store) is locked and no passphrase was given")
            }
            defer { bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } } }
            return (bytes.withUnsafeBytes { SecureBuffer(copying: $0) }, source)
        }
    }

    static func readFile(_ path: String, checkModes: Bool) throws -> SecureBuffer {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CredentialVaultError(.configuration, "cannot read the passphrase file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        if checkModes {
            var info = stat()
            fstat(fd, &info)
            guard info.st_uid == geteuid(), info.st_mode & 0o077 == 0 else {
                throw CredentialVaultError(.permissionDenied,
                    "the passphrase file \(path) must be yours and not readable by group or others (mode \(String(info.st_mode & 0o777, radix: 8))); run: chmod 600 '\(path)'")
            }
        }
        return try readDescriptor(fd, name: path)
    }

    /// The first line of `fd` (at most 4 KiB), in locked memory.
    static func readDescriptor(_ fd: Int32, name: String) throws -> SecureBuffer {
        var failed = false
        var length = 0
        let raw = SecureBuffer(count: 4096) { buffer in
            while length < buffer.count {
                let count = read(fd, buffer.baseAddress! + length, buffer.count - length)
                if count < 0 { if errno == EINTR { continue }; failed = true; return }
                if count == 0 { break }
                length += count
            }
        }
        guard !failed else { throw CredentialVaultError(.configuration, "cannot read the passphrase from \(name)") }
        let end = raw.withUnsafeBytes { bytes in bytes[0..<length].firstIndex(of: UInt8(ascii: "\n")) ?? length }
        guard end > 0 else { throw CredentialVaultError(.dataError, "the passphrase from \(name) is empty") }
        return raw.withUnsafeBytes { SecureBuffer(copying: UnsafeRawBufferPointer(rebasing: $0[0..<end])) }
    }
}
