import CredentialVault
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
import CredentialVaultTestSupport
#endif

/// The worst days: a full disk during import, `password set` and a token refresh; the keyring
/// daemon killed mid-call; OpenBao stopped mid-write; the OpenID provider closing connections
/// during refresh; the clock jumping. Each ends with a clear error and the previous state intact.
@Suite("fault injection", .serialized)
struct FaultInjectionTests {
    struct Fixture {
        let root: TemporaryDirectory
        let cli: CLI
        var vault: String { root.path + "/vault" }
        func bytes(_ path: String) -> [UInt8]? { FileManager.default.contents(atPath: path).map(Array.init) }
        func files() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: vault)) ?? []).sorted() }
    }

    /// A file-backend vault on a small tmpfs of `size` bytes.
    func withSmallDisk(size: Int, _ environment: [String: String] = [:], _ body: (Fixture) throws -> Void) throws {
        let root = try TemporaryDirectory(); defer { root.remove() }
        let fixture = Fixture(root: root, cli: CLI(home: root.path, environment: ["CREDVAULT_HOME": root.path + "/vault", "CREDVAULT_BACKEND": "file"]
                                                    .merging(environment) { $1 }))
        try FileManager.default.createDirectory(atPath: fixture.vault, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let mount = try ProcessRunner.shell("mount -t tmpfs -o size=\(size),mode=0700 tmpfs '\(fixture.vault)'")
        try #require(mount.status == 0, "mount tmpfs: \(mount.stderr)")
        defer { _ = try? ProcessRunner.shell("umount '\(fixture.vault)'") }
        try body(fixture)
    }

    /// Fills the file system holding `directory` but for `leave` bytes.
    func fill(_ directory: String, leave: Int) throws {
        var info = statvfs()
        statvfs(directory, &info)
        let free = Int(info.f_bavail) * Int(info.f_frsize)
        let filler = directory + "/filler"
        try Data(count: max(0, free - leave)).write(to: URL(fileURLWithPath: filler))
    }

    @Test("disk full during import: exit 73, the store byte-for-byte unchanged, nothing half-imported", .enabled(if: Components.rootOrRequired))
    func diskFullImport() throws {
        let source = try TemporaryDirectory(); defer { source.remove() }
        let sourceCLI = CLI(home: source.path, environment: ["CREDVAULT_HOME": source.path + "/v", "CREDVAULT_BACKEND": "file"])
        try "import passphrase 1\n".write(toFile: source.path + "/pw", atomically: true, encoding: .utf8)
        chmod(source.path + "/pw", 0o600)
        for index in 0..<4 {
            #expect(try sourceCLI.run(["set", "big", "item-\(index)"], input: [UInt8](repeating: UInt8(ascii: "a") + UInt8(index), count: 30_000)).status == 0)
        }
        let bundle = source.path + "/backup.cvb"
        #expect(try sourceCLI.run("password", "export", "--kdf", "interactive", "--passphrase-file", source.path + "/pw", "--out", bundle).status == 0)
        try withSmallDisk(size: 64 * 1024) { fixture in
            #expect(try fixture.cli.run("set", "svc", "kept", input: "kept").status == 0)
            let before = fixture.bytes(fixture.vault + "/credentials.json")
            let output = try fixture.cli.run("password", "import", "--passphrase-file", source.path + "/pw", bundle)
            #expect(output.status == 73, "\(output.stderr)")
            #expect(output.stderr.contains("No space left"), "\(output.stderr)")
            #expect(fixture.bytes(fixture.vault + "/credentials.json") == before)
            #expect(fixture.files() == ["credentials.json", "credentials.json.lock"], "no temporary left: \(fixture.files())")
            #expect(try fixture.cli.run("get", "svc", "kept").stdoutText == "kept")
        }
    }

    @Test("disk full during password set: exit 73, the plaintext store intact and still usable, no half-written cvstore",
          .enabled(if: Components.rootOrRequired))
    func diskFullPasswordSet() throws {
        try withSmallDisk(size: 64 * 1024) { fixture in
            #expect(try fixture.cli.run(["set", "svc", "big"], input: [UInt8](repeating: UInt8(ascii: "b"), count: 30_000)).status == 0)
            let before = fixture.bytes(fixture.vault + "/credentials.json")
            try "disk full passphrase\n".write(toFile: fixture.root.path + "/pw", atomically: true, encoding: .utf8)
            chmod(fixture.root.path + "/pw", 0o600)
            let output = try fixture.cli.run("password", "set", "--kdf", "interactive", "--passphrase-file", fixture.root.path + "/pw")
            #expect(output.status == 73, "\(output.stderr)")
            #expect(fixture.bytes(fixture.vault + "/credentials.json") == before)
            #expect(!fixture.files().contains("credentials.cvstore"), "\(fixture.files())")
            #expect(!fixture.files().contains { $0.hasSuffix(".tmp") }, "\(fixture.files())")
            #expect(try fixture.cli.run("get", "svc", "big").stdout.count == 30_000)
        }
    }

    @Test("keyring daemon killed in the middle of a call: a prompt exit (69/75) naming the Secret Service, no silent write elsewhere",
          .enabled(if: Components.present("dbus-run-session", "gnome-keyring-daemon", "secret-tool")))
    func keyringKilled() throws {
        let harness = try KeyringHarness(); defer { harness.shutdown() }
        let cli = CLI(home: harness.root.path + "/home",
                      environment: harness.environment.merging(["CREDVAULT_HOME": harness.root.path + "/vault", "CREDVAULT_PROBE_TIMEOUT": "5"]) { $1 })
        #expect(try cli.run("set", "kill.example", "a", input: "before").status == 0)
        // Every call to the keyring from now on is seen by a monitor on the bus.
        let monitor = try BusMonitor(environment: harness.environment, rule: "destination=org.freedesktop.secrets")
        harness.stopDaemon()
        let (child, writer) = try ChildProcess.spawnWithInput([CLI.executable, "--backend", "secret-service", "set", "kill.example", "a"],
                                                              environment: cli.environment)
        _ = "after".withCString { write(writer, $0, 5) }
        close(writer)
        // The set is waiting on the stopped daemon once its first call has gone out.
        #expect(monitor.waitUntilSeen("method call"), "the set never called the keyring")
        _ = monitor.stop()
        let start = Date()
        if let pid = harness.daemonPID { kill(pid, SIGKILL) }
        let status = child.wait(timeout: 20)
        #expect(status == 69 || status == 75, "exit \(String(describing: status))")
        #expect(Date().timeIntervalSince(start) < 8, "the CLI noticed the daemon's death promptly")
        #expect(!FileManager.default.fileExists(atPath: harness.root.path + "/vault/credentials.json"), "no fallback write mid-operation")
    }

    @Test("OpenBao stopped mid-write: exit 75 naming the server within the deadline; afterwards the item is the old or the new value",
          .enabled(if: OpenBaoServer.present()))
    func openBaoStopped() throws {
        let server = try OpenBaoServer()
        defer { kill(server.pid, SIGCONT); server.stop() }
        let home = try TemporaryDirectory(); defer { home.remove() }
        let cli = CLI(home: home.path, environment: server.environment.merging(["CREDVAULT_HOME": home.path + "/v", "CREDVAULT_BACKEND": "openbao",
                                                                               "CREDVAULT_PROBE_TIMEOUT": "2"]) { $1 })
        #expect(try cli.run("set", "bao.example", "a", input: "old").status == 0)
        kill(server.pid, SIGSTOP)
        let start = Date()
        let output = try cli.run(["set", "bao.example", "a"], input: Array("new".utf8), timeout: 30)
        #expect(output.status == 75 || output.status == 69, "\(output.status): \(output.stderr)")
        #expect(output.stderr.contains("127.0.0.1"), "the message names the server: \(output.stderr)")
        #expect(Date().timeIntervalSince(start) < 15)
        kill(server.pid, SIGCONT)
        let after = try cli.run("get", "bao.example", "a")
        #expect(after.status == 0)
        #expect(["old", "new"].contains(after.stdoutText), "\(after.stdoutText)")
        #expect(try cli.run("set", "bao.example", "a", input: "newer").status == 0, "writes work again once the server is back")
    }
}

/// Clock jumps and dropped connections during refresh, against the scripted OAuth server, with
/// Debian's libfaketime moving the CLI's clock.
@Suite("fault injection: refresh", .serialized, .enabled(if: OAuthComponents.pythonPresent() && Components.present("faketime")))
struct RefreshFaultTests {
    static func tokens(_ access: String, refresh: String, expiresIn: Int = 3600) -> JSONValue {
        .object(["status": .number(200), "json": .object([
            "access_token": .string(access), "token_type": .string("Bearer"),
            "refresh_token": .string(refresh), "expires_in": .number(Double(expiresIn))])])
    }

    struct Fixture {
        let root: TemporaryDirectory
        let cli: CLI
        let peer: OAuthPeer
        func stop() { peer.stop(); root.remove() }
        /// Runs credvault with its clock moved by `offset` (libfaketime, e.g. "+2h", "-1d").
        func at(_ offset: String, _ arguments: [String]) throws -> ProcessOutput {
            try ProcessRunner.run("/usr/bin/faketime", ["-f", offset, CLI.executable] + arguments, environment: cli.environment, timeout: 60)
        }
    }

    func fixture(refresh: [JSONValue]) throws -> Fixture {
        let device = JSONValue.object(["status": .number(200), "json": .object([
            "device_code": .string("dc"), "user_code": .string("CLCK-JUMP"), "verification_uri": .string("$BASE/activate"),
            "expires_in": .number(60), "interval": .number(1)])])
        let peer = try OAuthPeer("fault", [], script: .object(["device": device, "token": .array([Self.tokens("access-1", refresh: "refresh-1")]),
                                                              "refresh": .array(refresh)]))
        let root = try TemporaryDirectory()
        let cli = CLI(home: root.path, environment: ["CREDVAULT_HOME": root.path + "/vault", "CREDVAULT_BACKEND": "file",
                                                     "CREDVAULT_AUTH_ISSUER_URL": peer.base, "CREDVAULT_AUTH_CLIENT_ID": "cli"])
        let fixture = Fixture(root: root, cli: cli, peer: peer)
        let login = try cli.run(["auth", "login", "--no-browser"], timeout: 60)
        try #require(login.status == 0, "\(login.stderr)")
        return fixture
    }

    @Test("clock 2 hours ahead: the token is expired and refreshed; a day back: the fresh token is used, no refresh")
    func clockJumps() throws {
        let fixture = try fixture(refresh: [Self.tokens("access-2", refresh: "refresh-2")])
        defer { fixture.stop() }
        let ahead = try fixture.at("+2h", ["auth", "resolve", "--raw"])
        #expect(ahead.status == 0, "\(ahead.stderr)")
        #expect(ahead.stdoutText == "access-2")
        #expect(fixture.peer.requests(grant: "refresh_token").count == 1)
        let back = try fixture.at("-1d", ["auth", "resolve", "--raw"])
        #expect(back.status == 0, "\(back.stderr)")
        #expect(back.stdoutText == "access-2", "a token stored 'in the future' is still fresh")
        #expect(fixture.peer.requests(grant: "refresh_token").count == 1, "no refresh after the clock went back")
    }

    @Test("connections closed during refresh: a still-valid token is kept with a warning; an expired one fails (69), the record intact")
    func droppedDuringRefresh() throws {
        let drop = JSONValue.object(["drop": .bool(true)])
        let fixture = try fixture(refresh: [drop, drop, drop, drop])
        defer { fixture.stop() }
        let record = fixture.root.path + "/vault/credentials.json"
        let before = FileManager.default.contents(atPath: record)
        // 58 minutes on: inside the refresh window (5 minutes before expiry), still valid.
        let soon = try fixture.at("+58m", ["auth", "resolve", "--raw"])
        #expect(soon.status == 0, "\(soon.stderr)")
        #expect(soon.stdoutText == "access-1")
        #expect(soon.stderr.contains("cannot refresh"), "\(soon.stderr)")
        let late = try fixture.at("+2h", ["auth", "resolve", "--raw"])
        #expect(late.status == 69, "\(late.stderr)")
        #expect(late.stderr.contains("expired and cannot be refreshed"), "\(late.stderr)")
        #expect(FileManager.default.contents(atPath: record) == before, "the login record is unchanged")
    }

    @Test("disk full when the refreshed tokens are written: the new token is used now, the warning says what the next run needs, the old record intact",
          .enabled(if: Components.rootOrRequired))
    func diskFullRefresh() throws {
        let fixture = try fixture(refresh: [Self.tokens("access-2", refresh: "refresh-2")])
        defer { fixture.stop() }
        // Move the vault onto a tiny tmpfs that is then filled.
        let vault = fixture.root.path + "/vault"
        let saved = fixture.root.path + "/saved"
        try FileManager.default.moveItem(atPath: vault, toPath: saved)
        try FileManager.default.createDirectory(atPath: vault, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try #require(try ProcessRunner.shell("mount -t tmpfs -o size=64k,mode=0700 tmpfs '\(vault)' && cp -a '\(saved)'/. '\(vault)'/").status == 0)
        defer { _ = try? ProcessRunner.shell("umount '\(vault)'") }
        var info = statvfs()
        statvfs(vault, &info)
        try Data(count: Int(info.f_bavail) * Int(info.f_frsize)).write(to: URL(fileURLWithPath: vault + "/filler"))
        let before = FileManager.default.contents(atPath: vault + "/credentials.json")
        let output = try fixture.at("+2h", ["auth", "resolve", "--raw"])
        #expect(output.status == 0, "\(output.status): \(output.stderr)")
        #expect(output.stdoutText == "access-2", "the freshly issued token serves this run")
        #expect(output.stderr.contains("could not be saved") && output.stderr.contains("No space left"), "\(output.stderr)")
        #expect(output.stderr.contains("auth login"), "the warning says what to do: \(output.stderr)")
        #expect(FileManager.default.contents(atPath: vault + "/credentials.json") == before)
    }
}

extension FaultInjectionTests {
    @Test("libsecret that cannot be loaded: the keyring is reported unavailable with the reason, and every other backend works")
    func libsecretMissing() throws {
        let root = try TemporaryDirectory(); defer { root.remove() }
        // A libsecret-1.so.0 that is not a library, found first through LD_LIBRARY_PATH: what
        // a machine without libsecret (or with a broken one) looks like to credvault. Were
        // libsecret linked, the process would not even start.
        let libraries = root.path + "/lib"
        try FileManager.default.createDirectory(atPath: libraries, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: libraries + "/libsecret-1.so.0", contents: Data("not a library".utf8))
        let cli = CLI(home: root.path, environment: ["CREDVAULT_HOME": root.path + "/vault", "LD_LIBRARY_PATH": libraries,
                                                     "DBUS_SESSION_BUS_ADDRESS": "unix:path=\(root.path)/no-bus"])
        let backends = try JSONParser.parse(try cli.run("backends", "--json").stdout)
        let keyring = backends["backends"]?.arrayValue?.first { $0["name"] == .string("secret-service") }
        #expect(keyring?["verdict"] == .string("unavailable"))
        let reason = keyring?["reason"]?.stringValue ?? ""
        #expect(reason.contains("libsecret could not be loaded") && reason.contains("apt install libsecret-1-0"), "\(reason)")
        #expect(try cli.run(["--quiet", "set", "svc", "acct"], input: Array("works without libsecret".utf8)).status == 0)
        #expect(try cli.run("get", "svc", "acct").stdoutText == "works without libsecret")
        let forced = try cli.run("--backend", "secret-service", "get", "svc", "acct")
        #expect(forced.status == 69, "\(forced.stderr)")
        #expect(forced.stderr.contains("libsecret could not be loaded"), "\(forced.stderr)")
    }
}
