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

    /// The words of the fallback warning.
    public static func fallbackWarning(for selection: BackendSelection, app: AppProfile?) -> String {
        let reasons = selection.candidates.compactMap { candidate -> String? in
            guard let reason = candidate.verdict?.reason else { return nil }
            return "\(candidate.name): \(reason)"
        }
        let variable = (app ?? .credvault).variable("NO_PLAINTEXT_FALLBACK")
        return "no keyring is usable (\(reasons.joined(separator: "; "))); secrets will be stored in a plaintext file "
            + "protected only by its 0600 mode. Set \(variable)=1 to refuse instead, or fix the keyring (see `credvault doctor`)."
    }
}
