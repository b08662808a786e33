#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Synchronization

/// The façade a Swift program uses: one call chooses a backend, then store, read, delete
/// and list credentials.
///
/// ```swift
/// import CredentialVault
/// let vault = try await CredentialVault.open(app: "myapp")
/// try await vault.store(SecretBytes(utf8: "hunter2"), service: "api.example.com", account: "alice")
/// let secret = try await vault.secret(service: "api.example.com", account: "alice")
/// print(vault.selection.explanation)
/// ```
public final class CredentialVault: Sendable {
    /// This release of CredentialVault (and of `credvault`).
    public static let version = "0.2.0"
    /// Which backend was chosen, how, and what every probe said.
    public let selection: BackendSelection
    /// The app, directory and environment the vault uses.
    public let context: BackendContext
    /// The chosen backend.
    public let backend: any CredentialBackend
    private let notice: @Sendable (BackendSelection) -> Void
    private let noticeGiven = LockedFlag()
    /// Where the home is recorded once the first write lands; nil when it is already recorded
    /// or the backend was named explicitly.
    private let pendingHome: (any BackendHomeStore)?
    private let homeStore: (any BackendHomeStore)?
    private let homeRecorded = LockedFlag()
    private let message: @Sendable (String) -> Void

    /// Chooses a backend from `registry` (see ``VaultSelector/select(surveyed:prompting:)``) and opens the vault.
    public static func open(app: AppProfile, registry: BackendRegistry, options: VaultOptions = VaultOptions()) async throws -> CredentialVault {
        let selector = try VaultSelector(app: app, registry: registry, options: options)
        let (selection, backend) = try await selector.select()
        return CredentialVault(selection: selection, context: selector.context, backend: backend,
                               notice: options.plaintextFallbackNotice ?? VaultOptions.logFallback(app: app),
                               homeStore: registry.homeStore, message: options.notice)
    }

    /// Wraps an already chosen backend. With `homeStore`, the first write under automatic
    /// selection records the backend as the app's home; `message` hears warnings that are not
    /// errors (the default logs them).
    public init(selection: BackendSelection, context: BackendContext, backend: any CredentialBackend,
                notice: (@Sendable (BackendSelection) -> Void)? = nil, homeStore: (any BackendHomeStore)? = nil,
                message: (@Sendable (String) -> Void)? = nil) {
        self.selection = selection
        self.context = context
        self.backend = backend
        self.notice = notice ?? VaultOptions.logFallback(app: context.app)
        self.homeStore = homeStore
        self.pendingHome = selection.source == .automatic ? homeStore : nil
        self.message = message ?? { text in Logger(label: "credvault").warning("\(text)") }
    }

    /// Records this vault's backend as the app's home (``BackendHome``): later runs use it and
    /// nothing else. `migrate` calls this for its destination.
    public func recordAsHome() async throws {
        guard let homeStore else { return }
        try homeStore.write(BackendHome.recordedName(for: type(of: backend)), context)
        guard type(of: backend).protection == .keyring else { return }
        let stranded = await homeStore.plaintextItemCount(context)
        if stranded > 0 {
            let command = context.app.name == "credvault" ? "credvault" : "credvault --app \(context.app.name)"
            message("\(stranded) credential(s) of this app are still in the plaintext file in \(context.directory) from before the keyring held them; "
                + "credvault no longer reads them. Move them into the keyring with `\(command) migrate --from file --to \(type(of: backend).name) --delete-source`")
        }
    }

    /// After a write under automatic selection: records the home once, warning (not failing)
    /// when the record cannot be written, since the write itself landed.
    package func recordHomeAfterFirstWrite() async {
        guard pendingHome != nil, homeRecorded.setOnce() else { return }
        do {
            try await recordAsHome()
        } catch {
            message("the credential was stored in \(selection.backend), but that could not be recorded as this app's home: \(error)")
        }
    }

    /// Stores `secret` under `service` and `account`, replacing any earlier one.
    public func store(_ secret: SecretBytes, service: String, account: String,
                      label: String? = nil, attributes: [String: String] = [:]) async throws {
        let key = try CredentialKey(service: service, account: account)
        if let reserved = attributes.keys.first(where: { reservedAttributeNames.contains($0) }) {
            throw CredentialVaultError(.usage, "attribute '\(reserved)' is reserved; use another name")
        }
        try await store(CredentialItem(key: key, label: label, attributes: attributes, secret: secret))
    }

    /// Stores a whole item, replacing any item with the same key.
    public func store(_ item: CredentialItem) async throws {
        if selection.isPlaintextFallback { noticeOnce() }
        try await backend.store(item)
        await recordHomeAfterFirstWrite()
    }

    /// Gives the plaintext-fallback notice if it has not been given in this vault yet.
    public func noticeOnce() {
        if selection.isPlaintextFallback, noticeGiven.setOnce() { notice(selection) }
    }

    /// The secret stored under `service` and `account`.
    ///
    /// - Throws: ``CredentialVaultError`` with ``CredentialVaultError/Code/notFound`` when there is none.
    public func secret(service: String, account: String) async throws -> SecretBytes {
        let key = try CredentialKey(service: service, account: account)
        guard let secret = try await backend.secret(for: key) else {
            throw CredentialVaultError(.notFound, "no credential for service '\(service)' and account '\(account)' in backend \(selection.backend)")
        }
        return secret
    }

    /// The whole item stored under `service` and `account`.
    public func item(service: String, account: String) async throws -> CredentialItem {
        let key = try CredentialKey(service: service, account: account)
        guard let item = try await backend.item(for: key) else {
            throw CredentialVaultError(.notFound, "no credential for service '\(service)' and account '\(account)' in backend \(selection.backend)")
        }
        return item
    }

    /// Deletes the item under `service` and `account`.
    ///
    /// - Throws: ``CredentialVaultError/Code/notFound`` when there was none.
    public func delete(service: String, account: String) async throws {
        let key = try CredentialKey(service: service, account: account)
        guard try await backend.removeItem(for: key) else {
            throw CredentialVaultError(.notFound, "no credential for service '\(service)' and account '\(account)' in backend \(selection.backend)")
        }
    }

    /// Every item, or those of `service`, without secrets.
    public func list(service: String? = nil) async throws -> [CredentialSummary] {
        try await backend.summaries(service: service)
    }
}

/// A flag that is set once, across threads.
final class LockedFlag: Sendable {
    private let isSet = Mutex(false)
    /// Sets the flag; returns true only for the first caller.
    func setOnce() -> Bool {
        isSet.withLock { isSet in
            defer { isSet = true }
            return !isSet
        }
    }
}
