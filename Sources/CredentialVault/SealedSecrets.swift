import CredentialVaultCore
import CredentialVaultCrypto
import CredentialVaultSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Sealed values: secrets stored encrypted under the vault's 32-byte data key, even in the
/// plaintext file backend (refresh tokens, the longest-lived secrets a CLI holds).
///
/// A sealed item's secret is `"CVS1" ‖ nonce (24) ‖ crypto_secretbox(value, nonce, k)` with
/// `k = BLAKE2b-256(key: data key, message: "credvault sealed v1\0" ‖ service ‖ "\0" ‖ account)`,
/// so a value copied to another item does not open. The item carries the attribute
/// `credvault-sealed = v1`.
extension CredentialVault {
    static let sealedMagic = Array("CVS1".utf8)
    /// The attribute that marks sealed items.
    public static let sealedAttribute = "credvault-sealed"
    /// The attribute that marks items holding sealed fields inside a larger record (login
    /// records); their existence also stops a lost data key from being silently replaced.
    public static let containsSealedAttribute = "credvault-contains-sealed"

    /// Seals `value` under the vault's data key (creating the key on first use) and stores it.
    public func storeSealed(_ value: SecretBytes, service: String, account: String, label: String? = nil) async throws {
        let key = try CredentialKey(service: service, account: account)
        let sealed = try await seal(value, for: key)
        try await store(CredentialItem(key: key, label: label, attributes: [Self.sealedAttribute: "v1"],
                                       secret: SecretBytes(sealed)))
    }

    /// Opens the sealed value stored under `service` and `account`.
    ///
    /// - Throws: `.notFound`; `.dataError` when the item is not sealed, or does not open with
    ///   this vault's data key (a wrong key, or a value moved from another item);
    ///   `.unavailable` when the data key is missing.
    public func openSealed(service: String, account: String) async throws -> SecretBytes {
        let item = try await item(service: service, account: account)
        return try await openSealed(item.secret.copyBytes(), for: item.key)
    }

    /// Seals `value` for `key` without storing it, for a sealed field inside a larger record
    /// (the refresh token inside a login record). The result is the sealed-item format above.
    public func seal(_ value: SecretBytes, for key: CredentialKey) async throws -> [UInt8] {
        let dataKey = try await dataKeyStore().loadOrCreate(vault: self)
        let nonce = randomBytes(count: SecretBox.nonceBytes)
        let itemKey = Self.itemKey(dataKey: dataKey, for: key)
        let sealed = value.withUnsafeBytes { SecretBox.seal($0, nonce: nonce, key: itemKey) }
        return Self.sealedMagic + nonce + sealed
    }

    /// Opens bytes made by ``seal(_:for:)`` for the same `key`.
    public func openSealed(_ bytes: [UInt8], for key: CredentialKey) async throws -> SecretBytes {
        let header = Self.sealedMagic.count + SecretBox.nonceBytes
        guard bytes.count >= header + SecretBox.macBytes, Array(bytes[0..<4]) == Self.sealedMagic else {
            throw CredentialVaultError(.dataError, "the value for \(key) is not a sealed value")
        }
        guard let dataKey = try await dataKeyStore().load(vault: self) else {
            throw CredentialVaultError(.unavailable,
                "the vault's data key is missing (\(try await dataKeyStore().location)), so sealed values cannot be opened; restore the key from a backup. credvault never replaces it silently")
        }
        let nonce = Array(bytes[4..<header])
        let itemKey = Self.itemKey(dataKey: dataKey, for: key)
        guard let plain = bytes[header...].withUnsafeBytes({ SecretBox.open($0, nonce: nonce, key: itemKey) }) else {
            throw CredentialVaultError(.dataError,
                "the sealed value for \(key) does not open with this vault's data key (\(try await dataKeyStore().location)): the key is not the one it was sealed with, or the value was copied from another item")
        }
        return plain.withUnsafeBytes { SecretBytes($0) }
    }

    static func itemKey(dataKey: SecureBuffer, for key: CredentialKey) -> SecureBuffer {
        let message = Array("credvault sealed v1\0".utf8) + Array(key.service.utf8) + [0] + Array(key.account.utf8)
        return message.withUnsafeBytes { KeyedHash.subkey(count: SecretBox.keyBytes, message: $0, key: dataKey) }
    }

    /// Where this vault keeps its data key.
    func dataKeyStore() async throws -> DataKeyStore {
        let environment = context.environment
        if let path = environment[context.app.variable("VAULT_KEY_FILE")], !path.isEmpty {
            return .file(path: path, mustExist: true)
        }
        if let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty,
           FileManager.default.fileExists(atPath: directory + "/credvault.key") {
            return .file(path: directory + "/credvault.key", mustExist: true)
        }
        if type(of: backend).protection == .plaintextFile {
            return .file(path: context.directory + "/vault.key", mustExist: false)
        }
        return .backendItem(try CredentialKey(service: "credvault-vault-key", account: context.app.name))
    }
}

/// The place a vault's data key lives.
enum DataKeyStore {
    /// A file holding 64 hex digits (or 32 raw bytes), mode 0600.
    case file(path: String, mustExist: Bool)
    /// An item in the vault's own backend (the Secret Service's strongest place).
    case backendItem(CredentialKey)

    var location: String {
        switch self {
        case .file(let path, _): return path
        case .backendItem(let key): return "keyring item \(key)"
        }
    }

    func load(vault: CredentialVault) async throws -> SecureBuffer? {
        switch self {
        case .file(let path, let mustExist):
            let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else {
                if errno == ENOENT {
                    if mustExist { throw CredentialVaultError(.configuration, "the data key file \(path) does not exist") }
                    return nil
                }
                if errno == ELOOP { throw CredentialVaultError(.permissionDenied, "the data key file \(path) is a symbolic link; replace it with the real file") }
                throw CredentialVaultError(.permissionDenied, "cannot read the data key file \(path): \(String(cString: strerror(errno)))")
            }
            defer { close(fd) }
            var info = stat()
            fstat(fd, &info)
            guard info.st_uid == geteuid(), info.st_mode & 0o077 == 0 else {
                throw CredentialVaultError(.permissionDenied, "the data key file \(path) must be yours and mode 0600; run: chmod 600 '\(path)'")
            }
            var failed = false
            var length = 0
            let raw = SecureBuffer(count: 128) { buffer in
                let count = read(fd, buffer.baseAddress, 128)
                if count < 0 { failed = true } else { length = count }
            }
            guard !failed else { throw CredentialVaultError(.permissionDenied, "cannot read the data key file \(path)") }
            return try raw.withUnsafeBytes { bytes in try Self.decode(UnsafeRawBufferPointer(rebasing: bytes[0..<length]), path: path) }
        case .backendItem(let key):
            guard let item = try await vault.backend.item(for: key) else { return nil }
            return try item.secret.withUnsafeBytes { try Self.decode($0, path: "keyring item \(key)") }
        }
    }

    /// The key, created (and stored) only when there is none and no sealed value exists.
    func loadOrCreate(vault: CredentialVault) async throws -> SecureBuffer {
        if let key = try await load(vault: vault) { return key }
        let sealed = try await vault.list().filter {
            $0.attributes[CredentialVault.sealedAttribute] != nil || $0.attributes[CredentialVault.containsSealedAttribute] != nil
        }
        guard sealed.isEmpty else {
            throw CredentialVaultError(.unavailable,
                "the vault's data key is missing (\(location)) but \(sealed.count) sealed value(s) exist; restore the key rather than make a new one that would orphan them")
        }
        let key = SecureBuffer.random(count: 32)
        // 64 hex digits and a newline, built in locked memory rather than in a String.
        let digits = Array("0123456789abcdef".utf8)
        let hex = SecureBuffer(count: 65) { out in
            key.withUnsafeBytes { bytes in
                for (index, byte) in bytes.enumerated() {
                    out[2 * index] = digits[Int(byte >> 4)]
                    out[2 * index + 1] = digits[Int(byte & 0x0f)]
                }
            }
            out[64] = UInt8(ascii: "\n")
        }
        switch self {
        case .file(let path, _):
            let directory = FilePaths.directory(of: path)
            if access(directory, F_OK) != 0 { try SecureFileSystem.ensureDirectory(directory) }
            // Never over an existing key: a racing process that made one first wins.
            try SecureFileSystem.writeAtomically(path, replacing: false) { descriptor in
                _ = try hex.withUnsafeBytes { try descriptor.writeAll($0) }
            }
        case .backendItem(let itemKey):
            try await vault.backend.store(CredentialItem(key: itemKey, label: "CredentialVault data key for \(vault.context.app.name)",
                                                         secret: hex.withUnsafeBytes { SecretBytes($0) }))
            await vault.recordHomeAfterFirstWrite()
        }
        return key
    }

    private static func decode(_ bytes: UnsafeRawBufferPointer, path: String) throws -> SecureBuffer {
        var end = bytes.count
        while end > 0, bytes[end - 1] == UInt8(ascii: "\n") || bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        if end == 32, bytes.count == 32 { return SecureBuffer(copying: bytes) }
        guard end == 64 else { throw CredentialVaultError(.dataError, "the data key in \(path) is not 64 hex digits") }
        var failed = false
        let key = SecureBuffer(count: 32) { out in
            func nibble(_ c: UInt8) -> UInt8? {
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
                default: return nil
                }
            }
            for index in 0..<32 {
                guard let high = nibble(bytes[2 * index]), let low = nibble(bytes[2 * index + 1]) else { failed = true; return }
                out[index] = high << 4 | low
            }
        }
        guard !failed else { throw CredentialVaultError(.dataError, "the data key in \(path) is not 64 hex digits") }
        return key
    }
}
