import CredentialVaultCore
import CredentialVaultHTTP
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

/// The KV v2 HTTP API of OpenBao and Vault (identical), through the project's
/// ``HTTPTransport`` with a deadline on every request. Maps statuses to ``CredentialVaultError`` codes: 403 → 77
/// naming the path, 503 → 69 "server is sealed", connection and TLS failures → 69 naming
/// the address (and the CA), timeouts → 75; 429 (standby, rate limit) is retried with backoff.
final class OpenBaoClient: Sendable {
    let settings: OpenBaoSettings
    private let http: HTTPTransport
    /// The token in use (static, or from an AppRole login) and whether it was checked.
    private let token: Mutex<(value: String?, checked: Bool)>

    struct Reply {
        var status: Int
        var json: JSONValue?
        /// The server's `errors[]`, joined.
        var errors: String { json?["errors"]?.arrayValue?.compactMap(\.stringValue).joined(separator: "; ") ?? "" }
    }

    init(settings: OpenBaoSettings, timeout: Duration) throws {
        self.settings = settings
        http = HTTPTransport(timeout: timeout, maximumBodySize: 16 << 20, caCertificate: settings.caCertificate)
        token = Mutex((settings.staticToken(), false))
    }

    private func currentToken() -> (String?, Bool) { token.withLock { ($0.value, $0.checked) } }
    private func setToken(_ value: String?, checked: Bool) { token.withLock { $0 = (value, checked) } }

    /// Before the first request: an AppRole login when configured; for a static token,
    /// `auth/token/lookup-self`, and `auth/token/renew-self` once two thirds of a renewable
    /// token's TTL have passed.
    private func ensureToken() async throws {
        let (current, checked) = currentToken()
        if checked { return }
        if settings.roleID != nil, current == nil {
            try await login()
            return
        }
        setToken(current, checked: true)
        guard current != nil else { return }
        let me = try await send("GET", "auth/token/lookup-self", body: nil, logical: "auth/token/lookup-self", retryLogin: false)
        guard me.status == 200, let data = me.json?["data"] else { return }
        var renewable = false
        if case .bool(let flag)? = data["renewable"] { renewable = flag }
        if renewable, let ttl = data["ttl"]?.numberValue, let creation = data["creation_ttl"]?.numberValue, creation > 0, ttl < creation / 3 {
            _ = try await send("POST", "auth/token/renew-self", body: .object([:]), logical: "auth/token/renew-self", retryLogin: false)
        }
    }

    /// AppRole login: `auth/approle/login` with the role id and the secret id.
    private func login() async throws {
        guard let roleID = settings.roleID else { return }
        let body = JSONValue.object(["role_id": .string(roleID), "secret_id": .string(try settings.secretID())])
        setToken(nil, checked: true)
        let reply = try await send("POST", "auth/approle/login", body: body, logical: "auth/approle/login", retryLogin: false)
        guard reply.status == 200, let token = reply.json?["auth"]?["client_token"]?.stringValue else {
            throw CredentialVaultError(.permissionDenied, "AppRole login as \(roleID) failed (HTTP \(reply.status))\(reply.errors.isEmpty ? "" : ": \(reply.errors)")")
        }
        setToken(token, checked: true)
    }

    /// One request to `/v1/<path>`; `logical` names the KV path in errors.
    func request(_ method: String, _ path: String, body: JSONValue? = nil, logical: String, deadline: Duration? = nil) async throws -> Reply {
        try await ensureToken()
        return try await send(method, path, body: body, logical: logical, retryLogin: settings.roleID != nil, deadline: deadline)
    }

    /// `sys/health`, which needs no token, within `deadline`.
    /// A sealed server's 503 is returned, not thrown: its body says `sealed`.
    func health(deadline: Duration) async throws -> Reply {
        try await send("GET", "sys/health?standbyok=true", body: nil, logical: "sys/health", retryLogin: false, deadline: deadline,
                       returnUnavailable: true)
    }

    /// What a 503 means: "server is sealed" when the server says so, else not ready.
    func unavailable(_ reply: Reply) -> CredentialVaultError {
        let sealed = reply.json?["sealed"] == .bool(true) || reply.errors.lowercased().contains("sealed")
        return CredentialVaultError(.unavailable, sealed
            ? "OpenBao at \(settings.address ?? "?"): server is sealed; unseal it (`bao operator unseal`, or restore its auto-unseal key) and try again"
            : "OpenBao at \(settings.address ?? "?") is not ready (HTTP 503)\(reply.errors.isEmpty ? "" : ": \(reply.errors)"); try again when it is")
    }

    private func send(_ method: String, _ path: String, body: JSONValue?, logical: String, retryLogin: Bool,
                      deadline: Duration? = nil, returnUnavailable: Bool = false) async throws -> Reply {
        guard let address = settings.address else {
            throw CredentialVaultError(.configuration, "BAO_ADDR (or VAULT_ADDR) is not set: give the OpenBao server's address, such as https://bao.example:8200")
        }
        if let problem = settings.problem { throw problem }
        var attempt = 0
        while true {
            var headers: [(name: String, value: String)] = []
            if let token = currentToken().0 { headers.append((name: "X-Vault-Token", value: token)) }
            if let namespace = settings.namespace { headers.append((name: "X-Vault-Namespace", value: namespace)) }
            if body != nil { headers.append((name: "Content-Type", value: "application/json")) }
            let response: HTTPResponse
            do {
                response = try await http.send(HTTPRequest(method: method, url: "\(address)/v1/\(path)", headers: headers,
                                                           body: body?.serializedBytes()), timeout: deadline)
            } catch {
                switch error.kind {
                case .timedOut:
                    throw CredentialVaultError(.timedOut, "OpenBao at \(address) did not answer within \((deadline ?? http.timeout).components.seconds) s (\(method) \(logical))", cause: error)
                case .tls:
                    throw CredentialVaultError(.unavailable, "TLS with OpenBao at \(address) failed (\(error.underlying)); CA in use: \(settings.caCertificate ?? "the system trust store") (set BAO_CACERT to the server's CA)", cause: error)
                default:
                    throw CredentialVaultError(.unavailable, "cannot reach OpenBao at \(address): \(error.reason); check BAO_ADDR and that the server runs", cause: error)
                }
            }
            let reply = Reply(status: response.status,
                              // The strict parser, not Codable: the body carries secrets, and a key
                              // given twice is refused rather than read as one of its values.
                              json: response.body.isEmpty ? nil : try? JSONParser.parse(response.body))
            switch reply.status {
            case 429 where attempt < 3:
                attempt += 1
                try await Task.sleep(for: .milliseconds(200 << attempt))
                continue
            case 403 where retryLogin:
                // An AppRole token that expired or was revoked: log in again, once.
                try await login()
                return try await send(method, path, body: body, logical: logical, retryLogin: false, deadline: deadline)
            case 403:
                throw CredentialVaultError(.permissionDenied,
                    "permission denied by OpenBao policy for \(logical) (\(method)); check the token (\(settings.tokenSource ?? "none set: BAO_TOKEN")) and its policies\(reply.errors.isEmpty ? "" : ": \(reply.errors)")")
            case 503 where !returnUnavailable:
                throw unavailable(reply)
            default:
                return reply
            }
        }
    }

    /// An unexpected status, with the server's errors.
    func unexpected(_ reply: Reply, _ method: String, _ logical: String) -> CredentialVaultError {
        CredentialVaultError(reply.status >= 500 ? .unavailable : .dataError,
            "OpenBao answered HTTP \(reply.status) to \(method) \(logical)\(reply.errors.isEmpty ? "" : ": \(reply.errors)")")
    }
}
