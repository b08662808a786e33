import CredentialVaultCore
#if canImport(Glibc)
import Glibc
#endif

/// The config file as credvault trusts it: the app directory and every directory above it
/// out of other users' reach (``SecureFileSystem/checkAncestors(of:)``), the directory
/// yours and not writable by others, the file yours, not writable by others, a regular file
/// with one link and not a symbolic link, and no larger than the limit.
public struct CheckedFileReader: ConfigurationFileReader {
    public init() {}

    public func read(_ path: String, in directory: String, limit: Int) throws -> [UInt8]? {
        var info = stat()
        guard stat(directory, &info) == 0 else {
            if errno == ENOENT { return nil }
            throw SecureFileSystem.statError(directory, errno)
        }
        try SecureFileSystem.checkOwnerAndMode(path: directory, info: info, allowed: 0o755, fix: "chmod 700")
        try SecureFileSystem.checkAncestors(of: directory)
        return try SecureFileSystem.read(path, rule: .settings, limit: limit)
    }
}
