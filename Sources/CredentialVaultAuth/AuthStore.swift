import CredentialVault
import CredentialVaultSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads and replaces an app's ``AuthRecord`` in the vault. Every change is a
/// read-modify-write under an exclusive `flock` on `<app dir>/auth.lock` (persistent, never
/// unlinked), so two processes changing different parts never lose each other's change.
public struct AuthStore: Sendable {
    public let vault: CredentialVault
    public var app: AppProfile { vault.context.app }
    public var key: CredentialKey { try! CredentialKey(service: AuthRecord.service, account: app.name) }

    public init(vault: CredentialVault) {
        self.vault = vault
    }

    /// Where the record lives, for people: the backend and item, and the file for the file backend.
    public var location: String {
        if vault.selection.backend == "file" {
            return "\(vault.context.directory)/credentials.json (item \(AuthRecord.service)/\(app.name))"
        }
        return "\(vault.selection.backend) item \(AuthRecord.service)/\(app.name)"
    }

    /// The stored record, or an empty one when there is none.
    public func load() async throws -> AuthRecord {
        // Only the secret: in the keyring, label and attributes would cost extra D-Bus calls.
        guard let secret = try await vault.backend.secret(for: key) else { return AuthRecord() }
        return try AuthRecord.parse(secret, location: location, app: app)
    }

    /// The lock file for `name` in the app directory (created 0700 when missing).
    func lock(_ name: String, timeout: Duration? = nil) throws -> FileLock {
        try AppDirectory.ensure(vault.context.directory)
        return try FileLock(path: "\(vault.context.directory)/\(name)", timeout: timeout ?? vault.context.lockTimeout)
    }

    /// Applies `change` to the current record under the record lock and stores the result
    /// (or deletes the item when the record became empty). Returns the new record.
    @discardableResult
    public func update(_ change: (inout AuthRecord) async throws -> Void) async throws -> AuthRecord {
        let held = try lock("auth.lock")
        defer { withExtendedLifetime(held) {} }
        var record = try await load()
        let before = record
        try await change(&record)
        if record == before { return record }
        if record.isEmpty {
            _ = try await vault.backend.removeItem(for: key)
        } else {
            let hasSealed = record.modes.values.contains { $0.tokens?.sealedRefreshToken != nil }
            try await vault.store(CredentialItem(key: key, label: "CredentialVault login data for \(app.name)",
                                                 attributes: hasSealed ? [CredentialVault.containsSealedAttribute: "v1"] : [:],
                                                 secret: record.serialized()))
        }
        return record
    }
}
