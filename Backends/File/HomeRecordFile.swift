import CredentialVaultSystem
import CredentialVaultCore
import SystemPackage

/// The recorded home backend of an app: `<app directory>/home`, one line holding the backend
/// name (docs/FORMAT.md), mode 0600, read with the same owner, mode, symlink and type checks
/// as `credentials.json` and replaced atomically.
public struct HomeRecordFile: BackendHomeStore {
    /// The record's file name in the app directory.
    public static let fileName = "home"
    /// The largest record read; a longer file is refused unread.
    static let sizeLimit = 256

    public init() {}

    public func location(_ context: BackendContext) -> String { context.directory + "/" + Self.fileName }

    public func read(_ context: BackendContext) throws -> String? {
        let path = location(context)
        guard let bytes = try SecureFileSystem.read(path, limit: Self.sizeLimit) else { return nil }
        guard let text = String(validating: bytes, as: UTF8.self), text.hasSuffix("\n") else {
            throw CredentialVaultError(.dataError, "\(path) is not one line of text ending in a newline; it records where this app's credentials live. "
                + "Remove it and run `credvault migrate --to BACKEND` to record the home again")
        }
        let name = String(text.dropLast())
        guard !name.isEmpty, name.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d || $0 == 0x5f }) else {
            throw CredentialVaultError(.dataError, "\(path) does not hold a backend name (lower-case letters, digits, '-' and '_'); "
                + "remove it and run `credvault migrate --to BACKEND` to record the home again")
        }
        return name
    }

    public func write(_ name: String, _ context: BackendContext) throws {
        try SecureFileSystem.ensureDirectory(context.directory)
        try SecureFileSystem.replaceAtomically(location(context), with: Array((name + "\n").utf8))
    }

    public func plaintextItemCount(_ context: BackendContext) async -> Int {
        let plaintext = FileBackend(directory: context.directory, lockTimeout: context.lockTimeout)
        guard let descriptor = try? SecureFileSystem.openForReading(plaintext.path) else { return 0 }
        try? descriptor.close()
        return (try? await plaintext.summaries(service: nil).count) ?? 0
    }
}
