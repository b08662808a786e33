import Foundation
import Testing

/// `credvault secret-service` on a private D-Bus session bus with no gnome-keyring and nothing
/// to activate (``KeyringHarness`` without a keyring), serving a password-protected store made
/// with `credvault password set`. Clients get ``environment``.
package final class ProviderHarness: @unchecked Sendable {
    package let bus: KeyringHarness
    package let cli: CLI
    /// The store's directory (CREDVAULT_HOME).
    package let vault: String
    /// A 0600 file holding the store's passphrase.
    package let passphraseFile: String
    package static let passphrase = "provider store passphrase 01"
    package private(set) var provider: ServiceProcess?

    /// The store: `vault/credentials.cvstore`.
    package var store: String { vault + "/credentials.cvstore" }

    /// What a client of this bus gets: HOME, XDG_RUNTIME_DIR, DBUS_SESSION_BUS_ADDRESS, CREDVAULT_HOME, PATH, LANG.
    package var environment: [String: String] { cli.environment }

    /// `allowOtherUsers`: see ``KeyringHarness/init(keyring:activation:display:serviceDirectory:allowOtherUsers:)``.
    package init(allowOtherUsers: Bool = false) throws {
        bus = try KeyringHarness(keyring: false, activation: false, allowOtherUsers: allowOtherUsers)
        vault = bus.root.path + "/vault"
        passphraseFile = bus.root.path + "/passphrase"
        FileManager.default.createFile(atPath: passphraseFile, contents: Data(Self.passphrase.utf8), attributes: [.posixPermissions: 0o600])
        cli = CLI(home: bus.root.path + "/home", environment: bus.environment.merging(["CREDVAULT_HOME": vault]) { $1 })
        let made = try cli.run(["password", "set", "--kdf", "interactive", "--passphrase-file", passphraseFile])
        guard made.status == 0 else { throw HarnessError("password set failed: \(made.stderr)") }
    }

    /// Starts the provider and waits until it owns org.freedesktop.secrets. `unlocked`: with
    /// CREDVAULT_PASSPHRASE_FILE, else it starts locked.
    @discardableResult
    package func start(unlocked: Bool = true, arguments: [String] = [], environment extra: [String: String] = [:], waitForName: Bool = true) throws -> ServiceProcess {
        var environment = cli.environment.merging(extra) { $1 }
        if unlocked { environment["CREDVAULT_PASSPHRASE_FILE"] = passphraseFile }
        let started = try ServiceProcess("credvault-secret-service", [CLI.executable, "secret-service"] + arguments, environment: environment,
                                         readiness: waitForName ? .when(poll: 0.01) { [bus] _ in try bus.hasOwner("org.freedesktop.secrets") } : .started,
                                         timeout: 20)
        provider = started
        return started
    }

    /// Runs `secret-tool` on this bus.
    package func secretTool(_ arguments: [String], input: String = "") throws -> ProcessOutput {
        try bus.secretTool(arguments, input: Array(input.utf8))
    }

    /// Runs Tests/support/secret_service_client.py with Debian's Python on this bus.
    package func python(_ arguments: [String]) throws -> ProcessOutput {
        try ProcessRunner.run("/usr/bin/python3", [Repository.root + "/Tests/support/secret_service_client.py"] + arguments,
                              environment: environment, timeout: 30)
    }

    /// git-credential-libsecret, compiled from the source Debian's git ships (once per harness).
    package func gitCredentialLibsecret() throws -> String {
        let helper = bus.root.path + "/git-credential-libsecret"
        if FileManager.default.isExecutableFile(atPath: helper) { return helper }
        let source = "/usr/share/doc/git/contrib/credential/libsecret/git-credential-libsecret.c"
        let build = try ProcessRunner.shell("gcc -O1 -o '\(helper)' '\(source)' $(pkg-config --cflags --libs libsecret-1 glib-2.0)")
        guard build.status == 0 else { throw HarnessError("building git-credential-libsecret: \(build.stderr)") }
        return helper
    }

    /// `git credential VERB` with git-credential-libsecret as the only helper, on this bus.
    package func gitCredential(_ verb: String, _ input: String) throws -> ProcessOutput {
        var environment = self.environment
        environment["GIT_TERMINAL_PROMPT"] = "0"
        environment["GIT_CONFIG_NOSYSTEM"] = "1"
        return try ProcessRunner.run("/usr/bin/git", ["-c", "credential.helper=", "-c", "credential.helper=\(try gitCredentialLibsecret())", "credential", verb],
                                     environment: environment, input: Array(input.utf8), timeout: 30)
    }

    /// The provider's log so far.
    package var log: String { provider.flatMap { try? String(contentsOfFile: $0.log, encoding: .utf8) } ?? "" }

    package func shutdown() {
        provider?.stop(SIGTERM, grace: 5)
        bus.shutdown()
    }

    deinit { shutdown() }
}
