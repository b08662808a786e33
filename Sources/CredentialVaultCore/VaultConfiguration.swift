import Foundation

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
    /// The file this was read from, if one existed.
    public var path: String?

    public init() {}

    /// The keys this version understands.
    public static let knownKeys = ["backend", "fallback", "probe_timeout", "lock_timeout"]

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
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw CredentialVaultError(.configuration,
                    "\(path):\(lineNumber): expected 'key = value', found '\(line)'")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
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
            case "probe_timeout", "lock_timeout":
                guard let seconds = Double(value), seconds > 0, seconds <= 600 else {
                    throw bad("a number of seconds between 0 and 600")
                }
                let duration = Duration.milliseconds(Int64(seconds * 1000))
                if key == "probe_timeout" { configuration.probeTimeout = duration } else { configuration.lockTimeout = duration }
            default:
                throw CredentialVaultError(.configuration,
                    "\(path):\(lineNumber): unknown key '\(key)'; known keys: \(knownKeys.joined(separator: ", "))")
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
