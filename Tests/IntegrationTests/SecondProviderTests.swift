import CredentialVault
import CredentialVaultAuth
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
import CredentialVaultTestSupport
#endif

/// The login flows against a second real provider, django-oauth-toolkit 3.4.1 (see
/// Tests/support/dot_provider.py). It differs from Glewlwyd where clients go wrong: plain
/// OAuth 2.0 (no OpenID Connect, no ID token), only RFC 8414 metadata, and that metadata does
/// not name the device authorization endpoint, so the one configured endpoint and the
/// discovered rest must be combined; opaque access tokens; 8-character codes without a dash.
@Suite("Login flows against django-oauth-toolkit", .serialized, .enabled(if: DjangoOAuthToolkit.present()))
struct SecondProviderTests {
    struct Fixture {
        let root: TemporaryDirectory
        let cli: CLI
        let environment: [String: String]
        let server: DjangoOAuthToolkit
    }

    func fixture() throws -> Fixture {
        let server = try DjangoOAuthToolkit.get()
        let root = try TemporaryDirectory()
        let home = root.path + "/vault"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // Only what the server's metadata does not say.
        try "scopes = \"cli\"\ndevice_authorization_endpoint = \(server.deviceAuthorizationEndpoint)\n"
            .write(toFile: home + "/config", atomically: true, encoding: .utf8)
        let cli = CLI(home: root.path, environment: ["CREDVAULT_HOME": home, "CREDVAULT_BACKEND": "file",
                                                     "CREDVAULT_AUTH_ISSUER_URL": server.issuer, "CREDVAULT_AUTH_CLIENT_ID": "credvault-cli"])
        return Fixture(root: root, cli: cli, environment: cli.environment, server: server)
    }

    /// Runs `auth login`, plays the person (accept or deny), waits for the result.
    func login(_ fixture: Fixture, accept: Bool = true) throws -> (Int32?, BackgroundCLI) {
        let process = try BackgroundCLI(fixture.cli, ["auth", "login", "--no-browser"], directory: fixture.root.path)
        let code = try process.userCode(matching: /[0-9A-V]{8}/)
        try fixture.server.approve(code, accept: accept)
        return (process.wait(timeout: 90), process)
    }


    @Test("login with one configured endpoint and the rest from RFC 8414 metadata; the box shows the server's 1800 s; opaque token resolved")
    func login() throws {
        let fixture = try fixture(); defer { fixture.root.remove() }
        let (status, process) = try login(fixture)
        #expect(status == 0, "\(process.stderr)")
        #expect(process.stdout.contains("Login successful"), "\(process.stdout)")
        #expect(process.stderr.contains("\(fixture.server.base)/o/device/"), "the server's verification URI: \(process.stderr)")
        #expect(process.stderr.contains(/The code expires in 1[78]\d\d seconds/), "the server's expires_in, not a default: \(process.stderr)")

        let statusOutput = try fixture.cli.run("auth", "status", "--json")
        #expect(statusOutput.status == 0, "\(statusOutput.stderr)")
        let document = try JSONParser.parse(statusOutput.stdout)
        #expect(document["authenticated"] == .bool(true))
        #expect(document["source"]?["kind"] == .string("oauth"))
        let resolved = try fixture.cli.run("auth", "resolve", "--raw")
        #expect(resolved.status == 0, "\(resolved.stderr)")
        #expect(resolved.stdoutText.count == 30 && !resolved.stdoutText.contains("."), "the opaque access token: \(resolved.stdoutText)")
    }

    @Test("a refresh when due rotates the token; the old refresh token is dead at the server")
    func refreshRotates() async throws {
        let fixture = try fixture(); defer { fixture.root.remove() }
        let (status, process) = try login(fixture)
        try #require(status == 0, "\(process.stderr)")
        let first = try fixture.cli.run("auth", "resolve", "--raw").stdoutText
        let firstRefresh = try await storedRefreshToken(environment: fixture.environment)
        fixedPause(6.5, because: "the provider's 12 s access token: its refresh is due after half its life")
        let second = try fixture.cli.run("auth", "resolve", "--raw")
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdoutText != first && second.stdoutText.count == 30, "a new access token")
        let secondRefresh = try await storedRefreshToken(environment: fixture.environment)
        #expect(secondRefresh != firstRefresh, "the rotated refresh token was stored")
        #expect(try fixture.server.refresh(firstRefresh) == 400, "the server no longer honours the old refresh token")
    }

    @Test("logout revokes at the endpoint learnt from the metadata (RFC 7009): the refresh token is dead at the server")
    func logoutRevokes() async throws {
        let fixture = try fixture(); defer { fixture.root.remove() }
        let (status, process) = try login(fixture)
        try #require(status == 0, "\(process.stderr)")
        let refreshToken = try await storedRefreshToken(environment: fixture.environment)
        let logout = try fixture.cli.run("auth", "logout", "--json")
        #expect(logout.status == 0, "\(logout.stderr)")
        let document = try JSONParser.parse(logout.stdout)
        #expect(document["removed_modes"] == .array([.string("prod")]))
        #expect(document["revocation"]?.arrayValue?.first?.stringValue?.contains("refresh_token revoked") == true, "\(logout.stdoutText)")
        #expect(document["not_revoked_modes"] == nil || document["not_revoked_modes"] == .array([]), "\(logout.stdoutText)")
        #expect(try fixture.server.refresh(refreshToken) == 400, "the server no longer honours the refresh token")
        #expect(try fixture.cli.run("auth", "resolve").status == 80)
    }

    @Test("the person presses deny: 'Authorization denied', exit 77, nothing stored")
    func denied() throws {
        let fixture = try fixture(); defer { fixture.root.remove() }
        let (status, process) = try login(fixture, accept: false)
        #expect(status == 77, "\(process.stderr)")
        #expect(process.stderr.contains("Authorization denied"), "\(process.stderr)")
        #expect(try fixture.cli.run("auth", "resolve").status == 80, "nothing was stored")
    }
}
