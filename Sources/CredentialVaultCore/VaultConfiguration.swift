#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
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
    /// The values of keys other modules declared (``ConfigurationKey``): login (`issuer`,
    /// `client_id`, …, some also as `prod.KEY` or `dev.KEY`) and OpenBao (`openbao_prefix`, …).
    public var settings: [String: String] = [:]
    /// The file this was read from, if one existed.
    public var path: String?

    public init() {}

    /// The keys the core itself reads.
    public static let coreKeys = ["backend", "fallback", "probe_timeout", "lock_timeout", "prompt_timeout"]

    /// The config file's name in the app directory.
    public static let fileName = "config"
    /// The largest config file read: 64 KiB.
    public static let maximumSize = 65_536

    /// Reads `<directory>/config` through `reader`; a missing file is an empty
    /// configuration. `keys` are the keys other modules read (``BackendRegistry/configurationKeys``).
    ///
    /// - Throws: ``CredentialVaultError`` (``CredentialVaultError/Code/configuration``), or
    ///   what `reader` refuses.
    public static func load(directory: String, reader: any ConfigurationFileReader, keys: [ConfigurationKey] = []) throws -> VaultConfiguration {
        let path = directory + "/" + fileName
        guard let bytes = try reader.read(path, in: directory, limit: maximumSize) else { return VaultConfiguration() }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CredentialVaultError(.configuration, "config file \(path) is not UTF-8 text")
        }
        var configuration = try parse(text, path: path, keys: keys)
        configuration.path = path
        return configuration
    }

    /// Parses config text; `path` names the file in messages, `keys` are the keys other modules read.
    public static func parse(_ text: String, path: String, keys: [ConfigurationKey] = []) throws -> VaultConfiguration {
        var configuration = VaultConfiguration()
        /// The declared key `key` stands for: itself, or `prod.NAME` / `dev.NAME` of a per-mode key.
        func declared(_ key: String) -> ConfigurationKey? {
            if let exact = keys.first(where: { $0.name == key }) { return exact }
            for mode in ["prod.", "dev."] where key.hasPrefix(mode) {
                let bare = String(key.dropFirst(mode.count))
                return keys.first { $0.name == bare && $0.perMode }
            }
            return nil
        }
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
            default:
                guard let declared = declared(key) else {
                    throw CredentialVaultError(.configuration,
                        "\(path):\(lineNumber): unknown key '\(key)'; known keys: \((coreKeys + keys.map(\.name)).joined(separator: ", "))")
                }
                guard !value.isEmpty, declared.isValid(value) else { throw bad(declared.expected) }
                configuration.settings[key] = value
            }
        }
        return configuration
    }
}

/// Whether automatic selection may fall back to the plaintext file backend.
public enum PlaintextFallbackPolicy: String, Sendable {
    /// Fall back, and say so before the first write.
    case allow
    /// Fail with ``CredentialVaultError/Code/unavailable`` instead.
    case refuse
}
