import CredentialVault
import CredentialVaultCore
import Foundation
import SecretServiceBackend
import Testing
import CredentialVaultTestSupport

/// The CLI against a real gnome-keyring-daemon on its own private bus, per test, with
/// `secret-tool` as the independent client.
@Suite("Secret Service through the CLI", .serialized,
       .enabled(if: Components.present("dbus-run-session", "gnome-keyring-daemon", "secret-tool", "dbus-send")))
struct SecretServiceCLITests {
    func withKeyring(keyring: Bool = true, activation: Bool = true, _ body: (KeyringHarness, CLI) throws -> Void) throws {
        let harness = try KeyringHarness(keyring: keyring, activation: activation)
        defer { harness.shutdown() }
        let cli = CLI(home: harness.root.path + "/home",
                      environment: harness.environment.merging(["CREDVAULT_HOME": harness.root.path + "/vault"]) { $1 })
        try body(harness, cli)
    }

    func backendsDocument(_ cli: CLI, extra: [String: String] = [:]) throws -> (ProcessOutput, JSONValue) {
        let output = try cli.run(["backends", "--json"], extra: extra)
        return (output, try JSONParser.parse(output.stdout))
    }

    @Test("stored by credvault set, read by secret-tool lookup")
    func credvaultToSecretTool() throws {
        try withKeyring { harness, cli in
            let set = try cli.run("set", "interop.example", "alice", input: "from credvault\n")
            #expect(set.status == 0, "\(set.stderr)")
            #expect(!set.stderr.contains("plaintext"), "no fallback warning when the keyring is used: \(set.stderr)")
            let lookup = try harness.secretTool(["lookup", "service", "interop.example", "username", "alice"])
            #expect(lookup.status == 0)
            #expect(lookup.stdoutText == "from credvault")
            let search = try harness.secretTool(["search", "--all", "service", "interop.example"])
            #expect(search.stderr.contains("attribute.application = credvault"), "items carry application=credvault: \(search.stderr)")
            #expect(!FileManager.default.fileExists(atPath: harness.root.path + "/vault/credentials.json"), "nothing may go to the file backend")
        }
    }

    @Test("issue 17 item 12: names are compared as bytes in every backend: NFC and NFD 'café' are two items in the file, a bundle and the keyring, and a migrate moves both")
    func namesAreBytes() throws {
        let nfc = "caf\u{E9}", nfd = "cafe\u{301}"
        try #require(nfc == nfd && Array(nfc.utf8) != Array(nfd.utf8), "Swift calls them equal; their bytes differ")
        try withKeyring { harness, cli in
            let file = ["CREDVAULT_BACKEND": "file"]
            #expect(try cli.run(["set", "svc", nfc], input: Array("composed".utf8), extra: file).status == 0)
            #expect(try cli.run(["set", "svc", nfd], input: Array("decomposed".utf8), extra: file).status == 0)
            #expect(try cli.run(["get", "svc", nfc], extra: file).stdoutText == "composed", "the second set did not overwrite the first")
            #expect(try cli.run(["get", "svc", nfd], extra: file).stdoutText == "decomposed")
            let listed = try JSONParser.parse(try cli.run(["list", "--json"], extra: file).stdout)["items"]?.arrayValue ?? []
            #expect(listed.compactMap { $0["account"]?.stringValue }.map { Array($0.utf8) } == [Array(nfd.utf8), Array(nfc.utf8)],
                    "two items, in byte order (NFD's 0x63 61 66 65 before NFC's 0x63 61 66 C3): \(listed)")

            // A bundle keeps both, and restores both.
            let passphrase = harness.root.path + "/bundle-passphrase"
            FileManager.default.createFile(atPath: passphrase, contents: Data("bundle passphrase 12".utf8), attributes: [.posixPermissions: 0o600])
            let bundle = harness.root.path + "/names.cvb"
            #expect(try cli.run(["password", "export", "--kdf", "interactive", "--out", bundle, "--passphrase-file", passphrase], extra: file).status == 0)
            let verify = try JSONParser.parse(try cli.run(["password", "verify", bundle, "--passphrase-file", passphrase, "--json"]).stdout)
            #expect(verify["items"] == .number(2), "\(verify)")

            // The keyring compares bytes too: a migrate moves two items, no collision.
            let migrate = try cli.run(["migrate", "--from", "file", "--to", "secret-service", "--json"])
            #expect(migrate.status == 0, "\(migrate.stderr)")
            #expect(try JSONParser.parse(migrate.stdout)["written"] == .number(2), "\(migrate.stdoutText)")
            let composed = try harness.secretTool(["lookup", "service", "svc", "username", nfc])
            let search = try harness.secretTool(["search", "--all", "service", "svc"])
            #expect(composed.stdoutText == "composed", "\(composed.stdoutText) \(composed.stderr) \(search.stdoutText) \(search.stderr)")
            #expect(try harness.secretTool(["lookup", "service", "svc", "username", nfd]).stdoutText == "decomposed")
            #expect(try cli.run(["get", "svc", nfd], extra: ["CREDVAULT_BACKEND": "secret-service"]).stdoutText == "decomposed")

            // Deleting one spelling leaves the other.
            #expect(try cli.run(["delete", "svc", nfd], extra: file).status == 0)
            #expect(try cli.run(["get", "svc", nfc], extra: file).stdoutText == "composed")
            #expect(try cli.run(["password", "import", bundle, "--passphrase-file", passphrase, "--on-conflict", "skip"], extra: file).status == 0)
            #expect(try cli.run(["get", "svc", nfd], extra: file).stdoutText == "decomposed", "restored from the bundle")
        }
    }

    @Test("stored by secret-tool store, read by credvault get and listed")
    func secretToolToCredvault() throws {
        try withKeyring { harness, cli in
            let store = try harness.secretTool(["store", "--label=Tool item", "service", "tool.example", "username", "bob"], input: Array("from secret-tool".utf8))
            #expect(store.status == 0, "\(store.stderr)")
            let get = try cli.run("get", "tool.example", "bob")
            #expect(get.status == 0, "\(get.stderr)")
            #expect(get.stdoutText == "from secret-tool")
            // Another program's item: listed only when asked for with --all-apps.
            #expect(try JSONParser.parse(try cli.run("list", "--json", "tool.example").stdout)["items"]?.arrayValue?.isEmpty == true)
            let list = try JSONParser.parse(try cli.run("list", "--json", "--all-apps", "tool.example").stdout)
            #expect(list["backend"]?.stringValue == "secret-service")
            #expect(list["items"]?.arrayValue?.first?["label"]?.stringValue == "Tool item")
            // Overwriting it through credvault leaves one item, visible to secret-tool.
            #expect(try cli.run("set", "tool.example", "bob", input: "replaced").status == 0)
            #expect(try harness.secretTool(["lookup", "service", "tool.example", "username", "bob"]).stdoutText == "replaced")
            #expect(try JSONParser.parse(try cli.run("list", "--json", "tool.example").stdout)["items"]?.arrayValue?.count == 1)
        }
    }

    @Test("no session bus: the file backend is chosen and the reason recorded")
    func noBus() throws {
        let home = try TemporaryDirectory(); defer { home.remove() }
        let cli = CLI(home: home.path, environment: ["CREDVAULT_HOME": home.path + "/vault"])
        let (output, document) = try backendsDocument(cli)
        #expect(output.status == 0)
        #expect(document["selection"]?["backend"]?.stringValue == "file")
        #expect(document["selection"]?["plaintext_fallback"] == .bool(true))
        let secretService = document["backends"]?.arrayValue?.first { $0["name"]?.stringValue == "secret-service" }
        #expect(secretService?["reason"]?.stringValue?.contains("no D-Bus session bus") == true)
        let set = try cli.run("set", "headless", "ci", input: "token")
        #expect(set.status == 0)
        #expect(set.stderr.contains("warning: no keyring is usable"), "the fallback is announced: \(set.stderr)")
        #expect(set.stderr.contains("CREDVAULT_NO_PLAINTEXT_FALLBACK"))
        #expect(try cli.run("--quiet", "set", "headless", "ci2", input: "token").stderr.isEmpty, "--quiet suppresses the notice")
        #expect(try cli.run("get", "headless", "ci").stdoutText == "token")
    }

    @Test("a bus with no Secret Service provider: the reason says so")
    func noProvider() throws {
        try withKeyring(keyring: false, activation: false) { _, cli in
            let (_, document) = try backendsDocument(cli)
            #expect(document["selection"]?["backend"]?.stringValue == "file")
            let reason = document["backends"]?.arrayValue?.first { $0["name"]?.stringValue == "secret-service" }?["reason"]?.stringValue ?? ""
            #expect(reason.contains("no Secret Service provider"), "reason: \(reason)")
        }
    }

    @Test("a locked collection with no display is never replaced by the file: exit 69 quickly; 'backend = file' is the explicit way out")
    func lockedCollection() throws {
        try withKeyring { harness, cli in
            try harness.lockDefaultCollection()
            let start = Date()
            let set = try cli.run("set", "locked.example", "eve", input: "secret")
            let elapsed = Date().timeIntervalSince(start)
            #expect(set.status == 69, "\(set.stderr)")
            #expect(elapsed < 3, "selection took \(elapsed) s")
            #expect(set.stderr.contains("the keyring is locked"), "\(set.stderr)")
            #expect(!FileManager.default.fileExists(atPath: harness.root.path + "/vault/credentials.json"), "a locked keyring must not become the plaintext file")
            #expect(!FileManager.default.fileExists(atPath: harness.root.path + "/vault/home"), "a refused write records no home")

            let explicit = try cli.run("--backend", "secret-service", "get", "locked.example", "eve")
            #expect(explicit.status == 69)
            #expect(explicit.stderr.contains("the keyring is locked"))

            // The person's explicit choice: the app's credentials live in the file.
            try FileManager.default.createDirectory(atPath: harness.root.path + "/vault", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try "backend = file\n".write(toFile: harness.root.path + "/vault/config", atomically: true, encoding: .utf8)
            #expect(try cli.run("set", "locked.example", "eve", input: "secret").status == 0)
            #expect(try cli.run("get", "locked.example", "eve").stdoutText == "secret")
        }
    }

    @Test("a stopped (SIGSTOP) daemon does not hang the CLI and is never replaced by the file")
    func stoppedDaemon() throws {
        try withKeyring { harness, cli in
            #expect(try cli.run("set", "before.stop", "a", input: "x").status == 0)
            harness.stopDaemon()
            defer { harness.continueDaemon() }
            let timeouts = ["CREDVAULT_PROBE_TIMEOUT": "1"]
            var start = Date()
            let automatic = try cli.run(["get", "before.stop", "a"], extra: timeouts, timeout: 20)
            #expect(Date().timeIntervalSince(start) < 5, "selection must give up at the deadline")
            #expect(automatic.status == 75, "the home (the keyring) does not answer: \(automatic.stderr)")
            #expect(automatic.stderr.contains("did not answer within 1 s"), "\(automatic.stderr)")
            #expect(automatic.stderr.contains("Nothing was read from or written to another backend"), "\(automatic.stderr)")

            start = Date()
            let explicit = try cli.run(["--backend", "secret-service", "get", "before.stop", "a"], extra: timeouts, timeout: 20)
            #expect(Date().timeIntervalSince(start) < 5)
            #expect(explicit.status == 75, "\(explicit.stderr)")
            #expect(explicit.stderr.contains("did not answer within 1 s"))
            #expect(!FileManager.default.fileExists(atPath: harness.root.path + "/vault/credentials.json"))
        }
    }

    @Test("GLib and libsecret are loaded only by runs that use the keyring, on first use")
    func loadedOnFirstUse() throws {
        try withKeyring { _, cli in
            #expect(try cli.run("set", "loaded.example", "a", input: "k").status == 0)
            #expect(try cli.run(["--backend", "file", "set", "loaded.example", "a"], input: Array("f".utf8)).status == 0)
            // The dynamic loader reports every library it maps (LD_DEBUG=files), dlopen's included.
            let file = try cli.run(["--backend", "file", "get", "loaded.example", "a"], extra: ["LD_DEBUG": "files"])
            #expect(file.stdoutText == "f")
            #expect(!file.stderr.contains("libglib-2.0") && !file.stderr.contains("libsecret-1"), "a file get maps no GLib: \(file.stderr.prefix(400))")
            let keyring = try cli.run(["get", "loaded.example", "a"], extra: ["LD_DEBUG": "files"])
            #expect(keyring.stdoutText == "k")
            #expect(keyring.stderr.contains("file=libsecret-1.so.0") && keyring.stderr.contains("libglib-2.0"), "the keyring get loads them")
        }
    }

    @Test("a list that takes longer than the deadline completes: the deadline limits each D-Bus call, not the whole list")
    func longList() async throws {
        // In-process libsecret talks to the one bus of this process: the shared keyring.
        let harness = try SharedKeyring.harness.get()
        let service = "long.list.\(UUID().uuidString.prefix(8))"
        let vault = try TemporaryDirectory()
        defer { vault.remove() }
        let context = BackendContext(app: .credvault, environment: ProcessInfo.processInfo.environment.merging(harness.environment) { $1 },
                                     directory: harness.root.path + "/unused", configuration: VaultConfiguration(),
                                     callTimeout: .seconds(10), lockTimeout: .seconds(10))
        let backend = SecretServiceBackend(context: context)
        let cli = CLI(home: vault.path, environment: harness.environment.merging(["CREDVAULT_HOME": vault.path + "/vault"]) { $1 })
        // A deadline of 0.25 s per D-Bus call; items are added until one `list` through the CLI
        // takes more than twice that in all, and it must still succeed with every item.
        let deadline = 0.25
        var count = 0
        var elapsed = 0.0
        while elapsed <= 2 * deadline && count < 4000 {
            for _ in 0..<250 {
                count += 1
                try await backend.store(CredentialItem(key: CredentialKey(service: service, account: "a\(count)"), secret: SecretBytes(utf8: "s\(count)")))
            }
            let start = ContinuousClock.now
            let list = try cli.run(["--backend", "secret-service", "list", "--json", service], extra: ["CREDVAULT_PROBE_TIMEOUT": "\(deadline)"])
            elapsed = (ContinuousClock.now - start).seconds
            #expect(list.status == 0, "\(count) items, deadline \(deadline) s, \(elapsed) s: \(list.stderr)")
            #expect(try JSONParser.parse(list.stdout)["items"]?.arrayValue?.count == count)
        }
        #expect(elapsed > 2 * deadline, "a list of \(count) items took \(elapsed) s: it must outlast the \(deadline) s deadline to prove anything")
    }
}
