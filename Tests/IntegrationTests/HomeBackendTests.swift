import CredentialVaultCore
import Foundation
import Testing
import CredentialVaultTestSupport

/// The home backend: recorded by the first write, shown by `backends` and `doctor`, used and
/// nothing else on later runs, changed only by `migrate`; items stranded in the plaintext file
/// from before are reported with the command that moves them.
@Suite("The app's home backend", .serialized,
       .enabled(if: Components.present("dbus-run-session", "gnome-keyring-daemon", "secret-tool", "dbus-send")))
struct HomeBackendTests {
    @Test("recorded by the first write, kept when a keyring appears, changed only by migrate")
    func recordedAndKept() throws {
        let harness = try KeyringHarness()
        defer { harness.shutdown() }
        let vault = harness.root.path + "/vault"
        // First, a headless run (no bus): the file is chosen, with the notice, and recorded.
        let headless = CLI(home: harness.root.path + "/home", environment: ["CREDVAULT_HOME": vault])
        let first = try headless.run("set", "home.example", "alice", input: "in the file")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("no keyring is usable"), "the first write says where it goes: \(first.stderr)")
        #expect(try String(contentsOfFile: vault + "/home", encoding: .utf8) == "file\n")
        var info = stat()
        #expect(stat(vault + "/home", &info) == 0 && info.st_mode & 0o777 == 0o600)
        let second = try headless.run("set", "home.example", "bob", input: "also in the file")
        #expect(!second.stderr.contains("no keyring is usable"), "the home is known: no notice on every write: \(second.stderr)")

        // The same app on a desktop session whose keyring is unlocked: the home stays the file.
        let desktop = CLI(home: harness.root.path + "/home", environment: harness.environment.merging(["CREDVAULT_HOME": vault]) { $1 })
        #expect(try desktop.run("get", "home.example", "alice").stdoutText == "in the file")
        #expect(try desktop.run("set", "home.example", "carol", input: "still the file").status == 0)
        #expect(try harness.secretTool(["search", "--all", "service", "home.example"]).stdoutText.isEmpty, "nothing went to the keyring")
        let backends = try JSONParser.parse(try desktop.run("backends", "--json").stdout)
        #expect(backends["home"]?["backend"]?.stringValue == "file")
        #expect(backends["selection"]?["backend"]?.stringValue == "file")
        #expect(backends["selection"]?["source"]?.stringValue?.contains("recorded in \(vault)/home") == true)

        // migrate moves the items and the home.
        let migrate = try desktop.run("migrate", "--from", "file", "--to", "secret-service", "--delete-source")
        #expect(migrate.status == 0, "\(migrate.stderr)")
        #expect(migrate.stdoutText.contains("secret-service is now this app's home"))
        #expect(try String(contentsOfFile: vault + "/home", encoding: .utf8) == "secret-service\n")
        #expect(try harness.secretTool(["lookup", "service", "home.example", "username", "carol"]).stdoutText == "still the file")
        let doctor = try JSONParser.parse(try desktop.run("doctor", "--json").stdout)
        let home = doctor["checks"]?.arrayValue?.first { $0["name"]?.stringValue == "home" }
        #expect(home?["value"]?.stringValue?.hasPrefix("secret-service (recorded in") == true, "\(String(describing: home))")

        // Now the headless run has no keyring to use, and does not fall back to the (empty) file.
        let refused = try headless.run("get", "home.example", "carol")
        #expect(refused.status == 69, "\(refused.stderr)")
        #expect(refused.stderr.contains("this app's credentials live in secret-service"), "\(refused.stderr)")
    }

    @Test("items left in the plaintext file before the keyring became the home are counted, with the migrate command")
    func strandedItems() throws {
        let harness = try KeyringHarness()
        defer { harness.shutdown() }
        let vault = harness.root.path + "/vault"
        let cli = CLI(home: harness.root.path + "/home", environment: harness.environment.merging(["CREDVAULT_HOME": vault]) { $1 })
        // Two items written to the file by an earlier version's fallback (no home recorded).
        for account in ["a", "b"] {
            #expect(try cli.run(["--backend", "file", "set", "old.example", account], input: Array("old".utf8)).status == 0)
        }
        #expect(!FileManager.default.fileExists(atPath: vault + "/home"), "an explicit --backend records no home")
        let first = try cli.run("set", "new.example", "a", input: "new")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try String(contentsOfFile: vault + "/home", encoding: .utf8) == "secret-service\n")
        #expect(first.stderr.contains("2 credential(s) of this app are still in the plaintext file"), "\(first.stderr)")
        #expect(first.stderr.contains("credvault migrate --from file --to secret-service --delete-source"), "\(first.stderr)")
        let later = try cli.run("set", "new.example", "b", input: "new")
        #expect(!later.stderr.contains("plaintext file"), "said once, on the run that records the home: \(later.stderr)")
        let doctor = try JSONParser.parse(try cli.run("doctor", "--json").stdout)
        let stranded = doctor["checks"]?.arrayValue?.first { $0["name"]?.stringValue == "home.stranded_plaintext_items" }
        #expect(stranded?["value"]?.stringValue?.hasPrefix("2 item(s)") == true, "\(String(describing: stranded))")
        #expect(stranded?["next_step"]?.stringValue?.contains("migrate --from file --to secret-service") == true)
    }

    @Test("a home record that is not a backend name, or is unsafe, is refused and never taken as 'none'")
    func badRecord() throws {
        let home = try TemporaryDirectory(); defer { home.remove() }
        let vault = home.path + "/vault"
        let cli = CLI(home: home.path, environment: ["CREDVAULT_HOME": vault])
        #expect(try cli.run("set", "s", "a", input: "v").status == 0)
        try "file; rm -rf /\n".write(toFile: vault + "/home", atomically: false, encoding: .utf8)
        let garbled = try cli.run("get", "s", "a")
        #expect(garbled.status == 65, "\(garbled.stderr)")
        #expect(garbled.stderr.contains("does not hold a backend name"))
        try "nonesuch\n".write(toFile: vault + "/home", atomically: false, encoding: .utf8)
        let unknown = try cli.run("get", "s", "a")
        #expect(unknown.status == 78, "\(unknown.stderr)")
        #expect(unknown.stderr.contains("no such backend is registered"))
        try "file\n".write(toFile: vault + "/home", atomically: false, encoding: .utf8)
        chmod(vault + "/home", 0o644)
        let open = try cli.run("get", "s", "a")
        #expect(open.status == 77, "\(open.stderr)")
        chmod(vault + "/home", 0o600)
        #expect(try cli.run("get", "s", "a").stdoutText == "v")
    }
}
