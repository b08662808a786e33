import CredentialVaultCore
import CredentialVaultCrypto
import FileBackend
import CredentialVaultSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

/// Seals `credentials.json` documents into `credentials.cvstore` (see ``StoreEnvelope``).
/// Unlocks once per process, at the first read, from the ``UnlockSource``s.
final class EncryptedStoreCodec: FileStoreCodec, Sendable {
    private let context: BackendContext
    /// The header and data key once unlocked.
    private let unlocked = Mutex<(header: StoreEnvelope.Header, dataKey: SecureBuffer)?>(nil)

    init(context: BackendContext) { self.context = context }

    var fileName: String { FileBackend.encryptedFileName }
    var mustExist: Bool { true }
    var maximumFileSize: Int { StoreEnvelope.maximumFileSize }

    func decode(_ fileBytes: [UInt8], path: String) throws -> [UInt8] {
        let header = try StoreEnvelope.Header(file: fileBytes, path: path)
        return try unlocked.withLock { unlocked in
            if unlocked == nil || unlocked?.header != header {
                // The unlock cache first: a cached key that opens the body saves Argon2id.
                if let (dataKey, _) = UnlockCache.read(header: header), let document = StoreEnvelope.open(file: fileBytes, dataKey: dataKey) {
                    unlocked = (header, dataKey)
                    return document.copyBytes()
                }
                let (passphrase, source) = try UnlockSource.passphrase(for: path, in: context)
                guard let dataKey = try StoreEnvelope.unwrap(header, passphrase: passphrase) else {
                    throw CredentialVaultError(.permissionDenied, "wrong password for \(path) (from the \(source)); nothing was written")
                }
                try SecondFactor.verify(directory: FilePaths.directory(of: path), header: header, dataKey: dataKey, context: context)
                unlocked = (header, dataKey)
            }
            guard let dataKey = unlocked?.dataKey, let document = StoreEnvelope.open(file: fileBytes, dataKey: dataKey) else {
                throw CredentialVaultError(.dataError, "\(path) was modified: its contents do not authenticate under its key; it was left unchanged. Restore it from a backup")
            }
            return document.copyBytes()
        }
    }

    func encode(_ documentBytes: [UInt8], path: String) throws -> [UInt8] {
        guard let unlocked = unlocked.withLock({ $0 }) else { throw CredentialVaultError(.internal, "\(path) was not unlocked before writing") }
        return StoreEnvelope.seal(document: documentBytes, header: unlocked.header, dataKey: unlocked.dataKey)
    }

    func checkNotSuperseded(directory: String) throws {}

    /// Whether the data key is held.
    var isUnlocked: Bool { unlocked.withLock { $0 != nil } }

    /// Unlocks with `passphrase` (and the second step, when the store requires one), holding
    /// the data key until ``forget()``.
    func unlock(passphrase: SecureBuffer, path: String) throws {
        let (_, header, dataKey) = try PasswordProtection.unlock(path, passphrase: passphrase)
        try SecondFactor.verify(directory: FilePaths.directory(of: path), header: header, dataKey: dataKey, context: context)
        unlocked.withLock { $0 = (header, dataKey) }
    }

    /// Holds `dataKey` once it is shown to open the store's current file.
    func unlock(dataKey: SecureBuffer, path: String) throws {
        guard let file = try SecureFileSystem.read(path, limit: maximumFileSize) else {
            throw CredentialVaultError(.notFound, "\(path) does not exist")
        }
        let header = try StoreEnvelope.Header(file: file, path: path)
        guard StoreEnvelope.open(file: file, dataKey: dataKey) != nil else {
            throw CredentialVaultError(.permissionDenied, "the key given does not open \(path)")
        }
        unlocked.withLock { $0 = (header, dataKey) }
    }

    /// Forgets the data key (wiped as its buffer is released): the next read unlocks again.
    func forget() { unlocked.withLock { $0 = nil } }

    /// A plaintext `credentials.json` left by an interrupted `password set` or `clear` is
    /// overwritten and removed, once it has been read and every item in it is in the
    /// encrypted store just written. One holding other items (written by something that did
    /// not know of the password), or one that cannot be read, is left as it is: `password
    /// status` reports it.
    func didWrite(directory: String, document: FileStoreDocument) throws {
        let plain = directory + "/" + FileBackend.fileName
        guard SecureFileSystem.entry(plain) != nil,
              let bytes = try? SecureFileSystem.read(plain, limit: FileStoreDocument.maximumSize),
              let leftover = try? FileStoreReader.document(bytes, path: plain),
              document.holdsEveryKey(of: leftover) else { return }
        SecureFileSystem.shred(plain)
    }
}
