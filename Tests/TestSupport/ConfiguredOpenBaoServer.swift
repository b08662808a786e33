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
package final class ConfiguredOpenBaoServer: @unchecked Sendable {
    package let directory: String
    package let address: String
    package let caCertificate: String
    private let port: Int
    private let lock = NSLock()
    private var service: ServiceProcess
    private var adminToken: String?

    package static let shared: Result<ConfiguredOpenBaoServer, HarnessError> = {
        do { return .success(try ConfiguredOpenBaoServer()) } catch let error as HarnessError { return .failure(error) } catch { return .failure(HarnessError("\(error)")) }
    }()

    package static func get() throws -> ConfiguredOpenBaoServer {
        switch shared { case .success(let server): return server; case .failure(let error): throw error }
    }

    package init() throws {
        guard OpenBaoServer.binary != nil else { throw HarnessError("bao not found: run scripts/fetch-openbao") }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("credvault-bao-configured-\(getpid())-\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: directory + "/raft", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        caCertificate = directory + "/ca.pem"
        try Self.makeCertificates(in: directory)
        try Self.writeKey(to: directory + "/unseal.key")
        let directory = directory
        service = try ServiceProcess.withFreePort { port in
            // A clean store for each attempt: a failed start may have begun to initialise it.
            try? FileManager.default.removeItem(atPath: directory + "/raft")
            try FileManager.default.createDirectory(atPath: directory + "/raft", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try Self.writeConfiguration(directory: directory, port: port, clusterPort: try ServiceProcess.freePort())
            return try Self.start(directory: directory, port: port, expecting: "200")
        }
        port = service.port!
        address = "https://127.0.0.1:\(port)"
    }

    /// Stops the server (SIGTERM, then waits) and starts it again on the same storage, with the
    /// unseal key it was initialised with, or with a freshly generated wrong one. Returns the
    /// `sys/health` status it settled on: "200" unsealed, "503" sealed.
    @discardableResult
    package func restart(withRightKey right: Bool) throws -> String {
        lock.lock(); defer { lock.unlock() }
        service.stop(SIGTERM, grace: 30)
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
        let wanted = right ? "200" : "503"
        service = try Self.start(directory: directory, port: port, expecting: wanted)
        adminToken = nil
        return wanted
    }

    /// An AppRole login; returns the client token.
    package func login(role: String, secret: String) throws -> String {
        let reply = try JSONParser.parse(Array(try request("POST", "auth/approle/login", body: "{\"role_id\":\"\(role)\",\"secret_id\":\"\(secret)\"}", token: nil).utf8))
        guard let token = reply["auth"]?["client_token"]?.stringValue else { throw HarnessError("AppRole login as \(role) failed: \(reply)") }
        return token
    }

    /// `curl` against the server as the `admin` role (logging in again when the token was revoked).
    package func api(_ method: String, _ path: String, body: String? = nil) throws -> String {
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

    package func request(_ method: String, _ path: String, body: String?, token: String?) throws -> String {
        var arguments = ["-s", "--cacert", caCertificate, "-X", method, "\(address)/v1/\(path)"]
        if let token { arguments += ["-H", "X-Vault-Token: \(token)"] }
        if let body { arguments += ["-H", "Content-Type: application/json", "-d", body] }
        return try OpenBaoServer.curl(arguments)
    }

    /// The environment of a client of this server, trusting its CA, with no token.
    package var environment: [String: String] { ["BAO_ADDR": address, "BAO_CACERT": caCertificate] }

    // MARK: - Setting up

    /// Starts the server on its configuration; ready when `sys/health` answers `expecting`
    /// ("200" unsealed, "503" sealed).
    private static func start(directory: String, port: Int, expecting: String) throws -> ServiceProcess {
        guard let binary = OpenBaoServer.binary else { throw HarnessError("bao not found") }
        return try ServiceProcess("openbao-configured", [binary, "server", "-config=\(directory)/server.hcl"],
                                  environment: ["PATH": "/usr/bin:/bin", "HOME": directory], port: .given(port),
                                  readiness: .when(poll: 0.1) { _ in
                                      ServiceProcess.httpStatus("https://127.0.0.1:\(port)/v1/sys/health", caCertificate: directory + "/ca.pem") == expecting
                                  },
                                  log: directory + "/server.log")
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

    private static func writeConfiguration(directory: String, port: Int, clusterPort: Int) throws {
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
              cluster_address = "127.0.0.1:\(clusterPort)"
              tls_cert_file = "\(directory)/server.pem"
              tls_key_file = "\(directory)/server.key"
            }
            seal "static" {
              current_key_id = "test-1"
              current_key = "file://\(directory)/unseal.key"
            }
            api_addr = "https://127.0.0.1:\(port)"
            cluster_addr = "https://127.0.0.1:\(clusterPort)"

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
