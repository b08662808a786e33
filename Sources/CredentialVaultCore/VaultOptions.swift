import Logging

/// How a vault chooses its backend. Each field, when set, wins over the environment and
/// the config file.
public struct VaultOptions: Sendable {
    /// The backend to use by name, skipping automatic selection (`--backend`).
    public var backend: String?
    /// The environment to read instead of the process environment (tests, embedding).
    public var environment: [String: String]?
    /// Deadline for each backend probe and each keyring call (default 2 s).
    public var probeTimeout: Duration?
    /// Whether automatic selection may fall back to the plaintext file.
    public var plaintextFallback: PlaintextFallbackPolicy?
    /// How a backend that must be unlocked asks for the passphrase (see ``BackendContext/passphrasePrompt``).
    public var passphrasePrompt: (@Sendable (_ prompt: String) throws -> [UInt8]?)?
    /// Told when a backend waits for a person to answer its service's dialog (see ``PromptObserver``).
    public var promptObserver: PromptObserver?
    /// Warnings for people that are not errors (items stranded in the plaintext file). The
    /// default logs them with swift-log; the CLI prints them to stderr.
    public var notice: (@Sendable (String) -> Void)?
    /// List every program's items from a shared keyring, not only this app's (`--all-apps`;
    /// see ``BackendContext/includeOtherApps``).
    public var includeOtherApps = false
    /// Hears backends' notes for `--verbose` (see ``BackendContext/verboseNote``).
    public var verboseNote: (@Sendable (String) -> Void)?
    /// Probe every backend, not just until one is available (`credvault backends`).
    public var probeEveryBackend = false
    /// Called once, before the first write, when the vault fell back to a plaintext file.
    /// The default logs a warning with swift-log; the CLI prints to stderr.
    public var plaintextFallbackNotice: (@Sendable (BackendSelection) -> Void)? = nil

    public init(backend: String? = nil, environment: [String: String]? = nil) {
        self.backend = backend
        self.environment = environment
    }

    /// The default notice: a swift-log warning on the `credvault` logger that names the
    /// app's own variable (`<APP>_NO_PLAINTEXT_FALLBACK`).
    public static func logFallback(app: AppProfile) -> @Sendable (BackendSelection) -> Void {
        { selection in Logger(label: "credvault").warning("\(fallbackWarning(for: selection, app: app))") }
    }

    /// The words of the fallback warning: short, with the app's own command and variable
    /// (the reasons each backend was passed over are `doctor`'s, not repeated here).
    ///
    /// - Parameters:
    ///   - selection: the selection that fell back to the plaintext file.
    ///   - app: the app, for its `<APP>_NO_PLAINTEXT_FALLBACK` variable.
    ///   - command: how the app's user runs it (`credvault --app skillmeat`, or the app's own CLI).
    public static func fallbackWarning(for selection: BackendSelection, app: AppProfile?, command: String = "credvault") -> String {
        let variable = (app ?? .credvault).variable("NO_PLAINTEXT_FALLBACK")
        return "no keyring is usable: secrets go to a plaintext file (mode 0600). "
            + "`\(command) doctor` says why; `\(command) password set` encrypts it; \(variable)=1 refuses."
    }
}
