import CredentialVault
import CredentialVaultAuth
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The repository checkout (for Tests/support scripts).
package enum Repository {
    package static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    package static func support(_ name: String) -> String { root + "/Tests/support/" + name }
}

/// The refresh token `auth login` stored for the credvault app's prod mode (sealed), opened
/// through the library: for tests that break or probe a chain at the server.
package func storedRefreshToken(environment: [String: String]) async throws -> String {
    let session = try await AuthSession.open(app: .credvault, options: VaultOptions(environment: environment))
    let record = try await session.store.load()
    let sealed = try #require(record[.prod].tokens?.sealedRefreshToken)
    let token = try await session.vault.openSealed(sealed, for: CredentialKey(service: "credvault-auth", account: "credvault/prod/refresh_token"))
    return try #require(token.utf8String())
}

/// Starts a test-process-wide service once; its failure is kept and reported to every test.
package func startOnce<Service>(_ start: () throws -> Service) -> Result<Service, HarnessError> {
    do { return .success(try start()) } catch let error as HarnessError { return .failure(error) } catch { return .failure(HarnessError("\(error)")) }
}

/// Whether Glewlwyd (Debian 12's package, unpacked by scripts/install-system-packages) and
/// the tools its harness uses are here.
package enum OAuthComponents {
    package static var glewlwydBinary: String? {
        let candidates = [ProcessInfo.processInfo.environment["GLEWLWYD_PREFIX"].map { $0 + "/usr/bin/glewlwyd" },
                          Repository.root + "/.build-glewlwyd/usr/bin/glewlwyd", "/usr/bin/glewlwyd"].compactMap { $0 }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    package static func present() -> Bool {
        if Components.required { return true }
        if glewlwydBinary == nil {
            print("SKIP: glewlwyd is not installed (scripts/install-system-packages test unpacks it into .build-glewlwyd); set CREDVAULT_TEST_REQUIRE_COMPONENTS=1 to fail instead")
            return false
        }
        if let tool = Components.missing(["sqlite3", "curl", "python3"]) {
            print("SKIP: \(tool) is not installed; set CREDVAULT_TEST_REQUIRE_COMPONENTS=1 to fail instead")
            return false
        }
        return true
    }

    package static func pythonPresent() -> Bool {
        if Components.required || Components.missing(["python3"]) == nil { return true }
        print("SKIP: python3 is not installed; set CREDVAULT_TEST_REQUIRE_COMPONENTS=1 to fail instead")
        return false
    }
}

/// One real Glewlwyd for the whole test process, on a free loopback port, stopped at exit.
/// Plugins: `oidc` (device code 30 s, interval 1 s, access token 60 s, one-use rotating
/// refresh tokens, revocation) and `oidcshort` (device code 3 s).
package final class Glewlwyd: Sendable {
    package let base: String
    package let port: Int
    package let work: String

    package static let shared = startOnce { try Glewlwyd() }

    package static func get() throws -> Glewlwyd { try shared.get() }

    private init() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("credvault-glewlwyd-\(getpid())").path
        let work = work
        // The start script waits until Glewlwyd answers its API, then prints its pid.
        let (port, pid) = try ServiceProcess.withFreePort { port -> (Int, pid_t) in
            let output = try ProcessRunner.run(Repository.support("glewlwyd-peer"), ["start", work, "\(port)"],
                                               environment: ProcessInfo.processInfo.environment, input: [], timeout: 60)
            guard output.status == 0, let pidLine = output.stdoutText.split(separator: "\n").first(where: { $0.hasPrefix("PID=") }),
                  let pid = Int32(pidLine.dropFirst(4)) else {
                throw HarnessError("glewlwyd did not start: \(output.stderr)")
            }
            return (port, pid)
        }
        ServiceProcess.remember(pid)
        self.port = port
        self.base = "http://127.0.0.1:\(port)"
    }

    package func issuer(_ plugin: String = "oidc") -> String { "\(base)/api/\(plugin)" }

    /// Plays the person: logs in as user1, grants the scopes, approves `code`.
    package func approve(_ code: String, plugin: String = "oidc") throws {
        let output = try ProcessRunner.run(Repository.support("glewlwyd-peer"), ["approve", work, "\(port)", code, plugin],
                                           environment: ProcessInfo.processInfo.environment, input: [], timeout: 30)
        guard output.status == 0, output.stdoutText.contains("prompt=deviceComplete") else {
            throw HarnessError("approving \(code) failed: \(output.stdoutText) \(output.stderr)")
        }
    }

    /// A refresh straight at the server, bypassing credvault (to break or probe a chain).
    package func refresh(_ refreshToken: String, plugin: String = "oidc") throws -> Int32 {
        let output = try ProcessRunner.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}",
                                                             "-d", "grant_type=refresh_token&client_id=credvault-cli&refresh_token=\(refreshToken)",
                                                             "\(issuer(plugin))/token"],
                                           environment: ProcessInfo.processInfo.environment, input: [], timeout: 30)
        return Int32(output.stdoutText) ?? -1
    }
}

/// One real django-oauth-toolkit 3.4.1 server (Tests/support/dot_provider.py, from the
/// hash-pinned .build-oauth-dot environment) for the whole test process, on a port it picked:
/// the second OAuth provider. Plain OAuth 2.0 (no OpenID Connect, opaque tokens), RFC 8414
/// metadata that names the token and revocation endpoints but not the device authorization
/// endpoint, device code 1800 s with a 1 s interval, access tokens of 12 s, rotating refresh
/// tokens, RFC 7009 revocation.
package final class DjangoOAuthToolkit: Sendable {
    package let base: String
    private let service: ServiceProcess

    package static var python: String { Repository.root + "/.build-oauth-dot/bin/python" }

    package static func present() -> Bool {
        if Components.required || FileManager.default.isExecutableFile(atPath: python) { return true }
        print("SKIP: django-oauth-toolkit is not installed (scripts/install-system-packages test puts it into .build-oauth-dot); set CREDVAULT_TEST_REQUIRE_COMPONENTS=1 to fail instead")
        return false
    }

    package static let shared = startOnce { try DjangoOAuthToolkit() }

    package static func get() throws -> DjangoOAuthToolkit { try shared.get() }

    private init() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("credvault-dot-\(getpid())").path
        try? FileManager.default.removeItem(atPath: work)
        var environment = ProcessInfo.processInfo.environment
        environment["ACCESS_SECONDS"] = "12"
        service = try ServiceProcess("dot_provider", [Self.python, Repository.support("dot_provider.py"), "serve", work],
                                     environment: environment, port: .announced(descriptor: 1, prefix: "PORT="))
        base = "http://127.0.0.1:\(service.port!)"
    }

    /// The issuer: the origin (its RFC 8414 document is at /.well-known/oauth-authorization-server).
    package var issuer: String { base }
    /// The one endpoint its metadata does not name.
    package var deviceAuthorizationEndpoint: String { base + "/o/device-authorization/" }

    /// Plays the person with a browser: logs in, enters `code`, presses accept (or deny).
    package func approve(_ code: String, accept: Bool = true) throws {
        let output = try ProcessRunner.run(Self.python, [Repository.support("dot_provider.py"), "approve", base, code, accept ? "accept" : "deny"],
                                           environment: ProcessInfo.processInfo.environment, input: [], timeout: 30)
        guard output.status == 0, output.stdoutText.contains("DONE=") else {
            throw HarnessError("approving \(code) failed: \(output.stdoutText) \(output.stderr) \(service.logTail)")
        }
    }

    /// A refresh straight at the server, bypassing credvault: its HTTP status.
    package func refresh(_ refreshToken: String) throws -> Int32 {
        let output = try ProcessRunner.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--data-urlencode", "grant_type=refresh_token",
                                                             "--data-urlencode", "client_id=credvault-cli", "--data-urlencode", "refresh_token=\(refreshToken)",
                                                             "\(base)/o/token/"],
                                           environment: ProcessInfo.processInfo.environment, input: [], timeout: 30)
        return Int32(output.stdoutText) ?? -1
    }
}

/// Tests/support/oauth_peer.py as a counting proxy or a scripted fault server.
package final class OAuthPeer: @unchecked Sendable {
    package let port: Int
    package let logPath: String
    private let service: ServiceProcess
    package let directory: TemporaryDirectory

    package var base: String { "http://127.0.0.1:\(port)" }

    /// `arguments` after the role: `["--upstream", URL]` or `["--script", PATH]`, plus options.
    package init(_ role: String, _ arguments: [String], script: JSONValue? = nil) throws {
        directory = try TemporaryDirectory()
        logPath = directory.path + "/requests.jsonl"
        var extra = arguments
        if let script {
            let path = directory.path + "/script.json"
            try Data(script.serializedBytes()).write(to: URL(fileURLWithPath: path))
            extra += ["--script", path]
        }
        service = try ServiceProcess("oauth_peer", ["python3", Repository.support("oauth_peer.py"), role, "--log", logPath] + extra,
                                     environment: ProcessInfo.processInfo.environment, port: .announced(descriptor: 1, prefix: "PORT="))
        port = service.port!
    }

    /// Every request so far.
    package func requests() -> [JSONValue] {
        guard let data = FileManager.default.contents(atPath: logPath) else { return [] }
        return data.split(separator: UInt8(ascii: "\n")).compactMap { try? JSONParser.parse(Array($0)) }
    }

    package func requests(grant: String) -> [JSONValue] {
        requests().filter { $0["grant_type"]?.stringValue == grant && $0["stolen"] == nil }
    }

    package func stop() {
        service.stop(SIGKILL)
        directory.remove()
    }
}

/// A credvault process running in the background, its output going to files, so a test can
/// read the user code while `auth login` waits.
package final class BackgroundCLI: @unchecked Sendable {
    package let child: ChildProcess
    package let outPath: String
    package let errPath: String

    package init(_ cli: CLI, _ arguments: [String], directory: String, extra: [String: String] = [:], stdin: Int32? = nil,
         executable: String = CLI.executable) throws {
        outPath = directory + "/bg-\(UUID().uuidString.prefix(6)).out"
        errPath = outPath.replacingOccurrences(of: ".out", with: ".err")
        let out = open(outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let err = open(errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let null = open("/dev/null", O_RDONLY)
        defer { close(out); close(err); close(null) }
        child = try ChildProcess.spawn([executable] + arguments, environment: cli.environment.merging(extra) { $1 },
                                       stdin: stdin ?? null, stdout: out, stderr: err)
    }

    package var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    package var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    /// The user code from the login box (`ABCD-EFGH`).
    package func userCode(after marker: String = "Enter code:", timeout: TimeInterval = 20) throws -> String {
        try userCode(after: marker, matching: /[A-Z0-9]{4}-[A-Z0-9]{4}/, timeout: timeout)
    }

    /// The user code from the login box, in the shape `pattern` gives (servers choose their own).
    package func userCode(after marker: String = "Enter code:", matching pattern: Regex<Substring>, timeout: TimeInterval = 20) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let text = stderr
            if let range = text.range(of: marker) {
                let after = text[range.upperBound...]
                if let match = after.firstMatch(of: pattern) { return String(match.output) }
            }
            usleep(50_000)
        }
        throw HarnessError("no user code appeared; stderr: \(stderr)")
    }

    package func wait(timeout: TimeInterval = 60) -> Int32? { child.wait(timeout: timeout) }
}
