#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Everything a backend may read about the vault it serves.
public struct BackendContext: Sendable {
    /// The app, which names directories, items and environment variables.
    public let app: AppProfile
    /// The environment to read (the process environment unless a caller passes another).
    public let environment: [String: String]
    /// The app's directory: `$<APP>_HOME`, else `$XDG_CONFIG_HOME/<app>`, else `~/.config/<app>`.
    public let directory: String
    /// The parsed config file.
    public let configuration: VaultConfiguration
    /// The deadline for each probe and each call to an external service.
    public let callTimeout: Duration
    /// How long a file write waits for another process's lock.
    public let lockTimeout: Duration
    /// How long a backend waits for a person to answer its service's dialog (an unlock or
    /// access prompt): `<APP>_PROMPT_TIMEOUT`, `prompt_timeout =`, else 60 s. The call
    /// deadline (``callTimeout``) limits the service; this one limits the person.
    public var promptTimeout: Duration = .seconds(60)
    /// Told when a backend starts and stops waiting for a person (see ``PromptObserver``).
    public var promptObserver: PromptObserver?
    /// Whether listing (`list`, `migrate`, `export`) takes every program's items from a store
    /// that several programs share (the Secret Service), instead of only this app's
    /// (`application=<app>`). Reading or deleting by exact service and account is never scoped.
    public var includeOtherApps = false
    /// Hears what a backend noticed that a person asked to be told with `--verbose` (two
    /// keyring items answering one key); nil when nobody asked.
    public var verboseNote: (@Sendable (String) -> Void)?
    /// Asks the person for a passphrase without echo (the CLI's prompt on a terminal), for
    /// backends that must be unlocked; nil when nobody can be asked. Returns the bytes, which
    /// the caller wipes.
    public var passphrasePrompt: (@Sendable (_ prompt: String) throws -> [UInt8]?)?

    public init(app: AppProfile, environment: [String: String], directory: String,
                configuration: VaultConfiguration, callTimeout: Duration, lockTimeout: Duration) {
        self.app = app
        self.environment = environment
        self.directory = directory
        self.configuration = configuration
        self.callTimeout = callTimeout
        self.lockTimeout = lockTimeout
    }

    /// Resolves the app directory from `environment` without touching the disk.
    public static func directory(for app: AppProfile, environment: [String: String]) throws -> String {
        let homeVariable = app.variable("HOME")
        if let explicit = environment[homeVariable], !explicit.isEmpty {
            guard explicit.hasPrefix("/") else {
                throw CredentialVaultError(.configuration, "\(homeVariable)=\(explicit) is not an absolute path; set it to an absolute directory")
            }
            return explicit
        }
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") {
            return xdg + "/" + app.name
        }
        guard let home = environment["HOME"].flatMap({ $0.isEmpty ? nil : $0 }) ?? userHomeFromPasswd() else {
            throw CredentialVaultError(.configuration, "cannot find a home directory: set HOME or \(homeVariable)")
        }
        return home + "/.config/" + app.name
    }

    /// The home directory in the password database (with HOME unset, Foundation reads it there).
    private static func userHomeFromPasswd() -> String? {
        let path = FileManager.default.homeDirectoryForCurrentUser.path
        return path.isEmpty ? nil : path
    }
}
