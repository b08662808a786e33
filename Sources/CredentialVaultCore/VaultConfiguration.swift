#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// What the app's config file (`<app directory>/config`) says.
///
/// The format is one `key = value` per line; `#` starts a comment; values may be quoted
/// with double quotes. Unknown keys and bad values are refused with the line number
/// (exit 78), so a typo never silently changes where secrets go.
public struct VaultConfiguration: Sendable, Equatable {
    /// `backend = NAME`: the backend to use instead of automatic selection.
    public var backend: String?
    /// `fallback = allow | refuse`: whether automatic selection may fall back to the plaintext file.
    public var plaintextFallback: PlaintextFallbackPolicy?
    /// `probe_timeout = SECONDS`: the deadline for each backend probe and keyring call.
    public var probeTimeout: Duration?
    /// `lock_timeout = SECONDS`: how long a file write waits for another process's lock.
    public var lockTimeout: Duration?
    /// `prompt_timeout = SECONDS`: how long to wait for a person to answer a keyring's dialog.
    public var promptTimeout: Duration?
    /// Settings read by other modules: login (`issuer`, `client_id`, …, optionally prefixed
    /// `prod.` or `dev.`) and OpenBao (`openbao_mount`, `openbao_prefix`, `openbao_token_file`); see ``authKeys``.
    public var auth: [String: String] = [:]
    /// The file this was read from, if one existed.
    public var path: String?

    public init() {}

    /// The keys this version understands.
    public static let knownKeys = ["backend", "fallback", "probe_timeout", "lock_timeout", "prompt_timeout"] + authKeys

    /// The login settings; each may also be written `prod.KEY` or `dev.KEY` for one mode.
    public static let authKeys = ["auth_mode", "mode", "issuer", "client_id", "audience", "scopes",
                                  "device_authorization_endpoint", "token_endpoint", "revocation_endpoint",
                                  "api_key_prefix", "openbao_mount", "openbao_prefix", "openbao_token_file",
                                  "openbao_role_id", "openbao_secret_id_file"]

    /// Reads `path`; a missing file is an empty configuration.
    ///
    /// - Throws: ``CredentialVaultError`` (``CredentialVaultError/Code/configuration``).
    public static func load(path: String) throws -> VaultConfiguration {
        guard FileManager.default.fileExists(atPath: path) else { return VaultConfiguration() }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch let error as CocoaError where error.code == .fileReadNoSuchFile {
            return VaultConfiguration()
        } catch {
            if !FileManager.default.fileExists(atPath: path) { return VaultConfiguration() }
            throw CredentialVaultError(.configuration, "cannot read config file \(path): check that it is a readable file", cause: error)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CredentialVaultError(.configuration, "config file \(path) is not UTF-8 text")
        }
        var configuration = try parse(text, path: path)
        configuration.path = path
        return configuration
    }

    /// Parses config text; `path` names the file in messages.
    public static func parse(_ text: String, path: String) throws -> VaultConfiguration {
        var configuration = VaultConfiguration()
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = rawLine.trimmingBlanks()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw CredentialVaultError(.configuration,
                    "\(path):\(lineNumber): expected 'key = value', found '\(line)'")
            }
            let key = line[..<equals].trimmingBlanks()
            var value = line[line.index(after: equals)...].trimmingBlanks()
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            func bad(_ expected: String) -> CredentialVaultError {
                CredentialVaultError(.configuration, "\(path):\(lineNumber): \(key) = '\(value)' is not valid; expected \(expected)")
            }
            switch key {
            case "backend":
                guard !value.isEmpty else { throw bad("a backend name (see `credvault backends`)") }
                configuration.backend = value
            case "fallback":
                guard let policy = PlaintextFallbackPolicy(rawValue: value) else { throw bad("'allow' or 'refuse'") }
                configuration.plaintextFallback = policy
            case "probe_timeout", "lock_timeout", "prompt_timeout":
                guard let seconds = Double(value), seconds > 0, seconds <= 600 else {
                    throw bad("a number of seconds between 0 and 600")
                }
                let duration = Duration.milliseconds(Int64(seconds * 1000))
                switch key {
                case "probe_timeout": configuration.probeTimeout = duration
                case "lock_timeout": configuration.lockTimeout = duration
                default: configuration.promptTimeout = duration
                }
            case _ where Self.isAuthKey(key):
                guard !value.isEmpty else { throw bad("a value") }
                try Self.validateAuth(key: key, value: value, bad: bad)
                configuration.auth[key] = value
            default:
                throw CredentialVaultError(.configuration,
                    "\(path):\(lineNumber): unknown key '\(key)'; known keys: \(knownKeys.joined(separator: ", "))")
            }
        }
        return configuration
    }
}

extension VaultConfiguration {
    static func isAuthKey(_ key: String) -> Bool {
        if authKeys.contains(key) { return true }
        for mode in ["prod.", "dev."] where key.hasPrefix(mode) {
            let bare = String(key.dropFirst(mode.count))
            return authKeys.contains(bare) && bare != "mode"
        }
        return false
    }

    static func validateAuth(key: String, value: String, bad: (String) -> CredentialVaultError) throws {
        let bare = key.split(separator: ".").last.map(String.init) ?? key
        switch bare {
        case "issuer", "device_authorization_endpoint", "token_endpoint", "revocation_endpoint":
            guard value.hasPrefix("https://") || value.hasPrefix("http://") else { throw bad("an http:// or https:// URL") }
        case "auth_mode":
            guard ["oauth", "clerk", "local"].contains(value) else { throw bad("'oauth' or 'local'") }
        case "mode":
            guard ["prod", "dev"].contains(value) else { throw bad("'prod' or 'dev'") }
        case "api_key_prefix":
            guard value.count <= 16, value.hasSuffix("_"),
                  value.dropLast().allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) }) else {
                throw bad("lower-case letters or digits ending in '_', such as cv_ or cmd_")
            }
        default: break
        }
    }
}

/// Whether automatic selection may fall back to the plaintext file backend.
public enum PlaintextFallbackPolicy: String, Sendable {
    /// Fall back, and say so before the first write.
    case allow
    /// Fail with ``CredentialVaultError/Code/unavailable`` instead.
    case refuse
}
