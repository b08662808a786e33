import CredentialVault
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

nonisolated(unsafe) private var openBaoPIDs: [pid_t] = []

/// A real OpenBao server (`bao` from the pinned PyPI wheel, fetched by scripts/fetch-openbao
/// into .build-openbao) in dev mode on a free loopback port: in memory, unsealed, KV v2 at
/// `secret/`. One shared server per test process, plus throwaway ones for tests that seal.
final class OpenBaoServer: Sendable {
    let address: String
    let rootToken = "credvault-test-root"
    let pid: pid_t
    let log: String

    static var binary: String? {
        let candidates = [ProcessInfo.processInfo.environment["CREDVAULT_BAO"], Repository.root + "/.build-openbao/bao"].compactMap { $0 }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func present() -> Bool {
        if Components.required { return true }
        if binary == nil {
            print("SKIP: the OpenBao binary is not fetched (scripts/fetch-openbao); set CREDVAULT_TEST_REQUIRE_COMPONENTS=1 to fail instead")
            return false
        }
        return true
    }

    static let shared: Result<OpenBaoServer, HarnessError> = {
        do { return .success(try OpenBaoServer()) } catch let error as HarnessError { return .failure(error) } catch { return .failure(HarnessError("\(error)")) }
    }()

    static func get() throws -> OpenBaoServer {
        switch shared { case .success(let server): return server; case .failure(let error): throw error }
    }

    /// With `tls`, the dev server's own CA is at `caCertificate`.
    let caCertificate: String?

    init(tls: Bool = false) throws {
        guard let binary = Self.binary else { throw HarnessError("bao not found: run scripts/fetch-openbao") }
        var lastLog = ""
        for attempt in 0..<5 {
            let port = 30000 + Int((getpid() * 13 + Int32(attempt) * 97 + Int32.random(in: 0...999)) % 20000)
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("credvault-bao-\(getpid())-\(port).log").path
            let out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0o600), null = open("/dev/null", O_RDONLY)
            defer { close(out); close(null) }
            let certificates = log + ".tls"
            var arguments = [binary, "server", "-dev", "-dev-root-token-id=credvault-test-root",
                             "-dev-listen-address=127.0.0.1:\(port)", "-dev-no-store-token"]
            if tls {
                try FileManager.default.createDirectory(atPath: certificates, withIntermediateDirectories: true)
                arguments += ["-dev-tls", "-dev-tls-cert-dir=\(certificates)"]
            }
            let child = try ChildProcess.spawn(arguments,
                                               environment: ["PATH": "/usr/bin:/bin", "HOME": FileManager.default.temporaryDirectory.path],
                                               stdin: null, stdout: out, stderr: out)
            let address = "\(tls ? "https" : "http")://127.0.0.1:\(port)"
            for _ in 0..<200 {
                if let status = try? Self.curl(["-s", "-k", "-o", "/dev/null", "-w", "%{http_code}", "\(address)/v1/sys/health"]), status == "200" {
                    self.address = address
                    self.caCertificate = tls ? certificates + "/vault-ca.pem" : nil
                    self.pid = child.pid
                    self.log = log
                    Self.remember(child.pid)
                    return
                }
                var status: Int32 = 0
                if waitpid(child.pid, &status, WNOHANG) == child.pid { break } // it exited
                usleep(50_000)
            }
            kill(child.pid, SIGKILL)
            lastLog = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        }
        throw HarnessError("OpenBao did not start: \(lastLog.suffix(2000))")
    }

    /// The environment a client of this server needs.
    var environment: [String: String] { ["BAO_ADDR": address, "BAO_TOKEN": rootToken] }

    /// `curl` against the server with the root token; returns stdout.
    func api(_ method: String, _ path: String, body: String? = nil, token: String? = nil) throws -> String {
        var arguments = ["-s", "-k", "-X", method, "-H", "X-Vault-Token: \(token ?? rootToken)", "\(address)/v1/\(path)"]
        if let body { arguments += ["-H", "Content-Type: application/json", "-d", body] }
        return try Self.curl(arguments)
    }

    static func curl(_ arguments: [String]) throws -> String {
        try ProcessRunner.run("/usr/bin/curl", ["--max-time", "10"] + arguments, environment: ProcessInfo.processInfo.environment,
                              input: [], timeout: 20).stdoutText
    }

    func stop() { kill(pid, SIGKILL) }

    /// Kills `pid` when the test process exits.
    static func remember(_ pid: pid_t) {
        openBaoPIDs.append(pid)
        if openBaoPIDs.count == 1 { atexit { openBaoPIDs.forEach { kill($0, SIGKILL) } } }
    }
}
