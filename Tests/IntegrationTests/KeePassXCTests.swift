import CredentialVaultCore
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
import CredentialVaultTestSupport
#endif

/// KeePassXC 2.7.4 from Debian 12 as the Secret Service provider: every verb, the helpers, a
/// migrate round trip, its access dialog answered by a person (xdotool) or by nobody, and a
/// locked database.
@Suite("KeePassXC as the Secret Service provider", .serialized,
       .enabled(if: Components.present("keepassxc", "keepassxc-cli", "Xvfb", "xdotool", "dbus-run-session", "secret-tool")))
struct KeePassXCTests {
    func cli(_ keepass: KeePassXCHarness, display: Bool = false) -> CLI {
        var environment = keepass.environment.merging(["CREDVAULT_HOME": keepass.bus.root.path + "/vault"]) { $1 }
        if display { environment["DISPLAY"] = keepass.display.name }
        return CLI(home: keepass.bus.root.path + "/home", environment: environment)
    }

    @Test("set, overwrite, get, list with and without a service, delete; only credvault's attributes come back")
    func everyVerb() throws {
        let keepass = try KeePassXCHarness()
        defer { keepass.shutdown() }
        let cli = cli(keepass)
        #expect(try cli.run("set", "kp.example", "alice", input: "first").status == 0)
        let overwrite = try cli.run("set", "kp.example", "alice", input: "second")
        #expect(overwrite.status == 0, "replacing an item must not wait for KeePassXC's access dialog: \(overwrite.stderr)")
        #expect(try cli.run("get", "kp.example", "alice").stdoutText == "second")
        #expect(try keepass.secretTool(["lookup", "service", "kp.example", "username", "alice"]).stdoutText == "second")
        #expect(try cli.run(["set", "kp.example", "bob"], input: Array("b".utf8)).status == 0)
        try keepass.secretTool(["store", "--label=foreign", "service", "foreign.example", "username", "carol"], input: Array("f".utf8))

        func listed(_ arguments: [String]) throws -> [JSONValue] {
            let output = try cli.run(arguments + ["--json"])
            #expect(output.status == 0, "\(output.stderr)")
            return try JSONParser.parse(output.stdout)["items"]?.arrayValue ?? []
        }
        #expect(try listed(["list", "kp.example"]).count == 2)
        #expect(try listed(["list"]).compactMap { $0["service"]?.stringValue }.sorted() == ["kp.example", "kp.example"])
        let everything = try listed(["list", "--all-apps"])
        #expect(Set(everything.compactMap { $0["service"]?.stringValue }) == ["kp.example", "foreign.example"],
                "with no attribute to search on, the collection's items are read: \(everything)")
        let bob = try listed(["list", "kp.example"]).first { $0["account"]?.stringValue == "bob" }
        #expect(bob?["attributes"] == .object([:]), "KeePassXC's Path, Uuid, Title… are not the credential's: \(String(describing: bob))")

        #expect(try cli.run("delete", "kp.example", "alice").status == 0)
        #expect(try cli.run("get", "kp.example", "alice").status == 1)
        #expect(try keepass.secretTool(["lookup", "service", "kp.example", "username", "alice"]).status != 0)
    }

    @Test("migrate keyring → file → keyring gives back exactly the items, secrets, labels and attributes")
    func migrateRoundTrip() throws {
        let keepass = try KeePassXCHarness()
        defer { keepass.shutdown() }
        let cli = cli(keepass)
        #expect(try cli.run(["set", "rt.example", "a", "--label", "Item A"], input: Array("secret a".utf8)).status == 0)
        #expect(try cli.run("set", "rt.example", "b", input: "secret b").status == 0)
        let before = try JSONParser.parse(try cli.run("list", "--json").stdout)["items"]
        let out = try cli.run("migrate", "--from", "secret-service", "--to", "file", "--delete-source")
        #expect(out.status == 0, "\(out.stderr)")
        #expect(try JSONParser.parse(try cli.run("--backend", "secret-service", "list", "--json").stdout)["items"]?.arrayValue?.isEmpty == true)
        let back = try cli.run("migrate", "--from", "file", "--to", "secret-service", "--delete-source")
        #expect(back.status == 0, "\(back.stderr)")
        func comparable(_ items: JSONValue?) -> [String] {
            (items?.arrayValue ?? []).map { item in
                "\(item["service"]?.stringValue ?? "")|\(item["account"]?.stringValue ?? "")|\(item["label"]?.stringValue ?? "")|\(item["attributes"].map { $0.serialized() } ?? "")"
            }.sorted()
        }
        #expect(comparable(try JSONParser.parse(try cli.run("list", "--json").stdout)["items"]) == comparable(before))
        #expect(try cli.run("get", "rt.example", "a").stdoutText == "secret a")
    }

    @Test("the git and docker helpers store, get and erase on KeePassXC")
    func helpers() throws {
        let keepass = try KeePassXCHarness()
        defer { keepass.shutdown() }
        let cli = cli(keepass)
        #expect(try cli.run(["git-credential", "store"], input: Array("protocol=https\nhost=forge.example\nusername=alice\npassword=tok-1\n".utf8)).status == 0)
        #expect(try cli.run(["git-credential", "store"], input: Array("protocol=https\nhost=forge.example\nusername=alice\npassword=tok-2\n".utf8)).status == 0)
        let get = try cli.run(["git-credential", "get"], input: Array("protocol=https\nhost=forge.example\n".utf8))
        #expect(get.stdoutText.contains("password=tok-2\n"), "\(get.stdoutText) \(get.stderr)")
        #expect(try cli.run(["git-credential", "erase"], input: Array("protocol=https\nhost=forge.example\nusername=alice\n".utf8)).status == 0)
        #expect(!(try cli.run(["git-credential", "get"], input: Array("protocol=https\nhost=forge.example\n".utf8)).stdoutText.contains("password=")))

        let stored = try cli.run(["docker-credential", "store"], input: Array(#"{"ServerURL":"registry.test:5000","Username":"u","Secret":"p1"}"#.utf8))
        #expect(stored.status == 0, "\(stored.stdoutText) \(stored.stderr)")
        #expect(try cli.run(["docker-credential", "get"], input: Array("registry.test:5000\n".utf8)).stdoutText.contains(#""Secret":"p1""#))
        #expect(try cli.run(["docker-credential", "list"]).stdoutText.contains("registry.test:5000"))
        #expect(try cli.run(["docker-credential", "erase"], input: Array("registry.test:5000\n".utf8)).status == 0)
        #expect(try cli.run(["docker-credential", "get"], input: Array("registry.test:5000\n".utf8)).status == 1)
    }

    @Test("access confirmation on: a person allows KeePassXC's access request and get succeeds")
    func accessAllowed() throws {
        let keepass = try KeePassXCHarness(confirmAccess: true)
        defer { keepass.shutdown() }
        // An item another program stored: credvault's first access to it needs the person's consent.
        try keepass.secretTool(["store", "--label=guarded", "service", "guarded.example", "username", "dana"], input: Array("guarded secret".utf8))
        let get = try BackgroundRun(cli(keepass, display: true), ["get", "guarded.example", "dana"])
        let dialog = try keepass.display.waitForWindow("Access Request")
        try keepass.display.x("xdotool", ["key", "--window", dialog, "Return"]) // "Allow Selected" is the default button
        let allowed = get.finish()
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stdoutText == "guarded secret")
        #expect(!FileManager.default.fileExists(atPath: keepass.bus.root.path + "/vault/credentials.json"))
    }

    @Test("access confirmation on: nobody answers, the prompt is dismissed at the prompt timeout (75); without a display 69 at once, never 'not found'")
    func accessUnanswered() throws {
        let keepass = try KeePassXCHarness(confirmAccess: true)
        defer { keepass.shutdown() }
        try keepass.secretTool(["store", "--label=guarded", "service", "guarded.example", "username", "erin"], input: Array("guarded secret".utf8))
        let cli = cli(keepass)
        // Without a display: refused at once with what to do, not "not found", not a hang.
        let headless = try cli.run("get", "guarded.example", "erin")
        #expect(headless.status == 69, "\(headless.stderr)")
        #expect(headless.stderr.contains("confirm access to this item"), "\(headless.stderr)")
        let delete = try cli.run("delete", "guarded.example", "erin")
        #expect(delete.status == 69, "a guarded item is never reported 'not found': \(delete.stderr)")
        #expect(try cli.run("list", "--all-apps", "--json").stdoutText.contains("guarded.example"), "the item is still there")

        // Nobody answers: refused at the prompt timeout, and the prompt is dismissed (Prompt.Dismiss;
        // KeePassXC 2.7.4 keeps its window open after a dismissal, so the bus is watched instead).
        let monitor = try BusMonitor(environment: keepass.environment, rule: "interface=org.freedesktop.Secret.Prompt,member=Dismiss")
        let start = Date()
        let unanswered = try self.cli(keepass, display: true).run(["get", "guarded.example", "erin"], extra: ["CREDVAULT_PROMPT_TIMEOUT": "3"])
        let said = monitor.stop()
        #expect(unanswered.status == 75, "\(unanswered.stderr)")
        #expect(unanswered.stderr.contains("nobody answered the keyring's access dialog within 3 s"), "\(unanswered.stderr)")
        #expect(Date().timeIntervalSince(start) >= 3)
        #expect(said.contains("member=Dismiss"), "credvault must dismiss the prompt it gave up on: \(said)")
        #expect(!FileManager.default.fileExists(atPath: keepass.bus.root.path + "/vault/credentials.json"))
    }

    @Test("a locked database: 69 in under 3 s with how to unlock KeePassXC, nothing written elsewhere")
    func lockedDatabase() throws {
        let keepass = try KeePassXCHarness(unlocked: false)
        defer { keepass.shutdown() }
        let cli = cli(keepass)
        let start = Date()
        let set = try cli.run("set", "locked.example", "a", input: "v")
        #expect(Date().timeIntervalSince(start) < 3)
        #expect(set.status == 69, "\(set.stderr)")
        #expect(set.stderr.contains("KeePassXC: open KeePassXC and unlock the database"), "\(set.stderr)")
        #expect(!FileManager.default.fileExists(atPath: keepass.bus.root.path + "/vault/credentials.json"))
        let doctor = try JSONParser.parse(try cli.run("doctor", "--json").stdout)
        let provider = doctor["checks"]?.arrayValue?.first { $0["name"]?.stringValue == "secret_service.provider" }
        #expect(provider?["value"]?.stringValue?.hasPrefix("KeePassXC") == true, "doctor names the provider: \(String(describing: provider))")
        let state = doctor["checks"]?.arrayValue?.first { $0["name"]?.stringValue == "secret_service.default_collection" }
        #expect(state?["next_step"]?.stringValue?.contains("unlock the database in KeePassXC") == true, "advice that fits KeePassXC: \(String(describing: state))")
    }
}
