import CredentialVault
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
import CredentialVaultTestSupport
#endif

/// Issue 17 item 10: `--json` prints one JSON document for every verb, errors included, and
/// each verb's document is the one docs/json/credvault-output.schema.json gives. Every verb
/// is run once succeeding and once failing; Debian's python3-jsonschema checks every output
/// (Tests/support/validate_json_output.py), including that no schema verb went unchecked.
@Suite("JSON output against its schema", .serialized)
struct JSONOutputTests {
    struct Run: Encodable {
        let verb: String
        let status: Int32
        let stdout: String
    }

    final class Recorder {
        var runs: [Run] = []
        let cli: CLI
        init(cli: CLI) { self.cli = cli }

        /// Runs `credvault --json ARGUMENTS` and keeps what it printed under `verb`.
        @discardableResult
        func run(_ verb: String, _ arguments: [String], input: String = "", extra: [String: String] = [:], expect status: Int32) throws -> JSONValue? {
            let output = try cli.run(["--json"] + arguments, input: Array(input.utf8), extra: extra)
            #expect(output.status == status, "\(arguments): \(output.stdoutText) \(output.stderr)")
            runs.append(Run(verb: verb, status: output.status, stdout: output.stdoutText))
            return try? JSONParser.parse(output.stdout)
        }

        /// Keeps a run made some other way (a background enrolment, a keyring session).
        func record(_ verb: String, status: Int32, stdout: String) {
            runs.append(Run(verb: verb, status: status, stdout: stdout))
        }
    }

    static let schema = Repository.root + "/docs/json/credvault-output.schema.json"

    @Test("every verb's --json output, success and failure, validates against the documented schema",
          .enabled(if: Components.present("oathtool", "keyctl", "/usr/bin/python3")))
    func everyVerb() throws {
        let root = try TemporaryDirectory(); defer { root.remove() }
        func file(_ name: String, _ text: String) -> String {
            let path = root.path + "/" + name
            FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
            return path
        }
        let store = file("store", "store passphrase 0001"), backup = file("backup", "backup passphrase 01")
        let newStore = file("store2", "store passphrase 0002"), short = file("short", "short")
        let peer = try OAuthPeer("fault", [], script: .object([
            "device": .object(["status": .number(200), "json": .object([
                "device_code": .string("dc-1"), "user_code": .string("WXYZ-2345"), "expires_in": .number(60), "interval": .number(1),
                "verification_uri": .string("$BASE/activate")])]),
            "token": .array([.object(["status": .number(200), "json": .object([
                "access_token": .string("json-access-token"), "token_type": .string("Bearer"), "expires_in": .number(3600)])])]),
        ]))
        defer { peer.stop() }
        let cli = CLI(home: root.path, environment: ["CREDVAULT_HOME": root.path + "/vault", "CREDVAULT_BACKEND": "file",
                                                     "CREDVAULT_AUTH_ISSUER_URL": peer.base, "CREDVAULT_AUTH_CLIENT_ID": "cli"])
        let r = Recorder(cli: cli)

        // Items.
        try r.run("set", ["set", "svc", "alice"], input: "text-secret", expect: 0)
        try r.run("set", ["set", "svc", "empty"], input: "", expect: 65)
        try r.run("set", ["set", "svc", "binary"], input: "a\u{0}b", expect: 0)
        let text = try r.run("get", ["get", "svc", "alice"], expect: 0)
        #expect(text?["secret"] == .string("text-secret"))
        let binary = try r.run("get", ["get", "svc", "binary"], expect: 0)
        #expect(binary?["secret_base64"] == .string("YQBi"), "a secret with NUL goes as base64")
        try r.run("get", ["get", "svc"], expect: 64)  // a missing argument: still the error document
        try r.run("get", ["get", "svc", "nobody"], expect: 1)
        try r.run("list", ["list"], expect: 0)
        try r.run("list", ["list", "--bogus"], expect: 64)
        try r.run("delete", ["delete", "svc", "binary"], expect: 0)
        try r.run("delete", ["delete", "svc", "binary"], expect: 1)
        try r.run("backends", ["backends"], expect: 0)
        try r.run("backends", ["backends"], extra: ["CREDVAULT_BACKEND": "", "CREDVAULT_NO_PLAINTEXT_FALLBACK": "1"], expect: 69)
        try r.run("doctor", ["doctor"], expect: 0)
        let corrupt = root.path + "/corrupt"
        try FileManager.default.createDirectory(atPath: corrupt, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        _ = file("corrupt/credentials.json", "{\"version\": 1, \"items\": [")
        try r.run("doctor", ["doctor"], extra: ["CREDVAULT_HOME": corrupt], expect: 65)
        try r.run("migrate", ["migrate", "--from", "file", "--to", "memory", "--dry-run"], expect: 0)
        try r.run("migrate", ["migrate", "--from", "file", "--to", "no-such-backend"], expect: 64)

        // Modes and workspaces.
        try r.run("mode", ["mode"], expect: 0)
        try r.run("mode", ["mode", "staging"], expect: 64)
        try r.run("workspace-key-set", ["workspace", "key", "set", "acme"], input: "cv_acme_0123456789abcdef0123456789abcdef", expect: 0)
        try r.run("workspace-key-set", ["workspace", "key", "set", "acme"], input: "not a key", expect: 65)
        try r.run("workspace-list", ["workspace", "list"], expect: 0)
        try r.run("workspace-list", ["workspace", "list", "extra"], expect: 64)
        try r.run("workspace-current", ["workspace", "current"], expect: 0)
        try r.run("workspace-current", ["workspace", "current", "--bogus"], expect: 64)
        try r.run("workspace-use", ["workspace", "use", "acme"], expect: 0)
        try r.run("workspace-use", ["workspace", "use"], expect: 64)
        try r.run("auth-resolve", ["auth", "resolve"], expect: 0)
        try r.run("auth-resolve", ["auth", "resolve", "--raw"], expect: 64)  // --raw and --json conflict
        try r.run("workspace-key-remove", ["workspace", "key", "remove", "acme"], expect: 0)
        try r.run("workspace-key-remove", ["workspace", "key", "remove", "acme"], expect: 1)

        // Logging in.
        try r.run("auth-status", ["auth", "status"], expect: 80)  // not logged in: the status carries the error
        try r.run("auth-resolve", ["auth", "resolve"], expect: 80)
        try r.run("auth-login", ["auth", "login", "--no-browser"], expect: 0)
        try r.run("auth-login", ["auth", "login", "--no-browser"], extra: ["CREDVAULT_AUTH_ISSUER_URL": "http://192.0.2.1/realm"], expect: 78)
        try r.run("auth-status", ["auth", "status"], expect: 0)
        try r.run("auth-token", ["auth", "token"], input: "pat_0123456789abcdef", expect: 0)
        try r.run("auth-token", ["auth", "token"], input: "", expect: 65)
        try r.run("auth-logout", ["auth", "logout"], expect: 0)
        try r.run("auth-logout", ["auth", "logout", "--bogus"], expect: 64)

        // The password gate, bundles, the second step, the unlock cache.
        try r.run("password-set", ["password", "set", "--passphrase-file", short], expect: 64)
        try r.run("password-set", ["password", "set", "--passphrase-file", store], expect: 0)
        // From here on the store is password-protected: automatic selection finds it.
        let unlocked = ["CREDVAULT_PASSPHRASE_FILE": store, "CREDVAULT_BACKEND": ""]
        try r.run("password-status", ["password", "status"], extra: unlocked, expect: 0)
        try r.run("password-status", ["password", "status", "--bogus"], expect: 64)
        let bundle = root.path + "/b.cvb"
        try r.run("password-export", ["password", "export", "--kdf", "interactive", "--out", bundle, "--passphrase-file", backup], extra: unlocked, expect: 0)
        try r.run("password-export", ["password", "export", "--passphrase-file", backup], extra: unlocked, expect: 64)  // --json needs --out
        try r.run("password-verify", ["password", "verify", bundle, "--passphrase-file", backup], expect: 0)
        try r.run("password-verify", ["password", "verify", bundle, "--passphrase-file", store], expect: 65)
        let inspected = try r.run("password-inspect", ["password", "inspect", bundle], expect: 0)
        #expect(inspected?["kdf"]?["profile"] == .string("interactive"), "the one KDF form: \(String(describing: inspected))")
        try r.run("password-inspect", ["password", "inspect", root.path + "/missing.cvb"], expect: 64)
        try r.run("password-import", ["password", "import", bundle, "--passphrase-file", backup, "--on-conflict", "skip"], extra: unlocked, expect: 0)
        try r.run("password-import", ["password", "import", bundle, "--passphrase-file", backup], extra: unlocked, expect: 65)  // conflicts listed
        try r.run("password-mfa", ["password", "mfa", "--disable"], extra: unlocked, expect: 64)
        // Enrolment shows the secret to scan (on stderr with --json) and reads the code on stdin.
        do {
            let enrolment = try BackgroundEnrolment(cli: CLI(home: root.path, environment: cli.environment.merging(unlocked) { $1 }), directory: root.path)
            let secret = try enrolment.secret()
            let code = try ProcessRunner.run("oathtool", ["--totp", "-b", secret], environment: ProcessInfo.processInfo.environment, input: [], timeout: 10)
                .stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
            let enrolled = try enrolment.finish(code: code)
            #expect(enrolled.status == 0, "\(enrolled.stderr)")
            r.record("password-mfa", status: enrolled.status ?? -1, stdout: enrolled.stdout)
            let backupCode = try #require(try JSONParser.parse(Array(enrolled.stdout.utf8))["backup_codes"]?.arrayValue?.first?.stringValue)
            try r.run("password-mfa", ["--code", backupCode, "password", "mfa", "--disable"], extra: unlocked, expect: 0)
        } catch {
            Issue.record("the second step could not be enrolled and removed: \(error)")
        }
        try r.run("password-change", ["password", "change", "--new-passphrase-file", short], extra: unlocked, expect: 64)
        try r.run("password-change", ["password", "change", "--new-passphrase-file", newStore], extra: unlocked, expect: 0)
        try r.run("lock", ["lock"], expect: 0)
        try r.run("lock", ["lock", "--bogus"], expect: 64)
        try r.run("unlock", ["unlock", "--for", "8d"], expect: 64)
        // unlock keeps the key in the session keyring: run it in a session of its own.
        let session = try ProcessRunner.run("keyctl", ["session", "-", CLI.executable, "--json", "unlock", "--for", "60s", "--passphrase-file", newStore],
                                            environment: cli.environment.merging(["CREDVAULT_BACKEND": ""]) { $1 }, input: [], timeout: 60)
        #expect(session.status == 0, "\(session.stderr)")
        r.record("unlock", status: session.status, stdout: session.stdoutText)
        try r.run("password-clear", ["password", "clear"], extra: ["CREDVAULT_PASSPHRASE_FILE": newStore, "CREDVAULT_BACKEND": ""], expect: 64)  // no --yes, no terminal
        try r.run("password-clear", ["password", "clear", "--yes"], extra: ["CREDVAULT_PASSPHRASE_FILE": newStore, "CREDVAULT_BACKEND": ""], expect: 0)

        let lines = try r.runs.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) + "\n" }.joined()
        let validation = try ProcessRunner.run("/usr/bin/python3", [Repository.support("validate_json_output.py"), Self.schema],
                                               environment: ProcessInfo.processInfo.environment, input: Array(lines.utf8), timeout: 120)
        #expect(validation.status == 0, "\(validation.stdoutText)\(validation.stderr)")
    }
}
