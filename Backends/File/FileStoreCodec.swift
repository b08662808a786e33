import CredentialVaultCore
import CredentialVaultSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What turns a store file's bytes into the `credentials.json` document and back: the
/// identity for the plaintext store, encryption for the password-protected one. Everything
/// else (directory and file checks, the lock, atomic replacement) is the file backend's.
package protocol FileStoreCodec: Sendable {
    /// The store's file name in the app directory.
    var fileName: String { get }
    /// Whether a missing file is an error rather than an empty store.
    var mustExist: Bool { get }
    /// The largest file read; a larger one is refused from its size, unread.
    var maximumFileSize: Int { get }
    /// The document bytes in a file read from `path`.
    func decode(_ fileBytes: [UInt8], path: String) throws -> [UInt8]
    /// The file bytes for a document.
    func encode(_ documentBytes: [UInt8], path: String) throws -> [UInt8]
    /// Refuses when another store in `directory` takes precedence over this one.
    func checkNotSuperseded(directory: String) throws
    /// Called after each successful write of `document`, under the lock.
    func didWrite(directory: String, document: FileStoreDocument) throws
}

/// `credentials.json` as it is.
struct PlaintextCodec: FileStoreCodec {
    var fileName: String { FileBackend.fileName }
    var mustExist: Bool { false }
    var maximumFileSize: Int { FileStoreDocument.maximumSize }
    func decode(_ fileBytes: [UInt8], path: String) throws -> [UInt8] { fileBytes }
    func encode(_ documentBytes: [UInt8], path: String) throws -> [UInt8] { documentBytes }
    func didWrite(directory: String, document: FileStoreDocument) throws {}

    /// Once a password is set, `credentials.cvstore` is the store: reading or writing the
    /// plaintext file then would silently split the secrets in two.
    func checkNotSuperseded(directory: String) throws {
        let encrypted = directory + "/" + FileBackend.encryptedFileName
        if SecureFileSystem.exists(encrypted) {
            throw CredentialVaultError(.unavailable,
                "the store in \(directory) is password-protected (\(encrypted)); use the encrypted-file backend, or run `credvault password clear` to go back to the plaintext file")
        }
    }
}
