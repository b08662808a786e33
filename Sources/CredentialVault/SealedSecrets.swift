import CredentialVaultCore
import CredentialVaultCrypto
import CredentialVaultSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
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
        let sealed = SecretBox.seal(value, nonce: nonce, key: itemKey)
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
        guard let plain = SecretBox.open(bytes[header...], nonce: nonce, key: itemKey) else {
            throw CredentialVaultError(.dataError,
                "the sealed value for \(key) does not open with this vault's data key (\(try await dataKeyStore().location)): the key is not the one it was sealed with, or the value was copied from another item")
        }
        return SecretBytes(plain)
    }

    static func itemKey(dataKey: SecureBuffer, for key: CredentialKey) -> SecureBuffer {
        let message = Array("credvault sealed v1\0".utf8) + Array(key.service.utf8) + [0] + Array(key.account.utf8)
        return KeyedHash.subkey(count: SecretBox.keyBytes, message: message, key: dataKey)
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
            if !mustExist, SecureFileSystem.entry(path) == nil { return nil }
            // Yours, mode 0600 or stricter, a regular file, not a link, size checked first.
            let text = try SecretInput.read(.file(path), as: .raw, limit: 66, what: "the data key")
            return try Self.decode(text, path: path)
        case .backendItem(let key):
            guard let item = try await vault.backend.item(for: key) else { return nil }
            return try Self.decode(SecureBuffer(item.secret), path: "keyring item \(key)")
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
        let hex = key.hexLine()
        switch self {
        case .file(let path, _):
            let directory = FilePaths.directory(of: path)
            if !SecureFileSystem.exists(directory) { try SecureFileSystem.ensureDirectory(directory) }
            // Never over an existing key: a racing process that made one first wins.
            try SecureFileSystem.writeAtomically(path, replacing: false) { descriptor in
                try descriptor.writeAll(hex)
            }
        case .backendItem(let itemKey):
            try await vault.backend.store(CredentialItem(key: itemKey, label: "CredentialVault data key for \(vault.context.app.name)",
                                                         secret: SecretBytes(hex)))
            await vault.recordHomeAfterFirstWrite()
        }
        return key
    }

    /// The key in a key file's or keyring item's bytes: 64 hex digits (and line ends), or 32
    /// raw bytes.
    private static func decode(_ text: SecureBuffer, path: String) throws -> SecureBuffer {
        guard let key = SecureBuffer.key(fromText: text, count: SecretBox.keyBytes) else {
            throw CredentialVaultError(.dataError, "the data key in \(path) is not 64 hex digits")
        }
        return key
    }
}
