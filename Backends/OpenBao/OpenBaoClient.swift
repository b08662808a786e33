import AsyncHTTPClient
import CredentialVaultCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// The KV v2 HTTP API of OpenBao and Vault (identical), through AsyncHTTPClient with a
/// timeout on every request. Maps statuses to ``CredentialVaultError`` codes: 403 → 77
/// naming the path, 503 → 69 "server is sealed", connection and TLS failures → 69 naming
/// the address (and the CA), timeouts → 75; 429 (standby, rate limit) is retried with backoff.
final class OpenBaoClient: Sendable {
    let settings: OpenBaoSettings
    let timeout: Duration
    private let client: HTTPClient

    struct Reply {
        var status: Int
        var json: JSONValue?
        /// The server's `errors[]`, joined.
        var errors: String { json?["errors"]?.arrayValue?.compactMap(\.stringValue).joined(separator: "; ") ?? "" }
    }

    init(settings: OpenBaoSettings, timeout: Duration) throws {
        self.settings = settings
        self.timeout = timeout
        var configuration = HTTPClient.Configuration()
        if let ca = settings.caCertificate {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(ca)
            configuration.tlsConfiguration = tls
        }
        configuration.timeout = .init(connect: .seconds(max(1, timeout.components.seconds)), read: .seconds(max(1, timeout.components.seconds)))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    deinit { try? client.syncShutdown() }

    /// One request to `/v1/<path>`; `logical` names the KV path in errors.
    func request(_ method: String, _ path: String, body: JSONValue? = nil, logical: String) async throws -> Reply {
        guard let address = settings.address else {
            throw CredentialVaultError(.configuration, "BAO_ADDR (or VAULT_ADDR) is not set: give the OpenBao server's address, such as https://bao.example:8200")
        }
        var attempt = 0
        while true {
            var request = HTTPClientRequest(url: "\(address)/v1/\(path)")
            request.method = HTTPMethod(rawValue: method)
            if let token = settings.currentToken() { request.headers.add(name: "X-Vault-Token", value: token) }
            if let namespace = settings.namespace { request.headers.add(name: "X-Vault-Namespace", value: namespace) }
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: body.serializedBytes()))
            }
            let response: HTTPClientResponse
            let bytes: ByteBuffer
            do {
                response = try await client.execute(request, timeout: .seconds(max(1, timeout.components.seconds)))
                bytes = try await response.body.collect(upTo: 16 << 20)
            } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
                throw CredentialVaultError(.timedOut, "OpenBao at \(address) did not answer within \(timeout.components.seconds) s (\(method) \(logical))", cause: error)
            } catch {
                let tls = "\(error)".lowercased().contains("ssl") || "\(error)".lowercased().contains("certificate") || "\(error)".lowercased().contains("handshake")
                throw CredentialVaultError(.unavailable,
                    tls ? "TLS with OpenBao at \(address) failed (\(error)); CA in use: \(settings.caCertificate ?? "the system trust store") (set BAO_CACERT to the server's CA)"
                        : "cannot reach OpenBao at \(address): \(error); check BAO_ADDR and that the server runs", cause: error)
            }
            let reply = Reply(status: Int(response.status.code),
                              json: bytes.readableBytes == 0 ? nil : try? JSONParser.parse(Array(bytes.readableBytesView)))
            switch reply.status {
            case 429 where attempt < 3:
                attempt += 1
                try await Task.sleep(for: .milliseconds(200 << attempt))
                continue
            case 403:
                throw CredentialVaultError(.permissionDenied,
                    "permission denied by OpenBao policy for \(logical) (\(method)); check the token (\(settings.tokenSource ?? "none set: BAO_TOKEN")) and its policies\(reply.errors.isEmpty ? "" : ": \(reply.errors)")")
            case 503:
                throw CredentialVaultError(.unavailable, "OpenBao at \(address) is sealed (or not ready): unseal it and try again\(reply.errors.isEmpty ? "" : " (\(reply.errors))")")
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
