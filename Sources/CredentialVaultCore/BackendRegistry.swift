/// The backends a vault can choose from.
///
/// ```swift
/// var registry = BackendRegistry.standard   // from the CredentialVault module
/// registry.register(MyBackend.self)
/// let vault = try await CredentialVault.open(app: "myapp", registry: registry)
/// ```
public struct BackendRegistry: Sendable {
    private(set) public var backends: [any CredentialBackend.Type] = []
    /// Where the app's home backend is recorded; without one, every run selects anew.
    public var homeStore: (any BackendHomeStore)?
    /// How the config file is read: with the checks a program can trust it after. Without
    /// one, no config file is read.
    public var configurationReader: (any ConfigurationFileReader)?
    /// Config-file keys of modules that are not backends (the login flows add theirs).
    public var additionalConfigurationKeys: [ConfigurationKey] = []

    /// Every config-file key outside the core's own: the backends', then the additional ones.
    public var configurationKeys: [ConfigurationKey] {
        backends.flatMap { $0.configurationKeys } + additionalConfigurationKeys
    }

    public init() {}

    /// Adds a backend type, replacing any registered under the same name.
    public mutating func register(_ backend: any CredentialBackend.Type) {
        backends.removeAll { $0.name == backend.name }
        backends.append(backend)
    }

    /// The backend registered under `name`, if any.
    public func backend(named name: String) -> (any CredentialBackend.Type)? {
        backends.first { $0.name == name }
    }

    /// Every registered name, highest priority first.
    public var names: [String] { byPriority.map { $0.name } }

    /// Registered backends, highest priority first (ties broken by name).
    public var byPriority: [any CredentialBackend.Type] {
        backends.sorted { ($0.priority, $1.name) > ($1.priority, $0.name) }
    }
}
