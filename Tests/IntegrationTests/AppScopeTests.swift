import CredentialVaultCore
import Foundation
import Testing
import CredentialVaultTestSupport

/// Python keyring (Debian's, with SecretStorage) and credvault on one gnome-keyring: an app
/// lists, migrates, exports and deletes its own items only, unless told `--all-apps`; exact
/// reads still find what Python keyring stored; two items under one key read as the newest.
@Suite("One keyring shared with Python keyring", .serialized,
       .enabled(if: Components.present("dbus-run-session", "gnome-keyring-daemon", "secret-tool")))
struct AppScopeTests {
    /// Debian's Python, which has python3-keyring and python3-secretstorage.
    static let python = "/usr/bin/python3"

    func pythonKeyring(_ harness: KeyringHarness, _ code: String) throws -> ProcessOutput {
        let output = try ProcessRunner.run(Self.python, ["-c", "import keyring\n" + code],
                                           environment: harness.environment.merging([
                                               "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                                               "PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring",
                                           ]) { $1 }, timeout: 30)
        #expect(output.status == 0, "python keyring: \(output.stderr)")
        return output
    }

    @Test("list, migrate --delete-source and password export take only the app's items; --all-apps takes every program's; exact get reads Python keyring's")
    func scope() throws {
        let harness = try KeyringHarness()
        defer { harness.shutdown() }
        let vault = harness.root.path + "/vault"
        let cli = CLI(home: harness.root.path + "/home", environment: harness.environment.merging(["CREDVAULT_HOME": vault]) { $1 })
        try pythonKeyring(harness, "keyring.set_password('py.example', 'pat', 'from python')")
        #expect(try cli.run("set", "mine.example", "me", input: "from credvault").status == 0)
        #expect(try cli.run("--app", "other", "set", "other.example", "them", input: "other app").status == 0)

        func listed(_ arguments: [String]) throws -> Set<String> {
            let output = try cli.run(arguments + ["--json"])
            #expect(output.status == 0, "\(output.stderr)")
            return Set(try JSONParser.parse(output.stdout)["items"]?.arrayValue?.compactMap { $0["service"]?.stringValue } ?? [])
        }
        #expect(try listed(["list"]) == ["mine.example"])
        #expect(try listed(["--app", "other", "list"]) == ["other.example"])
        #expect(try listed(["list", "--all-apps"]) == ["mine.example", "other.example", "py.example"])
        // Reading by exact service and account is not scoped.
        #expect(try cli.run("get", "py.example", "pat").stdoutText == "from python")

        // Export: the app's items only.
        let passFile = harness.root.path + "/bundle.pass"
        FileManager.default.createFile(atPath: passFile, contents: Data("correct horse battery staple".utf8), attributes: [.posixPermissions: 0o600])
        let export = try cli.run(["--json", "password", "export", "--out", harness.root.path + "/b.cvb", "--passphrase-file", passFile, "--kdf", "interactive"])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(try JSONParser.parse(export.stdout)["exported"] == .number(1))

        // migrate --delete-source moves only the app's items; the other programs' stay.
        let migrate = try cli.run("migrate", "--from", "secret-service", "--to", "file", "--delete-source")
        #expect(migrate.status == 0, "\(migrate.stderr)")
        #expect(migrate.stdoutText.contains("Copied 1 item(s)"), "\(migrate.stdoutText)")
        #expect(try pythonKeyring(harness, "print(keyring.get_password('py.example', 'pat'), end='')").stdoutText == "from python")
        #expect(try harness.secretTool(["lookup", "service", "other.example", "username", "them"]).stdoutText == "other app")
        #expect(try harness.secretTool(["lookup", "service", "mine.example", "username", "me"]).status != 0, "the app's item moved")
        #expect(try cli.run("get", "mine.example", "me").stdoutText == "from credvault", "now from the file, the recorded home")
    }

    @Test("Python keyring writing over a credvault item: the newest value is read, --verbose says two items answer, the next set keeps one")
    func twoItems() throws {
        let harness = try KeyringHarness()
        defer { harness.shutdown() }
        let cli = CLI(home: harness.root.path + "/home", environment: harness.environment.merging(["CREDVAULT_HOME": harness.root.path + "/vault"]) { $1 })
        #expect(try cli.run("set", "both.example", "alice", input: "credvault's").status == 0)
        // Item timestamps have one-second resolution: the second write must be a second later to be newer.
        let before = try harness.secretTool(["search", "--all", "service", "both.example"]).stderr
        fixedPause(1.1, because: "item timestamps have one-second resolution")
        try pythonKeyring(harness, "keyring.set_password('both.example', 'alice', 'python''s')")
        let search = try harness.secretTool(["search", "--all", "service", "both.example", "username", "alice"])
        #expect(search.stdoutText.components(separatedBy: "secret = ").count - 1 == 2, "Python keyring adds its own item beside ours: \(search.stdoutText) \(before)")
        for _ in 0..<5 {
            let get = try cli.run("-v", "get", "both.example", "alice")
            #expect(get.stdoutText == "pythons", "the newest wins, every time: \(get.stderr)")
            #expect(get.stderr.contains("2 keyring items answer"), "\(get.stderr)")
        }
        #expect(try cli.run("set", "both.example", "alice", input: "one again").status == 0)
        let after = try harness.secretTool(["search", "--all", "service", "both.example", "username", "alice"])
        #expect(after.stdoutText.components(separatedBy: "secret = ").count - 1 == 1, "\(after.stdoutText)")
        #expect(try cli.run("get", "both.example", "alice").stdoutText == "one again")
    }
}
