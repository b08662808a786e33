import CredentialVault
import Foundation
import Testing
import CredentialVaultTestSupport

/// The progress line: shown on a terminal (a real pseudo-terminal from util-linux `script`),
/// never when output is piped or --json is given.
@Suite("progress on long work", .serialized, .enabled(if: Components.present("script")))
struct ProgressTests {
    struct Setup {
        let home: TemporaryDirectory
        let cli: CLI
        var passphraseFile: String { home.path + "/passphrase" }
        var bundle: String { home.path + "/backup.cvb" }
    }

    func withStore(items: Int, _ body: (Setup) throws -> Void) throws {
        let home = try TemporaryDirectory(); defer { home.remove() }
        let cli = CLI(home: home.path, environment: ["CREDVAULT_HOME": home.path + "/vault", "CREDVAULT_BACKEND": "file", "TERM": "xterm"])
        let setup = Setup(home: home, cli: cli)
        try "progress test passphrase\n".write(toFile: setup.passphraseFile, atomically: true, encoding: .utf8)
        chmod(setup.passphraseFile, 0o600)
        for index in 0..<items {
            #expect(try cli.run("set", "svc-\(index)", "acct", input: "secret-\(index)").status == 0)
        }
        try body(setup)
    }

    /// Runs credvault with stdin, stdout and stderr on a pseudo-terminal.
    func onTerminal(_ setup: Setup, _ arguments: [String]) throws -> ProcessOutput {
        let command = ([CLI.executable] + arguments).map { "'\($0)'" }.joined(separator: " ")
        return try ProcessRunner.run("/usr/bin/script", ["-qefc", command, "/dev/null"], environment: setup.cli.environment, input: [], timeout: 120)
    }

    @Test("export and import show a spinner on a terminal and erase it; piped and --json output has none")
    func exportImport() throws {
        try withStore(items: 3) { setup in
            let exported = try onTerminal(setup, ["password", "export", "--kdf", "interactive", "--passphrase-file", setup.passphraseFile,
                                                  "--out", setup.bundle])
            #expect(exported.status == 0, "\(exported.stdoutText)")
            #expect(exported.stdoutText.contains("Encrypting 3 item(s) (Argon2id, interactive)"), "spinner shown: \(exported.stdoutText)")
            #expect(exported.stdoutText.contains("\r\u{1b}[K"), "the line is erased when the work ends")

            let piped = try setup.cli.run(["password", "export", "--kdf", "interactive", "--passphrase-file", setup.passphraseFile,
                                           "--out", setup.bundle, "--force"])
            #expect(piped.status == 0, "\(piped.stderr)")
            #expect(!piped.stderr.contains("Encrypting") && !piped.stderr.contains("\u{1b}"), "no progress when stderr is not a terminal: \(piped.stderr)")

            let imported = try onTerminal(setup, ["password", "import", "--passphrase-file", setup.passphraseFile, "--on-conflict", "overwrite", setup.bundle])
            #expect(imported.status == 0, "\(imported.stdoutText)")
            #expect(imported.stdoutText.contains("Opening \(setup.bundle) (Argon2id)"), "\(imported.stdoutText)")

            let json = try onTerminal(setup, ["password", "verify", "--json", "--passphrase-file", setup.passphraseFile, setup.bundle])
            #expect(json.status == 0)
            #expect(!json.stdoutText.contains("Opening") && !json.stdoutText.contains("\u{1b}"), "--json: no progress: \(json.stdoutText)")
            #expect(try JSONParser.parse(Array(json.stdoutText.utf8))["items"]?.numberValue == 3)
        }
    }

    @Test("migrate reports its phases on a terminal")
    func migrate() throws {
        try withStore(items: 2) { setup in
            let harness = try KeyringHarness(); defer { harness.shutdown() }
            var environment = setup.cli.environment
            environment.merge(harness.environment) { $1 }
            environment.removeValue(forKey: "CREDVAULT_BACKEND")
            let cli = CLI(home: setup.home.path, environment: environment)
            let migrated = try onTerminal(Setup(home: setup.home, cli: cli), ["migrate", "--from", "file", "--to", "secret-service"])
            #expect(migrated.status == 0, "\(migrated.stdoutText)")
            #expect(migrated.stdoutText.contains("⠋ Migrating"), "a spinner frame with the migration status: \(migrated.stdoutText)")
            #expect(try harness.secretTool(["lookup", "service", "svc-1", "username", "acct"]).stdoutText == "secret-1")
        }
    }
}
