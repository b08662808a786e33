/// The application a vault serves: its name sets its directory and the prefix of its
/// environment variables (`--app skillmeat` reads `SKILLMEAT_HOME`, `SKILLMEAT_BACKEND`, …).
public struct AppProfile: Sendable, Equatable {
    /// The app name: lower-case letters, digits, `-` and `_`, starting with a letter.
    public let name: String

    /// The default app, `credvault`.
    public static let credvault = try! AppProfile("credvault")

    /// - Throws: ``CredentialVaultError`` (``CredentialVaultError/Code/usage``) for an invalid name.
    public init(_ name: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-_")
        guard let first = name.first, first.isLetter, first.isLowercase,
              name.count <= 64, name.allSatisfy({ allowed.contains($0) }) else {
            throw CredentialVaultError(.usage,
                "invalid app name '\(name)': use 1 to 64 lower-case letters, digits, '-' or '_', starting with a letter")
        }
        self.name = name
    }

    /// The environment-variable prefix: the name in upper case with `-` as `_` (`CREDVAULT`).
    public var environmentPrefix: String {
        name.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// The variable `<PREFIX>_<suffix>`, for example `variable("BACKEND")` = `CREDVAULT_BACKEND`.
    public func variable(_ suffix: String) -> String { "\(environmentPrefix)_\(suffix)" }
}

extension String {
    fileprivate func replacingOccurrences(of target: Character, with replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}
