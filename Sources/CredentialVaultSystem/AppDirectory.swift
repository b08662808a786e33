import CredentialVaultCore

/// The app directory (`$<APP>_HOME`, `$XDG_CONFIG_HOME/<app>`, `~/.config/<app>`), for
/// modules beside the file backend that keep lock files there.
public enum AppDirectory {
    /// Creates `directory` at mode 0700 when missing, then refuses it when it is not a
    /// directory, is owned by another user, or is open to group or others (exit 77, with the fix).
    public static func ensure(_ directory: String) throws {
        try SecureFileSystem.ensureDirectory(directory)
    }
}
