import CredentialVault
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
import CredentialVaultTestSupport
#endif

/// The password-protected file store: `password set/change/clear/status`, unlock sources,
/// wrong passwords, tampering, header bounds, crashes and concurrent writers.
@Suite("Password-protected file store", .serialized)
struct PasswordGateTests {
    struct Fixture {
        let root: TemporaryDirectory
        let cli: CLI
        var vault: String { root.path + "/vault" }
        var store: String { vault + "/credentials.cvstore" }
        var plain: String { vault + "/credentials.json" }
        /// A 0600 passphrase file.
        func passphrase(_ name: String, _ text: String, mode: mode_t = 0o600) -> String {
            let path = root.path + "/" + name
            FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: Int(mode)])
            return path
        }
        func with(_ passphraseFile: String) -> [String: String] { ["CREDVAULT_PASSPHRASE_FILE": passphraseFile] }
    }

    func fixture() throws -> Fixture {
        let root = try TemporaryDirectory()
        return Fixture(root: root, cli: CLI(home: root.path, environment: ["CREDVAULT_HOME": root.path + "/vault"]))
    }

    func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    @Test("unlock --for: a duration past 7 days, however many digits, is refused with 64 naming the value (it was an arithmetic-overflow crash)")
    func unlockDurationRange() throws {
        let root = try TemporaryDirectory(); defer { root.remove() }
        let cli = CLI(home: root.path, environment: ["CREDVAULT_HOME": root.path + "/vault"])
        for value in ["100000000000000000000", "999999999999999999h", "9223372036854775807s", "8d", "169h", "0", "1x"] {
            let output = try cli.run("unlock", "--for", value)
            #expect(output.status == 64, "--for \(value): \(output.status) \(output.stderr.prefix(300))")
            #expect(output.stderr.contains(value), "--for \(value): \(output.stderr.prefix(300))")
        }
        // Issue 17 item 11: the help shows the default as it is typed, not a Swift value.
        let help = try cli.run("unlock", "--help").stdoutText
        #expect(help.contains("(default: 15m)"), "\(help)")
        #expect(!help.contains("DurationArgument"), "\(help)")
    }

    @Test("issue 17 item 9: a bundle restored onto a machine with a password-protected store lands in the encrypted store; locked, it is refused and nothing is written")
    func restoreIntoProtectedStore() throws {
        let f = try fixture(); defer { f.root.remove() }
        // The old machine: a plaintext store, exported.
        let old = CLI(home: f.root.path, environment: ["CREDVAULT_HOME": f.root.path + "/old", "CREDVAULT_BACKEND": "file"])
        #expect(try old.run("set", "svc", "alice", input: "restored-marker-7").status == 0)
        let backup = f.passphrase("backup", "backup passphrase 0007")
        #expect(try old.run(["password", "export", "--kdf", "interactive", "--out", f.root.path + "/b.cvb", "--passphrase-file", backup]).status == 0)
        // The new machine: a password set before anything was stored.
        let store = f.passphrase("store", "store passphrase 0007")
        #expect(try f.cli.run("password", "set", "--passphrase-file", store).status == 0)
        let before = try #require(bytes(f.store))

        let locked = try f.cli.run(["password", "import", f.root.path + "/b.cvb", "--passphrase-file", backup])
        #expect(locked.status == 69, "no unlock source: refused, \(locked.stderr)")
        #expect(bytes(f.store) == before && !FileManager.default.fileExists(atPath: f.plain), "nothing was written")

        let restored = try f.cli.run(["password", "import", f.root.path + "/b.cvb", "--passphrase-file", backup], extra: f.with(store))
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(restored.stderr.contains("into encrypted-file"), "\(restored.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.plain), "no plaintext store appeared")
        for name in try FileManager.default.contentsOfDirectory(atPath: f.vault) {
            #expect(bytes(f.vault + "/" + name)?.range(of: Data("restored-marker-7".utf8)) == nil, "\(name) holds the secret in plaintext")
        }
        #expect(try f.cli.run(["get", "svc", "alice"], extra: f.with(store)).stdoutText == "restored-marker-7")
    }

    @Test("hints name the app's own command: password set on a protected store is refused before any passphrase is asked, naming `credvault --app NAME password change`")
    func hintsNameTheApp() throws {
        let root = try TemporaryDirectory(); defer { root.remove() }
        let cli = CLI(home: root.path, environment: ["SKILLMEAT_HOME": root.path + "/vault"])
        let path = root.path + "/pw"
        FileManager.default.createFile(atPath: path, contents: Data("skillmeat passphrase 1".utf8), attributes: [.posixPermissions: 0o600])
        #expect(try cli.run("--app", "skillmeat", "password", "set", "--passphrase-file", path).status == 0)
        // No passphrase source at all: the old code asked for one first and refused for want of it.
        let again = try cli.run("--app", "skillmeat", "password", "set")
        #expect(again.status == 64, "\(again.stderr)")
        #expect(again.stderr.contains("already set") && again.stderr.contains("`credvault --app skillmeat password change`"), "\(again.stderr)")
        let status = try cli.run("--app", "skillmeat", "password", "status")
        #expect(status.stdoutText.contains("`credvault --app skillmeat unlock` fills it"), "\(status.stdoutText)")
        let locked = try cli.run("--app", "skillmeat", "get", "s", "a")
        #expect(locked.status == 69 && locked.stderr.contains("`credvault --app skillmeat unlock`"), "\(locked.stderr)")
    }

    @Test("set → use → change → clear round trip; the encrypted file holds no plaintext; selection picks encrypted-file")
    func roundTrip() throws {
        let f = try fixture(); defer { f.root.remove() }
        let first = f.passphrase("first", "first passphrase 0001\n"), second = f.passphrase("second", "second passphrase 0002")
        #expect(try f.cli.run("set", "svc", "alice", input: "plaintext-marker-1").status == 0)
        let set = try f.cli.run("password", "set", "--passphrase-file", first)
        #expect(set.status == 0, "\(set.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.plain), "the plaintext store is gone")
        let sealed = try #require(bytes(f.store))
        #expect(sealed.prefix(8) == Data("CVSTORE1".utf8))
        #expect(sealed.range(of: Data("plaintext-marker-1".utf8)) == nil && sealed.range(of: Data("svc".utf8)) == nil)
        #expect(try f.cli.run(["get", "svc", "alice"], extra: f.with(first)).stdoutText == "plaintext-marker-1")
        #expect(try f.cli.run(["set", "svc", "bob"], input: Array("second-secret".utf8), extra: f.with(first)).status == 0)
        let backends = try JSONParser.parse(try f.cli.run(["backends", "--json"], extra: f.with(first)).stdout)
        #expect(backends["selection"]?["backend"] == .string("encrypted-file"))
        let status = try JSONParser.parse(try f.cli.run(["password", "status", "--json"], extra: f.with(first)).stdout)
        #expect(status["enabled"] == .bool(true))
        #expect(status["kdf"]?["memlimit"] == .number(64 * 1024 * 1024))
        #expect(status["unlock_source"] == .string("passphrase file \(first)"))

        let bodyBefore = try #require(bytes(f.store)).dropFirst(112)
        let change = try f.cli.run(["password", "change", "--new-passphrase-file", second], extra: f.with(first))
        #expect(change.status == 0, "\(change.stderr)")
        #expect(try #require(bytes(f.store)).dropFirst(112) == bodyBefore, "changing the password rewraps the key only")
        #expect(try f.cli.run(["get", "svc", "bob"], extra: f.with(first)).status == 77)
        #expect(try f.cli.run(["get", "svc", "bob"], extra: f.with(second)).stdoutText == "second-secret")

        #expect(try f.cli.run(["password", "clear"], extra: f.with(second)).status == 64, "clear needs confirmation (or --yes) off a terminal")
        let clear = try f.cli.run(["password", "clear", "--yes"], extra: f.with(second))
        #expect(clear.status == 0, "\(clear.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.store))
        #expect(try f.cli.run("get", "svc", "bob").stdoutText == "second-secret")
        #expect(try f.cli.run("get", "svc", "alice").stdoutText == "plaintext-marker-1")
    }

    @Test("wrong password 77, tampered body 65, hostile header 65, loose passphrase file 77, no source 69; nothing written")
    func faults() throws {
        let f = try fixture(); defer { f.root.remove() }
        let right = f.passphrase("right", "the right passphrase"), wrong = f.passphrase("wrong", "not the passphrase!!")
        #expect(try f.cli.run("password", "set", "--passphrase-file", right).status == 0)
        #expect(try f.cli.run(["set", "svc", "a"], input: Array("value".utf8), extra: f.with(right)).status == 0)
        let original = try #require(bytes(f.store))

        let denied = try f.cli.run(["set", "svc", "b"], input: Array("x".utf8), extra: f.with(wrong))
        #expect(denied.status == 77)
        #expect(denied.stderr.contains("wrong password"))
        #expect(bytes(f.store) == original)

        var tampered = original
        tampered[tampered.count - 1] ^= 0x01
        try tampered.write(to: URL(fileURLWithPath: f.store))
        let modified = try f.cli.run(["get", "svc", "a"], extra: f.with(right))
        #expect(modified.status == 65)
        #expect(modified.stderr.contains("was modified"))
        #expect(bytes(f.store) == tampered, "left unchanged")

        var hostile = original
        hostile[12] = 0xff // opslimit far beyond 16
        try hostile.write(to: URL(fileURLWithPath: f.store))
        let bounded = try f.cli.run(["get", "svc", "a"], extra: f.with(right))
        #expect(bounded.status == 65)
        #expect(bounded.stderr.contains("opslimit") && bounded.stderr.contains("outside 1...16"))
        try original.write(to: URL(fileURLWithPath: f.store))

        let loose = f.passphrase("loose", "the right passphrase", mode: 0o644)
        let refused = try f.cli.run(["get", "svc", "a"], extra: f.with(loose))
        #expect(refused.status == 77)
        #expect(refused.stderr.contains("chmod 600"))

        // A descriptor number is a source too (<APP>_PASSPHRASE_FD, or --passphrase-fd on `password` verbs).
        let viaDescriptor = try ProcessRunner.run("/bin/sh", ["-c", "\(CLI.executable) get svc a 3< '\(right)'"],
                                                  environment: f.cli.environment.merging(["CREDVAULT_PASSPHRASE_FD": "3"]) { $1 }, input: [], timeout: 30)
        #expect(viaDescriptor.stdoutText == "value", "\(viaDescriptor.stderr)")
        let doctor = try JSONParser.parse(try f.cli.run(["doctor", "--json"], extra: f.with(right)).stdout)
        #expect(doctor["checks"]?.arrayValue?.contains { $0["name"] == .string("encrypted-file.unlock") && $0["value"] == .string("passphrase file \(right)") } == true,
                "doctor names the unlock source")

        let locked = try f.cli.run("get", "svc", "a")
        #expect(locked.status == 69)
        #expect(locked.stderr.contains("is locked") && locked.stderr.contains("CREDVAULT_PASSPHRASE_FILE"))
        #expect(try f.cli.run("--backend", "file", "get", "svc", "a").status == 69, "the plaintext backend never reads around the gate")
        #expect(bytes(f.store) == original)
    }

    @Test("issue 17 item 13: a changed .cvstore gets the exit status docs/FORMAT.md gives for the bytes changed (65 before any key derivation, 77 wrong password, 65 was modified)")
    func headerTamperRule() throws {
        let f = try fixture(); defer { f.root.remove() }
        let right = f.passphrase("right", "the right passphrase")
        #expect(try f.cli.run(["set", "svc", "a"], input: Array("value".utf8)).status == 0)
        #expect(try f.cli.run("password", "set", "--kdf", "interactive", "--passphrase-file", right).status == 0)
        let original = try #require(bytes(f.store))
        try #require(original.count > 152)
        // (offset, XOR mask, expected exit status, words the message has), from the table in docs/FORMAT.md.
        let wrong = (77, "wrong password"), early = (65, "not a readable password-protected store"), modified = (65, "was modified")
        var cases: [(Int, UInt8, (Int, String))] = []
        cases += (0...10).map { ($0, 0x01, early) }                        // magic, version, KDF id
        cases += [(11, 0x02, early), (11, 0x80, early), (11, 0x01, wrong)] // flags: unknown bits, bit 0
        cases += [(12, 0x01, early), (15, 0x01, wrong), (15, 0x10, early)] // opslimit 2 → 0x01000002, 3, 18
        cases += [(16, 0x01, early), (19, 0x80, early), (21, 0x01, wrong), (23, 0x01, wrong)] // memlimit
        cases += [24, 39, 40, 63, 64, 111].map { ($0, 0x01, wrong) }      // salt, wrap nonce, wrapped key
        cases += [112, 135, 136, original.count - 1].map { ($0, 0x01, modified) } // body nonce, body
        for (offset, mask, (status, words)) in cases {
            var changed = original
            changed[offset] ^= mask
            try changed.write(to: URL(fileURLWithPath: f.store))
            let output = try f.cli.run(["get", "svc", "a"], extra: f.with(right))
            #expect(output.status == Int32(status) && output.stderr.contains(words),
                    "byte \(offset) ^ \(mask): \(output.status) \(output.stderr.prefix(160))")
            #expect(bytes(f.store) == changed, "left as it was")
        }
        for length in [0, 8, 63, 135, 151] {
            try original.prefix(length).write(to: URL(fileURLWithPath: f.store))
            let output = try f.cli.run(["get", "svc", "a"], extra: f.with(right))
            #expect(output.status == 65 && output.stderr.contains("not a readable password-protected store"), "\(length) bytes: \(output.status) \(output.stderr.prefix(160))")
        }
        try original.write(to: URL(fileURLWithPath: f.store))
        #expect(try f.cli.run(["get", "svc", "a"], extra: f.with(right)).stdoutText == "value")
    }

    @Test("systemd credentials: $CREDENTIALS_DIRECTORY/credvault.passphrase unlocks the store")
    func systemdCredentials() throws {
        let f = try fixture(); defer { f.root.remove() }
        let credentials = f.root.path + "/credentials"
        try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        FileManager.default.createFile(atPath: credentials + "/credvault.passphrase", contents: Data("systemd passphrase 01".utf8),
                                       attributes: [.posixPermissions: 0o400])
        let environment = ["CREDENTIALS_DIRECTORY": credentials]
        #expect(try f.cli.run(["password", "set"], extra: environment).status == 0, "the new passphrase may come from the same sources")
        #expect(try f.cli.run(["set", "svc", "a"], input: Array("from-unit".utf8), extra: environment).status == 0)
        #expect(try f.cli.run(["get", "svc", "a"], extra: environment).stdoutText == "from-unit")
        let status = try JSONParser.parse(try f.cli.run(["password", "status", "--json"], extra: environment).stdout)
        #expect(status["unlock_source"] == .string("systemd credential \(credentials)/credvault.passphrase"))
    }

    @Test("kill -9 during set, change or clear, 50 times: the store always opens with the old or the new password")
    func crashes() throws {
        let f = try fixture(); defer { f.root.remove() }
        let passwords = [f.passphrase("p0", "crash passphrase zero"), f.passphrase("p1", "crash passphrase one!")]
        #expect(try f.cli.run("set", "svc", "keep", input: "survives every crash").status == 0)
        var current: Int? = nil // nil: plaintext
        let null = open("/dev/null", O_RDWR)
        defer { close(null) }
        for round in 0..<50 {
            let arguments: [String]
            var environment: [String: String] = [:]
            switch (current, round % 3) {
            case (nil, _): arguments = ["password", "set", "--passphrase-file", passwords[round % 2]]
            case (let index?, 2): arguments = ["password", "clear", "--yes"]; environment = f.with(passwords[index])
            case (let index?, _): arguments = ["password", "change", "--new-passphrase-file", passwords[1 - index]]; environment = f.with(passwords[index])
            }
            let child = try ChildProcess.spawn([CLI.executable] + arguments, environment: f.cli.environment.merging(environment) { $1 },
                                               stdin: null, stdout: null, stderr: null)
            usleep(UInt32.random(in: 0...250_000))
            kill(child.pid, SIGKILL)
            _ = child.wait(timeout: 30)
            // The store is plaintext, or opens with one of the two passwords; never neither.
            if FileManager.default.fileExists(atPath: f.store) {
                let opened = try passwords.indices.first { index in
                    try f.cli.run(["get", "svc", "keep"], extra: f.with(passwords[index])).stdoutText == "survives every crash"
                }
                #expect(opened != nil, "round \(round) (\(arguments[1])): the encrypted store opens with neither password")
                current = opened
                if opened == nil { return }
            } else {
                let plain = try f.cli.run("get", "svc", "keep")
                #expect(plain.stdoutText == "survives every crash", "round \(round): \(plain.stderr)")
                current = nil
            }
        }
    }

    @Test("concurrent writers on the encrypted store lose nothing")
    func concurrentWriters() throws {
        let f = try fixture(); defer { f.root.remove() }
        let password = f.passphrase("pw", "concurrency passphrase")
        #expect(try f.cli.run("password", "set", "--passphrase-file", password, "--kdf", "interactive").status == 0)
        let script = (0..<4).map { writer in
            "(for i in $(seq 1 10); do printf v$i | \(CLI.executable) set w\(writer) k$i || exit 1; done) &"
        }.joined(separator: "\n") + "\nwait"
        let output = try ProcessRunner.run("/bin/sh", ["-c", script], environment: f.cli.environment.merging(f.with(password)) { $1 },
                                           input: [], timeout: 120)
        #expect(output.status == 0, "\(output.stderr)")
        let list = try JSONParser.parse(try f.cli.run(["list", "--json"], extra: f.with(password)).stdout)
        #expect(list["items"]?.arrayValue?.count == 40)
    }

    @Test("unlock cache: after `unlock` the next command needs no passphrase; `lock`, the kernel timeout and a password change end it",
          .enabled(if: Components.present("keyctl")))
    func unlockCache() throws {
        let f = try fixture(); defer { f.root.remove() }
        let password = f.passphrase("pw", "unlock cache passphrase"), next = f.passphrase("next", "the next passphrase!")
        #expect(try f.cli.run("password", "set", "--passphrase-file", password).status == 0)
        #expect(try f.cli.run(["set", "svc", "a"], input: Array("cached-value".utf8), extra: f.with(password)).status == 0)
        // One kernel session keyring for the whole script, as a login session has.
        let script = """
            cv=\(CLI.executable)
            $cv get svc a 2>/dev/null; echo " before=$?"
            $cv unlock --for 60s --passphrase-file \(password) >/dev/null; echo " unlock=$?"
            $cv get svc a; echo " cached=$?"
            $cv password status --json | grep -q '"cached":true'; echo " status=$?"
            $cv lock >/dev/null; $cv get svc a 2>/dev/null; echo " locked=$?"
            $cv unlock --for 1s --passphrase-file \(password) >/dev/null; sleep 2.5; $cv get svc a 2>/dev/null; echo " expired=$?"
            $cv unlock --for 60s --passphrase-file \(password) >/dev/null
            $cv password change --passphrase-file \(password) --new-passphrase-file \(next) >/dev/null; $cv get svc a 2>/dev/null; echo " changed=$?"
            """
        let output = try ProcessRunner.run("keyctl", ["session", "-", "/bin/sh", "-c", script], environment: f.cli.environment, input: [], timeout: 60)
        let text = output.stdoutText
        #expect(text.contains(" before=69"), "locked without a source: \(text) \(output.stderr)")
        #expect(text.contains(" unlock=0"))
        #expect(text.contains("cached-value cached=0"), "no passphrase source, so only the cached key can have opened it: \(text)")
        #expect(text.contains(" status=0"))
        #expect(text.contains(" locked=69"))
        #expect(text.contains(" expired=69"), "the kernel timeout ends the cache")
        #expect(text.contains(" changed=69"), "a password change drops the old cache entry")
    }

    @Test("unlock outside a session keyring of its own says so (69) instead of reporting a cache the next command cannot see",
          .enabled(if: Components.present("keyctl")))
    func unlockWithoutSessionKeyring() throws {
        // This process (and so each child) has no session keyring of its own: lookups fall
        // back to the per-user one, as in a container or a session without pam_keyinit.
        let session = try ProcessRunner.run("keyctl", ["rdescribe", "@s"], environment: ProcessInfo.processInfo.environment, input: [], timeout: 10)
        try #require(session.stdoutText.contains("_uid_ses."), "the test needs a process without its own session keyring: \(session.stdoutText)")
        let f = try fixture(); defer { f.root.remove() }
        let password = f.passphrase("pw", "unlock cache passphrase")
        #expect(try f.cli.run("password", "set", "--passphrase-file", password).status == 0)
        #expect(try f.cli.run(["set", "svc", "a"], input: Array("v".utf8), extra: f.with(password)).status == 0)
        let unlock = try f.cli.run("unlock", "--for", "60s", "--passphrase-file", password)
        #expect(unlock.status == 69, "the old code said 0 and the next command was locked: \(unlock.stderr)")
        #expect(unlock.stderr.contains("no session keyring of its own"), "\(unlock.stderr)")
        #expect(unlock.stderr.contains("keyctl session"), "it names a way out: \(unlock.stderr)")
    }

    @Test("the expiry stored with the cached key is checked: `keyctl timeout` cannot extend an unlock",
          .enabled(if: Components.present("keyctl")))
    func unlockExpiryChecked() throws {
        let f = try fixture(); defer { f.root.remove() }
        let password = f.passphrase("pw", "unlock cache passphrase")
        #expect(try f.cli.run("password", "set", "--passphrase-file", password).status == 0)
        #expect(try f.cli.run(["set", "svc", "a"], input: Array("cached-value".utf8), extra: f.with(password)).status == 0)
        // Whoever possesses the key (any process of the session) can raise the kernel's timeout.
        let script = """
            cv=\(CLI.executable)
            $cv unlock --for 1s --passphrase-file \(password) >/dev/null; echo " unlock=$?"
            id=$(keyctl list @s | sed -n 's/^ *\\([0-9][0-9]*\\): .*credvault:store:.*/\\1/p')
            keyctl timeout "$id" 3600; echo " extended=$?"
            sleep 2.5
            keyctl list @s | grep -c credvault:store: | sed 's/^/ kernel-still-has=/'
            $cv get svc a 2>/dev/null; echo " after=$?"
            """
        let output = try ProcessRunner.run("keyctl", ["session", "-", "/bin/sh", "-c", script], environment: f.cli.environment, input: [], timeout: 60)
        let text = output.stdoutText
        #expect(text.contains(" unlock=0"), "\(text) \(output.stderr)")
        #expect(text.contains(" extended=0"), "\(text) \(output.stderr)")
        #expect(text.contains(" kernel-still-has=1"), "the kernel still keeps the key: \(text)")
        #expect(text.contains(" after=69"), "past its stored expiry the key is not used: \(text)")
    }
}
