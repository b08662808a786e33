import CredentialVault
import EncryptedFileBackend
import FileBackend
import Foundation
import MemoryBackend
import OpenBaoBackend
import SecretServiceBackend

/// A fresh instance of each shipped backend for the tests that run against all of them (the
/// conformance suite, bundle round trips, the memory scan): the real Secret Service is
/// gnome-keyring on the shared private bus, OpenBao the shared dev server.
package enum TestBackends {
    package static let names = ["memory", "file", "encrypted-file", "secret-service", "openbao"]

    /// A fresh backend of `name`, and a clean-up closure.
    package static func make(_ name: String) throws -> (any CredentialBackend, () -> Void) {
        switch name {
        case "memory":
            return (MemoryBackend(), {})
        case "file":
            let directory = try TemporaryDirectory()
            return (FileBackend(directory: directory.path + "/store"), { directory.remove() })
        case "encrypted-file":
            let directory = try TemporaryDirectory()
            let passphrase = directory.path + "/passphrase"
            FileManager.default.createFile(atPath: passphrase, contents: Data("conformance passphrase".utf8), attributes: [.posixPermissions: 0o600])
            let key = SecureBuffer(SecretBytes(utf8: "conformance passphrase"))
            try PasswordProtection.enable(directory: directory.path + "/store", passphrase: key, kdf: .interactive, lockTimeout: .seconds(10))
            let context = BackendContext(app: .credvault, environment: ["CREDVAULT_PASSPHRASE_FILE": passphrase],
                                         directory: directory.path + "/store", configuration: VaultConfiguration(),
                                         callTimeout: .seconds(10), lockTimeout: .seconds(10))
            return (EncryptedFileBackend(context: context), { directory.remove() })
        case "openbao":
            let server = try OpenBaoServer.get()
            let directory = try TemporaryDirectory()
            var configuration = VaultConfiguration()
            configuration.settings["openbao_prefix"] = "conformance/\(UUID().uuidString.prefix(8))"
            let context = BackendContext(app: .credvault, environment: server.environment, directory: directory.path,
                                         configuration: configuration, callTimeout: .seconds(10), lockTimeout: .seconds(10))
            return (OpenBaoBackend(context: context), { directory.remove() })
        default:
            let harness = try SharedKeyring.harness.get()
            let context = BackendContext(app: .credvault,
                                         environment: ProcessInfo.processInfo.environment.merging(harness.environment) { $1 },
                                         directory: harness.root.path + "/unused", configuration: VaultConfiguration(),
                                         callTimeout: .seconds(10), lockTimeout: .seconds(10))
            return (SecretServiceBackend(context: context), {})
        }
    }

    package static func available(_ name: String) -> Bool {
        if name == "openbao" { return OpenBaoServer.present() }
        return name != "secret-service" || Components.present("dbus-run-session", "gnome-keyring-daemon")
    }
}
