/// Reads the files that decide where secrets go (the config file) with the checks that make
/// them trustworthy. The standard one (`CheckedFileReader`, in CredentialVaultSystem) refuses
/// a file or directory another user could have written.
public protocol ConfigurationFileReader: Sendable {
    /// The bytes of `path` in `directory`, or nil when there is no such file.
    ///
    /// - Parameters:
    ///   - path: the file.
    ///   - directory: the app directory holding it.
    ///   - limit: the largest size accepted; a larger file is refused unread.
    /// - Throws: ``CredentialVaultError`` naming what is wrong and the fix.
    func read(_ path: String, in directory: String, limit: Int) throws -> [UInt8]?
}
