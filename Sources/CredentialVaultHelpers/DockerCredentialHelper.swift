import CredentialVault
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The docker-credential-helpers protocol (`credsStore` in `~/.docker/config.json`): the
/// action is the one argument, input on stdin, output and errors on stdout, exit 1 on error.
///
/// - `store`: stdin `{"ServerURL":…,"Username":…,"Secret":…}` (field names matched
///   case-insensitively, as Go does); prints nothing.
/// - `get`: stdin the server URL; prints `{"ServerURL":…,"Username":…,"Secret":…}` and a
///   newline, or `credentials not found in native keychain` (the docker CLI matches it).
/// - `erase`: stdin the server URL; prints nothing, also when there was nothing to erase
///   (as docker-credential-secretservice does).
/// - `list`: prints `{"<server URL>":"<username>",…}`.
/// - `version`: prints `<name> (credvault) <version>`.
///
/// Credentials are stored under service `docker-credential`, account = the server URL exactly
/// as docker sends it, with the username in the attribute `docker-username`.
public struct DockerCredentialHelper: Sendable {
    public static let service = "docker-credential"
    static let usernameAttribute = "docker-username"
    public static let notFoundMessage = "credentials not found in native keychain"
    static let missingServerURLMessage = "no credentials server URL"
    static let missingUsernameMessage = "no credentials username"

    /// The program name used in `version` and the usage message.
    public var name: String
    public var version: String
    private let openVault: @Sendable () async throws -> CredentialVault

    /// `openVault` is called only by the actions that need the store (not `version`).
    public init(name: String = "docker-credential-credvault", version: String = CredentialVault.version,
                openVault: @escaping @Sendable () async throws -> CredentialVault) {
        self.name = name
        self.version = version
        self.openVault = openVault
    }

    /// What the helper prints and its exit status.
    public struct Reply: Sendable {
        /// Bytes for stdout (may hold a secret after `get`).
        public var output: SecretBytes
        public var status: Int32
    }

    /// Runs the helper for `arguments` (the words after the program name) and `input` (stdin).
    public func run(arguments: [String], input: [UInt8]) async -> Reply {
        guard arguments.count == 1 else { return failure("Usage: \(name) <store|get|erase|list|version>") }
        do {
            switch arguments[0] {
            case "store": try await store(input)
            case "get": return Reply(output: try await get(input), status: 0)
            case "erase": try await erase(input)
            case "list": return Reply(output: SecretBytes(GoJSON.map(try await list()) + [0x0A]), status: 0)
            case "version": return Reply(output: SecretBytes(utf8: "\(name) (credvault) \(version)\n"), status: 0)
            default: return failure("Unknown credential action `\(arguments[0])`")
            }
            return Reply(output: SecretBytes([]), status: 0)
        } catch let error as CredentialVaultError {
            return failure(error.message)
        } catch {
            return failure("\(error)")
        }
    }

    private func failure(_ message: String) -> Reply {
        Reply(output: SecretBytes(utf8: message + "\n"), status: 1)
    }

    /// Standard input as the reference helper reads it: its lines joined without their line
    /// ends (Go's bufio.Scanner drops "\n" and a "\r" just before it), in one array sized up
    /// front so that no reallocation leaves a copy of a secret behind. The caller wipes it.
    static func joinedLines(_ input: [UInt8]) -> [UInt8] {
        var joined: [UInt8] = []
        joined.reserveCapacity(input.count)
        for (index, byte) in input.enumerated() {
            if byte == UInt8(ascii: "\n") { continue }
            let endsLine = index + 1 == input.count || input[index + 1] == UInt8(ascii: "\n")
            if byte == UInt8(ascii: "\r") && endsLine { continue }
            joined.append(byte)
        }
        return joined
    }

    /// The server URL on stdin: lines joined, then trimmed (strings.TrimSpace).
    package static func serverURL(_ input: [UInt8]) throws -> String {
        let url = String(decoding: joinedLines(input), as: UTF8.self).trimmingWhitespaceAndNewlines()
        guard !url.isEmpty else { throw CredentialVaultError(.usage, missingServerURLMessage) }
        return url
    }

    func store(_ input: [UInt8]) async throws {
        var joined = Self.joinedLines(input)
        defer { joined.wipe() }
        let credentials = try DockerCredentials(json: joined)
        guard !credentials.serverURL.isEmpty else { throw CredentialVaultError(.usage, Self.missingServerURLMessage) }
        guard !credentials.username.isEmpty else { throw CredentialVaultError(.usage, Self.missingUsernameMessage) }
        let vault = try await openVault()
        let key = try CredentialKey(service: Self.service, account: credentials.serverURL)
        try await vault.store(CredentialItem(key: key, label: "Docker Credentials: \(credentials.serverURL)",
                                             attributes: [Self.usernameAttribute: credentials.username],
                                             secret: credentials.secret))
    }

    func get(_ input: [UInt8]) async throws -> SecretBytes {
        let url = try Self.serverURL(input)
        let vault = try await openVault()
        guard let item = try await vault.backend.item(for: CredentialKey(service: Self.service, account: url)),
              !item.secret.isEmpty else {
            throw CredentialVaultError(.notFound, Self.notFoundMessage)
        }
        var secret = item.secret.copyBytes()
        defer { secret.wipe() }
        var out = GoJSON.object([("ServerURL", Array(url.utf8)),
                                 ("Username", Array((item.attributes[Self.usernameAttribute] ?? "").utf8)),
                                 ("Secret", secret)])
        out.append(0x0A)
        defer { out.wipe() }
        return SecretBytes(out)
    }

    func erase(_ input: [UInt8]) async throws {
        let url = try Self.serverURL(input)
        let vault = try await openVault()
        _ = try await vault.backend.removeItem(for: CredentialKey(service: Self.service, account: url))
    }

    func list() async throws -> [String: String] {
        let vault = try await openVault()
        var entries: [String: String] = [:]
        for summary in try await vault.list(service: Self.service) {
            entries[summary.key.account] = summary.attributes[Self.usernameAttribute] ?? ""
        }
        return entries
    }
}

/// The `Credentials` struct of docker-credential-helpers, decoded as Go's encoding/json
/// would: field names matched exactly or case-insensitively, unknown fields ignored, `null`
/// leaves a field empty, any other non-string value is an error.
package struct DockerCredentials {
    var serverURL = ""
    var username = ""
    var secret = SecretBytes([])

    package init(json: [UInt8]) throws {
        guard json.contains(where: { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) }) else {
            throw CredentialVaultError(.dataError, "EOF")
        }
        // The project's strict parser (the one the fuzzer exercises). Unlike Go's, it refuses
        // duplicate keys, which docker never sends.
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(json)
        } catch {
            throw CredentialVaultError(.dataError,
                "invalid JSON on stdin; expected {\"ServerURL\":\"…\",\"Username\":\"…\",\"Secret\":\"…\"}")
        }
        guard case .object(let object) = parsed else {
            throw CredentialVaultError(.dataError, "json: cannot unmarshal \(Self.goKind(parsed)) into Go value of type credentials.Credentials")
        }
        for field in ["ServerURL", "Username", "Secret"] {
            let key = object.keys.first(where: { $0 == field }) ?? object.keys.first(where: { $0.lowercased() == field.lowercased() })
            guard let key, let value = object[key], value != .null else { continue }
            guard case .string(let text) = value else {
                throw CredentialVaultError(.dataError,
                    "json: cannot unmarshal \(Self.goKind(value)) into Go struct field Credentials.\(field) of type string")
            }
            switch field {
            case "ServerURL": serverURL = text
            case "Username": username = text
            default: secret = SecretBytes(utf8: text)
            }
        }
    }

    /// Go's name for a JSON value's kind, as its unmarshal errors print it.
    static func goKind(_ value: JSONValue) -> String {
        switch value {
        case .array: return "array"
        case .object: return "object"
        case .number: return "number"
        case .bool: return "bool"
        case .string: return "string"
        case .null: return "null"
        }
    }
}
