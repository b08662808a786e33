import CredentialVault
import CredentialVaultHelpers
import Foundation
import Testing
import CredentialVaultTestSupport

/// git's credential helper protocol: the parser, and real `git` cloning over HTTP with basic
/// auth through `credvault git-credential`, on the file fallback and on a real keyring.
@Suite("git credential helper: protocol")
struct GitCredentialProtocolTests {
    @Test("key=value lines, unknown keys ignored, a blank line ends the description")
    func parsesGitsFormat() throws {
        let input = "protocol=https\r\nhost=example.com:8443\nusername=alice\npassword=p=q\nwwwauth[]=Basic realm=\"x\"\ncapability[]=authtype\npassword_expiry_utc=1700000000\noauth_refresh_token=rt\n\nhost=ignored.example\n"
        let credential = try GitCredential.parse(Array(input.utf8))
        #expect(credential.protocol == "https")
        #expect(credential.host == "example.com:8443")
        #expect(credential.hostName == "example.com")
        #expect(credential.port == 8443)
        #expect(credential.username == "alice")
        #expect(credential.password == SecretBytes(utf8: "p=q"), "only the first '=' splits")
        #expect(credential.passwordExpiryUTC == 1_700_000_000)
        #expect(credential.oauthRefreshToken == SecretBytes(utf8: "rt"))
        #expect(!"\(credential)".contains("p=q") && !"\(credential)".contains("rt,"), "description redacts secrets: \(credential)")
    }

    @Test("url= is split as git does: user, host with port, path without trailing slashes")
    func parsesURL() throws {
        let credential = try GitCredential.parse(Array("url=https://bob%40corp@git.example:444/team/repo.git/\n".utf8))
        #expect(credential.protocol == "https")
        #expect(credential.username == "bob@corp")
        #expect(credential.host == "git.example:444")
        #expect(credential.path == "team/repo.git")
    }

    @Test("a line without '=' or with NUL is refused, naming the line, never its content")
    func refusesBadLines() throws {
        let error = #expect(throws: CredentialVaultError.self) { try GitCredential.parse(Array("protocol=https\nhunter2\n".utf8)) }
        #expect(error?.code == .dataError)
        #expect(error?.message.contains("line 2") == true)
        #expect(error?.message.contains("hunter2") == false)
        #expect(throws: CredentialVaultError.self) { try GitCredential.parse(Array("host=a\0b\n".utf8)) }
    }

    @Test("the reply carries only what is set, in git's key=value form")
    func serializes() throws {
        let reply = GitCredential(username: "alice", password: SecretBytes(utf8: "pw"), passwordExpiryUTC: 42)
        #expect(try reply.serialized().utf8String() == "username=alice\npassword=pw\npassword_expiry_utc=42\n")
        #expect(try GitCredential().serialized().isEmpty)
    }
}

@Suite("git credential helper: storage", .serialized)
struct GitCredentialStorageTests {
    func withCLI(_ body: (CLI, TemporaryDirectory) throws -> Void) throws {
        let home = try TemporaryDirectory(); defer { home.remove() }
        try body(CLI(home: home.path, environment: ["CREDVAULT_HOME": home.path + "/vault", "CREDVAULT_BACKEND": "file"]), home)
    }

    @Test("the OAuth refresh token is sealed at rest and comes back on get")
    func refreshTokenSealed() throws {
        try withCLI { cli, home in
            let store = try cli.run(["git-credential", "store"], input: Array("protocol=https\nhost=forge.example\nusername=alice\npassword=access-token-1\noauth_refresh_token=refresh-SECRET-77\npassword_expiry_utc=4102444800\n".utf8))
            #expect(store.status == 0, "\(store.stderr)")
            let file = try String(contentsOfFile: home.path + "/vault/credentials.json", encoding: .utf8)
            #expect(!file.contains("refresh-SECRET-77"), "the refresh token is not in the file in clear")
            #expect(file.contains("git-oauth-refresh-token"))
            let get = try cli.run(["git-credential", "get"], input: Array("protocol=https\nhost=forge.example\n".utf8))
            #expect(get.stdoutText == "username=alice\npassword=access-token-1\npassword_expiry_utc=4102444800\noauth_refresh_token=refresh-SECRET-77\n")
        }
    }

    @Test("an expired password is not offered; the username and refresh token still are")
    func expiredPassword() throws {
        try withCLI { cli, _ in
            _ = try cli.run(["git-credential", "store"], input: Array("protocol=https\nhost=forge.example\nusername=alice\npassword=old\noauth_refresh_token=rt\npassword_expiry_utc=1000\n".utf8))
            let get = try cli.run(["git-credential", "get"], input: Array("protocol=https\nhost=forge.example\n".utf8))
            #expect(get.status == 0)
            #expect(get.stdoutText == "username=alice\noauth_refresh_token=rt\n")
        }
    }

    @Test("erase matches git's pattern; with a password only the item holding it; an empty pattern erases nothing")
    func erasePattern() throws {
        try withCLI { cli, _ in
            for (host, user) in [("a.example", "alice"), ("a.example", "bob"), ("b.example", "alice")] {
                #expect(try cli.run(["git-credential", "store"], input: Array("protocol=https\nhost=\(host)\nusername=\(user)\npassword=pw-\(user)\n".utf8)).status == 0)
            }
            func count() throws -> Int { try JSONParser.parse(try cli.run("list", "--json").stdout)["items"]?.arrayValue?.count ?? -1 }
            #expect(try cli.run(["git-credential", "erase"], input: Array("\n".utf8)).status == 0)
            #expect(try count() == 3, "an empty request erases nothing")
            _ = try cli.run(["git-credential", "erase"], input: Array("protocol=https\nhost=a.example\nusername=bob\npassword=wrong\n".utf8))
            #expect(try count() == 3, "a password that does not match erases nothing")
            _ = try cli.run(["git-credential", "erase"], input: Array("protocol=https\nhost=a.example\n".utf8))
            #expect(try count() == 1, "both a.example items are gone")
            let left = try cli.run(["git-credential", "get"], input: Array("protocol=https\nhost=b.example\n".utf8))
            #expect(left.stdoutText == "username=alice\npassword=pw-alice\n")
        }
    }

    @Test("an unknown operation is ignored and a malformed request is refused with exit 65")
    func unknownAndMalformed() throws {
        try withCLI { cli, _ in
            let unknown = try cli.run(["git-credential", "capability"], input: [])
            #expect(unknown.status == 0 && unknown.stdout.isEmpty)
            let bad = try cli.run(["git-credential", "get"], input: Array("protocol https\n".utf8))
            #expect(bad.status == 65)
            #expect(bad.stderr.contains("line 1 has no '='"), "\(bad.stderr)")
        }
    }
}

/// Real git, a real smart-HTTP server (`git http-backend`) with basic auth, and the helper.
@Suite("git credential helper: real git over HTTP", .serialized,
       .enabled(if: Components.present("git", "python3", "dbus-run-session", "gnome-keyring-daemon", "secret-tool", "gcc", "pkg-config")))
struct GitCloneTests {
    var helper: String { "!'\(CLI.executable)' git-credential" }

    /// Clones twice: the first asks (once for the username, once for the password) and
    /// stores; the second asks nothing. Then `git credential reject` erases it and a third
    /// clone asks again.
    func cloneCycle(_ server: GitServer, environment: [String: String], verify: (Bool) throws -> Void) throws {
        let work = try TemporaryDirectory(); defer { work.remove() }
        let first = try server.git(["clone", "-q", server.url, work.path + "/one"], helper: helper, environment: environment)
        #expect(first.status == 0, "first clone: \(first.stderr)")
        #expect(server.prompts().count == 2, "git asked for the username and the password once: \(server.prompts())")
        try verify(true)
        let second = try server.git(["clone", "-q", server.url, work.path + "/two"], helper: helper, environment: environment)
        #expect(second.status == 0, "second clone: \(second.stderr)")
        #expect(server.prompts().count == 2, "the second clone did not ask: \(server.prompts())")
        let reject = try server.git(["credential", "reject"], helper: helper, environment: environment,
                                    input: "protocol=http\nhost=127.0.0.1:\(server.port)\nusername=\(server.user)\n\n")
        #expect(reject.status == 0, "\(reject.stderr)")
        try verify(false)
        let third = try server.git(["clone", "-q", server.url, work.path + "/three"], helper: helper, environment: environment)
        #expect(third.status == 0, "third clone: \(third.stderr)")
        #expect(server.prompts().count == 4, "after reject git asked again: \(server.prompts())")
    }

    @Test("file fallback (no keyring): prompts once, stores, second clone silent, reject erases")
    func cloneOnFileBackend() throws {
        let server = try GitServer(); defer { server.stop() }
        let home = try TemporaryDirectory(); defer { home.remove() }
        let environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": home.path,
                           "CREDVAULT_HOME": home.path + "/vault"]
        let cli = CLI(home: home.path, environment: ["CREDVAULT_HOME": home.path + "/vault"])
        try cloneCycle(server, environment: environment) { present in
            let list = try JSONParser.parse(try cli.run("list", "--json").stdout)
            #expect(list["backend"]?.stringValue == "file")
            let accounts = list["items"]?.arrayValue?.compactMap { $0["account"]?.stringValue } ?? []
            #expect(accounts == (present ? [server.user] : []), "\(list)")
            if present {
                let get = try cli.run("get", "git:http://127.0.0.1:\(server.port)", server.user)
                #expect(get.stdoutText == server.password)
            }
        }
    }

    @Test("real keyring: the credential lives in gnome-keyring (seen by secret-tool)")
    func cloneOnKeyring() throws {
        let server = try GitServer(); defer { server.stop() }
        let harness = try KeyringHarness(); defer { harness.shutdown() }
        var environment = harness.environment
        environment["PATH"] = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        environment["CREDVAULT_HOME"] = harness.root.path + "/vault"
        try cloneCycle(server, environment: environment) { present in
            let lookup = try harness.secretTool(["lookup", "service", "git:http://127.0.0.1:\(server.port)", "username", server.user])
            #expect(lookup.stdoutText == (present ? server.password : ""), "secret-tool sees the keyring item: \(lookup.stderr)")
            #expect(!FileManager.default.fileExists(atPath: harness.root.path + "/vault/credentials.json"))
        }
    }

    @Test("items stored by Debian's git-credential-libsecret are read, and erased by reject")
    func readsLibsecretItems() throws {
        let libsecret = try LibsecretGitHelper.binary.get()
        let harness = try KeyringHarness(); defer { harness.shutdown() }
        var environment = harness.environment
        environment["PATH"] = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let store = try ProcessRunner.run(libsecret, ["store"], environment: environment,
                                          input: Array("protocol=https\nhost=git.example:8443\nusername=carol\npassword=from-libsecret\n".utf8))
        #expect(store.status == 0, "\(store.stderr)")
        let cli = CLI(home: harness.root.path + "/home", environment: harness.environment.merging(["CREDVAULT_HOME": harness.root.path + "/vault"]) { $1 })
        let get = try cli.run(["git-credential", "get"], input: Array("protocol=https\nhost=git.example:8443\n".utf8))
        #expect(get.status == 0, "\(get.stderr)")
        #expect(get.stdoutText == "username=carol\npassword=from-libsecret\n")
        // Another port, or another user, is another credential.
        let otherPort = try cli.run(["git-credential", "get"], input: Array("protocol=https\nhost=git.example\n".utf8))
        #expect(otherPort.stdoutText.contains("username=carol"), "git-credential-libsecret's pattern: no port given matches any port")
        let otherUser = try cli.run(["git-credential", "get"], input: Array("protocol=https\nhost=git.example:8443\nusername=dave\n".utf8))
        #expect(otherUser.stdoutText.isEmpty)
        let erase = try cli.run(["git-credential", "erase"], input: Array("protocol=https\nhost=git.example:8443\nusername=carol\n".utf8))
        #expect(erase.status == 0, "\(erase.stderr)")
        let after = try ProcessRunner.run(libsecret, ["get"], environment: environment, input: Array("protocol=https\nhost=git.example:8443\n".utf8))
        #expect(after.stdoutText.isEmpty, "git-credential-libsecret no longer finds it: \(after.stdoutText)")
    }
}

/// Issue 16 items 14 and 15: what a crafted request or a crafted stored value could make the
/// git helper do, against its own store and beside git's own `credential-store`.
@Suite("git credential helper: hostile input", .serialized)
struct GitCredentialHostileTests {
    func withCLI(_ body: (CLI, TemporaryDirectory) throws -> Void) throws {
        let home = try TemporaryDirectory(); defer { home.remove() }
        try body(CLI(home: home.path, environment: ["CREDVAULT_HOME": home.path + "/vault", "CREDVAULT_BACKEND": "file"]), home)
    }

    func store(_ cli: CLI, _ request: String) throws {
        let output = try cli.run(["git-credential", "store"], input: Array(request.utf8))
        #expect(output.status == 0, "\(output.stderr)")
    }

    @Test("a stored value holding a line break is never written into the protocol: get refuses (65) and prints nothing")
    func newlineInjection() throws {
        try withCLI { cli, _ in
            let set = try cli.run(["set", "git:https://forge.example", "alice"], input: Array("pw\nhost=evil.example\nusername=mallory".utf8))
            #expect(set.status == 0, "\(set.stderr)")
            let get = try cli.run(["git-credential", "get"], input: Array("protocol=https\nhost=forge.example\n".utf8))
            #expect(get.status == 65, "\(get.stderr)")
            #expect(get.stdout.isEmpty, "nothing reaches git: \(get.stdoutText)")
            #expect(get.stderr.contains("line break"), "\(get.stderr)")
        }
    }

    @Test("store refuses a value with a line feed or NUL (the library's door: git's parser cannot carry one)")
    func storeRefusesLineBreaks() async throws {
        let home = try TemporaryDirectory(); defer { home.remove() }
        let vault = try await CredentialVault.open(options: VaultOptions(backend: "memory", environment: ["CREDVAULT_HOME": home.path]))
        let helper = GitCredentialHelper(vault: vault)
        for bad in ["a\nb", "a\0b"] {
            let request = GitCredential(protocol: "https", host: "forge.example", username: "alice", password: SecretBytes(utf8: bad))
            let error = await #expect(throws: CredentialVaultError.self) { try await helper.store(request) }
            #expect(error?.code == .dataError)
        }
        #expect(try await vault.list().isEmpty)
    }

    @Test("host a.example/b never reads what was stored for host a.example, path b: the item key is unambiguous")
    func unambiguousKey() throws {
        try withCLI { cli, _ in
            try store(cli, "protocol=https\nhost=a.example\npath=b\nusername=alice\npassword=for-path-b\n")
            let crafted = try cli.run(["git-credential", "get"], input: Array("protocol=https\nhost=a.example/b\n".utf8))
            #expect(crafted.status == 0)
            #expect(crafted.stdout.isEmpty, "another host's password: \(crafted.stdoutText)")
            let real = try cli.run(["git-credential", "get"], input: Array("protocol=https\nhost=a.example\npath=b\n".utf8))
            #expect(real.stdoutText == "username=alice\npassword=for-path-b\n")
            // And the other way round: what is stored for host a.example/b stays its own.
            try store(cli, "protocol=https\nhost=a.example/b\nusername=mallory\npassword=crafted\n")
            let again = try cli.run(["git-credential", "get"], input: Array("protocol=https\nhost=a.example\npath=b\n".utf8))
            #expect(again.stdoutText == "username=alice\npassword=for-path-b\n")
            let list = try cli.run("list", "--json").stdoutText
            #expect(list.contains("git:https://a.example%2Fb"), "\(list)")
        }
    }

    @Test("an item stored by 0.2 under the old key form is found and moved to the new key on first use")
    func migratesOldKeys() async throws {
        let home = try TemporaryDirectory(); defer { home.remove() }
        let environment = ["CREDVAULT_HOME": home.path + "/vault", "CREDVAULT_BACKEND": "file"]
        let vault = try await CredentialVault.open(options: VaultOptions(environment: environment))
        // 0.2 wrote the host as it came, '%' and all.
        try await vault.store(CredentialItem(key: try CredentialKey(service: "git:https://h%41.example", account: "alice"), label: "Git: old",
                                             attributes: ["git-protocol": "https", "git-host": "h%41.example"], secret: SecretBytes(utf8: "old-pw")))
        let cli = CLI(home: home.path, environment: environment)
        let get = try cli.run(["git-credential", "get"], input: Array("protocol=https\nhost=h%41.example\n".utf8))
        #expect(get.stdoutText == "username=alice\npassword=old-pw\n", "\(get.stderr)")
        let services = try JSONParser.parse(try cli.run("list", "--json").stdout)["items"]?.arrayValue?.compactMap { $0["service"]?.stringValue }
        #expect(services == ["git:https://h%2541.example"])
    }

    @Test("an empty host= in erase matches only an empty host, as git's credential-store does: nothing is erased")
    func emptyHostErase() throws {
        try withCLI { cli, home in
            try store(cli, "protocol=https\nhost=a.example\nusername=alice\npassword=pw-a\n")
            try store(cli, "protocol=https\nhost=b.example\nusername=bob\npassword=pw-b\n")
            let erase = try cli.run(["git-credential", "erase"], input: Array("protocol=https\nhost=\n".utf8))
            #expect(erase.status == 0)
            #expect(try JSONParser.parse(try cli.run("list", "--json").stdout)["items"]?.arrayValue?.count == 2, "nothing erased")
            // git's own helper, given the same request, erases nothing either.
            let file = home.path + "/git-credentials"
            try "https://alice:pw-a@a.example\nhttps://bob:pw-b@b.example\n".write(toFile: file, atomically: true, encoding: .utf8)
            let git = try ProcessRunner.run("git", ["credential-store", "--file", file, "erase"], environment: ["PATH": "/usr/bin:/bin", "HOME": home.path],
                                            input: Array("protocol=https\nhost=\n".utf8), timeout: 30)
            #expect(git.status == 0, "\(git.stderr)")
            #expect(try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").count == 2)
        }
    }

    @Test("helper input over 1 MiB is refused with an error, never cut: a request cut at 1 MiB would ask for another host")
    func overlongInput() throws {
        try withCLI { cli, _ in
            try store(cli, "protocol=https\nhost=victim.example\nusername=alice\npassword=victim-pw\n")
            // Cut at 1 MiB, this request's last line would read host=victim.example.
            let tail = "host=victim.example.attacker.example\n"
            var request = "protocol=https\n"
            let cut = 1 << 20, prefix = "host=victim.example".utf8.count
            while request.utf8.count + 64 < cut - prefix { request += "x" + String(repeating: "y", count: 60) + "=\n" }
            request += String(repeating: "z", count: cut - prefix - request.utf8.count - 2) + "=\n"
            request += tail
            let get = try cli.run(["git-credential", "get"], input: Array(request.utf8))
            #expect(get.status == 65, "\(get.stderr)")
            #expect(!get.stdoutText.contains("victim-pw"))
            #expect(get.stderr.contains("longer than"), "\(get.stderr)")
            let docker = try cli.run(["docker-credential", "get"], input: Array(String(repeating: "h", count: 2 << 20).utf8))
            #expect(docker.status != 0)
            #expect(docker.stdoutText.contains("longer than"), "docker reads the helper's error from stdout: \(docker.stdoutText)")
        }
    }
}
