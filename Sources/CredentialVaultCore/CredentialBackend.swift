/// A place to keep credentials. A third party adds one by implementing this protocol in one
/// type and registering it with one call, ``BackendRegistry/register(_:)``.
///
/// Backends are created per vault with ``BackendContext`` (the app's name, its directory,
/// its environment), and must be safe to use from several tasks at once.
public protocol CredentialBackend: Sendable {
    /// The name used by `--backend`, `<APP>_BACKEND` and the config file: lower case, no spaces.
    static var name: String { get }
    /// Order of automatic probing, highest first. A priority of 0 or less is never chosen
    /// automatically, only by name.
    static var priority: Int { get }
    /// What protects the secrets this backend stores.
    static var protection: StorageProtection { get }

    /// The config-file keys this backend reads (from ``VaultConfiguration/settings``). Optional.
    static var configurationKeys: [ConfigurationKey] { get }

    /// Creates the backend for one vault. Must be cheap: no I/O beyond reading `context`.
    init(context: BackendContext) throws

    /// Starts in the background what this backend's first probe needs (the keyring: loading
    /// libsecret, connecting, the transfer session), when the selector knows early that this
    /// backend will be probed first (``VaultSelector/prepare()``). Returns at once. Optional.
    static func prepare(context: BackendContext)

    /// Finds whether the backend is usable now. It must answer within `timeout`; the vault
    /// also stops waiting at that deadline and records the backend as unavailable.
    func probe(timeout: Duration) async -> BackendAvailability

    /// The item stored under `key`, or `nil`.
    func item(for key: CredentialKey) async throws -> CredentialItem?
    /// Only the secret stored under `key`, or `nil`. Backends that can fetch a secret more
    /// cheaply than a whole item override this; the default reads the item.
    func secret(for key: CredentialKey) async throws -> SecretBytes?
    /// Stores `item`, replacing any item with the same key.
    func store(_ item: CredentialItem) async throws
    /// Every item (or those of one service) with its secret, sorted by key. The default reads
    /// the summaries, then each item; backends that can read everything at once override it.
    func allItems(service: String?) async throws -> [CredentialItem]
    /// Stores every item in one atomic step (all or nothing) and returns true, or returns
    /// false without storing anything when the backend cannot; callers then store the items
    /// one by one. The default returns false.
    func storeAllAtomically(_ items: [CredentialItem]) async throws -> Bool
    /// Removes the item stored under `key`; returns whether there was one.
    func removeItem(for key: CredentialKey) async throws -> Bool
    /// Every item, or those of one service, without secrets, sorted by key.
    func summaries(service: String?) async throws -> [CredentialSummary]
    /// Facts for `credvault doctor`: name/value pairs such as paths and modes. Optional.
    func diagnostics() async -> [Diagnostic]
}

extension CredentialBackend {
    public static var configurationKeys: [ConfigurationKey] { [] }
    public static func prepare(context: BackendContext) {}
    public func diagnostics() async -> [Diagnostic] { [] }
    public func secret(for key: CredentialKey) async throws -> SecretBytes? { try await item(for: key)?.secret }
    public func storeAllAtomically(_ items: [CredentialItem]) async throws -> Bool { false }
    public func allItems(service: String?) async throws -> [CredentialItem] {
        var items: [CredentialItem] = []
        for summary in try await summaries(service: service) {
            if let item = try await item(for: summary.key) { items.append(item) }
        }
        return items
    }
}

/// One line of `credvault doctor` output.
public struct Diagnostic: Sendable, Equatable {
    public var name: String
    public var value: String
    /// What to do about it, when it is a problem.
    public var nextStep: String?

    public init(_ name: String, _ value: String, nextStep: String? = nil) {
        self.name = name
        self.value = value
        self.nextStep = nextStep
    }
}
