/// The application a vault serves: its name sets its directory and the prefix of its
/// environment variables (`--app skillmeat` reads `SKILLMEAT_HOME`, `SKILLMEAT_BACKEND`, …).
public struct AppProfile: Sendable, Equatable {
    /// The app name: lower-case letters, digits, `-` and `_`, starting with a letter.
    public let name: String

    /// The default app, `credvault`.
    public static let credvault = try! AppProfile("credvault")

    /// The command as people type it for this app, for hints in messages: `credvault`, or
    /// `credvault --app NAME`.
    public var commandName: String { name == "credvault" ? "credvault" : "credvault --app \(name)" }

    /// - Throws: ``CredentialVaultError`` (``CredentialVaultError/Code/usage``) for an invalid name.
    public init(_ name: String) throws {
        // Checked as bytes: the allowed names are ASCII (and every run checks one).
        func allowed(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
        guard let first = name.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first),
              name.utf8.count <= 64, name.utf8.allSatisfy(allowed) else {
            throw CredentialVaultError(.usage,
                "invalid app name '\(name)': use 1 to 64 lower-case letters, digits, '-' or '_', starting with a letter")
        }
        self.name = name
    }

    /// The environment-variable prefix: the name in upper case with `-` as `_` (`CREDVAULT`).
    public var environmentPrefix: String {
        // The name is ASCII [a-z0-9_-] (checked by init): upper-case it byte by byte.
        String(decoding: name.utf8.map { byte in
            byte == UInt8(ascii: "-") ? UInt8(ascii: "_") : (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) ? byte - 32 : byte
        }, as: UTF8.self)
    }

    /// The variable `<PREFIX>_<suffix>`, for example `variable("BACKEND")` = `CREDVAULT_BACKEND`.
    public func variable(_ suffix: String) -> String { environmentPrefix + "_" + suffix }
}
