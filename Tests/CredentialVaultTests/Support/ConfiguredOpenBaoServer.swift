import CredentialVault
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real OpenBao server as a team would run it, unlike the dev-mode `OpenBaoServer`: raft
/// storage on disk, the `static` auto-unseal seal, declarative self-initialisation, and a TLS
/// listener whose certificate comes from a throwaway CA made with `openssl` for this process.
/// Self-init revokes the root token, so everything logs in through AppRole:
///
/// | role     | role_id / secret_id              | policy                                        |
/// |----------|----------------------------------|-----------------------------------------------|
/// | `admin`  | `admin-role` / `admin-secret`    | everything (the harness's own `api` calls)    |
/// | `ci`     | `ci-role` / `ci-secret-for-tests`| read/write `secret/data/*`, list metadata     |
/// | `reader` | `reader-role` / `reader-secret`  | read `secret/data/*` only                     |
///
/// `restart(withRightKey:)` restarts the same storage with the right or a wrong unseal key; with a
/// wrong one the server comes up sealed (`sys/health` 503), as after losing the key.
final class ConfiguredOpenBaoServer: @unchecked Sendable {
    let directory: String
    let address: String
    let caCertificate: String
    private let port: Int
    private let lock = NSLock()
    private var pid: pid_t
    private var adminToken: String?

    static let shared: Result<ConfiguredOpenBaoServer, HarnessError> = {
        do { return .success(try ConfiguredOpenBaoServer()) } catch let error as HarnessError { return .failure(error) } catch { return .failure(HarnessError("\(error)")) }
    }()

    static func get() throws -> ConfiguredOpenBaoServer {
        switch shared { case .success(let server): return server; case .failure(let error): throw error }
    }

    init() throws {
        guard OpenBaoServer.binary != nil else { throw HarnessError("bao not found: run scripts/fetch-openbao") }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("credvault-bao-configured-\(getpid())-\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: directory + "/raft", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        caCertificate = directory + "/ca.pem"
        try Self.makeCertificates(in: directory)
        try Self.writeKey(to: directory + "/unseal.key")
        var lastError = HarnessError("no port tried")
        for attempt in 0..<5 {
            let port = 30000 + Int((getpid() * 7 + Int32(attempt) * 211 + Int32.random(in: 0...4999)) % 19000)
            do {
                try Self.writeConfiguration(directory: directory, port: port)
                let pid = try Self.start(directory: directory)
                if try Self.waitForHealth("https://127.0.0.1:\(port)", ca: directory + "/ca.pem", pid: pid, expecting: "200", seconds: 60) {
                    self.port = port
                    self.pid = pid
                    address = "https://127.0.0.1:\(port)"
                    OpenBaoServer.remember(pid)
                    return
                }
                kill(pid, SIGKILL)
                lastError = HarnessError("configured OpenBao did not start: \(Self.log(directory).suffix(2000))")
            } catch let error as HarnessError { lastError = error }
            try? FileManager.default.removeItem(atPath: directory + "/raft")
            try FileManager.default.createDirectory(atPath: directory + "/raft", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        throw lastError
    }

    /// Stops the server (SIGTERM, then waits) and starts it again on the same storage, with the
    /// unseal key it was initialised with, or with a freshly generated wrong one. Returns the
    /// `sys/health` status it settled on: "200" unsealed, "503" sealed.
    @discardableResult
    func restart(withRightKey right: Bool) throws -> String {
        lock.lock(); defer { lock.unlock() }
        kill(pid, SIGTERM)
        _ = ChildProcess(pid: pid).wait(timeout: 30) ?? { kill(pid, SIGKILL); return ChildProcess(pid: pid).wait(timeout: 10) }()
        let key = directory + "/unseal.key"
        if right {
            if FileManager.default.fileExists(atPath: key + ".right") {
                try? FileManager.default.removeItem(atPath: key)
                try FileManager.default.moveItem(atPath: key + ".right", toPath: key)
            }
        } else {
            if !FileManager.default.fileExists(atPath: key + ".right") { try FileManager.default.moveItem(atPath: key, toPath: key + ".right") }
            try Self.writeKey(to: key)
        }
        pid = try Self.start(directory: directory)
        OpenBaoServer.remember(pid)
        adminToken = nil
        let wanted = right ? "200" : "503"
        guard try Self.waitForHealth(address, ca: caCertificate, pid: pid, expecting: wanted, seconds: 60) else {
            throw HarnessError("restarted OpenBao did not report \(wanted): \(Self.log(directory).suffix(2000))")
        }
        return wanted
    }

    /// An AppRole login; returns the client token.
    func login(role: String, secret: String) throws -> String {
        let reply = try JSONParser.parse(Array(try request("POST", "auth/approle/login", body: "{\"role_id\":\"\(role)\",\"secret_id\":\"\(secret)\"}", token: nil).utf8))
        guard let token = reply["auth"]?["client_token"]?.stringValue else { throw HarnessError("AppRole login as \(role) failed: \(reply)") }
        return token
    }

    /// `curl` against the server as the `admin` role (logging in again when the token was revoked).
    func api(_ method: String, _ path: String, body: String? = nil) throws -> String {
        let token: String = try lock.withLock {
            if let adminToken { return adminToken }
            let fresh = try login(role: "admin-role", secret: "admin-secret")
            adminToken = fresh
            return fresh
        }
        let answer = try request(method, path, body: body, token: token)
        if answer.contains("permission denied") {
            lock.withLock { adminToken = nil }
            return try request(method, path, body: body, token: try login(role: "admin-role", secret: "admin-secret"))
        }
        return answer
    }

    func request(_ method: String, _ path: String, body: String?, token: String?) throws -> String {
        var arguments = ["-s", "--cacert", caCertificate, "-X", method, "\(address)/v1/\(path)"]
        if let token { arguments += ["-H", "X-Vault-Token: \(token)"] }
        if let body { arguments += ["-H", "Content-Type: application/json", "-d", body] }
        return try OpenBaoServer.curl(arguments)
    }

    /// The environment of a client of this server, trusting its CA, with no token.
    var environment: [String: String] { ["BAO_ADDR": address, "BAO_CACERT": caCertificate] }

    // MARK: - Setting up

    private static func start(directory: String) throws -> pid_t {
        guard let binary = OpenBaoServer.binary else { throw HarnessError("bao not found") }
        let out = open(directory + "/server.log", O_WRONLY | O_CREAT | O_APPEND, 0o600), null = open("/dev/null", O_RDONLY)
        defer { close(out); close(null) }
        return try ChildProcess.spawn([binary, "server", "-config=\(directory)/server.hcl"],
                                      environment: ["PATH": "/usr/bin:/bin", "HOME": directory],
                                      stdin: null, stdout: out, stderr: out).pid
    }

    private static func waitForHealth(_ address: String, ca: String, pid: pid_t, expecting: String, seconds: Int) throws -> Bool {
        for _ in 0..<(seconds * 10) {
            let status = try? OpenBaoServer.curl(["-s", "--cacert", ca, "-o", "/dev/null", "-w", "%{http_code}", "\(address)/v1/sys/health"])
            if status == expecting { return true }
            var exit: Int32 = 0
            if waitpid(pid, &exit, WNOHANG) == pid { return false }
            usleep(100_000)
        }
        return false
    }

    private static func log(_ directory: String) -> String {
        (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
    }

    private static func writeKey(to path: String) throws {
        var generator = SystemRandomNumberGenerator()
        let key = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        FileManager.default.createFile(atPath: path, contents: Data(key), attributes: [.posixPermissions: 0o600])
    }

    /// A CA and a server certificate for IP 127.0.0.1, with `openssl`.
    private static func makeCertificates(in directory: String) throws {
        let d = directory
        let steps: [[String]] = [
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", d + "/ca.key",
             "-out", d + "/ca.pem", "-days", "2", "-subj", "/CN=credvault test CA"],
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", d + "/server.key",
             "-out", d + "/server.csr", "-subj", "/CN=127.0.0.1"],
            ["x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.pem", "-CAkey", d + "/ca.key", "-CAcreateserial",
             "-out", d + "/server.pem", "-days", "2", "-extfile", d + "/server.ext"],
        ]
        try "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(toFile: d + "/server.ext", atomically: true, encoding: .utf8)
        for step in steps {
            let result = try ProcessRunner.run("/usr/bin/openssl", step, environment: ["PATH": "/usr/bin:/bin", "HOME": d], timeout: 30)
            guard result.status == 0 else { throw HarnessError("openssl \(step[0]) failed: \(result.stderr)") }
        }
    }

    private static func writeConfiguration(directory: String, port: Int) throws {
        /// One self-init request: an `update` of `path` with the HCL object `data`.
        func request(_ name: String, _ path: String, _ data: String) -> String {
            "  request \"\(name)\" {\n    operation = \"update\"\n    path = \"\(path)\"\n    data = \(data)\n  }\n"
        }
        func policy(_ name: String, _ text: String) -> String {
            let quoted = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n")
            return request("policy-\(name)", "sys/policies/acl/\(name)", "{ policy = \"\(quoted)\" }")
        }
        func role(_ name: String, id: String, secret: String, policy: String, ttl: String) -> String {
            request("role-\(name)", "auth/approle/role/\(name)", "{ token_policies = [\"\(policy)\"], token_ttl = \"\(ttl)\" }")
                + request("role-\(name)-id", "auth/approle/role/\(name)/role-id", "{ role_id = \"\(id)\" }")
                + request("role-\(name)-secret", "auth/approle/role/\(name)/custom-secret-id", "{ secret_id = \"\(secret)\" }")
        }
        let admin = #"path "*" { capabilities = ["create", "read", "update", "delete", "list", "sudo"] }"#
        let readWrite = """
            path "secret/data/*" { capabilities = ["create", "read", "update", "delete"] }
            path "secret/metadata/*" { capabilities = ["list", "read", "delete"] }
            """
        let readOnly = #"path "secret/data/*" { capabilities = ["read"] }"#
        let configuration = """
            storage "raft" {
              path = "\(directory)/raft"
              node_id = "node1"
            }
            listener "tcp" {
              address = "127.0.0.1:\(port)"
              cluster_address = "127.0.0.1:\(port + 1)"
              tls_cert_file = "\(directory)/server.pem"
              tls_key_file = "\(directory)/server.key"
            }
            seal "static" {
              current_key_id = "test-1"
              current_key = "file://\(directory)/unseal.key"
            }
            api_addr = "https://127.0.0.1:\(port)"
            cluster_addr = "https://127.0.0.1:\(port + 1)"

            initialize "kv" {
            \(request("mount-kv", "sys/mounts/secret", #"{ type = "kv", options = { version = "2" } }"#))\
            }
            initialize "auth" {
            \(request("enable-approle", "sys/auth/approle", #"{ type = "approle" }"#))\
            \(policy("admin", admin))\
            \(policy("credvault-rw", readWrite))\
            \(policy("credvault-read", readOnly))\
            \(role("admin", id: "admin-role", secret: "admin-secret", policy: "admin", ttl: "60m"))\
            \(role("ci", id: "ci-role", secret: "ci-secret-for-tests", policy: "credvault-rw", ttl: "20m"))\
            \(role("reader", id: "reader-role", secret: "reader-secret", policy: "credvault-read", ttl: "20m"))\
            }

            """
        try configuration.write(toFile: directory + "/server.hcl", atomically: true, encoding: .utf8)
    }
}
