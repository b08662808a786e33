import CredentialVault

/// Workspace names and workspace API keys (`<prefix><workspace>_<hex>`, such as
/// `cmd_acme_a1b2c3d4e5f6`).
public enum APIKey {
    /// Checks a workspace name: 1 to 63 lower-case letters, digits and `-`, starting with a
    /// letter or digit (no `_`, which separates the workspace from the hex part of a key).
    public static func validateWorkspace(_ name: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-")
        guard let first = name.first, first != "-", name.count <= 63, name.allSatisfy({ allowed.contains($0) }) else {
            throw CredentialVaultError(.usage,
                "invalid workspace name '\(name)': use 1 to 63 lower-case letters, digits or '-', not starting with '-'")
        }
    }

    /// The workspace a key belongs to, or nil when the key does not have the shape
    /// `<prefix><workspace>_<hex>` (at least 8 hex digits). With no `prefix` (the app has
    /// not configured `api_key_prefix`), any prefix of lower-case letters and digits ending
    /// in `_` is accepted: `cmd_acme_a1b2c3d4`, `cv_acme_a1b2c3d4`.
    public static func workspace(of key: String, prefix: String?) -> String? {
        let prefix = prefix ?? anyPrefix(of: key)
        guard let prefix, key.hasPrefix(prefix) else { return nil }
        let rest = key.dropFirst(prefix.count)
        guard let separator = rest.lastIndex(of: "_") else { return nil }
        let workspace = String(rest[..<separator])
        let hex = rest[rest.index(after: separator)...]
        guard hex.count >= 8, hex.allSatisfy({ $0.isHexDigit }), (try? validateWorkspace(workspace)) != nil else { return nil }
        return workspace
    }

    /// The key's prefix when it starts with lower-case letters or digits and a `_`.
    static func anyPrefix(of key: String) -> String? {
        guard let separator = key.firstIndex(of: "_"), separator > key.startIndex,
              key[..<separator].allSatisfy({ ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") }) else { return nil }
        return String(key[...separator])
    }

    /// The expected shape, for messages: `cmd_<workspace>_<hex>` (`<prefix>_…` when the app
    /// has not configured one).
    public static func shape(prefix: String?, workspace: String? = nil) -> String {
        "\(prefix ?? "<prefix>_")\(workspace ?? "<workspace>")_<hex digits>"
    }

    /// Checks that `key` is a key of `workspace` (when given); `source` names it in the error (exit 65).
    @discardableResult
    public static func validate(_ key: SecretBytes, prefix: String?, workspace: String?, source: String) throws -> String {
        guard let text = key.utf8String(), let owner = Self.workspace(of: text, prefix: prefix) else {
            let hint = prefix == nil ? "" : " (api_key_prefix in the config file says \(prefix!); change it if this app's keys use another prefix)"
            throw CredentialVaultError(.dataError,
                "the API key from \(source) is malformed: expected \(shape(prefix: prefix, workspace: workspace))\(hint)")
        }
        if let workspace, owner != workspace {
            throw CredentialVaultError(.dataError,
                "the API key from \(source) belongs to workspace '\(owner)', not '\(workspace)'; a key is only used for its own workspace")
        }
        return owner
    }

    /// The last four characters, for display: `…3f9a`.
    public static func masked(_ secret: SecretBytes) -> String {
        guard let text = secret.utf8String(), text.count > 8 else { return "****" }
        return "…" + String(text.suffix(4))
    }

    /// Whether a token looks like a JWT (three base64url parts, the first a JSON header).
    public static func looksLikeJWT(_ secret: SecretBytes) -> Bool {
        guard let text = secret.utf8String() else { return false }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 3 && text.hasPrefix("eyJ") && parts.allSatisfy { !$0.isEmpty }
    }
}
