import CredentialVault
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One credential description in git's helper protocol (`git help credential`): `key=value`
/// lines, ended by a blank line or the end of input.
///
/// Known keys are `protocol`, `host`, `path`, `username`, `password`, `password_expiry_utc`,
/// `oauth_refresh_token`, `url` (split into the others, as git does) and `quit`; every other
/// key (`wwwauth[]`, `capability[]`, `authtype`, keys of later git versions) is ignored.
/// Secrets are held as `SecretBytes` and never appear in `description`.
public struct GitCredential: Sendable, Equatable, CustomStringConvertible {
    public var `protocol`: String?
    /// The host, with `:port` when the URL had one (as git sends it).
    public var host: String?
    /// The path, only sent when `credential.useHttpPath` is set.
    public var path: String?
    public var username: String?
    public var password: SecretBytes?
    /// When the password stops being valid, in seconds since the Unix epoch (UTC).
    public var passwordExpiryUTC: Int64?
    public var oauthRefreshToken: SecretBytes?
    /// `quit=1` tells git to stop asking further helpers (git's boolean spellings accepted).
    public var quit = false

    public init(protocol: String? = nil, host: String? = nil, path: String? = nil, username: String? = nil,
                password: SecretBytes? = nil, passwordExpiryUTC: Int64? = nil, oauthRefreshToken: SecretBytes? = nil) {
        self.protocol = `protocol`
        self.host = host
        self.path = path
        self.username = username
        self.password = password
        self.passwordExpiryUTC = passwordExpiryUTC
        self.oauthRefreshToken = oauthRefreshToken
    }

    /// The host without its `:port`.
    public var hostName: String? {
        guard let host else { return nil }
        if let colon = host.lastIndex(of: ":"), host[host.index(after: colon)...].allSatisfy(\.isASCIIDigit) {
            return String(host[..<colon])
        }
        return host
    }

    /// The port from `host`, if it has one.
    public var port: Int? {
        guard let host, let colon = host.lastIndex(of: ":") else { return nil }
        let digits = host[host.index(after: colon)...]
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit) else { return nil }
        return Int(digits)
    }

    /// `protocol://host/path`, as git-credential-libsecret labels its items (a label only:
    /// a `/` in the host makes it ambiguous, so it is never used as a key).
    public var url: String {
        "\(self.protocol ?? "")://\(host ?? "")/\(path ?? "")"
    }

    /// Reads a description from `input` (the whole of a helper's standard input).
    ///
    /// - Throws: `CredentialVaultError` `.dataError` for a line without `=`, a NUL byte, or
    ///   text that is not UTF-8; the message names the line number, never its content.
    public static func parse(_ input: [UInt8]) throws -> GitCredential {
        var credential = GitCredential()
        var lineNumber = 0
        var start = 0
        while start < input.count {
            var end = input[start...].firstIndex(of: UInt8(ascii: "\n")) ?? input.count
            let next = end + 1
            if end > start, input[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            lineNumber += 1
            if end == start { break } // a blank line ends the description
            let line = input[start..<end]
            guard !line.contains(0) else {
                throw CredentialVaultError(.dataError, "credential line \(lineNumber) contains a NUL byte; git never sends one")
            }
            guard let equals = line.firstIndex(of: UInt8(ascii: "=")) else {
                throw CredentialVaultError(.dataError, "credential line \(lineNumber) has no '='; each line must be key=value (see git help credential)")
            }
            guard let key = String(validating: input[start..<equals], as: UTF8.self) else {
                throw CredentialVaultError(.dataError, "credential line \(lineNumber) has a key that is not UTF-8")
            }
            let valueBytes = input[(equals + 1)..<end]
            switch key {
            case "password": credential.password = SecretBytes(valueBytes)
            case "oauth_refresh_token": credential.oauthRefreshToken = SecretBytes(valueBytes)
            default:
                guard let value = String(validating: valueBytes, as: UTF8.self) else {
                    throw CredentialVaultError(.dataError, "the value of '\(key)' on credential line \(lineNumber) is not UTF-8")
                }
                credential.assign(key: key, value: value)
            }
            start = next
        }
        return credential
    }

    /// An empty value is kept as given: as in git's own helpers, `host=` matches only an
    /// empty host, never every host.
    private mutating func assign(key: String, value: String) {
        switch key {
        case "protocol": self.protocol = value
        case "host": host = value
        case "path": path = value
        case "username": username = value
        case "password_expiry_utc": passwordExpiryUTC = Int64(value)
        case "quit": quit = ["1", "true", "yes", "on"].contains(value.lowercased())
        case "url": applyURL(value)
        default: break // unknown keys are ignored, as git asks of helpers
        }
    }

    /// Splits `protocol://[user[:password]@]host[:port][/path]` into fields, percent-decoding
    /// the user and path and dropping trailing slashes, as git's credential_from_url does.
    private mutating func applyURL(_ url: String) {
        guard let schemeEnd = url.firstRange(of: "://") else { return }
        self.protocol = String(url[..<schemeEnd.lowerBound])
        var rest = Substring(url[schemeEnd.upperBound...])
        var pathPart: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            pathPart = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            let user = userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            username = Hex.percentDecoded(user) ?? user
            if let colon = userInfo.firstIndex(of: ":") {
                let secret = String(userInfo[userInfo.index(after: colon)...])
                password = SecretBytes(utf8: Hex.percentDecoded(secret) ?? secret)
            }
            rest = rest[rest.index(after: at)...]
        }
        host = rest.isEmpty ? nil : String(rest)
        while pathPart.hasSuffix("/") { pathPart = pathPart.dropLast() }
        let decoded = Hex.percentDecoded(String(pathPart)) ?? String(pathPart)
        path = decoded.isEmpty ? nil : decoded
    }

    /// The name of the first field whose value cannot cross git's protocol (it holds a line
    /// feed or a NUL byte, which would end the line and let the rest pass for other fields), or nil.
    public var fieldThatCannotBeSent: String? {
        func bad(_ bytes: some Sequence<UInt8>) -> Bool { bytes.contains { $0 == 0x0A || $0 == 0 } }
        if let value = self.protocol, bad(value.utf8) { return "protocol" }
        if let host, bad(host.utf8) { return "host" }
        if let path, bad(path.utf8) { return "path" }
        if let username, bad(username.utf8) { return "username" }
        if let password, password.withBytes({ bad($0) }) { return "password" }
        if let oauthRefreshToken, oauthRefreshToken.withBytes({ bad($0) }) { return "oauth_refresh_token" }
        return nil
    }

    /// The reply a helper prints: the fields that are set, one `key=value` line each.
    /// Returned as `SecretBytes` because it carries the password.
    ///
    /// - Throws: `.dataError` (65) when a value holds a line feed or NUL
    ///   (``fieldThatCannotBeSent``), as git itself refuses to write one; nothing is returned.
    public func serialized() throws -> SecretBytes {
        if let field = fieldThatCannotBeSent {
            throw CredentialVaultError(.dataError,
                "the stored \(field) contains a line break or NUL byte, which git's credential protocol cannot carry (it would inject other fields); nothing was sent. Replace the item with `credvault set`")
        }
        // Sized up front: a growing array would leave freed, unwiped copies of the password.
        var out: [UInt8] = []
        out.reserveCapacity(256 + (password?.count ?? 0) + (oauthRefreshToken?.count ?? 0)
                            + (host?.utf8.count ?? 0) + (path?.utf8.count ?? 0) + (username?.utf8.count ?? 0))
        func line(_ key: String, _ value: [UInt8]) {
            out.append(contentsOf: Array(key.utf8)); out.append(UInt8(ascii: "=")); out.append(contentsOf: value); out.append(UInt8(ascii: "\n"))
        }
        if let value = self.protocol { line("protocol", Array(value.utf8)) }
        if let host { line("host", Array(host.utf8)) }
        if let path { line("path", Array(path.utf8)) }
        if let username { line("username", Array(username.utf8)) }
        func secretLine(_ key: String, _ value: SecretBytes) {
            out.append(contentsOf: Array(key.utf8)); out.append(UInt8(ascii: "="))
            value.withBytes { out.append(contentsOf: $0) }
            out.append(UInt8(ascii: "\n"))
        }
        if let password { secretLine("password", password) }
        if let passwordExpiryUTC { line("password_expiry_utc", Array(String(passwordExpiryUTC).utf8)) }
        if let oauthRefreshToken { secretLine("oauth_refresh_token", oauthRefreshToken) }
        if quit { line("quit", Array("1".utf8)) }
        let result = SecretBytes(out)
        out.wipe()
        return result
    }

    public var description: String {
        var fields: [String] = []
        if let value = self.protocol { fields.append("protocol: \(value)") }
        if let host { fields.append("host: \(host)") }
        if let path { fields.append("path: \(path)") }
        if let username { fields.append("username: \(username)") }
        if password != nil { fields.append("password: redacted") }
        if let passwordExpiryUTC { fields.append("password_expiry_utc: \(passwordExpiryUTC)") }
        if oauthRefreshToken != nil { fields.append("oauth_refresh_token: redacted") }
        return "GitCredential(\(fields.joined(separator: ", ")))"
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
