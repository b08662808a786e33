import CredentialVault
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where a credential came from. Provenance is data, so `auth status` can show it, scripts
/// can test it, and every error can name the source it was about.
public enum CredentialSource: Sendable, Equatable, CustomStringConvertible {
    /// `--api-key-file PATH`.
    case apiKeyFile(path: String)
    /// `--api-key VALUE` (accepted for compatibility; visible to other local users).
    case apiKeyArgument
    /// An environment variable: `<APP>_API_KEY` or `<APP>_AUTH_TOKEN`.
    case environment(variable: String)
    /// The stored key of a workspace named with `--workspace` or `<APP>_WORKSPACE`.
    case selectedWorkspaceKey(workspace: String, selectedBy: String, location: String)
    /// The stored key of the active workspace of a mode.
    case activeWorkspaceKey(workspace: String, mode: ServiceMode, location: String)
    /// The stored personal access token.
    case personalAccessToken(location: String)
    /// The OAuth access token of a mode.
    case oauth(mode: ServiceMode, location: String)
    /// Zero-auth mode: no credential is needed.
    case zeroAuth(variable: String)

    /// The source as `--json` shows it: kind, location and description.
    public var json: JSONValue {
        .object(["kind": .string(kind), "location": .string(location), "description": .string(description)])
    }

    /// A short stable name for scripts and `--json`.
    public var kind: String {
        switch self {
        case .apiKeyFile: return "api-key-file"
        case .apiKeyArgument: return "api-key-argument"
        case .environment: return "environment"
        case .selectedWorkspaceKey: return "workspace-key"
        case .activeWorkspaceKey: return "active-workspace-key"
        case .personalAccessToken: return "personal-access-token"
        case .oauth: return "oauth"
        case .zeroAuth: return "none"
        }
    }

    /// Where it lives: a path, a variable, or a backend item.
    public var location: String {
        switch self {
        case .apiKeyFile(let path): return path
        case .apiKeyArgument: return "--api-key argument"
        case .environment(let variable): return "$\(variable)"
        case .selectedWorkspaceKey(_, _, let location), .activeWorkspaceKey(_, _, let location),
             .personalAccessToken(let location), .oauth(_, let location): return location
        case .zeroAuth(let variable): return "$\(variable)=local"
        }
    }

    public var description: String {
        switch self {
        case .apiKeyFile(let path): return "--api-key-file \(path)"
        case .apiKeyArgument: return "--api-key argument"
        case .environment(let variable): return "\(variable) environment variable"
        case .selectedWorkspaceKey(let workspace, let selectedBy, let location):
            return "stored key of workspace '\(workspace)' (\(selectedBy)) in \(location)"
        case .activeWorkspaceKey(let workspace, let mode, let location):
            return "stored key of active \(mode) workspace '\(workspace)' in \(location)"
        case .personalAccessToken(let location): return "stored personal access token in \(location)"
        case .oauth(let mode, let location): return "\(mode) OAuth token in \(location)"
        case .zeroAuth: return "none (zero-auth)"
        }
    }
}

/// The resolver's answer: the credential, its source, and the sources that were present
/// but lost to it.
public struct ResolvedCredential: Sendable, CustomStringConvertible {
    /// The credential; nil only in zero-auth mode.
    public var value: SecretBytes?
    public var source: CredentialSource
    public var shadowed: [CredentialSource]
    /// Things the caller should tell the person (shadowing, a refresh that failed but left a valid token).
    public var warnings: [String]
    /// The workspace the credential is for, when known.
    public var workspace: String?
    /// The token set, when the source is OAuth.
    public var tokens: TokenSet?
    public var mode: ServiceMode

    public var description: String {
        "ResolvedCredential(source: \(source), shadowed: \(shadowed.count), value: \(value.map { APIKey.masked($0) } ?? "none"))"
    }
}

/// What the caller asks the resolver for.
public struct CredentialRequest: Sendable {
    /// `--api-key-file PATH`.
    public var apiKeyFile: String?
    /// `--api-key VALUE` (discouraged: arguments are visible to other local users).
    public var apiKey: SecretBytes?
    /// `--workspace NAME`.
    public var workspace: String?
    /// Resolve for this mode instead of the current one.
    public var mode: ServiceMode?
    /// Refresh the OAuth token when it is due (status does not).
    public var refresh = true

    public init(apiKeyFile: String? = nil, apiKey: SecretBytes? = nil, workspace: String? = nil, mode: ServiceMode? = nil) {
        self.apiKeyFile = apiKeyFile
        self.apiKey = apiKey
        self.workspace = workspace
        self.mode = mode
    }
}
