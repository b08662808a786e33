import CredentialVault
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Everything one app's login flows keep: the selected mode, the personal access token, and
/// per mode the OAuth token set, the workspace API keys and the active workspace. It is one
/// vault item (service `credvault-auth`, account = the app name), so it lands in the keyring
/// on a desktop and in the 0600 file on a server, is read with one lookup and is replaced
/// atomically. Its format is in docs/FORMAT.md.
public struct AuthRecord: Sendable, Equatable {
    /// The vault service of login records.
    public static let service = "credvault-auth"
    public static let currentVersion = 1

    /// Per-mode state.
    public struct ModeState: Sendable, Equatable {
        public var tokens: TokenSet?
        public var workspaceKeys: [String: SecretBytes] = [:]
        public var activeWorkspace: String?
        public init() {}
        var isEmpty: Bool { tokens == nil && workspaceKeys.isEmpty && activeWorkspace == nil }
    }

    /// The mode chosen with `mode prod|dev`.
    public var selectedMode: ServiceMode?
    public var personalAccessToken: SecretBytes?
    public var modes: [ServiceMode: ModeState] = [:]
    /// When the record was last written.
    public var modified: Date?

    public init() {}

    public subscript(mode: ServiceMode) -> ModeState {
        get { modes[mode] ?? ModeState() }
        set { modes[mode] = newValue.isEmpty ? nil : newValue }
    }

    public var isEmpty: Bool { selectedMode == nil && personalAccessToken == nil && modes.values.allSatisfy(\.isEmpty) }

    func serialized() -> SecretBytes {
        var modeObjects: [String: JSONValue] = [:]
        for (mode, state) in modes where !state.isEmpty {
            var object: [String: JSONValue] = [:]
            if let tokens = state.tokens { object["oauth"] = tokens.json }
            if !state.workspaceKeys.isEmpty {
                object["workspace_keys"] = .object(state.workspaceKeys.mapValues { .string($0.utf8String() ?? "") })
            }
            if let active = state.activeWorkspace { object["active_workspace"] = .string(active) }
            modeObjects[mode.rawValue] = .object(object)
        }
        var root: [String: JSONValue] = ["version": .number(Double(Self.currentVersion)), "modes": .object(modeObjects)]
        if let selectedMode { root["mode"] = .string(selectedMode.rawValue) }
        if let personalAccessToken { root["personal_access_token"] = .string(personalAccessToken.utf8String() ?? "") }
        root["modified"] = .number(Date().timeIntervalSince1970)
        return SecretBytes(JSONValue.object(root).serializedBytes())
    }

    /// Parses a stored record; `location` names it in errors.
    ///
    /// - Throws: `.dataError` (exit 65) for text that does not parse or an unknown version,
    ///   with the fix; the stored item is never replaced by an empty record.
    package static func parse(_ secret: SecretBytes, location: String, app: AppProfile) throws -> AuthRecord {
        let fix = "delete it with `credvault --app \(app.name) delete \(service) \(app.name)` and log in again"
        let json: JSONValue
        do {
            json = try secret.withBytes { try JSONParser.parse($0) }
        } catch {
            throw CredentialVaultError(.dataError, "the login record in \(location) is not valid JSON (\(error)); \(fix)")
        }
        guard let version = json["version"]?.numberValue else {
            throw CredentialVaultError(.dataError, "the login record in \(location) has no version; \(fix)")
        }
        guard version == Double(currentVersion) else {
            throw CredentialVaultError(.dataError, "the login record in \(location) has version \(version), which this credvault does not know; upgrade credvault, or \(fix)")
        }
        var record = AuthRecord()
        if let mode = json["mode"]?.stringValue { record.selectedMode = ServiceMode(rawValue: mode) }
        if let pat = json["personal_access_token"]?.stringValue { record.personalAccessToken = SecretBytes(utf8: pat) }
        record.modified = json["modified"]?.numberValue.map { Date(timeIntervalSince1970: $0) }
        for (name, value) in json["modes"]?.objectValue ?? [:] {
            guard let mode = ServiceMode(rawValue: name) else { continue }
            var state = ModeState()
            if let oauth = json["modes"]?[name]?["oauth"] {
                state.tokens = try TokenSet(json: oauth, context: "the \(mode) token set in \(location)")
            }
            for (workspace, key) in value["workspace_keys"]?.objectValue ?? [:] {
                if let key = key.stringValue { state.workspaceKeys[workspace] = SecretBytes(utf8: key) }
            }
            state.activeWorkspace = value["active_workspace"]?.stringValue
            record[mode] = state
        }
        return record
    }
}
