import CredentialVault
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real OpenBao server (`bao` from the pinned PyPI wheel, fetched by scripts/fetch-openbao
/// into .build-openbao) in dev mode on a free loopback port: in memory, unsealed, KV v2 at
/// `secret/`. One shared server per test process, plus throwaway ones for tests that seal.
package final class OpenBaoServer: Sendable {
    package let address: String
    package let rootToken = "credvault-test-root"
    private let service: ServiceProcess
    package var pid: pid_t { service.pid }
    package var log: String { service.log }

    package static var binary: String? {
        let candidates = [ProcessInfo.processInfo.environment["CREDVAULT_BAO"], Repository.root + "/.build-openbao/bao"].compactMap { $0 }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    package static func present() -> Bool {
        if Components.required { return true }
        if binary == nil {
            print("SKIP: the OpenBao binary is not fetched (scripts/fetch-openbao); set CREDVAULT_TEST_REQUIRE_COMPONENTS=1 to fail instead")
            return false
        }
        return true
    }

    package static let shared: Result<OpenBaoServer, HarnessError> = {
        do { return .success(try OpenBaoServer()) } catch let error as HarnessError { return .failure(error) } catch { return .failure(HarnessError("\(error)")) }
    }()

    package static func get() throws -> OpenBaoServer {
        switch shared { case .success(let server): return server; case .failure(let error): throw error }
    }

    /// With `tls`, the dev server's own CA is at `caCertificate`.
    package let caCertificate: String?

    package init(tls: Bool = false) throws {
        guard let binary = Self.binary else { throw HarnessError("bao not found: run scripts/fetch-openbao") }
        let certificates = FileManager.default.temporaryDirectory.appendingPathComponent("credvault-bao-\(getpid())-\(UUID().uuidString.prefix(6)).tls").path
        var arguments = [binary, "server", "-dev", "-dev-root-token-id=credvault-test-root",
                         "-dev-listen-address=127.0.0.1:{port}", "-dev-no-store-token"]
        if tls {
            try FileManager.default.createDirectory(atPath: certificates, withIntermediateDirectories: true)
            arguments += ["-dev-tls", "-dev-tls-cert-dir=\(certificates)"]
        }
        let scheme = tls ? "https" : "http"
        service = try ServiceProcess.withFreePort { port in
            try ServiceProcess("openbao", arguments, environment: ["PATH": "/usr/bin:/bin", "HOME": FileManager.default.temporaryDirectory.path],
                               port: .given(port), readiness: .when(poll: 0.05) { service in
                                   ServiceProcess.httpStatus("\(scheme)://127.0.0.1:\(service.port!)/v1/sys/health", insecure: true) == "200"
                               })
        }
        address = "\(scheme)://127.0.0.1:\(service.port!)"
        caCertificate = tls ? certificates + "/vault-ca.pem" : nil
    }

    /// The environment a client of this server needs.
    package var environment: [String: String] { ["BAO_ADDR": address, "BAO_TOKEN": rootToken] }

    /// `curl` against the server with the root token; returns stdout.
    package func api(_ method: String, _ path: String, body: String? = nil, token: String? = nil) throws -> String {
        var arguments = ["-s", "-k", "-X", method, "-H", "X-Vault-Token: \(token ?? rootToken)", "\(address)/v1/\(path)"]
        if let body { arguments += ["-H", "Content-Type: application/json", "-d", body] }
        return try Self.curl(arguments)
    }

    package static func curl(_ arguments: [String]) throws -> String {
        try ProcessRunner.run("/usr/bin/curl", ["--max-time", "10"] + arguments, environment: ProcessInfo.processInfo.environment,
                              input: [], timeout: 20).stdoutText
    }

    package func stop() { service.stop(SIGKILL) }
}
