import CredentialVault
import CredentialVaultAuth
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
import CredentialVaultTestSupport
#endif

/// Device-code login, refresh and logout through the CLI against a real OpenID provider:
/// Glewlwyd 2.7.5 from Debian 12 (see Tests/support/glewlwyd-peer), with the counting proxy
/// of Tests/support/oauth_peer.py where a test needs to count or disturb requests.
@Suite("Login flows against Glewlwyd", .serialized, .enabled(if: OAuthComponents.present()))
struct LoginFlowTests {
    struct Fixture {
        let root: TemporaryDirectory
        let cli: CLI
        let environment: [String: String]
        let server: Glewlwyd
    }

    /// A fresh app home on the file backend, configured for `plugin`; `config` adds lines.
    func fixture(plugin: String = "oidc", config: [String] = [], backend: String? = "file",
                 environment extra: [String: String] = [:]) throws -> Fixture {
        let server = try Glewlwyd.get()
        let root = try TemporaryDirectory()
        let home = root.path + "/vault"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try (["scopes = \"openid cli\""] + config).joined(separator: "\n").write(toFile: home + "/config", atomically: true, encoding: .utf8)
        var environment = ["CREDVAULT_HOME": home, "CREDVAULT_AUTH_ISSUER_URL": server.issuer(plugin),
                           "CREDVAULT_AUTH_CLIENT_ID": "credvault-cli"]
        if let backend { environment["CREDVAULT_BACKEND"] = backend }
        environment.merge(extra) { $1 }
        let cli = CLI(home: root.path, environment: environment)
        return Fixture(root: root, cli: cli, environment: cli.environment, server: server)
    }

    /// Runs `auth login`, approves the code as the person would, and waits for the result.
    @discardableResult
    func login(_ fixture: Fixture, plugin: String = "oidc", arguments: [String] = [], approve: Bool = true,
               beforeApproving: () throws -> Void = {}) throws -> (Int32?, BackgroundCLI) {
        let process = try BackgroundCLI(fixture.cli, ["auth", "login", "--no-browser"] + arguments, directory: fixture.root.path)
        let code = try process.userCode()
        if approve {
            try beforeApproving()
            try fixture.server.approve(code, plugin: plugin)
        }
        return (process.wait(timeout: 90), process)
    }

    func json(_ output: ProcessOutput) throws -> JSONValue { try JSONParser.parse(output.stdout) }


    @Test("full login on the file backend: pending → approved → stored (refresh token sealed); status names identity and source")
    func fullLoginFileBackend() async throws {
        let fixture = try fixture(); defer { fixture.root.remove() }
        let (status, process) = try login(fixture)
        #expect(status == 0, "\(process.stderr)")
        #expect(process.stdout.contains("Login successful"))
        #expect(process.stdout.contains("credentials.json"), "says where the credentials went: \(process.stdout)")
        #expect(process.stderr.contains("Enter code:") && process.stderr.contains("/api/oidc/device"))

        let statusOutput = try fixture.cli.run("auth", "status", "--json")
        #expect(statusOutput.status == 0, "\(statusOutput.stderr)")
        let document = try json(statusOutput)
        #expect(document["authenticated"] == .bool(true))
        #expect(document["source"]?["kind"] == .string("oauth"))
        #expect(document["source"]?["location"]?.stringValue?.hasSuffix("credentials.json (item credvault-auth/credvault)") == true)
        #expect(document["identity"]?["claim"] == .string("sub"))
        #expect(document["identity"]?["verified"] == .bool(false))
        #expect(document["refresh_due_at"] != nil && document["expires_at"] != nil)

        // The refresh token is stored sealed: the record has no plaintext refresh_token field
        // and the token itself does not appear in the file.
        let refreshToken = try await storedRefreshToken(environment: fixture.environment)
        let file = try String(contentsOfFile: fixture.environment["CREDVAULT_HOME"]! + "/credentials.json", encoding: .utf8)
        let record = try await AuthSession.open(app: .credvault, options: VaultOptions(environment: fixture.environment)).vault
            .secret(service: "credvault-auth", account: "credvault").utf8String() ?? ""
        #expect(record.contains("refresh_token_sealed") && !record.contains("\"refresh_token\""))
        #expect(!record.contains(refreshToken) && !file.contains(refreshToken))

        let resolved = try fixture.cli.run("auth", "resolve", "--raw")
        #expect(resolved.status == 0, "\(resolved.stderr)")
        #expect(resolved.stdoutText.split(separator: ".").count == 3, "the access token (a JWT) is printed for scripts")
    }

    @Test("full login into the real keyring; secret-tool sees the item")
    func fullLoginKeyring() throws {
        try #require(Components.present("dbus-run-session", "gnome-keyring-daemon", "secret-tool"))
        let harness = try KeyringHarness()
        defer { harness.shutdown() }
        let fixture = try fixture(backend: nil, environment: harness.environment); defer { fixture.root.remove() }
        let (status, process) = try login(fixture)
        #expect(status == 0, "\(process.stderr)")
        #expect(process.stdout.contains("secret-service item credvault-auth/credvault"), "\(process.stdout)")
        #expect(!FileManager.default.fileExists(atPath: fixture.environment["CREDVAULT_HOME"]! + "/credentials.json"))
        let search = try harness.secretTool(["search", "--all", "service", "credvault-auth"])
        #expect(search.stderr.contains("username = credvault") || search.stdoutText.contains("username = credvault"), "\(search.stderr)")
        let statusOutput = try fixture.cli.run("auth", "status", "--json")
        #expect(try json(statusOutput)["source"]?["location"] == .string("secret-service item credvault-auth/credvault"))
        #expect(try fixture.cli.run("auth", "resolve").status == 0)
    }

    @Test("polling too fast provokes slow_down; the client then waits interval + 5 s")
    func slowDown() throws {
        let server = try Glewlwyd.get()
        let proxy = try OAuthPeer("proxy", ["--upstream", server.base, "--double-first-poll"])
        defer { proxy.stop() }
        let fixture = try fixture(config: ["device_authorization_endpoint = \(server.issuer())/device_authorization",
                                           "token_endpoint = \(proxy.base)/api/oidc/token"])
        defer { fixture.root.remove() }
        let (status, process) = try login(fixture, beforeApproving: {
            // Approve only after the doubled first poll, so the server answered slow_down.
            let deadline = Date().addingTimeInterval(20)
            while proxy.requests(grant: "urn:ietf:params:oauth:grant-type:device_code").isEmpty, Date() < deadline { usleep(50_000) }
        })
        #expect(status == 0, "\(process.stderr)")
        #expect(process.stderr.contains("asked to slow down; polling every 6 s"), "\(process.stderr)")
        let polls = proxy.requests(grant: "urn:ietf:params:oauth:grant-type:device_code")
        #expect(polls.count >= 2)
        #expect(polls.first?["status"] == .number(400))
        if polls.count >= 2, let first = polls[0]["t"]?.numberValue, let second = polls[1]["t"]?.numberValue {
            #expect(second - first >= 5.9, "after slow_down the next poll waits 1 + 5 s, waited \(second - first)")
        }
    }

    @Test("a denied (already used) device code ends with 'Authorization denied', exit 77, nothing stored")
    func denied() throws {
        let server = try Glewlwyd.get()
        let proxy = try OAuthPeer("proxy", ["--upstream", server.base, "--steal-token"])
        defer { proxy.stop() }
        let fixture = try fixture(config: ["device_authorization_endpoint = \(server.issuer())/device_authorization",
                                           "token_endpoint = \(proxy.base)/api/oidc/token"])
        defer { fixture.root.remove() }
        let (status, process) = try login(fixture)
        #expect(status == 77, "\(process.stderr)")
        #expect(process.stderr.contains("Authorization denied"))
        #expect(try fixture.cli.run("auth", "resolve").status == 80, "nothing was stored")
    }

    @Test("an expired device code (server's limit) exits 75 without a --timeout hint; --timeout stops earlier and says so")
    func expired() throws {
        let fixture = try fixture(plugin: "oidcshort"); defer { fixture.root.remove() }
        let (status, process) = try login(fixture, plugin: "oidcshort", approve: false)
        #expect(status == 75, "\(process.stderr)")
        #expect(process.stderr.contains("Device code expired; run login again"))
        #expect(!process.stderr.contains("--timeout"), "a longer --timeout cannot outlast the server's code: \(process.stderr)")
        #expect(try fixture.cli.run("auth", "resolve").status == 80)

        let patient = try self.fixture(); defer { patient.root.remove() }
        let started = Date()
        let (timedOut, process2) = try login(patient, arguments: ["--timeout", "2"], approve: false)
        #expect(timedOut == 75, "\(process2.stderr)")
        #expect(process2.stderr.contains("Stopped waiting for approval at --timeout"), "\(process2.stderr)")
        #expect(Date().timeIntervalSince(started) < 15, "--timeout 2 stops long before the server's 30 s")
    }

    @Test("rotation race: 8 concurrent resolves make exactly one refresh request and print the same token; the chain survives")
    func rotationRace() throws {
        let server = try Glewlwyd.get()
        let proxy = try OAuthPeer("proxy", ["--upstream", server.base])
        defer { proxy.stop() }
        let fixture = try fixture(plugin: "oidcfast", config: ["device_authorization_endpoint = \(server.issuer("oidcfast"))/device_authorization",
                                                               "token_endpoint = \(proxy.base)/api/oidcfast/token"])
        defer { fixture.root.remove() }
        let (status, process) = try login(fixture, plugin: "oidcfast")
        try #require(status == 0, "\(process.stderr)")
        let loggedIn = try fixture.cli.run("auth", "resolve", "--raw").stdoutText
        // oidcfast's access tokens live 12 s: half-way through, a refresh is due. Its refresh
        // tokens are one-use, and a replayed one kills the chain.
        fixedPause(6.5, because: "oidcfast's 12 s access token: its refresh is due after half its life")
        let racers = try (0..<8).map { _ in try BackgroundCLI(fixture.cli, ["auth", "resolve", "--raw"], directory: fixture.root.path) }
        let statuses = racers.map { $0.wait(timeout: 90) }
        #expect(statuses.allSatisfy { $0 == 0 }, "\(racers.map(\.stderr))")
        #expect(Set(racers.map(\.stdout)).count == 1, "every process prints the same new credential")
        #expect(racers[0].stdout != loggedIn, "the credential is a new one")
        #expect(proxy.requests(grant: "refresh_token").count == 1, "exactly one refresh reached the server")
        #expect(racers[0].stdout.split(separator: ".").count == 3)

        // The next refresh uses the rotated token: the chain is intact, no forced logout.
        fixedPause(6.5, because: "oidcfast's 12 s access token: its refresh is due after half its life")
        let after = try fixture.cli.run("auth", "resolve", "--raw")
        #expect(after.status == 0, "the chain is intact: \(after.stderr)")
        #expect(after.stdoutText != racers[0].stdout)
        #expect(proxy.requests(grant: "refresh_token").map { $0["status"] } == [.number(200), .number(200)])
    }

    @Test("invalid_grant after the chain is broken: exit 80 with the login hint, stored data kept")
    func invalidGrant() async throws {
        let fixture = try fixture(plugin: "oidcfast"); defer { fixture.root.remove() }
        let (status, process) = try login(fixture, plugin: "oidcfast")
        try #require(status == 0, "\(process.stderr)")
        // Someone else uses the refresh token: the server rotates it away from us.
        let stolen = try await storedRefreshToken(environment: fixture.environment)
        #expect(try fixture.server.refresh(stolen, plugin: "oidcfast") == 200)
        fixedPause(6.5, because: "oidcfast's 12 s access token: its refresh is due after half its life")

        let resolved = try fixture.cli.run("auth", "resolve")
        #expect(resolved.status == 80, "\(resolved.stderr)")
        #expect(resolved.stderr.contains("Token refresh failed; run `credvault auth login`"))
        let statusOutput = try fixture.cli.run("auth", "status", "--json")
        let document = try json(statusOutput)
        #expect(document["needs_login"] == .bool(true), "the session is marked, not deleted")
        #expect(document["identity"] != nil, "the stored data is kept")
        #expect(try await storedRefreshToken(environment: fixture.environment) == stolen, "the stored refresh token is kept")
        #expect(try fixture.cli.run("auth", "resolve").status == 80, "and stays refused without another server call")
    }

    @Test("logout revokes at the server (RFC 7009), removes the tokens, and is idempotent")
    func logoutRevokes() async throws {
        let fixture = try fixture(); defer { fixture.root.remove() }
        let (status, process) = try login(fixture)
        try #require(status == 0, "\(process.stderr)")
        let refreshToken = try await storedRefreshToken(environment: fixture.environment)
        let logout = try fixture.cli.run("auth", "logout", "--json")
        #expect(logout.status == 0, "\(logout.stderr)")
        let document = try json(logout)
        #expect(document["removed_modes"] == .array([.string("prod")]))
        #expect(document["revocation"]?.arrayValue?.first?.stringValue?.contains("refresh_token revoked") == true, "\(logout.stdoutText)")
        #expect(try fixture.server.refresh(refreshToken) == 400, "the server no longer honours the refresh token")
        #expect(try fixture.cli.run("auth", "resolve").status == 80)
        let again = try fixture.cli.run("auth", "logout")
        #expect(again.status == 0)
        #expect(again.stdoutText.contains("Already logged out"))
    }
}
