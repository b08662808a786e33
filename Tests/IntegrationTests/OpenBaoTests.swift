import CredentialVault
import Foundation
import Testing
import CredentialVaultTestSupport

/// The OpenBao backend against real OpenBao 2.7.2 servers: a dev-mode one for the shared
/// behaviour, and a configured one (raft, static auto-unseal, self-init, TLS) for policies,
/// AppRole, renewal, TLS and the sealed server.
@Suite("OpenBao backend", .serialized, .enabled(if: OpenBaoServer.present()))
struct OpenBaoTests {
    func cli(_ server: OpenBaoServer, home: String, extra: [String: String] = [:]) -> CLI {
        CLI(home: home, environment: server.environment.merging(["CREDVAULT_HOME": home + "/vault", "CREDVAULT_BACKEND": "openbao"]) { $1 }
            .merging(extra) { $1 })
    }

    @Test("two machines (different HOMEs, one server) see each other's writes; list, delete, binary secrets")
    func twoMachines() throws {
        let server = try OpenBaoServer.get()
        let a = try TemporaryDirectory(), b = try TemporaryDirectory()
        defer { a.remove(); b.remove() }
        let first = cli(server, home: a.path), second = cli(server, home: b.path)
        let service = "shared-\(UUID().uuidString.prefix(6))"
        #expect(try first.run("set", service, "deploy", input: "from machine A").status == 0)
        #expect(try second.run("get", service, "deploy").stdoutText == "from machine A")
        #expect(try second.run(["set", service, "binary"], input: [0, 1, 2, 0xff, 0]).status == 0)
        #expect(try first.run("get", service, "binary").stdout == [0, 1, 2, 0xff, 0])
        let list = try JSONParser.parse(try first.run("list", "--json", service).stdout)
        #expect(list["items"]?.arrayValue?.compactMap { $0["account"]?.stringValue } == ["binary", "deploy"])
        #expect(!FileManager.default.fileExists(atPath: a.path + "/vault/credentials.json"), "nothing local")
        #expect(try second.run("delete", service, "deploy").status == 0)
        #expect(try first.run("get", service, "deploy").status == 1)
        let raw = try server.api("GET", "secret/data/credvault/credvault/\(service)/binary")
        #expect(raw.contains("\"encoding\":\"base64\""), "non-UTF-8 secrets are stored as base64: \(raw)")
        let backends = try JSONParser.parse(try first.run("backends", "--json").stdout)
        #expect(backends["openbao"]?["openbao.address"] == .string(server.address))
        #expect(backends["openbao"]?["openbao.health"]?.stringValue?.hasPrefix("HTTP 200") == true)
        #expect(backends["openbao"]?["openbao.token.policies"] == .string("root"))
        #expect(backends["openbao"]?["openbao.token.ttl"] == .string("no expiry"))
    }

    @Test("8 concurrent writers of one item: each write lands or reports the conflict; none is lost silently")
    func concurrentWriters() throws {
        let server = try OpenBaoServer.get()
        let root = try TemporaryDirectory(); defer { root.remove() }
        let client = cli(server, home: root.path)
        let service = "race-\(UUID().uuidString.prefix(6))"
        #expect(try client.run("set", service, "item", input: "initial").status == 0)
        let writers = try (0..<8).map { index in
            try BackgroundCLIWithInput(client, ["set", service, "item"], input: "writer-\(index)", directory: root.path)
        }
        let statuses = writers.map { $0.wait() }
        #expect(statuses.allSatisfy { $0 == 0 || $0 == 73 }, "\(statuses) \(writers.map(\.stderr))")
        for (status, writer) in zip(statuses, writers) where status == 73 {
            #expect(writer.stderr.contains("another writer changed"), "\(writer.stderr)")
        }
        let metadata = try JSONParser.parse(Array(try server.api("GET", "secret/metadata/credvault/credvault/\(service)/item").utf8))
        let versions = metadata["data"]?["current_version"]?.numberValue
        #expect(versions == Double(1 + statuses.filter { $0 == 0 }.count), "every acknowledged write is a version of its own")
    }

    @Test("path escapes (../, %2F, /, unicode, dots) stay inside the prefix and round-trip")
    func pathEscapes() throws {
        let server = try OpenBaoServer.get()
        let root = try TemporaryDirectory(); defer { root.remove() }
        let client = cli(server, home: root.path, extra: ["CREDVAULT_HOME": root.path + "/vault"])
        try FileManager.default.createDirectory(atPath: root.path + "/vault", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let prefix = "escape-\(UUID().uuidString.prefix(6))"
        try "openbao_prefix = \(prefix)\n".write(toFile: root.path + "/vault/config", atomically: true, encoding: .utf8)
        let cases = [("../../sys", ".."), ("a%2Fb", "c/d"), ("ünï/cödé", "."), ("...", "x~y")]
        for (service, account) in cases {
            #expect(try client.run("set", service, account, input: "\(service)|\(account)").status == 0)
        }
        for (service, account) in cases {
            #expect(try client.run("get", service, account).stdoutText == "\(service)|\(account)")
        }
        let top = try server.api("LIST", "secret/metadata/")
        #expect(top.contains("\"\(prefix)/\""), "\(top)")
        #expect(!top.contains("sys"), "nothing escaped above the prefix: \(top)")
        let inside = try JSONParser.parse(Array(try server.api("LIST", "secret/metadata/\(prefix)/").utf8))
        #expect(inside["data"]?["keys"]?.arrayValue?.count == cases.count, "one folder per service, all inside: \(inside)")
        let list = try JSONParser.parse(try client.run("list", "--json").stdout)
        #expect(Set(list["items"]?.arrayValue?.compactMap { $0["service"]?.stringValue } ?? []) == Set(cases.map(\.0)))
    }

}

/// The tests the issue puts on a configured server: raft storage, static auto-unseal,
/// self-initialisation, TLS, no root token (`ConfiguredOpenBaoServer`).
extension OpenBaoTests {
    /// A client of the configured server that logs in with AppRole `role`, its secret id in a 0600 file.
    func appRoleCLI(_ server: ConfiguredOpenBaoServer, home: String, role: String, secret: String) throws -> CLI {
        let vault = home + "/vault"
        try FileManager.default.createDirectory(atPath: vault, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        FileManager.default.createFile(atPath: home + "/secret-id", contents: Data((secret + "\n").utf8), attributes: [.posixPermissions: 0o600])
        try "openbao_role_id = \(role)\nopenbao_secret_id_file = \(home)/secret-id\n".write(toFile: vault + "/config", atomically: true, encoding: .utf8)
        return CLI(home: home, environment: server.environment.merging(["CREDVAULT_HOME": vault, "CREDVAULT_BACKEND": "openbao"]) { $1 })
    }

    @Test("configured server: a policy that denies writes → 77 with the path; a revoked token → 77; no server → 69")
    func refusals() throws {
        let server = try ConfiguredOpenBaoServer.get()
        let writerHome = try TemporaryDirectory(), readerHome = try TemporaryDirectory()
        defer { writerHome.remove(); readerHome.remove() }
        let writer = try appRoleCLI(server, home: writerHome.path, role: "ci-role", secret: "ci-secret-for-tests")
        let reader = try appRoleCLI(server, home: readerHome.path, role: "reader-role", secret: "reader-secret")
        #expect(try writer.run("set", "policy-test", "a", input: "written by ci").status == 0)
        #expect(try reader.run("get", "policy-test", "a").stdoutText == "written by ci", "the reader policy allows reads")
        let denied = try reader.run("set", "policy-test", "a", input: "x")
        #expect(denied.status == 77, "\(denied.stderr)")
        #expect(denied.stderr.contains("permission denied by OpenBao policy for secret/data/credvault/credvault/policy-test/a"), "\(denied.stderr)")
        #expect(!denied.stderr.contains("reader-secret"), "the secret id never appears in messages")
        #expect(try writer.run("get", "policy-test", "a").stdoutText == "written by ci", "the refused write changed nothing")

        let token = try server.login(role: "ci-role", secret: "ci-secret-for-tests")
        let home = try TemporaryDirectory(); defer { home.remove() }
        let tokenCLI = CLI(home: home.path, environment: server.environment.merging(
            ["BAO_TOKEN": token, "CREDVAULT_HOME": home.path + "/vault", "CREDVAULT_BACKEND": "openbao"]) { $1 })
        #expect(try tokenCLI.run("get", "policy-test", "a").status == 0)
        _ = try server.request("POST", "auth/token/revoke-self", body: nil, token: token)
        let revoked = try tokenCLI.run("get", "policy-test", "a")
        #expect(revoked.status == 77, "\(revoked.stderr)")
        #expect(!revoked.stderr.contains(token), "the token never appears in messages")

        let nowhere = CLI(home: home.path, environment: ["BAO_ADDR": "https://127.0.0.1:9", "BAO_TOKEN": "unused",
                                                         "CREDVAULT_HOME": home.path + "/vault", "CREDVAULT_BACKEND": "openbao"])
        let refused = try nowhere.run("get", "x", "y")
        #expect(refused.status == 69)
        #expect(refused.stderr.contains("https://127.0.0.1:9"))
    }

    @Test("configured server restarted without its unseal key: sealed → 69 for get and set; with the key again, the data is back")
    func sealed() throws {
        let server = try ConfiguredOpenBaoServer.get()
        let root = try TemporaryDirectory(); defer { root.remove() }
        let cli = try appRoleCLI(server, home: root.path, role: "ci-role", secret: "ci-secret-for-tests")
        let service = "sealed-\(UUID().uuidString.prefix(6))"
        #expect(try cli.run("set", service, "item", input: "survives the restart").status == 0)
        try server.restart(withRightKey: false)
        defer { _ = try? server.restart(withRightKey: true) }
        for arguments in [["get", service, "item"], ["set", service, "other"]] {
            let answer = try cli.run(arguments, input: Array("x".utf8))
            #expect(answer.status == 69, "\(arguments): \(answer.stderr)")
            #expect(answer.stderr.contains("server is sealed"), "\(answer.stderr)")
        }
        let doctor = try cli.run("backends", "--json")
        #expect(doctor.stdoutText.contains("HTTP 503, sealed"), "backends reports the sealed health: \(doctor.stdoutText)")
        try server.restart(withRightKey: true)
        #expect(try cli.run("get", service, "item").stdoutText == "survives the restart", "raft storage kept it")
    }
}

extension OpenBaoTests {
    @Test("migrate file → openbao → secret-service → file with binary secrets; dry run; conflicts; --delete-source after verification",
          .enabled(if: Components.present("dbus-run-session", "gnome-keyring-daemon")))
    func migrateRoundTrip() throws {
        let server = try OpenBaoServer.get()
        let harness = try KeyringHarness()
        defer { harness.shutdown() }
        let root = try TemporaryDirectory(); defer { root.remove() }
        let prefix = "migrate-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: root.path + "/vault", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try "openbao_prefix = \(prefix)\n".write(toFile: root.path + "/vault/config", atomically: true, encoding: .utf8)
        let cli = CLI(home: root.path, environment: server.environment.merging(harness.environment) { $1 }
            .merging(["CREDVAULT_HOME": root.path + "/vault"]) { $1 })
        let binary: [UInt8] = [0, 0xff, 0x80, 10, 0]
        #expect(try cli.run(["--backend", "file", "set", "svc", "text"], input: Array("plain text".utf8)).status == 0)
        #expect(try cli.run(["--backend", "file", "set", "svc", "binary"], input: binary + [UInt8(ascii: "\n")]).status == 0)

        let dry = try JSONParser.parse(try cli.run("migrate", "--from", "file", "--to", "openbao", "--dry-run", "--json").stdout)
        #expect(dry["additions"]?.arrayValue?.count == 2)
        #expect(try cli.run("--backend", "openbao", "get", "svc", "text").status == 1, "a dry run writes nothing")

        #expect(try cli.run("migrate", "--from", "file", "--to", "openbao").status == 0)
        // A conflict is listed before anything is written, under the default policy.
        let conflict = try cli.run("migrate", "--from", "file", "--to", "openbao")
        #expect(conflict.status == 65)
        #expect(conflict.stderr.contains("2 item(s) already exist"))

        let toKeyring = try JSONParser.parse(try cli.run("migrate", "--from", "openbao", "--to", "secret-service", "--delete-source", "--json").stdout)
        #expect(toKeyring["verified"] == .number(2) && toKeyring["deleted_from_source"] == .number(2))
        #expect(try cli.run("--backend", "openbao", "get", "svc", "text").status == 1, "deleted from the source after verification")
        #expect(try cli.run("--backend", "secret-service", "get", "svc", "binary").stdout == binary)

        #expect(try cli.run("migrate", "--from", "secret-service", "--to", "file", "--on-conflict", "overwrite", "--delete-source").status == 0)
        #expect(try cli.run("--backend", "file", "get", "svc", "binary").stdout == binary)
        #expect(try cli.run("--backend", "file", "get", "svc", "text").stdoutText == "plain text")
        #expect(try cli.run("--backend", "secret-service", "get", "svc", "text").status == 1)
    }
}

extension OpenBaoTests {
    @Test("configured server, AppRole: role id and a 0600 secret id file; a revoked AppRole token is replaced by one new login")
    func appRole() async throws {
        let server = try ConfiguredOpenBaoServer.get()
        let root = try TemporaryDirectory(); defer { root.remove() }
        let cli = try appRoleCLI(server, home: root.path, role: "ci-role", secret: "ci-secret-for-tests")
        let vault = root.path + "/vault"
        #expect(try cli.run("set", "approle", "item", input: "via approle").status == 0)
        #expect(try cli.run("get", "approle", "item").stdoutText == "via approle")

        // In one process: revoke every AppRole token; the next call logs in again once.
        let configuration = try VaultConfiguration.load(directory: vault, reader: CheckedFileReader(), keys: OpenBaoBackend.configurationKeys)
        let context = BackendContext(app: .credvault, environment: server.environment, directory: vault,
                                     configuration: configuration, callTimeout: .seconds(10), lockTimeout: .seconds(10))
        let backend = OpenBaoBackend(context: context)
        let key = try CredentialKey(service: "approle", account: "item")
        #expect(try await backend.secret(for: key) == SecretBytes(utf8: "via approle"))
        _ = try server.api("PUT", "sys/leases/revoke-prefix/auth/approle/login")
        #expect(try await backend.secret(for: key) == SecretBytes(utf8: "via approle"), "re-logged in after the 403")

        chmod(root.path + "/secret-id", 0o644)
        let loose = try cli.run("get", "approle", "item")
        #expect(loose.status == 77)
        #expect(loose.stderr.contains("chmod 600"))
        // Issue 16 item 13: an empty $CREDENTIALS_DIRECTORY changes nothing about the check.
        let emptyDirectory = try cli.run(["get", "approle", "item"], extra: ["CREDENTIALS_DIRECTORY": ""])
        #expect(emptyDirectory.status == 77, "\(emptyDirectory.stderr)")
    }

    @Test("a renewable token is renewed after two thirds of its TTL (lookup-self, renew-self)")
    func renewal() throws {
        let server = try ConfiguredOpenBaoServer.get()
        let created = try JSONParser.parse(Array(try server.api("POST", "auth/token/create",
            body: #"{"policies":["default","credvault-rw"],"ttl":"6s","explicit_max_ttl":"10m","renewable":true}"#).utf8))
        let token = try #require(created["auth"]?["client_token"]?.stringValue)
        let root = try TemporaryDirectory(); defer { root.remove() }
        let cli = CLI(home: root.path, environment: server.environment.merging(
            ["BAO_TOKEN": token, "CREDVAULT_HOME": root.path + "/vault", "CREDVAULT_BACKEND": "openbao"]) { $1 })
        fixedPause(4.5, because: "the token must pass two thirds of its 6 s TTL to be renewed")
        #expect(try cli.run("get", "renewal", "absent").status == 1)
        let lookup = try JSONParser.parse(Array(try server.request("GET", "auth/token/lookup-self", body: nil, token: token).utf8))
        let ttl = try #require(lookup["data"]?["ttl"]?.numberValue)
        #expect(ttl > 3, "renewed back to about 6 s, not the 1.5 s left: \(ttl)")
    }

    @Test("TLS (the dev server's CA, and the configured server's own CA) via BAO_CACERT or VAULT_CACERT; without it, a clear failure (69) naming the CA in use")
    func tls() throws {
        let development = try OpenBaoServer(tls: true)
        defer { development.stop() }
        let configured = try ConfiguredOpenBaoServer.get()
        let ciToken = try configured.login(role: "ci-role", secret: "ci-secret-for-tests")
        let servers: [(address: String, ca: String, token: String)] = [
            (development.address, try #require(development.caCertificate), development.rootToken),
            (configured.address, configured.caCertificate, ciToken),
        ]
        for (index, server) in servers.enumerated() {
            let root = try TemporaryDirectory(); defer { root.remove() }
            let base = ["BAO_ADDR": server.address, "BAO_TOKEN": server.token, "CREDVAULT_HOME": root.path + "/vault", "CREDVAULT_BACKEND": "openbao"]
            let trusted = CLI(home: root.path, environment: base.merging(["BAO_CACERT": server.ca]) { $1 })
            #expect(try trusted.run("set", "tls", "item-\(index)", input: "over tls").status == 0)
            let vaultNamed = CLI(home: root.path, environment: base.merging(["VAULT_CACERT": server.ca]) { $1 })
            #expect(try vaultNamed.run("get", "tls", "item-\(index)").stdoutText == "over tls")
            let untrusted = try CLI(home: root.path, environment: base).run("get", "tls", "item-\(index)")
            #expect(untrusted.status == 69, "\(untrusted.stderr)")
            #expect(untrusted.stderr.contains("TLS") && untrusted.stderr.contains("system trust store"), "\(untrusted.stderr)")
            let other = servers[1 - index].ca
            let wrong = try CLI(home: root.path, environment: base.merging(["BAO_CACERT": other]) { $1 }).run("get", "tls", "item-\(index)")
            #expect(wrong.status == 69, "\(wrong.stderr)")
            #expect(wrong.stderr.contains("CA in use: \(other)"), "\(wrong.stderr)")
        }
    }
}

/// A credvault process with its stdin from a string, in the background.
final class BackgroundCLIWithInput: @unchecked Sendable {
    let process: BackgroundCLI
    init(_ cli: CLI, _ arguments: [String], input: String, directory: String) throws {
        let path = directory + "/input-\(UUID().uuidString.prefix(6))"
        try input.write(toFile: path, atomically: true, encoding: .utf8)
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        process = try BackgroundCLI(cli, arguments, directory: directory, stdin: fd)
    }
    func wait() -> Int32? { process.wait(timeout: 60) }
    var stderr: String { process.stderr }
}

/// Issue 16 item 13 and the BAO_ADDR half of item 12: where the token comes from, and how it travels.
extension OpenBaoTests {
    @Test("token files are checked: ~/.vault-token at 0644, or an openbao_token_file of another user, is refused (77) naming the fix, never used or passed over in silence",
          .enabled(if: Components.rootOrRequired))
    func tokenFileChecks() throws {
        let server = try OpenBaoServer.get()
        let root = try TemporaryDirectory(); defer { root.remove() }
        let environment = ["BAO_ADDR": server.address, "CREDVAULT_HOME": root.path + "/vault", "CREDVAULT_BACKEND": "openbao"]
        let cli = CLI(home: root.path, environment: environment)
        let tokenFile = root.path + "/.vault-token"
        FileManager.default.createFile(atPath: tokenFile, contents: Data((server.rootToken + "\n").utf8), attributes: [.posixPermissions: 0o600])
        #expect(try cli.run("set", "tokens", "item", input: "via token file").status == 0, "a 0600 ~/.vault-token of yours is used")
        chmod(tokenFile, 0o644)
        let loose = try cli.run("get", "tokens", "item")
        #expect(loose.status == 77, "\(loose.stderr)")
        #expect(loose.stderr.contains(".vault-token has mode 644") && loose.stderr.contains("chmod 600"), "\(loose.stderr)")

        // A token file named in the config file, owned by another user: token substitution.
        let theirs = root.path + "/their-token"
        FileManager.default.createFile(atPath: theirs, contents: Data((server.rootToken + "\n").utf8), attributes: [.posixPermissions: 0o600])
        try #require(chown(theirs, 65534, 65534) == 0, "the tests run as root, as CI does")
        try FileManager.default.createDirectory(atPath: root.path + "/vault", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try "openbao_token_file = \(theirs)\n".write(toFile: root.path + "/vault/config", atomically: true, encoding: .utf8)
        let foreign = try cli.run("get", "tokens", "item")
        #expect(foreign.status == 77, "\(foreign.stderr)")
        #expect(foreign.stderr.contains("owned by uid 65534"), "\(foreign.stderr)")
    }

    @Test("a plain-http BAO_ADDR to another machine is refused (78) before anything is sent; loopback is allowed; CREDVAULT_OPENBAO_ALLOW_HTTP=1 overrides")
    func plainHTTPAddress() throws {
        let root = try TemporaryDirectory(); defer { root.remove() }
        // A loopback port nobody listens on.
        let listener = try ServiceProcess.freePort()
        let cli = CLI(home: root.path, environment: ["BAO_ADDR": "http://192.0.2.10:8200", "BAO_TOKEN": "never-sent",
                                                     "CREDVAULT_HOME": root.path + "/vault", "CREDVAULT_BACKEND": "openbao"])
        let refused = try cli.run("get", "svc", "item")
        #expect(refused.status == 78, "\(refused.stderr)")
        #expect(refused.stderr.contains("plain http to another machine") && refused.stderr.contains("CREDVAULT_OPENBAO_ALLOW_HTTP"), "\(refused.stderr)")
        let loopback = try cli.run(["get", "svc", "item"], extra: ["BAO_ADDR": "http://127.0.0.1:\(listener)"])
        #expect(loopback.status == 69, "loopback http is allowed and fails only as unreachable: \(loopback.stderr)")
        let allowed = try cli.run(["get", "svc", "item"], extra: ["CREDVAULT_OPENBAO_ALLOW_HTTP": "1", "CREDVAULT_PROBE_TIMEOUT": "1"])
        #expect(allowed.status != 78, "explicitly allowed: \(allowed.stderr)")
    }
}
