import CredentialVault
import CredentialVaultAuth
import Foundation
import Testing
import CredentialVaultTestSupport

/// The resolver, PATs, workspace keys, modes, zero-auth, app prefixes and logout, through the
/// CLI on the file backend (no network: these sources are all local).
@Suite("Credential resolver and local auth state")
struct ResolverTests {
    static let acmeKey = "cv_acme_0123456789abcdef"
    static let betaKey = "cv_beta_fedcba9876543210"

    func fixture(app: String = "credvault", config: [String] = [], _ environment: [String: String] = [:]) throws -> (TemporaryDirectory, CLI) {
        let root = try TemporaryDirectory()
        let prefix = app.uppercased()
        let home = root.path + "/vault"
        if !config.isEmpty {
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try config.joined(separator: "\n").write(toFile: home + "/config", atomically: true, encoding: .utf8)
        }
        let base = ["\(prefix)_HOME": home, "\(prefix)_BACKEND": "file"]
        var arguments = CLI(home: root.path, environment: base.merging(environment) { $1 })
        if app != "credvault" { arguments.appArguments = ["--app", app] }
        return (root, arguments)
    }

    func resolve(_ cli: CLI, _ arguments: [String] = [], extra: [String: String] = [:]) throws -> (ProcessOutput, JSONValue?) {
        let output = try cli.run(cli.appArguments + ["auth", "resolve", "--json"] + arguments, extra: extra)
        return (output, try? JSONParser.parse(output.stdout))
    }

    func kind(_ document: JSONValue?) -> String? { document?["source"]?["kind"]?.stringValue }

    @Test("resolver order: --api-key-file > API_KEY > AUTH_TOKEN > --workspace key > active workspace key > PAT, each naming its source and what it shadows")
    func order() throws {
        let (root, cli) = try fixture(); defer { root.remove() }
        #expect(try cli.run("auth", "token", input: "pat-value-0001\n").status == 0)
        #expect(try cli.run("workspace", "key", "set", "acme", input: Self.acmeKey).status == 0)
        #expect(try cli.run("workspace", "key", "set", "beta", input: Self.betaKey).status == 0)
        #expect(try cli.run("workspace", "use", "acme").status == 0)
        let keyFile = root.path + "/key"
        FileManager.default.createFile(atPath: keyFile, contents: Data("cv_filews_00112233aabbccdd\n".utf8), attributes: [.posixPermissions: 0o600])
        let everything = ["CREDVAULT_API_KEY": "cv_envws_0011223344556677", "CREDVAULT_AUTH_TOKEN": "env-token-0001"]

        var (output, document) = try resolve(cli, ["--api-key-file", keyFile, "--workspace", "beta"], extra: everything)
        #expect(kind(document) == "api-key-file")
        #expect(document?["shadowed"]?.arrayValue?.compactMap { $0["kind"]?.stringValue } ==
                ["environment", "environment", "workspace-key", "personal-access-token"])
        (output, document) = try resolve(cli, ["--workspace", "beta"], extra: everything)
        #expect(kind(document) == "environment")
        #expect(document?["source"]?["location"] == .string("$CREDVAULT_API_KEY"))
        #expect(output.stderr.contains("CREDVAULT_API_KEY overrides --workspace beta"), "shadowing warning: \(output.stderr)")
        (output, document) = try resolve(cli, ["--workspace", "beta"], extra: ["CREDVAULT_AUTH_TOKEN": "env-token-0001"])
        #expect(document?["source"]?["location"] == .string("$CREDVAULT_AUTH_TOKEN"))
        (output, document) = try resolve(cli, ["--workspace", "beta"])
        #expect(kind(document) == "workspace-key")
        #expect(document?["workspace"] == .string("beta"))
        #expect(document?["masked"] == .string("…3210"))
        (output, document) = try resolve(cli)
        #expect(kind(document) == "active-workspace-key")
        #expect(document?["workspace"] == .string("acme"))
        #expect(try cli.run("workspace", "key", "remove", "acme").status == 0)
        (output, document) = try resolve(cli)
        #expect(kind(document) == "personal-access-token")
        #expect(try cli.run("auth", "resolve", "--raw").stdoutText == "pat-value-0001")
        let human = try cli.run("auth", "resolve")
        #expect(human.stdoutText.contains("source: stored personal access token in ") && human.stdoutText.contains("credentials.json"))
        #expect(!human.stdoutText.contains("pat-value-0001"), "only the masked value is shown")
    }

    @Test("--api-key works with a warning that arguments are visible; every error names the source")
    func apiKeyArgumentAndErrors() throws {
        let (root, cli) = try fixture(); defer { root.remove() }
        let (output, document) = try resolve(cli, ["--api-key", "cv_acme_0123456789abcdef"])
        #expect(kind(document) == "api-key-argument")
        #expect(output.stderr.contains("--api-key puts the key in the process list"))
        let malformedEnv = try cli.run(["auth", "resolve"], extra: ["CREDVAULT_API_KEY": "not-a-key-secret-xyz"])
        #expect(malformedEnv.status == 65)
        #expect(malformedEnv.stderr.contains("CREDVAULT_API_KEY environment variable is malformed: expected <prefix>_<workspace>_<hex digits>"))
        #expect(!malformedEnv.stderr.contains("not-a-key-secret-xyz"), "the value itself never appears in an error")
        let keyFile = root.path + "/open-key"
        FileManager.default.createFile(atPath: keyFile, contents: Data("cv_acme_0123456789abcdef\n".utf8), attributes: [.posixPermissions: 0o644])
        let open = try cli.run("auth", "resolve", "--api-key-file", keyFile)
        #expect(open.status == 77)
        #expect(open.stderr.contains("chmod 600"))
    }

    @Test("workspace isolation: a key is stored and returned only for its own workspace; malformed keys are refused (65)")
    func workspaceIsolation() throws {
        let (root, cli) = try fixture(); defer { root.remove() }
        let wrong = try cli.run("workspace", "key", "set", "acme", input: Self.betaKey)
        #expect(wrong.status == 65)
        #expect(wrong.stderr.contains("belongs to workspace 'beta', not 'acme'"))
        let malformed = try cli.run("workspace", "key", "set", "acme", input: "cv_acme_nothex!")
        #expect(malformed.status == 65)
        #expect(malformed.stderr.contains("expected <prefix>_acme_<hex digits>"))
        #expect(!malformed.stderr.contains("nothex"))
        #expect(try cli.run("workspace", "key", "set", "acme", input: Self.acmeKey).status == 0)
        #expect(try cli.run("workspace", "use", "acme").status == 0)
        // --workspace beta has no key: the resolver must not hand out acme's.
        let other = try cli.run("auth", "resolve", "--workspace", "beta")
        #expect(other.status == 80, "\(other.stdoutText)")
        #expect(other.stderr.contains("workspace key set beta"))
        #expect(try cli.run("auth", "resolve", "--workspace", "acme", "--raw").stdoutText == Self.acmeKey)
        let list = try cli.run("workspace", "list", "--json")
        let workspaces = try JSONParser.parse(list.stdout)["workspaces"]?.arrayValue ?? []
        #expect(workspaces.map { $0["name"] } == [.string("acme")])
        #expect(workspaces.first?["active"] == .bool(true))
        #expect(!list.stdoutText.contains(Self.acmeKey))
        #expect(try cli.run("workspace", "current").stdoutText == "acme\n")
        #expect(try cli.run("workspace", "key", "remove", "beta").status == 1)
        #expect(try cli.run("workspace", "use", "Bad_Name").status == 64)
    }

    @Test("personal access tokens: stdin only, empty and JWT-shaped values refused, location reported")
    func personalAccessTokens() throws {
        let (root, cli) = try fixture(); defer { root.remove() }
        let empty = try cli.run("auth", "token", input: "\n")
        #expect(empty.status == 65)
        let jwt = try cli.run("auth", "token", input: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")
        #expect(jwt.status == 65)
        #expect(jwt.stderr.contains("use `credvault auth login` for OAuth tokens"))
        #expect(try cli.run("auth", "token", "pat-as-argument").status == 64, "never from an argument")
        let stored = try cli.run("auth", "token", input: "pat-value-0002")
        #expect(stored.status == 0)
        #expect(stored.stdoutText.contains("Personal Access Token stored successfully!"))
        #expect(stored.stdoutText.contains("\(root.path)/vault/credentials.json"))
        #expect(!stored.stdoutText.contains("pat-value-0002") && !stored.stderr.contains("pat-value-0002"))
        let logout = try cli.run("auth", "logout", "--json")
        #expect(try JSONParser.parse(logout.stdout)["removed_personal_access_token"] == .bool(true))
        #expect(try cli.run("auth", "resolve").status == 80)
    }

    @Test("zero-auth mode: login and status say no authentication is required; resolve returns none")
    func zeroAuth() throws {
        let (root, cli) = try fixture(["CREDVAULT_AUTH_MODE": "local"]); defer { root.remove() }
        let login = try cli.run("auth", "login")
        #expect(login.status == 0)
        #expect(login.stdoutText.contains("local (zero-auth) mode") && login.stdoutText.contains("No authentication is required"))
        let status = try cli.run("auth", "status")
        #expect(status.status == 0)
        #expect(status.stdoutText.contains("zero-auth"))
        let (_, document) = try resolve(cli)
        #expect(document?["source"]?["description"] == .string("none (zero-auth)"))
        #expect(try cli.run(["auth", "login"], extra: ["CREDVAULT_AUTH_MODE": "bogus"]).status == 78)
    }

    @Test("auth not configured: exit 78 naming the variables; unauthenticated: exit 80 with the fixes")
    func notConfigured() throws {
        let (root, cli) = try fixture(); defer { root.remove() }
        let login = try cli.run("auth", "login", "--no-browser")
        #expect(login.status == 78)
        #expect(login.stderr.contains("Auth not configured. Set CREDVAULT_AUTH_ISSUER_URL and CREDVAULT_AUTH_CLIENT_ID"))
        let resolve = try cli.run("auth", "resolve")
        #expect(resolve.status == 80)
        #expect(resolve.stderr.contains("credvault auth login") && resolve.stderr.contains("credvault auth token"))
        let status = try cli.run("auth", "status", "--json")
        #expect(status.status == 80)
        #expect(try JSONParser.parse(status.stdout)["authenticated"] == .bool(false))
        #expect(try cli.run("auth", "logout").status == 0, "logout with nothing stored is fine")
    }

    @Test("modes: each has its own workspace state; toggling never logs in; <APP>_MODE overrides")
    func modes() throws {
        let (root, cli) = try fixture(); defer { root.remove() }
        #expect(try cli.run("mode").stdoutText.hasPrefix("prod (default)"))
        #expect(try cli.run("workspace", "key", "set", "acme", input: Self.acmeKey).status == 0)
        #expect(try cli.run("workspace", "use", "acme").status == 0)
        let dev = try cli.run("mode", "dev")
        #expect(dev.status == 0)
        #expect(dev.stdoutText.contains("No OAuth login for dev mode yet"))
        #expect(try cli.run("workspace", "current").status == 1, "dev has its own (empty) workspace state")
        #expect(try cli.run("auth", "resolve").status == 80)
        #expect(try cli.run("mode", "toggle").stdoutText.hasPrefix("Mode: prod"))
        #expect(try cli.run("auth", "resolve", "--raw").stdoutText == Self.acmeKey)
        let overridden = try cli.run(["mode"], extra: ["CREDVAULT_MODE": "dev"])
        #expect(overridden.stdoutText.hasPrefix("dev (CREDVAULT_MODE)"))
        #expect(try cli.run(["auth", "resolve"], extra: ["CREDVAULT_MODE": "dev"]).status == 80)
        #expect(try cli.run("mode", "staging").status == 64)
    }

    @Test("--app skillmeat reads SKILLMEAT_* variables; --app cmdop with api_key_prefix = cmd_ reads CMDOP_*")
    func appPrefixes() throws {
        let (root, skillmeat) = try fixture(app: "skillmeat", ["SKILLMEAT_AUTH_TOKEN": "sk_live_abc123"]); defer { root.remove() }
        let (_, document) = try resolve(skillmeat)
        #expect(document?["source"]?["location"] == .string("$SKILLMEAT_AUTH_TOKEN"))
        let login = try skillmeat.run(skillmeat.appArguments + ["auth", "login"])
        #expect(login.status == 78)
        #expect(login.stderr.contains("Set SKILLMEAT_AUTH_ISSUER_URL and SKILLMEAT_AUTH_CLIENT_ID"))
        let local = try skillmeat.run(skillmeat.appArguments + ["auth", "status"], extra: ["SKILLMEAT_AUTH_MODE": "local"])
        #expect(local.stdoutText.contains("skillmeat is running in local (zero-auth) mode"))

        let (root2, cmdop) = try fixture(app: "cmdop", config: ["api_key_prefix = cmd_"],
                                         ["CMDOP_API_KEY": "cmd_acme_a1b2c3d4e5f6", "CMDOP_WORKSPACE": "acme-staging"])
        defer { root2.remove() }
        let (output, cmdDocument) = try resolve(cmdop)
        #expect(cmdDocument?["source"]?["location"] == .string("$CMDOP_API_KEY"), "\(output.stderr)")
        #expect(output.stderr.contains("CMDOP_API_KEY overrides CMDOP_WORKSPACE acme-staging"))
        let current = try cmdop.run(cmdop.appArguments + ["workspace", "current"])
        #expect(current.stdoutText == "acme-staging (from CMDOP_WORKSPACE)\n")
        let wrongPrefix = try cmdop.run(cmdop.appArguments + ["workspace", "key", "set", "acme"], input: Array(Self.acmeKey.utf8))
        #expect(wrongPrefix.status == 65)
        #expect(wrongPrefix.stderr.contains("expected cmd_acme_<hex digits>"))
        let stored = try cmdop.run(cmdop.appArguments + ["workspace", "key", "set", "acme"], input: Array("cmd_acme_a1b2c3d4e5f6".utf8))
        #expect(stored.status == 0)
        #expect(stored.stderr.contains("CMDOP_API_KEY is set and takes precedence"))
        let debug = try cmdop.run(cmdop.appArguments + ["auth", "resolve"], extra: ["CMDOP_LOG_LEVEL": "debug"])
        #expect(debug.stderr.contains("credvault: backend: file"), "CMDOP_LOG_LEVEL=debug is --verbose: \(debug.stderr)")
        let quiet = try cmdop.run(cmdop.appArguments + ["auth", "resolve"], extra: ["CMDOP_LOG_LEVEL": "error"])
        #expect(!quiet.stderr.contains("warning"), "CMDOP_LOG_LEVEL=error silences warnings: \(quiet.stderr)")
    }

    @Test("issue 17 item 1: without api_key_prefix an app's own keys are accepted (cmd_…, cv_…) and their shape still checked")
    func unconfiguredPrefix() throws {
        let (root, cmdop) = try fixture(app: "cmdop", ["CMDOP_API_KEY": "cmd_acme_a1b2c3d4e5f6"]); defer { root.remove() }
        let (output, document) = try resolve(cmdop)
        #expect(output.status == 0, "the old default cv_ refused it with 65: \(output.stderr)")
        #expect(document?["source"]?["location"] == .string("$CMDOP_API_KEY"))
        #expect(document?["workspace"] == .string("acme"), "\(output.stdoutText)")
        for malformed in ["cmd_acme_xyz", "CMD_acme_a1b2c3d4e5f6", "acme-a1b2c3d4e5f6", "_acme_a1b2c3d4e5f6"] {
            let refused = try cmdop.run(cmdop.appArguments + ["auth", "resolve"], extra: ["CMDOP_API_KEY": malformed])
            #expect(refused.status == 65, "\(malformed): \(refused.stderr)")
            #expect(refused.stderr.contains("expected <prefix>_<workspace>_<hex digits>"), "\(refused.stderr)")
        }
        let stored = try cmdop.run(cmdop.appArguments + ["workspace", "key", "set", "acme"], input: Array("cv_acme_0123456789abcdef".utf8))
        #expect(stored.status == 0, "any prefix, for the right workspace: \(stored.stderr)")
        let otherWorkspace = try cmdop.run(cmdop.appArguments + ["workspace", "key", "set", "acme"], input: Array("cmd_beta_0123456789abcdef".utf8))
        #expect(otherWorkspace.status == 65, "\(otherWorkspace.stderr)")
    }

    @Test("a corrupt login record is refused (65), never replaced")
    func corruptRecord() throws {
        let (root, cli) = try fixture(); defer { root.remove() }
        #expect(try cli.run("set", "credvault-auth", "credvault", input: "{not json").status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: root.path + "/vault/credentials.json"))
        let token = try cli.run("auth", "token", input: "pat-value-0003")
        #expect(token.status == 65)
        #expect(token.stderr.contains("login record") && token.stderr.contains("credvault delete credvault-auth credvault"))
        #expect(try cli.run("auth", "resolve").status == 65)
        #expect(try Data(contentsOf: URL(fileURLWithPath: root.path + "/vault/credentials.json")) == before)
    }
}
