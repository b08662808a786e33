import CredentialVaultCore
import CredentialVaultHTTP
import CredentialVaultSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Credentials in an OpenBao or Vault KV v2 engine, shared by every machine that can reach
/// it. Chosen only by name (`--backend openbao`, `<APP>_BACKEND=openbao`, `backend = openbao`).
/// Each item is one secret at `<mount>/data/<prefix>/<service>/<account>` (components escaped
/// by ``OpenBaoPath``) with the fields `secret` (UTF-8 text, or base64 with `encoding =
/// base64`), `label`, `attributes`, `created`, `modified`. Writes use check-and-set, so two
/// writers never silently overwrite each other.
public struct OpenBaoBackend: CredentialBackend {
    public static let name = "openbao"
    /// 0: never chosen by the automatic probe, only by name.
    public static let priority = 0
    public static let protection = StorageProtection.remote

    private let client: OpenBaoClient?
    private let setupError: CredentialVaultError?
    private let settings: OpenBaoSettings

    public init(context: BackendContext) {
        settings = OpenBaoSettings(context: context)
        do {
            client = try OpenBaoClient(settings: settings, timeout: max(context.callTimeout, .seconds(10)))
            setupError = nil
        } catch let error as CredentialVaultError {
            client = nil; setupError = error
        } catch {
            client = nil; setupError = CredentialVaultError(.configuration, "cannot set up the OpenBao client: \(error)")
        }
    }

    func bao() throws -> OpenBaoClient {
        if let setupError { throw setupError }
        return client!
    }

    var mount: String { settings.mount }
    func logical(_ key: CredentialKey) -> String {
        "\(settings.prefix)/\(OpenBaoPath.escape(key.service))/\(OpenBaoPath.escape(key.account))"
    }

    /// `openbao_mount`, `openbao_prefix`, `openbao_token_file`, `openbao_role_id` and
    /// `openbao_secret_id_file` (README, "Past one machine").
    public static var configurationKeys: [ConfigurationKey] {
        ["openbao_mount", "openbao_prefix", "openbao_token_file", "openbao_role_id", "openbao_secret_id_file"].map { ConfigurationKey($0) }
    }

    public func probe(timeout: Duration) async -> BackendAvailability {
        guard settings.address != nil else { return .unavailable(reason: "BAO_ADDR (or VAULT_ADDR) is not set", code: .configuration,
                                                              nextStep: "set BAO_ADDR to the server's address (https://HOST:8200)") }
        if let problem = settings.problem {
            return .unavailable(reason: problem.message, code: problem.code)
        }
        guard settings.hasCredentials else {
            return .unavailable(reason: "no token: set BAO_TOKEN (or VAULT_TOKEN), openbao_token_file in the config file, ~/.vault-token, or openbao_role_id for AppRole", code: .configuration)
        }
        do {
            // Inside the probe's deadline, so the client's own error (a TLS failure) is what is reported.
            let reply = try await bao().health(deadline: timeout * 0.6)
            if reply.status == 200 || reply.status == 429 || reply.status == 473 { return .available }
            if reply.status == 503 { return .unavailable(reason: try bao().unavailable(reply).message) }
            return .unavailable(reason: "OpenBao health check answered HTTP \(reply.status)")
        } catch let error as CredentialVaultError {
            // Nobody listening, or no such host: the transport says so at once, by type.
            let unreachable = (error.cause as? HTTPFailure).map { [.connectionRefused, .hostNotFound].contains($0.kind) } ?? false
            return .unavailable(reason: error.message, code: error.code, nextStep: unreachable ? "check BAO_ADDR and that the server runs" : nil)
        } catch {
            return .unavailable(reason: "\(error)")
        }
    }

    /// The item and its current version (0 when absent).
    func read(_ key: CredentialKey) async throws -> (CredentialItem?, Int) {
        let path = logical(key)
        let reply = try await bao().request("GET", "\(mount)/data/\(path)", logical: "\(mount)/data/\(path)")
        if reply.status == 404 {
            // Soft-deleted: 404 with metadata; the next write must use its version.
            let version = reply.json?["data"]?["metadata"]?["version"]?.numberValue.flatMap(Self.version) ?? 0
            return (nil, version)
        }
        guard reply.status == 200, let data = reply.json?["data"] else { throw try bao().unexpected(reply, "GET", path) }
        return try Self.item(fromKVData: data, key: key, path: "\(mount)/data/\(path)")
    }

    /// A KV version number from the server: a whole number in 0 … 10^15, else none.
    static func version(_ number: Double) -> Int? {
        number >= 0 && number <= 1e15 && number.rounded() == number ? Int(number) : nil
    }

    /// The item in the `data` object of a KV v2 read (`{"data": {...}, "metadata": {...}}`)
    /// and its version; nil for a deleted version. The parser of what the server sends.
    package static func item(fromKVData data: JSONValue, key: CredentialKey, path: String) throws -> (CredentialItem?, Int) {
        let version = data["metadata"]?["version"]?.numberValue.flatMap(Self.version) ?? 0
        guard let fields = data["data"], fields != .null else { return (nil, version) }
        guard let text = fields["secret"]?.stringValue else {
            throw CredentialVaultError(.dataError, "the OpenBao secret at \(path) has no 'secret' field; it was not written by credvault")
        }
        let secret: SecretBytes
        if fields["encoding"]?.stringValue == "base64" {
            guard let decoded = Base64.decodeSecret(text) else { throw CredentialVaultError(.dataError, "the secret at \(path) is not valid base64") }
            secret = decoded
        } else {
            secret = SecretBytes(utf8: text)
        }
        var attributes: [String: String] = [:]
        for (name, value) in fields["attributes"]?.objectValue ?? [:] { if let text = value.stringValue { attributes[name] = text } }
        let item = CredentialItem(key: key, label: fields["label"]?.stringValue, attributes: attributes, secret: secret,
                                  created: fields["created"]?.stringValue.flatMap(Timestamp.parse),
                                  modified: fields["modified"]?.stringValue.flatMap(Timestamp.parse))
        return (item, version)
    }

    public func item(for key: CredentialKey) async throws -> CredentialItem? { try await read(key).0 }

    public func store(_ item: CredentialItem) async throws {
        let path = logical(item.key)
        for attempt in 0..<2 {
            let (existing, version) = try await read(item.key)
            let now = Date()
            var fields: [String: JSONValue] = [
                "label": .string(item.label),
                "attributes": .object(item.attributes.mapValues { .string($0) }),
                "created": .string(Timestamp.format(existing?.created ?? item.created ?? now)),
                "modified": .string(Timestamp.format(now)),
            ]
            if let text = item.secret.utf8String(), !text.utf8.contains(0) {
                fields["secret"] = .string(text)
            } else {
                fields["secret"] = .string(Base64.encode(item.secret))
                fields["encoding"] = .string("base64")
            }
            let body = JSONValue.object(["data": .object(fields), "options": .object(["cas": .number(Double(version))])])
            let reply = try await bao().request("POST", "\(mount)/data/\(path)", body: body, logical: "\(mount)/data/\(path)")
            if reply.status == 200 || reply.status == 204 { return }
            if reply.status == 400, reply.errors.contains("check-and-set") {
                if attempt == 0 { continue } // someone wrote in between: re-read once and retry
                throw CredentialVaultError(.cannotWrite,
                    "another writer changed \(mount)/data/\(path) at the same time, twice; nothing was overwritten. Read it again and retry")
            }
            throw try bao().unexpected(reply, "POST", path)
        }
    }

    public func removeItem(for key: CredentialKey) async throws -> Bool {
        let path = logical(key)
        let metadata = try await bao().request("GET", "\(mount)/metadata/\(path)", logical: "\(mount)/metadata/\(path)")
        if metadata.status == 404 { return false }
        let reply = try await bao().request("DELETE", "\(mount)/metadata/\(path)", logical: "\(mount)/metadata/\(path)")
        guard reply.status == 204 || reply.status == 200 else { throw try bao().unexpected(reply, "DELETE", path) }
        return true
    }

    /// LIST one folder: keys, with a trailing `/` for folders; 404 is an empty folder.
    func list(_ folder: String) async throws -> [String] {
        let reply = try await bao().request("LIST", "\(mount)/metadata/\(folder)/", logical: "\(mount)/metadata/\(folder)/")
        if reply.status == 404 { return [] }
        guard reply.status == 200 else { throw try bao().unexpected(reply, "LIST", folder) }
        return reply.json?["data"]?["keys"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    public func allItems(service: String?) async throws -> [CredentialItem] {
        var items: [CredentialItem] = []
        let services: [String]
        if let service { services = [OpenBaoPath.escape(service) + "/"] } else { services = try await list(settings.prefix) }
        for folder in services where folder.hasSuffix("/") {
            guard let serviceName = OpenBaoPath.unescape(String(folder.dropLast())) else { continue }
            for account in try await list("\(settings.prefix)/\(folder.dropLast())") where !account.hasSuffix("/") {
                guard let accountName = OpenBaoPath.unescape(account),
                      let key = try? CredentialKey(service: serviceName, account: accountName),
                      let item = try await read(key).0 else { continue }
                items.append(item)
            }
        }
        return items.sorted { $0.key < $1.key }
    }

    public func summaries(service: String?) async throws -> [CredentialSummary] {
        try await allItems(service: service).map(\.summary)
    }

    public func diagnostics() async -> [Diagnostic] {
        // OpenBao is used only when named, so an unset address is a fact, not a problem.
        guard settings.address != nil else {
            return [Diagnostic("openbao.address", "not set (OpenBao is used only when named: --backend openbao with BAO_ADDR)")]
        }
        var lines = [Diagnostic("openbao.address", settings.address ?? "not set"),
                     Diagnostic("openbao.path", "\(settings.mount)/data/\(settings.prefix)/…"),
                     Diagnostic("openbao.token", settings.problem?.message ?? settings.tokenSource ?? "none",
                                nextStep: settings.problem != nil ? "see the token line" : settings.tokenSource == nil ? "set BAO_TOKEN or ~/.vault-token" : nil)]
        if let client, settings.address != nil {
            if let health = try? await client.health(deadline: .seconds(5)) {
                let sealed = health.json?["sealed"] == .bool(true) ? ", sealed" : ""
                lines.append(Diagnostic("openbao.health", "HTTP \(health.status)\(sealed)\(health.json?["version"]?.stringValue.map { ", version \($0)" } ?? "")",
                                        nextStep: sealed.isEmpty ? nil : "unseal the server"))
            }
            if let me = try? await client.request("GET", "auth/token/lookup-self", logical: "auth/token/lookup-self"), me.status == 200 {
                let ttl = me.json?["data"]?["ttl"]?.numberValue.map { $0 == 0 ? "no expiry" : "\($0.roundedUp(clampedTo: 0...Int(Int32.max)).map(String.init) ?? "?") s left" } ?? "?"
                let policies = me.json?["data"]?["policies"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ", ") ?? "?"
                lines.append(Diagnostic("openbao.token.ttl", ttl))
                lines.append(Diagnostic("openbao.token.policies", policies))
            }
        }
        return lines
    }
}
