/// Where an app's items live: the backend chosen once (by the first write under automatic
/// selection, or by `migrate`) and recorded, so that later runs use it and nothing else.
///
/// A backend that keeps its items in the app's directory (the plaintext file and the
/// password-protected store, which replaces it) is recorded as ``fileStore``: setting a
/// password moves the items but not their home.
public enum BackendHome {
    /// The recorded name of the app directory's own store (`file` or `encrypted-file`).
    public static let fileStore = "file"

    /// The name to record for a backend.
    public static func recordedName(for backend: any CredentialBackend.Type) -> String {
        isFileStore(backend) ? fileStore : backend.name
    }

    /// Whether `backend` keeps its items in the app's directory.
    public static func isFileStore(_ backend: any CredentialBackend.Type) -> Bool {
        backend.protection == .plaintextFile || backend.protection == .encrypted
    }
}

/// Reads and writes the recorded home of an app (see ``BackendHome``). The standard registry
/// carries the file that the file backend keeps (`<app directory>/home`, docs/FORMAT.md).
public protocol BackendHomeStore: Sendable {
    /// The recorded backend name, or nil when none was recorded.
    ///
    /// - Throws: ``CredentialVaultError`` when a record exists but is unsafe or unreadable;
    ///   an unreadable record is never taken as "none".
    func read(_ context: BackendContext) throws -> String?
    /// Records `name` (atomically: the old record or the new one, never a mix).
    func write(_ name: String, _ context: BackendContext) throws
    /// Where the record is kept, for messages and `doctor`.
    func location(_ context: BackendContext) -> String
    /// How many items the app directory's plaintext file still holds (items stranded there
    /// before the home was the keyring); 0 when there is no such file or it cannot be read.
    func plaintextItemCount(_ context: BackendContext) async -> Int
}
