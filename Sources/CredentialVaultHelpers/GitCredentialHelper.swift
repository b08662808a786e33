import CredentialVault
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// git's credential helper protocol over a `CredentialVault`: `get`, `store` and `erase`
/// (`git help credential`), so `git config credential.helper '!credvault git-credential'`
/// keeps git's passwords in the keyring, the hardened file or OpenBao, whichever is selected.
///
/// Items are stored under service `git:<protocol>://<host>[/<path>]` and account `<username>`,
/// with the attributes `git-protocol`, `git-host`, `git-path`, `password_expiry_utc` and the
/// OAuth refresh token sealed under the vault's data key (`git-oauth-refresh-token`, see
/// docs/FORMAT.md). On the Secret Service it also reads and erases the items that
/// git-credential-libsecret stored (attributes `protocol`, `server`, `port`, `user`, `object`
/// under either the `org.gnome.keyring.NetworkPassword` or the `org.git.Password` schema).
public struct GitCredentialHelper: Sendable {
    /// The operations git asks a helper for.
    public enum Operation: String, Sendable, CaseIterable {
        case get, store, erase
    }

    public static let servicePrefix = "git:"
    static let protocolAttribute = "git-protocol"
    static let hostAttribute = "git-host"
    static let pathAttribute = "git-path"
    static let expiryAttribute = "password_expiry_utc"
    static let refreshTokenAttribute = "git-oauth-refresh-token"

    public let vault: CredentialVault
    /// The clock, for password expiry.
    public var now: @Sendable () -> Date = { Date() }

    public init(vault: CredentialVault) {
        self.vault = vault
    }

    /// Runs one operation on a parsed request. `get` returns the reply to print (possibly
    /// empty: nothing found); `store` and `erase` return nil.
    public func run(_ operation: Operation, _ request: GitCredential) async throws -> GitCredential? {
        switch operation {
        case .get: return try await get(request)
        case .store: try await store(request); return nil
        case .erase: try await erase(request); return nil
        }
    }

    /// The vault service for a request: `git:<protocol>://<host>[/<path>]`, each part
    /// percent-encoded so that the key is unambiguous (`%`, control characters, `:` and `/` in
    /// the protocol, `/` in the host: docs/FORMAT.md), or nil when the
    /// request names neither a host nor a path (nothing to key on).
    public static func service(for request: GitCredential) -> String? {
        guard let proto = request.protocol, request.host != nil || request.path != nil else { return nil }
        var service = servicePrefix + keyComponent(proto, escaping: ":/") + "://" + keyComponent(request.host ?? "", escaping: "/")
        if let path = request.path { service += "/" + keyComponent(path, escaping: "") }
        return service
    }

    /// `text` with `%`, control characters and the characters of `escaping` written `%XX`.
    /// With `:` and `/` escaped in the protocol and `/` in the host, the first `://` ends the
    /// protocol and the next `/` ends the host: a host can never pass for a host and a path
    /// (`a.example/b`). Text without such characters is unchanged (0.2's keys).
    static func keyComponent(_ text: String, escaping: String) -> String {
        let special = Set(escaping.utf8).union([0x25, 0x7F]).union(0x00..<0x20)
        guard text.utf8.contains(where: special.contains) else { return text }
        return Hex.percentEncoded(text, keeping: Set(0x00...0xFF).subtracting(special))
    }

    /// The service 0.2's helper used (`git:<protocol>://<host>[/<path>]`, unencoded), when it
    /// differs from today's: items under it are moved on first use.
    static func legacyService(for request: GitCredential) -> String? {
        guard let proto = request.protocol, request.host != nil || request.path != nil else { return nil }
        var service = "\(servicePrefix)\(proto)://\(request.host ?? "")"
        if let path = request.path { service += "/" + path }
        return service == Self.service(for: request) ? nil : service
    }

    /// Whether a stored item's attributes say it was stored for exactly this request's
    /// protocol, host and path (what its key alone cannot prove for items of 0.2). An item
    /// without the attributes (made with `credvault set`) is matched by its key alone.
    static func attributes(_ attributes: [String: String], match request: GitCredential) -> Bool {
        guard let proto = attributes[protocolAttribute] else { return true }
        return proto == request.protocol && attributes[hostAttribute] == request.host && attributes[pathAttribute] == request.path
    }

    /// The stored credential matching `request`: ours first (the given username's, or the most
    /// recently stored one for that URL), then one stored by git-credential-libsecret.
    /// An expired password is left out of the reply (its username and refresh token stay).
    public func get(_ request: GitCredential) async throws -> GitCredential {
        guard let service = Self.service(for: request) else { return GitCredential() }
        if let legacy = Self.legacyService(for: request) { try await migrate(from: legacy, to: service, request: request) }
        var found: CredentialItem?
        if let username = request.username {
            found = try await vault.backend.item(for: CredentialKey(service: service, account: username))
        } else {
            let candidates = try await vault.list(service: service)
            if let newest = candidates.max(by: { ($0.modified ?? .distantPast) < ($1.modified ?? .distantPast) }) {
                found = try await vault.backend.item(for: newest.key)
            }
        }
        // An item whose attributes name another host or path is not this request's.
        if let item = found, !Self.attributes(item.attributes, match: request) { found = nil }
        var reply: GitCredential
        if let item = found {
            reply = GitCredential(username: item.key.account, password: item.secret)
            if let expiry = item.attributes[Self.expiryAttribute].flatMap(Int64.init) { reply.passwordExpiryUTC = expiry }
            if let sealed = item.attributes[Self.refreshTokenAttribute], let bytes = Base64.decode(sealed) {
                reply.oauthRefreshToken = try await vault.openSealed(bytes, for: item.key)
            }
        } else if let foreign = try await libsecretItem(matching: request) {
            reply = foreign
        } else {
            return GitCredential()
        }
        if let expiry = reply.passwordExpiryUTC, Double(expiry) <= now().timeIntervalSince1970 {
            reply.password = nil
            reply.passwordExpiryUTC = nil
        }
        return reply
    }

    /// Stores the credential git approved. A request without protocol, host or path,
    /// username or password is ignored, as git's own helpers do (an empty username too: no
    /// account can be keyed on it).
    ///
    /// - Throws: `.dataError` (65) for a value holding a line feed or NUL, which could not be
    ///   given back to git intact; nothing is stored.
    public func store(_ request: GitCredential) async throws {
        guard let service = Self.service(for: request), let username = request.username, !username.isEmpty,
              let password = request.password else { return }
        if let field = request.fieldThatCannotBeSent {
            throw CredentialVaultError(.dataError,
                "the \(field) to store contains a line break or NUL byte, which git's credential protocol cannot carry; nothing was stored")
        }
        if let legacy = Self.legacyService(for: request) { try await migrate(from: legacy, to: service, request: request) }
        let key = try CredentialKey(service: service, account: username)
        var attributes: [String: String] = [Self.protocolAttribute: request.protocol ?? ""]
        if let host = request.host { attributes[Self.hostAttribute] = host }
        if let path = request.path { attributes[Self.pathAttribute] = path }
        if let expiry = request.passwordExpiryUTC { attributes[Self.expiryAttribute] = String(expiry) }
        if let token = request.oauthRefreshToken {
            attributes[Self.refreshTokenAttribute] = Base64.encode(try await vault.seal(token, for: key))
            attributes[CredentialVault.containsSealedAttribute] = "v1"
        }
        try await vault.store(CredentialItem(key: key, label: "Git: \(request.url)", attributes: attributes, secret: password))
    }

    /// Erases every stored credential that matches all the fields the request gives (git's
    /// pattern rule); with a `password`, only those holding that password. A request with no
    /// protocol, host, path or username erases nothing.
    public func erase(_ request: GitCredential) async throws {
        guard request.protocol != nil || request.host != nil || request.path != nil || request.username != nil else { return }
        for summary in try await vault.list() where summary.key.service.hasPrefix(Self.servicePrefix) {
            let attributes = summary.attributes
            if let proto = request.protocol, attributes[Self.protocolAttribute] != proto { continue }
            if let host = request.host, attributes[Self.hostAttribute] != host { continue }
            if let path = request.path, attributes[Self.pathAttribute] != path { continue }
            if let username = request.username, !summary.key.account.utf8.elementsEqual(username.utf8) { continue }
            if let password = request.password {
                guard let stored = try await vault.backend.secret(for: summary.key), stored == password else { continue }
            }
            _ = try await vault.backend.removeItem(for: summary.key)
        }
        if let keyring = vault.backend as? any AttributeSearchingBackend {
            let attributes = Self.libsecretAttributes(for: request)
            if !attributes.isEmpty { _ = try await keyring.removeForeignItems(matching: attributes) }
        }
    }

    /// Moves the items 0.2 stored under `legacy` for exactly this request (its attributes
    /// say so) to `service`; items of another host or path that share the old key stay.
    func migrate(from legacy: String, to service: String, request: GitCredential) async throws {
        for summary in try await vault.list(service: legacy) where Self.attributes(summary.attributes, match: request) {
            guard let item = try await vault.backend.item(for: summary.key) else { continue }
            var moved = item
            moved.key = try CredentialKey(service: service, account: item.key.account)
            if let sealed = item.attributes[Self.refreshTokenAttribute], let bytes = Base64.decode(sealed) {
                // A sealed value is bound to its key: open it under the old one, seal it under the new.
                let token = try await vault.openSealed(bytes, for: item.key)
                moved.attributes[Self.refreshTokenAttribute] = Base64.encode(try await vault.seal(token, for: moved.key))
            }
            try await vault.store(moved)
            _ = try await vault.backend.removeItem(for: item.key)
        }
    }

    // MARK: - git-credential-libsecret's items

    /// The attributes git-credential-libsecret searches with (its make_attr_list).
    static func libsecretAttributes(for request: GitCredential) -> [String: String] {
        var attributes: [String: String] = [:]
        if let username = request.username { attributes["user"] = username }
        if let proto = request.protocol { attributes["protocol"] = proto }
        if let host = request.hostName { attributes["server"] = host }
        if let port = request.port { attributes["port"] = String(port) }
        if let path = request.path { attributes["object"] = path }
        return attributes
    }

    /// An item stored by git-credential-libsecret that matches `request`, when the vault is on
    /// the Secret Service. Newer versions of that helper keep `password_expiry_utc` and
    /// `oauth_refresh_token` as further lines of the secret; both forms are read.
    func libsecretItem(matching request: GitCredential) async throws -> GitCredential? {
        guard let keyring = vault.backend as? any AttributeSearchingBackend,
              request.protocol != nil, request.hostName != nil || request.path != nil else { return nil }
        let attributes = Self.libsecretAttributes(for: request)
        let candidates = try await keyring.foreignItems(matching: attributes).filter {
            // Our own items never carry these attribute names, but skip them explicitly.
            $0.attributes["service"] == nil && $0.secret != nil
        }
        guard let item = candidates.first, let secret = item.secret else { return nil }
        var reply = GitCredential(username: item.attributes["user"])
        let bytes = secret.copyBytes()
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        reply.password = SecretBytes(lines.first ?? [])
        for line in lines.dropFirst() {
            guard let equals = line.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let key = String(decoding: line[line.startIndex..<equals], as: UTF8.self)
            let value = line[(equals + 1)...]
            switch key {
            case "password_expiry_utc": reply.passwordExpiryUTC = Int64(String(decoding: value, as: UTF8.self))
            case "oauth_refresh_token": reply.oauthRefreshToken = SecretBytes(value)
            default: break
            }
        }
        return reply
    }
}
