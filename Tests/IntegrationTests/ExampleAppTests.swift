import CredentialVault
import Foundation
import Testing
import CredentialVaultTestSupport

/// Examples/TeamCLI, the embedding example: an app with its own name ("teamcli"), directory
/// and TEAMCLI_ variables, run against the file backend, a real keyring and real Glewlwyd.
@Suite("embedding example (teamcli)", .serialized)
struct ExampleAppTests {
    static var executable: String { ((CLI.executable as NSString).deletingLastPathComponent as NSString).appendingPathComponent("teamcli") }

    func run(_ arguments: [String], environment: [String: String], input: String = "") throws -> ProcessOutput {
        try ProcessRunner.run(Self.executable, arguments, environment: environment, input: Array(input.utf8), timeout: 90)
    }

    /// token → status → call → logout, with the app's own names everywhere.
    func tokenCycle(_ environment: [String: String], backend: String) throws {
        let token = try run(["auth", "token"], environment: environment, input: "pat_example_0123456789\n")
        #expect(token.status == 0, "\(token.stderr)")
        #expect(token.stdoutText.contains("credvault-auth/teamcli"), "the login record is the app's own: \(token.stdoutText)")
        let status = try run(["auth", "status"], environment: environment)
        #expect(status.stdoutText.contains("backend: \(backend)"), "\(status.stdoutText)")
        #expect(status.stdoutText.contains("personal access token"), "\(status.stdoutText)")
        let call = try run(["call"], environment: environment)
        #expect(call.status == 0)
        #expect(call.stdoutText.contains("…6789") && !call.stdoutText.contains("pat_example_0123456789"), "masked, never printed: \(call.stdoutText)")
        // The app's own environment variable wins, and says so.
        let shadowed = try run(["call"], environment: environment.merging(["TEAMCLI_AUTH_TOKEN": "env-token-abcd"]) { $1 })
        #expect(shadowed.stdoutText.contains("TEAMCLI_AUTH_TOKEN"), "\(shadowed.stdoutText)")
        let logout = try run(["auth", "logout"], environment: environment)
        #expect(logout.stdoutText.contains("personal access token"), "\(logout.stdoutText)")
        let after = try run(["call"], environment: environment)
        #expect(after.status == 80, "nothing left: exit 80 (\(after.stderr))")
        #expect(after.stderr.contains("teamcli auth login"), "hints name the app: \(after.stderr)")
    }

    @Test("on the file backend: its own directory and variables, the plaintext warning names TEAMCLI_")
    func fileBackend() throws {
        let home = try TemporaryDirectory(); defer { home.remove() }
        let environment = ["PATH": "/usr/bin:/bin", "HOME": home.path, "XDG_CONFIG_HOME": home.path + "/config"]
        let first = try run(["auth", "token"], environment: environment, input: "pat_first_0000000000\n")
        #expect(first.stderr.contains("TEAMCLI_NO_PLAINTEXT_FALLBACK"), "\(first.stderr)")
        #expect(FileManager.default.fileExists(atPath: home.path + "/config/teamcli/credentials.json"), "stored under the app's own directory")
        #expect(!FileManager.default.fileExists(atPath: home.path + "/config/credvault"), "nothing in credvault's directory")
        _ = try run(["auth", "logout"], environment: environment)
        try tokenCycle(environment, backend: "file")
    }

    @Test("on a real keyring", .enabled(if: Components.present("dbus-run-session", "gnome-keyring-daemon", "secret-tool")))
    func keyring() throws {
        let harness = try KeyringHarness(); defer { harness.shutdown() }
        var environment = harness.environment
        environment["PATH"] = "/usr/bin:/bin"
        let token = try run(["auth", "token"], environment: environment, input: "pat_keyring_9999999999\n")
        #expect(token.status == 0, "\(token.stderr)")
        let search = try harness.secretTool(["search", "--all", "service", "credvault-auth", "username", "teamcli"])
        #expect(search.stderr.contains("attribute.application = teamcli"), "the keyring item belongs to teamcli: \(search.stderr)")
        _ = try run(["auth", "logout"], environment: environment)
        try tokenCycle(environment, backend: "secret-service")
    }

    @Test("device-code login against Glewlwyd, then call and logout", .enabled(if: OAuthComponents.present()))
    func login() throws {
        let server = try Glewlwyd.get()
        let root = try TemporaryDirectory(); defer { root.remove() }
        let home = root.path + "/teamcli"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try "scopes = \"openid cli\"\n".write(toFile: home + "/config", atomically: true, encoding: .utf8)
        let environment = ["TEAMCLI_HOME": home, "TEAMCLI_AUTH_ISSUER_URL": server.issuer(), "TEAMCLI_AUTH_CLIENT_ID": "credvault-cli",
                           "TEAMCLI_BACKEND": "file"]
        let cli = CLI(home: root.path, environment: environment)
        let process = try BackgroundCLI(cli, ["auth", "login"], directory: root.path, executable: Self.executable)
        let code = try process.userCode(after: "enter the code")
        try server.approve(code)
        #expect(process.wait(timeout: 90) == 0, "\(process.stderr)")
        #expect(process.stdout.contains("Logged in (prod)"), "\(process.stdout)")
        let call = try run(["call"], environment: cli.environment)
        #expect(call.status == 0 && call.stdoutText.contains("OAuth"), "\(call.stdoutText) \(call.stderr)")
        let logout = try run(["auth", "logout"], environment: cli.environment)
        #expect(logout.stdoutText.contains("prod login"), "\(logout.stdoutText)")
    }
}
