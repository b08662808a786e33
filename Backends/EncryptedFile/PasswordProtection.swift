import CredentialVaultCore
import CredentialVaultCrypto
import FileBackend
import CredentialVaultSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Turning the file store's password gate on and off, and changing the password. Each is
/// one atomic step under the store's lock: afterwards the store opens with the old password
/// or the new one, never neither (a crash test in the suite kills these at random moments).
public enum PasswordProtection {
    /// What `password status` shows, read without unlocking.
    public struct Status: Sendable {
        public var enabled: Bool
        public var path: String
        public var opsLimit: UInt64
        public var memLimit: UInt64
        /// A plaintext `credentials.json` is still there (an interrupted conversion); the next write removes it.
        public var plaintextLeftover: Bool
        /// Until when the unlock cache holds the key, if it does.
        public var cachedUntil: Date?
        /// Whether the header requires the TOTP second step (``SecondFactor``).
        public var requiresSecondStep = false

        /// What the next command would unlock with: the cache while it holds the key, else
        /// the first passphrase source of `context`.
        public func unlockSource(in context: BackendContext) -> UnlockSource? {
            cachedUntil.map { UnlockSource.kernelKeyring(expires: $0) } ?? UnlockSource.first(in: context)
        }
    }

    static func paths(_ directory: String) -> (plain: String, encrypted: String, lock: String) {
        (directory + "/" + FileBackend.fileName, directory + "/" + FileBackend.encryptedFileName,
         directory + "/" + FileBackend.fileName + ".lock")
    }

    /// The gate's state in `directory`.
    public static func status(directory: String) throws -> Status {
        let (plain, encrypted, _) = paths(directory)
        guard let file = try SecureFileSystem.read(encrypted, limit: StoreEnvelope.maximumFileSize) else {
            return Status(enabled: false, path: encrypted, opsLimit: 0, memLimit: 0, plaintextLeftover: false, cachedUntil: nil)
        }
        let header = try StoreEnvelope.Header(file: file, path: encrypted)
        return Status(enabled: true, path: encrypted, opsLimit: header.opsLimit, memLimit: header.memLimit,
                      plaintextLeftover: SecureFileSystem.exists(plain), cachedUntil: UnlockCache.read(header: header)?.1,
                      requiresSecondStep: header.requiresSecondStep)
    }

    /// The data key, after the passphrase and the second step (when the store requires one),
    /// with the store's header: what ``cache(_:header:duration:)`` keeps, and what credvault's
    /// Secret Service provider is handed.
    public static func unlockedKey(directory: String, passphrase: SecureBuffer, context: BackendContext?) throws -> (SecureBuffer, StoreEnvelope.Header) {
        let (_, header, dataKey) = try unlock(paths(directory).encrypted, passphrase: passphrase)
        try SecondFactor.verify(directory: directory, header: header, dataKey: dataKey, context: context)
        return (dataKey, header)
    }

    /// Keeps `dataKey` in the kernel keyring for `duration` (``UnlockCache``). Returns the expiry.
    ///
    /// - Throws: `.unavailable` where the kernel keyring cannot be used.
    public static func cache(_ dataKey: SecureBuffer, header: StoreEnvelope.Header, duration: Duration) throws -> Date {
        try UnlockCache.store(dataKey, header: header, duration: duration)
    }

    /// Removes the cached key at once. Returns whether one was cached.
    public static func lock(directory: String) throws -> Bool {
        let encrypted = paths(directory).encrypted
        guard let file = try SecureFileSystem.read(encrypted, limit: StoreEnvelope.maximumFileSize) else { return false }
        return UnlockCache.revoke(header: try StoreEnvelope.Header(file: file, path: encrypted))
    }

    /// Encrypts the plaintext store (or an empty one) under `passphrase`: the encrypted file
    /// is made durable first, then the plaintext is overwritten and removed.
    ///
    /// - Throws: `.usage` when a password is already set or the passphrase is shorter than
    ///   ``PassphrasePolicy/minimumLength``.
    public static func enable(directory: String, passphrase: SecureBuffer, kdf: KDFProfile, lockTimeout: Duration) throws {
        try PassphrasePolicy.check(passphrase)
        try SecureFileSystem.ensureDirectory(directory)
        let (plain, encrypted, lockPath) = paths(directory)
        let lock = try FileLock(path: lockPath, timeout: lockTimeout)
        defer { withExtendedLifetime(lock) {} }
        guard !SecureFileSystem.exists(encrypted) else {
            throw CredentialVaultError(.usage, "a password is already set for \(encrypted); use `credvault password change`")
        }
        var document = FileStoreDocument()
        if let bytes = try SecureFileSystem.read(plain, limit: FileStoreDocument.maximumSize) {
            document = try FileStoreReader.document(bytes, path: plain)
        }
        let dataKey = SecureBuffer.random(count: SecretBox.keyBytes)
        let header = try StoreEnvelope.wrap(dataKey, passphrase: passphrase, opsLimit: kdf.opsLimit, memLimit: kdf.memLimit)
        let file = StoreEnvelope.seal(document: document.serialized(), header: header, dataKey: dataKey)
        SecureFileSystem.removeStaleTemporaries(directory: directory, name: FileBackend.encryptedFileName)
        try SecureFileSystem.remove(SecondFactor.path(directory)) // a leftover from an earlier store would not open
        try SecureFileSystem.replaceAtomically(encrypted, with: file)
        SecureFileSystem.shred(plain)
    }

    /// Decrypts the store back to the plaintext `credentials.json` (durable first), then
    /// removes the encrypted file.
    ///
    /// - Throws: `.permissionDenied` for a wrong passphrase, with nothing written.
    public static func disable(directory: String, passphrase: SecureBuffer, lockTimeout: Duration, context: BackendContext? = nil) throws {
        let (plain, encrypted, lockPath) = paths(directory)
        let lock = try FileLock(path: lockPath, timeout: lockTimeout)
        defer { withExtendedLifetime(lock) {} }
        let (file, header, dataKey) = try unlock(encrypted, passphrase: passphrase)
        try SecondFactor.verify(directory: directory, header: header, dataKey: dataKey, context: context)
        UnlockCache.revoke(header: header)
        guard let document = StoreEnvelope.open(file: file, dataKey: dataKey) else {
            throw CredentialVaultError(.dataError, "\(encrypted) was modified: its contents do not authenticate; it was left unchanged")
        }
        let bytes = document.copyBytes()
        _ = try FileStoreReader.document(bytes, path: encrypted)
        SecureFileSystem.removeStaleTemporaries(directory: directory, name: FileBackend.fileName)
        try SecureFileSystem.replaceAtomically(plain, with: bytes)
        try SecureFileSystem.remove(encrypted)
        try SecureFileSystem.remove(SecondFactor.path(directory)) // the second step belongs to the encrypted store
        SecureFileSystem.syncDirectory(directory)
    }

    /// Rewraps the data key under `newPassphrase`; the body is not re-encrypted.
    public static func change(directory: String, current: SecureBuffer, new newPassphrase: SecureBuffer,
                              kdf: KDFProfile?, lockTimeout: Duration, context: BackendContext? = nil) throws {
        try PassphrasePolicy.check(newPassphrase)
        let (_, encrypted, lockPath) = paths(directory)
        let lock = try FileLock(path: lockPath, timeout: lockTimeout)
        defer { withExtendedLifetime(lock) {} }
        let (file, header, dataKey) = try unlock(encrypted, passphrase: current)
        try SecondFactor.verify(directory: directory, header: header, dataKey: dataKey, context: context)
        let rewrapped = try StoreEnvelope.wrap(dataKey, passphrase: newPassphrase,
                                               opsLimit: kdf?.opsLimit ?? header.opsLimit, memLimit: kdf?.memLimit ?? header.memLimit,
                                               requiresSecondStep: header.requiresSecondStep)
        SecureFileSystem.removeStaleTemporaries(directory: directory, name: FileBackend.encryptedFileName)
        try SecureFileSystem.replaceAtomically(encrypted, with: rewrapped.bytes + file[StoreEnvelope.headerSize...])
        UnlockCache.revoke(header: header) // the old password's cache entry must not outlive it
    }

    /// Sets or clears the header's second-step flag: under the store's lock, unlocks with
    /// `passphrase`, checks a code when clearing a required step, runs `prepare` with the
    /// data key (enrolment writes `credentials.mfa` there), then rewraps the data key under the
    /// same passphrase and cost with the flag. The body is copied unchanged.
    static func rewrap(directory: String, passphrase: SecureBuffer, requiringSecondStep: Bool, lockTimeout: Duration,
                       context: BackendContext? = nil, prepare: (SecureBuffer) throws -> Void) throws {
        let (_, encrypted, lockPath) = paths(directory)
        let lock = try FileLock(path: lockPath, timeout: lockTimeout)
        defer { withExtendedLifetime(lock) {} }
        let (file, header, dataKey) = try unlock(encrypted, passphrase: passphrase)
        if !requiringSecondStep { try SecondFactor.verify(directory: directory, header: header, dataKey: dataKey, context: context) }
        try prepare(dataKey)
        let rewrapped = try StoreEnvelope.wrap(dataKey, passphrase: passphrase, opsLimit: header.opsLimit, memLimit: header.memLimit,
                                               requiresSecondStep: requiringSecondStep)
        SecureFileSystem.removeStaleTemporaries(directory: directory, name: FileBackend.encryptedFileName)
        try SecureFileSystem.replaceAtomically(encrypted, with: rewrapped.bytes + file[StoreEnvelope.headerSize...])
        UnlockCache.revoke(header: header)
    }

    /// The store's data key, after the password only (for second-step enrolment, which then
    /// proves possession of the new secret).
    public static func dataKey(directory: String, passphrase: SecureBuffer) throws -> SecureBuffer {
        try unlock(paths(directory).encrypted, passphrase: passphrase).2
    }

    /// Reads and unwraps `path`.
    static func unlock(_ path: String, passphrase: SecureBuffer) throws -> ([UInt8], StoreEnvelope.Header, SecureBuffer) {
        guard let file = try SecureFileSystem.read(path, limit: StoreEnvelope.maximumFileSize) else {
            throw CredentialVaultError(.usage, "no password is set: \(path) does not exist (`credvault password set` makes it)")
        }
        let header = try StoreEnvelope.Header(file: file, path: path)
        guard let dataKey = try StoreEnvelope.unwrap(header, passphrase: passphrase) else {
            throw CredentialVaultError(.permissionDenied, "wrong password for \(path); nothing was written")
        }
        return (file, header, dataKey)
    }
}
