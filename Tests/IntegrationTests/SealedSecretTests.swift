import CredentialVault
import Foundation
import Testing
import CredentialVaultTestSupport

/// Sealed values under the vault's data key.
@Suite("Sealed secrets")
struct SealedSecretTests {
    func openFileVault(_ directory: String, _ environment: [String: String] = [:]) async throws -> CredentialVault {
        var options = VaultOptions(backend: "file", environment: ["CREDVAULT_HOME": directory].merging(environment) { $1 })
        options.plaintextFallbackNotice = { _ in }
        return try await CredentialVault.open(app: "credvault", options: options)
    }

    @Test("a sealed value opens after reopening the vault, and is not plaintext on disk")
    func reopen() async throws {
        let root = try TemporaryDirectory(); defer { root.remove() }
        let vault = try await openFileVault(root.path + "/v")
        try await vault.storeSealed(SecretBytes(utf8: "refresh-token-123"), service: "idp", account: "alice")
        let again = try await openFileVault(root.path + "/v")
        #expect(try await again.openSealed(service: "idp", account: "alice") == SecretBytes(utf8: "refresh-token-123"))
        let file = try String(contentsOfFile: root.path + "/v/credentials.json", encoding: .utf8)
        #expect(!file.contains(Data("refresh-token-123".utf8).base64EncodedString()))
        let keyFile = root.path + "/v/vault.key"
        let mode = (try FileManager.default.attributesOfItem(atPath: keyFile)[.posixPermissions] as? Int) ?? 0
        #expect(mode == 0o600)
        #expect(try await again.item(service: "idp", account: "alice").attributes[CredentialVault.sealedAttribute] == "v1")
    }

    @Test("a sealed value copied to another account does not open")
    func swapped() async throws {
        let root = try TemporaryDirectory(); defer { root.remove() }
        let vault = try await openFileVault(root.path + "/v")
        try await vault.storeSealed(SecretBytes(utf8: "alice-token"), service: "idp", account: "alice")
        try await vault.storeSealed(SecretBytes(utf8: "bob-token"), service: "idp", account: "bob")
        var moved = try await vault.item(service: "idp", account: "alice")
        moved.key = try CredentialKey(service: "idp", account: "bob")
        try await vault.store(moved)
        await #expect { try await vault.openSealed(service: "idp", account: "bob") } throws: {
            ($0 as? CredentialVaultError)?.message.contains("copied from another item") == true
        }
        #expect(try await vault.openSealed(service: "idp", account: "alice") == SecretBytes(utf8: "alice-token"))
    }

    @Test("a wrong data key is a clear error; a missing one is never silently replaced")
    func wrongAndMissingKey() async throws {
        let root = try TemporaryDirectory(); defer { root.remove() }
        let vault = try await openFileVault(root.path + "/v")
        try await vault.storeSealed(SecretBytes(utf8: "token"), service: "idp", account: "alice")
        let keyFile = root.path + "/v/vault.key"
        let original = try Data(contentsOf: URL(fileURLWithPath: keyFile))
        try (String(repeating: "ab", count: 32) + "\n").write(toFile: keyFile, atomically: false, encoding: .utf8)
        await #expect { try await vault.openSealed(service: "idp", account: "alice") } throws: {
            let error = $0 as? CredentialVaultError
            return error?.code == .dataError && error?.message.contains("does not open with this vault's data key") == true
        }
        try FileManager.default.removeItem(atPath: keyFile)
        await #expect { try await vault.openSealed(service: "idp", account: "alice") } throws: {
            ($0 as? CredentialVaultError)?.message.contains("data key is missing") == true
        }
        await #expect { try await vault.storeSealed(SecretBytes(utf8: "new"), service: "idp", account: "bob") } throws: {
            ($0 as? CredentialVaultError)?.message.contains("restore the key") == true
        }
        #expect(!FileManager.default.fileExists(atPath: keyFile), "no silent re-key")
        FileManager.default.createFile(atPath: keyFile, contents: original, attributes: [.posixPermissions: 0o600])
        #expect(try await vault.openSealed(service: "idp", account: "alice") == SecretBytes(utf8: "token"))
    }

    @Test("CREDVAULT_VAULT_KEY_FILE and systemd's CREDENTIALS_DIRECTORY name the key")
    func keyLocations() async throws {
        let root = try TemporaryDirectory(); defer { root.remove() }
        let named = root.path + "/named.key"
        FileManager.default.createFile(atPath: named, contents: Data((String(repeating: "11", count: 32) + "\n").utf8), attributes: [.posixPermissions: 0o600])
        let vault = try await openFileVault(root.path + "/v", ["CREDVAULT_VAULT_KEY_FILE": named])
        try await vault.storeSealed(SecretBytes(utf8: "x"), service: "s", account: "a")
        #expect(!FileManager.default.fileExists(atPath: root.path + "/v/vault.key"))
        let credentials = root.path + "/creds"
        try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: named, toPath: credentials + "/credvault.key")
        let viaSystemd = try await openFileVault(root.path + "/v", ["CREDENTIALS_DIRECTORY": credentials])
        #expect(try await viaSystemd.openSealed(service: "s", account: "a") == SecretBytes(utf8: "x"))
        let missing = try await openFileVault(root.path + "/v", ["CREDVAULT_VAULT_KEY_FILE": root.path + "/absent.key"])
        await #expect { try await missing.openSealed(service: "s", account: "a") } throws: {
            ($0 as? CredentialVaultError)?.code == .configuration
        }
    }

    @Test("with the Secret Service, the data key is a keyring item",
          .enabled(if: Components.present("dbus-run-session", "gnome-keyring-daemon")))
    func secretServiceKey() async throws {
        let harness = try SharedKeyring.harness.get()
        let app = "sealtest\(UUID().uuidString.prefix(6).lowercased())"
        var options = VaultOptions(backend: "secret-service",
                                   environment: ProcessInfo.processInfo.environment.merging(harness.environment) { $1 })
        options.probeTimeout = .seconds(10)
        let vault = try await CredentialVault.open(app: app, options: options)
        try await vault.storeSealed(SecretBytes(utf8: "keyring-sealed"), service: "idp", account: "carol")
        #expect(try await vault.openSealed(service: "idp", account: "carol") == SecretBytes(utf8: "keyring-sealed"))
        #expect(try await vault.backend.item(for: try CredentialKey(service: "credvault-vault-key", account: app)) != nil)
    }
}
