import CredentialVault
import Foundation
import Testing

/// The OpenBao backend against a real OpenBao 2.7.2 server in dev mode.
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

    @Test("a policy that denies writes → 77 with the path; a revoked token → 77; no server → 69; sealed → 69")
    func refusals() throws {
        let server = try OpenBaoServer.get()
        let root = try TemporaryDirectory(); defer { root.remove() }
        _ = try server.api("PUT", "sys/policies/acl/credvault-read",
                           body: #"{"policy":"path \"secret/data/*\" { capabilities = [\"read\"] }"}"#)
        let created = try JSONParser.parse(Array(try server.api("POST", "auth/token/create", body: #"{"policies":["credvault-read"],"ttl":"10m"}"#).utf8))
        let token = try #require(created["auth"]?["client_token"]?.stringValue)
        let reader = cli(server, home: root.path, extra: ["BAO_TOKEN": token])
        let denied = try reader.run("set", "policy-test", "a", input: "x")
        #expect(denied.status == 77, "\(denied.stderr)")
        #expect(denied.stderr.contains("permission denied by OpenBao policy for secret/data/credvault/credvault/policy-test/a"))
        #expect(!denied.stderr.contains(token), "the token never appears in messages")
        _ = try server.api("POST", "auth/token/revoke", body: "{\"token\":\"\(token)\"}")
        #expect(try reader.run("get", "policy-test", "a").status == 77)

        let nowhere = cli(server, home: root.path, extra: ["BAO_ADDR": "http://127.0.0.1:9"])
        let refused = try nowhere.run("get", "x", "y")
        #expect(refused.status == 69)
        #expect(refused.stderr.contains("http://127.0.0.1:9"))

        let sealed = try OpenBaoServer()
        defer { sealed.stop() }
        _ = try sealed.api("PUT", "sys/seal")
        let answer = try cli(sealed, home: root.path).run("get", "x", "y")
        #expect(answer.status == 69, "\(answer.stderr)")
        #expect(answer.stderr.contains("sealed"))
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
    @Test("AppRole: login with role id and a 0600 secret id file; a revoked AppRole token is replaced by one new login")
    func appRole() async throws {
        let server = try OpenBaoServer.get()
        _ = try server.api("POST", "sys/auth/approle", body: #"{"type":"approle"}"#)
        _ = try server.api("PUT", "sys/policies/acl/credvault-rw", body: #"{"policy":"path \"secret/data/*\" { capabilities = [\"create\",\"read\",\"update\",\"delete\"] }\npath \"secret/metadata/*\" { capabilities = [\"list\",\"read\",\"delete\"] }"}"#)
        _ = try server.api("POST", "auth/approle/role/ci", body: #"{"token_policies":["credvault-rw"],"token_ttl":"20m"}"#)
        _ = try server.api("POST", "auth/approle/role/ci/role-id", body: #"{"role_id":"ci-role"}"#)
        _ = try server.api("POST", "auth/approle/role/ci/custom-secret-id", body: #"{"secret_id":"ci-secret-for-tests"}"#)
        let root = try TemporaryDirectory(); defer { root.remove() }
        let vault = root.path + "/vault"
        try FileManager.default.createDirectory(atPath: vault, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        FileManager.default.createFile(atPath: root.path + "/secret-id", contents: Data("ci-secret-for-tests\n".utf8), attributes: [.posixPermissions: 0o600])
        try "openbao_role_id = ci-role\nopenbao_secret_id_file = \(root.path)/secret-id\n".write(toFile: vault + "/config", atomically: true, encoding: .utf8)
        let cli = CLI(home: root.path, environment: ["BAO_ADDR": server.address, "CREDVAULT_HOME": vault, "CREDVAULT_BACKEND": "openbao"])
        #expect(try cli.run("set", "approle", "item", input: "via approle").status == 0)
        #expect(try cli.run("get", "approle", "item").stdoutText == "via approle")

        // In one process: revoke every AppRole token; the next call logs in again once.
        let configuration = try VaultConfiguration.load(path: vault + "/config")
        let context = BackendContext(app: .credvault, environment: ["BAO_ADDR": server.address], directory: vault,
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
    }

    @Test("a renewable token is renewed after two thirds of its TTL (lookup-self, renew-self)")
    func renewal() throws {
        let server = try OpenBaoServer.get()
        let created = try JSONParser.parse(Array(try server.api("POST", "auth/token/create",
            body: #"{"policies":["default","credvault-rw"],"ttl":"6s","explicit_max_ttl":"10m","renewable":true}"#).utf8))
        let token = try #require(created["auth"]?["client_token"]?.stringValue)
        let root = try TemporaryDirectory(); defer { root.remove() }
        let cli = cli(server, home: root.path, extra: ["BAO_TOKEN": token])
        usleep(4_500_000) // past two thirds of 6 s
        #expect(try cli.run("get", "renewal", "absent").status == 1)
        let lookup = try JSONParser.parse(Array(try server.api("POST", "auth/token/lookup", body: "{\"token\":\"\(token)\"}").utf8))
        let ttl = try #require(lookup["data"]?["ttl"]?.numberValue)
        #expect(ttl > 3, "renewed back to about 6 s, not the 1.5 s left: \(ttl)")
    }

    @Test("TLS: the dev server's CA via BAO_CACERT works; without it, a clear TLS failure (69) naming the CA in use")
    func tls() throws {
        let server = try OpenBaoServer(tls: true)
        defer { server.stop() }
        let root = try TemporaryDirectory(); defer { root.remove() }
        let trusted = cli(server, home: root.path, extra: ["BAO_CACERT": try #require(server.caCertificate)])
        #expect(try trusted.run("set", "tls", "item", input: "over tls").status == 0)
        #expect(try trusted.run("get", "tls", "item").stdoutText == "over tls")
        let untrusted = try cli(server, home: root.path).run("get", "tls", "item")
        #expect(untrusted.status == 69, "\(untrusted.stderr)")
        #expect(untrusted.stderr.contains("TLS") && untrusted.stderr.contains("system trust store"), "\(untrusted.stderr)")
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
