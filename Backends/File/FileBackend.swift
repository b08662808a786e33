import CredentialVaultCore
import CredentialVaultSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SystemPackage

/// The headless fallback: one versioned JSON document, `credentials.json`, in the app's
/// directory, protected by its 0700/0600 modes only (secrets are not encrypted).
///
/// Every write is a read-modify-write under an exclusive `flock` on `credentials.json.lock`,
/// landing by atomic rename. Reads refuse unsafe modes, another owner, symlinks and files
/// that do not parse; a file that does not parse is never treated as empty or overwritten.
public struct FileBackend: CredentialBackend {
    public static let name = "file"
    public static let priority = 10
    public static let protection = StorageProtection.plaintextFile
    /// The plaintext store's file name.
    public static let fileName = "credentials.json"
    /// The password-protected store's file name (Backends/EncryptedFile). While it exists it
    /// is the store, and this backend refuses to touch `credentials.json`.
    public static let encryptedFileName = "credentials.cvstore"

    /// The app's directory.
    public let directory: String
    /// `<directory>/credentials.json` (or the encrypted store, for a codec that encrypts).
    public let path: String
    /// `<directory>/credentials.json.lock`, shared by the plaintext and the encrypted store.
    public let lockPath: String
    private let lockTimeout: Duration
    private let codec: any FileStoreCodec

    public init(context: BackendContext) {
        self.init(directory: context.directory, lockTimeout: context.lockTimeout)
    }

    /// A store in `directory`.
    public init(directory: String, lockTimeout: Duration = .seconds(10)) {
        self.init(directory: directory, lockTimeout: lockTimeout, codec: PlaintextCodec())
    }

    /// A store in `directory` whose file bytes go through `codec` (the encrypted store).
    package init(directory: String, lockTimeout: Duration, codec: any FileStoreCodec) {
        self.directory = directory
        self.path = directory + "/" + codec.fileName
        self.lockPath = directory + "/" + Self.fileName + ".lock"
        self.lockTimeout = lockTimeout
        self.codec = codec
    }

    /// Available when the directory exists with safe modes, or can be created; and when
    /// an existing store is safe to read.
    public func probe(timeout: Duration) async -> BackendAvailability {
        do {
            if SecureFileSystem.exists(directory) {
                try SecureFileSystem.checkDirectory(directory)
                try codec.checkNotSuperseded(directory: directory)
                if let descriptor = try SecureFileSystem.openForReading(path) { try? descriptor.close() }
            } else if !SecureFileSystem.isWritable(firstExistingAncestor(of: directory)) {
                return .unavailable(reason: "cannot create \(directory): its parent is not writable", code: .cannotWrite)
            }
            return .available
        } catch let error as CredentialVaultError {
            return .unavailable(reason: error.message, code: error.code)
        } catch {
            return .unavailable(reason: "\(error)")
        }
    }

    public func item(for key: CredentialKey) async throws -> CredentialItem? {
        try readEntry(for: key)?.item
    }

    public func secret(for key: CredentialKey) async throws -> SecretBytes? {
        try readEntry(for: key)?.secret
    }

    public func store(_ item: CredentialItem) async throws {
        try update { document in
            let now = Date()
            var stored = item
            stored.created = document.entries[item.key]?.created ?? now
            stored.modified = now
            let unknown = document.entries[item.key]?.unknownFields ?? [:]
            document.entries[item.key] = FileStoreDocument.Entry(item: stored, unknownFields: unknown)
            return true
        }
    }

    /// One read of the file.
    public func allItems(service: String?) async throws -> [CredentialItem] {
        try read().entries.values.filter { $0.key.isIn(service: service) }.map(\.item).sorted { $0.key < $1.key }
    }

    /// All items land in one atomic write.
    public func storeAllAtomically(_ items: [CredentialItem]) async throws -> Bool {
        try update { document in
            let now = Date()
            for item in items {
                var stored = item
                stored.created = item.created ?? document.entries[item.key]?.created ?? now
                stored.modified = now
                document.entries[item.key] = FileStoreDocument.Entry(item: stored, unknownFields: document.entries[item.key]?.unknownFields ?? [:])
            }
            return true
        }
        return true
    }

    public func removeItem(for key: CredentialKey) async throws -> Bool {
        var removed = false
        try update { document in
            removed = document.entries.removeValue(forKey: key) != nil
            return removed
        }
        return removed
    }

    public func summaries(service: String?) async throws -> [CredentialSummary] {
        try read().entries.values
            .filter { $0.key.isIn(service: service) }
            .map(\.summary)
            .sorted { $0.key < $1.key }
    }

    public func diagnostics() async -> [Diagnostic] {
        var lines = [Diagnostic("file.directory", directory), Diagnostic("file.path", path)]
        for (label, target, wanted) in [("file.directory.mode", directory, "700"), ("file.mode", path, "600")] {
            if let entry = SecureFileSystem.entry(target) {
                let mode = String(entry.mode, radix: 8)
                let owner = SecureFileSystem.userName(entry.owner) ?? String(entry.owner)
                let me = SecureFileSystem.currentUser
                let problem = entry.isLink || entry.owner != me || (entry.mode & 0o077) != 0
                lines.append(Diagnostic(label, "\(entry.isLink ? "symlink" : mode) owner \(owner)",
                    nextStep: problem ? (entry.isLink ? "replace the symlink \(target) with the real file" : "run: chown \(SecureFileSystem.userName(me) ?? "$USER") '\(target)' && chmod \(wanted) '\(target)'") : nil))
            } else {
                lines.append(Diagnostic(label, "does not exist yet (created on first write)"))
            }
        }
        return lines
    }

    // MARK: - Reading and writing

    /// The whole store (empty when there is no file yet).
    func read() throws -> FileStoreDocument {
        guard let bytes = try readBytes() else { return FileStoreDocument() }
        return try FileStoreReader.document(bytes, path: path)
    }

    /// One item, after the whole store has been checked, without decoding the others.
    private func readEntry(for key: CredentialKey) throws -> FileStoreDocument.Entry? {
        guard let bytes = try readBytes() else { return nil }
        return try FileStoreReader.entry(for: key, in: bytes, path: path)
    }

    /// The store's JSON text (decrypted by the codec), or nil when there is no store yet.
    private func readBytes() throws -> [UInt8]? {
        guard SecureFileSystem.exists(directory) else { return nil }
        try SecureFileSystem.checkDirectory(directory)
        try codec.checkNotSuperseded(directory: directory)
        guard let file = try SecureFileSystem.read(path, limit: codec.maximumFileSize) else {
            if codec.mustExist { throw CredentialVaultError(.notFound, "\(path) does not exist") }
            return nil
        }
        return try codec.decode(file, path: path)
    }

    /// Runs `change` on the current document under the lock and writes the result if it returns true.
    private func update(_ change: (inout FileStoreDocument) throws -> Bool) throws {
        try SecureFileSystem.ensureDirectory(directory)
        let lock = try FileLock(path: lockPath, timeout: lockTimeout)
        defer { withExtendedLifetime(lock) {} }
        SecureFileSystem.removeStaleTemporaries(directory: directory, name: codec.fileName)
        var document = try read()
        guard try change(&document) else { return }
        try SecureFileSystem.replaceAtomically(path, with: codec.encode(document.serialized(), path: path))
        try codec.didWrite(directory: directory, document: document)
    }

    private func firstExistingAncestor(of path: String) -> String {
        var current = path
        while !current.isEmpty, current != "/" {
            if SecureFileSystem.exists(current) { return current }
            current = FilePaths.directory(of: current)
        }
        return "/"
    }
}
