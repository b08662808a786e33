import CredentialVaultCore
import Foundation
import Testing
import CredentialVaultTestSupport

/// `credvault secret-service` (issue 18) on a private bus with no gnome-keyring, against real
/// clients: secret-tool (libsecret, dh-ietf1024 session), Python keyring and jeepney (a `plain`
/// session), git-credential-libsecret driven by git, and credvault's own secret-service backend.
@Suite("credvault secret-service: the Secret Service on a headless machine", .serialized,
       .enabled(if: Components.present("dbus-run-session", "dbus-send", "secret-tool", "python3", "keyctl")))
struct SecretServiceProviderTests {
    func withProvider(unlocked: Bool = true, _ body: (ProviderHarness) throws -> Void) throws {
        let harness = try ProviderHarness()
        defer { harness.shutdown() }
        try harness.start(unlocked: unlocked)
        try body(harness)
    }

    /// Seconds `work` took.
    func timed<T>(_ work: () throws -> T) rethrows -> (T, Double) {
        let start = Date()
        let result = try work()
        return (result, Date().timeIntervalSince(start))
    }

    @Test("secret-tool store, lookup, search and clear against the provider; the items land encrypted in the .cvstore")
    func secretToolRoundTrip() throws {
        try withProvider { harness in
            let secret = "tool-secret-\(UUID().uuidString)"
            let store = try harness.secretTool(["store", "--label", "Tool item", "service", "tool.example", "username", "alice", "xdg:schema", "org.example.Tool"],
                                               input: secret)
            #expect(store.status == 0, "\(store.stderr) \(harness.log)")
            #expect(try harness.secretTool(["store", "--label", "Other", "service", "tool.example", "username", "bob"], input: "bob-secret").status == 0)
            let lookup = try harness.secretTool(["lookup", "service", "tool.example", "username", "alice"])
            #expect(lookup.status == 0 && lookup.stdoutText == secret, "\(lookup.stderr)")
            let search = try harness.secretTool(["search", "--all", "service", "tool.example"])
            let attributes = try harness.python(["attributes", "username", "alice"])
            #expect(attributes.stdoutText == #"[{"service": "tool.example", "username": "alice", "xdg:schema": "org.example.Tool"}]"# + "\n",
                    "the attributes and the schema as the client wrote them: \(attributes.stdoutText) \(attributes.stderr)")
            #expect(search.stdoutText.contains("label = Tool item") && search.stdoutText.contains("label = Other"), "\(search.stdoutText)")
            #expect(search.stdoutText.contains("secret = \(secret)"), "\(search.stdoutText)")

            let file = try #require(FileManager.default.contents(atPath: harness.store))
            for plaintext in [secret, "bob-secret", "tool.example", "Tool item", "org.example.Tool"] {
                #expect(file.range(of: Data(plaintext.utf8)) == nil, "\(plaintext) is in the store file in the clear")
            }
            #expect(!FileManager.default.fileExists(atPath: harness.vault + "/credentials.json"), "no plaintext store beside it")

            let clear = try harness.secretTool(["clear", "service", "tool.example", "username", "alice"])
            #expect(clear.status == 0, "\(clear.stderr)")
            #expect(try harness.secretTool(["lookup", "service", "tool.example", "username", "alice"]).status == 1, "cleared")
            #expect(try harness.secretTool(["lookup", "service", "tool.example", "username", "bob"]).stdoutText == "bob-secret", "the other item stays")
        }
    }

    @Test("Python keyring (SecretStorage, dh-ietf1024 session) sets, gets and deletes; jeepney with a plain session creates, reads and deletes")
    func pythonClients() throws {
        try withProvider { harness in
            let roundTrip = try harness.python(["keyring-roundtrip", "py.example", "carol", "python-secret-\(UUID().uuidString)"])
            #expect(roundTrip.status == 0 && roundTrip.stdoutText == "ok\n", "\(roundTrip.stdoutText) \(roundTrip.stderr) \(harness.log)")
            let plain = try harness.python(["plain-roundtrip", "Plain item", "plain-secret-\(UUID().uuidString)"])
            #expect(plain.status == 0 && plain.stdoutText == "ok plain\n", "\(plain.stdoutText) \(plain.stderr) \(harness.log)")
            // What one client stores, another reads: keyring's item through secret-tool.
            #expect(try harness.python(["keyring-get", "py.example", "carol"]).stdoutText == "", "deleted by the round trip")
            #expect(try harness.secretTool(["store", "--label", "x", "service", "shared.example", "username", "dave"], input: "shared-secret").status == 0)
            #expect(try harness.python(["keyring-get", "shared.example", "dave"]).stdoutText == "shared-secret")
        }
    }

    @Test("the rest of the API and hostile calls, from two jeepney connections: one collection, aliases, wrong signatures and types, foreign and closed sessions, unknown objects")
    func apiAndHostileCalls() throws {
        try withProvider { harness in
            let checks = try harness.python(["api-checks"])
            #expect(checks.status == 0, "\(checks.stdoutText) \(checks.stderr) \(harness.log)")
            #expect(checks.stdoutText.contains("another client's session: error org.freedesktop.Secret.Error.NoSession"), "\(checks.stdoutText)")
        }
    }

    @Test("another user: refused by the session bus itself; on a bus misconfigured to let every user in, refused by the provider (AccessDenied) without learning anything",
          .enabled(if: Components.rootOrRequired && Components.present("setpriv")))
    func otherUsersRefused() throws {
        for misconfigured in [false, true] {
            let harness = try ProviderHarness(allowOtherUsers: misconfigured)
            defer { harness.shutdown() }
            try harness.start()
            #expect(try harness.secretTool(["store", "--label", "x", "service", "neighbour.example", "username", "lee"], input: "lee-secret").status == 0)
            // nobody (65534), with nothing of root's: asks for every item.
            let call = try ProcessRunner.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "dbus-send",
                                                                  "--bus=\(harness.bus.address)", "--print-reply", "--dest=org.freedesktop.secrets",
                                                                  "/org/freedesktop/secrets", "org.freedesktop.Secret.Service.SearchItems",
                                                                  "dict:string:string:service,neighbour.example"],
                                             environment: ["PATH": "/usr/bin:/bin", "HOME": "/nonexistent"], timeout: 20)
            #expect(call.status != 0 && !call.stdoutText.contains("/org/freedesktop/secrets/collection"), "\(call.stdoutText) \(call.stderr)")
            if misconfigured {
                #expect(call.stderr.contains("org.freedesktop.DBus.Error.AccessDenied") && call.stderr.contains("only the session bus's own user"),
                        "the provider refused it: \(call.stderr)")
                #expect(harness.log.contains("refused a call from"), "\(harness.log)")
            } else {
                #expect(!harness.log.contains("refused a call from"), "the bus refused the connection before any call reached the provider: \(call.stderr)")
            }
        }
    }

    @Test("ItemCreated, ItemChanged and ItemDeleted reach a client watching the collection")
    func changeSignals() throws {
        try withProvider { harness in
            let output = harness.bus.root.path + "/signals"
            let watcher = try ServiceProcess("watcher", ["/usr/bin/python3", Repository.root + "/Tests/support/secret_service_client.py", "watch", "3"],
                                             environment: harness.environment, readiness: .when(poll: 0.01) { _ in
                                                 (try? String(contentsOfFile: output, encoding: .utf8))?.hasPrefix("ready") == true
                                             }, log: output, timeout: 20)
            defer { watcher.stop(SIGKILL, grace: 0) }
            #expect(try harness.secretTool(["store", "--label", "watched", "service", "signal.example", "username", "kim"], input: "one").status == 0)
            #expect(try harness.secretTool(["store", "--label", "watched", "service", "signal.example", "username", "kim"], input: "two").status == 0)
            #expect(try harness.secretTool(["clear", "service", "signal.example", "username", "kim"]).status == 0)
            #expect(try waitUntil(seconds: 10) { !watcher.isRunning }, "three signals arrived")
            let lines = (try String(contentsOfFile: output, encoding: .utf8)).split(separator: "\n").dropFirst()
            let members = lines.map { $0.split(separator: " ").first.map(String.init) ?? "" }
            #expect(members == ["ItemCreated", "ItemChanged", "ItemDeleted"], "\(lines)")
            #expect(Set(lines.map { $0.split(separator: " ").last.map(String.init) ?? "" }).count == 1, "one item throughout: \(lines)")
        }
    }

    @Test("git-credential-libsecret, built from git's own source and driven by git credential approve/fill/reject, keeps git's item in the provider")
    func gitCredentialLibsecret() throws {
        try withProvider { harness in
            let git = harness.gitCredential
            let password = "git-token-\(UUID().uuidString)"
            let approve = try git("approve", "protocol=https\nhost=git.example\nusername=ivy\npassword=\(password)\n\n")
            #expect(approve.status == 0, "\(approve.stderr) \(harness.log)")
            let fill = try git("fill", "protocol=https\nhost=git.example\nusername=ivy\n\n")
            #expect(fill.status == 0 && fill.stdoutText.contains("password=\(password)\n"), "\(fill.stdoutText) \(fill.stderr)")
            let attributes = try harness.python(["attributes", "server", "git.example"])
            #expect(attributes.stdoutText.contains(#""xdg:schema": "org.gnome.keyring.NetworkPassword""#), "the schema git 2.39 writes is kept: \(attributes.stdoutText)")
            let reject = try git("reject", "protocol=https\nhost=git.example\nusername=ivy\npassword=\(password)\n\n")
            #expect(reject.status == 0, "\(reject.stderr)")
            let after = try git("fill", "protocol=https\nhost=git.example\nusername=ivy\n\n")
            #expect(after.status != 0 && !after.stdoutText.contains(password), "erased: \(after.stdoutText) \(after.stderr)")
        }
    }

    @Test("credvault's own secret-service backend stores and reads through the provider; secret-tool sees its item")
    func credvaultBackend() throws {
        try withProvider { harness in
            let keyring = ["CREDVAULT_BACKEND": "secret-service"]
            let set = try harness.cli.run(["set", "own.example", "erin"], input: Array("own-secret".utf8), extra: keyring)
            #expect(set.status == 0, "\(set.stderr) \(harness.log)")
            let get = try harness.cli.run(["get", "own.example", "erin"], extra: keyring)
            #expect(get.status == 0 && get.stdoutText == "own-secret", "\(get.stderr)")
            #expect(try harness.secretTool(["lookup", "service", "own.example", "username", "erin"]).stdoutText == "own-secret")
            let doctor = try harness.cli.run(["doctor"], extra: keyring)
            #expect(doctor.stdoutText.contains("credvault secret-service (pid \(harness.provider?.pid ?? 0))"), "doctor names the provider: \(doctor.stdoutText)")
            #expect(doctor.stdoutText.contains("secret_service.credvault_store") && doctor.stdoutText.contains(harness.store + " (unlocked)"), "\(doctor.stdoutText)")
            let backends = try harness.cli.run(["backends"], extra: keyring)
            #expect(backends.status == 0 && backends.stdoutText.contains("secret-service: served by `credvault secret-service` from \(harness.store) (unlocked)"),
                    "\(backends.stdoutText)")
            let backendsJSON = try JSONParser.parse(try harness.cli.run(["backends", "--json"], extra: keyring).stdout)
            #expect(backendsJSON["secret_service_provider"] == .object(["store": .string(harness.store), "locked": .bool(false)]), "\(backendsJSON)")
            #expect(try harness.cli.run(["delete", "own.example", "erin"], extra: keyring).status == 0)
            #expect(try harness.secretTool(["lookup", "service", "own.example", "username", "erin"]).status == 1)
        }
    }

    @Test("a locked provider makes secret-tool, Python keyring, git-credential-libsecret and credvault fail within 3 s; `credvault unlock` unlocks it while it runs, `credvault lock` locks it again")
    func lockedProvider() throws {
        let harness = try ProviderHarness()
        defer { harness.shutdown() }
        // Items written while unlocked, then a provider that starts locked.
        try harness.start(unlocked: true)
        #expect(try harness.secretTool(["store", "--label", "x", "service", "locked.example", "username", "frank"], input: "frank-secret").status == 0)
        #expect(try harness.gitCredential("approve", "protocol=https\nhost=locked.example\nusername=frank\npassword=git-frank\n\n").status == 0)
        harness.provider?.stop(SIGTERM, grace: 5)
        try harness.start(unlocked: false)
        #expect(harness.log.contains("locked until `credvault unlock`"), "\(harness.log)")

        func expectAllFail(_ when: String) throws {
            let (lookup, lookupSeconds) = try timed { try harness.secretTool(["lookup", "service", "locked.example", "username", "frank"]) }
            #expect(lookup.status != 0 && lookup.stdoutText.isEmpty && lookupSeconds < 3, "\(when): secret-tool lookup \(lookup.status) in \(lookupSeconds) s")
            let (store, storeSeconds) = try timed { try harness.secretTool(["store", "--label", "y", "service", "locked.example", "username", "gina"], input: "g") }
            #expect(store.status != 0 && storeSeconds < 3 && store.stderr.contains("locked"), "\(when): secret-tool store \(store.status) in \(storeSeconds) s: \(store.stderr)")
            let (python, pythonSeconds) = try timed { try harness.python(["keyring-get", "locked.example", "frank"]) }
            #expect(python.status == 3 && python.stderr.contains("KeyringLocked") && pythonSeconds < 3, "\(when): keyring \(python.status) in \(pythonSeconds) s: \(python.stderr)")
            let (own, ownSeconds) = try timed { try harness.cli.run(["get", "locked.example", "frank"], extra: ["CREDVAULT_BACKEND": "secret-service"]) }
            #expect(own.status != 0 && own.stdout.isEmpty && ownSeconds < 3, "\(when): credvault get \(own.status) in \(ownSeconds) s: \(own.stderr)")
            let (git, gitSeconds) = try timed { try harness.gitCredential("fill", "protocol=https\nhost=locked.example\nusername=frank\n\n") }
            #expect(git.status != 0 && !git.stdoutText.contains("password=") && gitSeconds < 3, "\(when): git credential fill \(git.status) in \(gitSeconds) s: \(git.stderr)")
        }
        try expectAllFail("started locked")

        // `credvault unlock` hands the key to the running provider, even from a process with no
        // session keyring of its own (as an SSH login beside a systemd user unit's provider):
        // the kernel keyring cannot keep it then, and says so.
        let unlock = try harness.cli.run(["unlock", "--passphrase-file", harness.passphraseFile, "--json"])
        #expect(unlock.status == 0, "\(unlock.stderr)")
        let unlocked = try JSONParser.parse(unlock.stdout)
        #expect(unlocked["provider_unlocked"] == .bool(true) && unlocked["until"] == .null, "\(unlock.stdoutText)")
        #expect(unlock.stderr.contains("the key was not cached for other commands"), "\(unlock.stderr)")
        #expect(try harness.secretTool(["lookup", "service", "locked.example", "username", "frank"]).stdoutText == "frank-secret", "\(harness.log)")
        #expect(try harness.python(["keyring-get", "locked.example", "frank"]).stdoutText == "frank-secret")
        #expect(try harness.gitCredential("fill", "protocol=https\nhost=locked.example\nusername=frank\n\n").stdoutText.contains("password=git-frank\n"))

        let lock = try harness.cli.run(["lock", "--json"])
        let locked = try JSONParser.parse(lock.stdout)["provider_locked"]
        #expect(lock.status == 0 && locked == .bool(true), "\(lock.stdoutText) \(lock.stderr)")
        try expectAllFail("after credvault lock")
        #expect(harness.provider?.isRunning == true)
    }

    @Test("unlocked at start from a systemd credential (CREDENTIALS_DIRECTORY/credvault.passphrase, as LoadCredentialEncrypted= provides it)")
    func systemdCredential() throws {
        let harness = try ProviderHarness()
        defer { harness.shutdown() }
        let credentials = harness.bus.root.path + "/credentials"
        try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        FileManager.default.createFile(atPath: credentials + "/credvault.passphrase", contents: Data(ProviderHarness.passphrase.utf8),
                                       attributes: [.posixPermissions: 0o400])
        try harness.start(unlocked: false, environment: ["CREDENTIALS_DIRECTORY": credentials])
        #expect(harness.log.contains("unlocked from systemd credential \(credentials)/credvault.passphrase"), "\(harness.log)")
        #expect(try harness.secretTool(["store", "--label", "x", "service", "unit.example", "username", "mo"], input: "unit-secret").status == 0)
        #expect(try harness.secretTool(["lookup", "service", "unit.example", "username", "mo"]).stdoutText == "unit-secret")
    }

    @Test("without libgcrypt the provider declines the dh-ietf1024 session (NotSupported), and secret-tool and Python keyring go on with plain")
    func withoutLibgcrypt() throws {
        let harness = try ProviderHarness()
        defer { harness.shutdown() }
        // The dynamic linker finds this unloadable libgcrypt.so.20 first (LD_LIBRARY_PATH).
        let libraries = harness.bus.root.path + "/no-libgcrypt"
        try FileManager.default.createDirectory(atPath: libraries, withIntermediateDirectories: false)
        FileManager.default.createFile(atPath: libraries + "/libgcrypt.so.20", contents: Data("not a library".utf8))
        try harness.start(environment: ["LD_LIBRARY_PATH": libraries])
        #expect(try harness.secretTool(["store", "--label", "x", "service", "plain.example", "username", "ned"], input: "plain-only").status == 0, "\(harness.log)")
        #expect(try harness.secretTool(["lookup", "service", "plain.example", "username", "ned"]).stdoutText == "plain-only")
        #expect(try harness.python(["keyring-get", "plain.example", "ned"]).stdoutText == "plain-only")
        #expect(harness.log.contains("libgcrypt, which the dh-ietf1024 session needs, could not be loaded"), "\(harness.log)")
    }

    @Test("a second provider is refused while one serves, naming it; --replace takes the name over and the first stops; a restart keeps every item")
    func replaceAndRestart() throws {
        let harness = try ProviderHarness()
        defer { harness.shutdown() }
        let first = try harness.start()
        #expect(try harness.secretTool(["store", "--label", "x", "service", "restart.example", "username", "hal"], input: "hal-secret").status == 0)
        let refused = try harness.cli.run(["secret-service"], extra: ["CREDVAULT_PASSPHRASE_FILE": harness.passphraseFile], timeout: 20)
        #expect(refused.status == 69, "\(refused.stderr)")
        #expect(refused.stderr.contains("already served on this session bus by credvault (pid \(first.pid))") && refused.stderr.contains("--replace"), "\(refused.stderr)")

        try harness.start(arguments: ["--replace"], waitForName: false)
        #expect(try waitUntil(seconds: 10) { !first.isRunning }, "the first provider stops when its name is taken")
        #expect((try? String(contentsOfFile: first.log, encoding: .utf8))?.contains("took org.freedesktop.secrets over") == true)
        #expect(try waitUntil(seconds: 10) { try harness.secretTool(["lookup", "service", "restart.example", "username", "hal"]).stdoutText == "hal-secret" },
                "the new provider serves the same store: \(harness.log)")
    }

    /// Every item with `test=<value>`, label to secret, as SecretStorage reads them.
    func secrets(_ harness: ProviderHarness, _ value: String) throws -> [String: String] {
        let output = try harness.python(["secrets", "test", value])
        try #require(output.status == 0, "\(output.stderr)")
        let document = try JSONParser.parse(output.stdout)
        var result: [String: String] = [:]
        for (label, secret) in document.objectValue ?? [:] { result[label] = secret.stringValue }
        return result
    }

    @Test("8 secret-tool processes storing 50 items each at once: all 400 are there, each with its own secret")
    func concurrentClients() throws {
        try withProvider { harness in
            // Each process stores its 50 items one after the other; the 8 run at once.
            let script = """
                for p in 1 2 3 4 5 6 7 8; do
                  ( for i in $(seq 1 50); do
                      printf 'secret-%s-%s' "$p" "$i" | secret-tool store --label "item $p $i" test concurrency process "$p" item "$i" || exit 1
                    done ) &
                  pids="$pids $!"
                done
                failed=0
                for pid in $pids; do wait "$pid" || failed=1; done
                exit $failed
                """
            let (run, seconds) = try timed { try ProcessRunner.run("/bin/sh", ["-c", script], environment: harness.environment, timeout: 300) }
            #expect(run.status == 0, "a store failed: \(run.stderr) \(harness.log)")
            let stored = try secrets(harness, "concurrency")
            #expect(stored.count == 400, "\(stored.count) of 400 items after \(seconds) s")
            for p in 1...8 {
                for i in 1...50 where stored["item \(p) \(i)"] != "secret-\(p)-\(i)" {
                    Issue.record("item \(p) \(i): \(stored["item \(p) \(i)"] ?? "missing")")
                }
            }
        }
    }

    @Test("SIGKILL of the provider while clients write, three times: each restart opens the store, with every acknowledged item and its secret")
    func killedMidWrite() throws {
        let harness = try ProviderHarness()
        defer { harness.shutdown() }
        try harness.start()
        // A store of 300 items, so each write takes a while (the whole store is sealed again).
        let fill = try ProcessRunner.run("/bin/sh", ["-c", "for i in $(seq 1 300); do printf 'base-%s' $i | secret-tool store --label \"base $i\" test base item $i || exit 1; done"],
                                         environment: harness.environment, timeout: 300)
        try #require(fill.status == 0, "\(fill.stderr)")
        var acknowledged: [String: String] = [:]
        var killedWhileWriting = 0
        for round in 1...3 {
            // Four writers at once keep the provider writing nearly all the time; each logs
            // the items the provider acknowledged (secret-tool exited 0).
            let log = harness.bus.root.path + "/acknowledged-\(round)"
            let writers = try (1...4).map { writer in
                try ServiceProcess("writer-\(round)-\(writer)", ["/bin/sh", "-c", """
                    i=0
                    while true; do
                      i=$((i+1))
                      printf 'kill-%s-%s' \(round)-\(writer) $i | secret-tool store --label "kill \(round)-\(writer) $i" test kill round \(round)-\(writer) item $i || exit 0
                      echo "kill \(round)-\(writer) $i" >> '\(log)'
                    done
                    """], environment: harness.environment)
            }
            _ = try waitUntil(seconds: 120) { ((try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").count ?? 0) >= 8 }
            // Killed while the provider writes a new version of the store.
            if writing(harness) { killedWhileWriting += 1 }
            harness.provider?.stop(SIGKILL, grace: 0)
            for writer in writers { _ = try waitUntil(seconds: 20) { !writer.isRunning } }
            for line in (try String(contentsOfFile: log, encoding: .utf8)).split(separator: "\n") {
                let parts = line.split(separator: " ")
                acknowledged[String(line)] = "kill-\(parts[1])-\(parts[2])"
            }
            try harness.start()
            let stored = try secrets(harness, "kill")
            for (label, secret) in acknowledged where stored[label] != secret {
                Issue.record("round \(round): \(label) was acknowledged before the kill but reads \(stored[label] ?? "missing")")
            }
            #expect(stored.count <= acknowledged.count + 4 * round, "at most the writes in flight at each kill are there unacknowledged")
            #expect(try secrets(harness, "base").count == 300, "round \(round): the older items are all there")
        }
        #expect(killedWhileWriting >= 2, "\(killedWhileWriting) of 3 kills landed while a new version of the store was being written")
        #expect(!FileManager.default.fileExists(atPath: harness.vault + "/credentials.json"))
    }

    /// Waits until the provider is writing a new version of the store (its temporary file
    /// exists, or the store shrank, as a writer that truncated it in place would make it);
    /// true when seen within 10 s.
    func writing(_ harness: ProviderHarness) -> Bool {
        func size() -> Int { (try? FileManager.default.attributesOfItem(atPath: harness.store)[.size] as? Int) ?? 0 }
        var last = size()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let entries = try? FileManager.default.contentsOfDirectory(atPath: harness.vault),
               entries.contains(where: { $0.hasPrefix(".credentials.cvstore.") }) { return true }
            let now = size()
            if now < last { return true }
            last = now
        }
        return false
    }
}
