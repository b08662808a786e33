import CredentialVaultCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The freedesktop Secret Service (gnome-keyring, KeePassXC, KWallet's bridge) over D-Bus,
/// through libsecret.
///
/// Items carry the attributes `service`, `username` and `application` (the app name), and
/// lookups match on `service` + `username` only: secrets stored by Python `keyring` or by
/// `secret-tool store service S username A` are read back, and ours are visible to them.
/// Items go to the default collection (alias `default`); no collection is ever created.
/// Every D-Bus call runs under the vault's deadline and is cancelled when it passes.
public struct SecretServiceBackend: PromptingBackend {
    public static let name = "secret-service"
    public static let priority = 100
    public static let protection = StorageProtection.keyring

    private let environment: [String: String]
    private let application: String
    /// The app's command, for advice (`credvault`, or `credvault --app NAME`).
    private let commandName: String
    private let timeout: Duration
    private let promptTimeout: Duration
    private let promptObserver: PromptObserver?
    private let promptVariable: String
    private let includeOtherApps: Bool
    private let verboseNote: (@Sendable (String) -> Void)?

    public init(context: BackendContext) {
        environment = context.environment
        application = context.app.name
        commandName = context.app.commandName
        timeout = context.callTimeout
        promptTimeout = context.promptTimeout
        promptObserver = context.promptObserver
        promptVariable = context.app.variable("PROMPT_TIMEOUT")
        includeOtherApps = context.includeOtherApps
        verboseNote = context.verboseNote
    }

    /// Whether an unlock prompt can be shown: a display, and not an SSH session.
    var canPrompt: Bool {
        let hasDisplay = !(environment["DISPLAY"] ?? "").isEmpty || !(environment["WAYLAND_DISPLAY"] ?? "").isEmpty
        let overSSH = !(environment["SSH_CONNECTION"] ?? "").isEmpty || !(environment["SSH_TTY"] ?? "").isEmpty
        return hasDisplay && !overSSH
    }

    /// The session bus address, or why there is none.
    var busProblem: String? {
        if let address = environment["DBUS_SESSION_BUS_ADDRESS"], !address.isEmpty { return nil }
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty, FileManager.default.fileExists(atPath: runtime + "/bus") { return nil }
        return "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set and there is no $XDG_RUNTIME_DIR/bus)"
    }

    public func probe(timeout: Duration) async -> BackendAvailability {
        if let busProblem {
            return .unavailable(reason: busProblem, nextStep: "run inside a D-Bus session: log in to a desktop, or start one with dbus-run-session")
        }
        do {
            switch try await call(timeout: timeout, { try LibSecret.defaultCollectionState($0) }) {
            case .unlocked: return .available
            case .locked: return .unavailable(reason: lockedReason, code: .locked, nextStep: unlockAdvice)
            case .noDefaultCollection:
                return .unavailable(reason: "the keyring has no default collection",
                                    nextStep: "create a default keyring (for example a 'Login' keyring in Seahorse)")
            }
        } catch let error as CredentialVaultError {
            if error.code == .timedOut {
                return .unavailable(reason: error.message, code: .timedOut, nextStep: "restart the keyring daemon (it may be stopped or wedged)")
            }
            let noProvider = (error.cause as? LibSecretFailure)?.kind == .serviceUnknown
            return .unavailable(reason: error.message, nextStep: noProvider ? "install and start a Secret Service provider (apt install gnome-keyring, or enable KeePassXC's Secret Service integration)" : nil)
        } catch {
            return .unavailable(reason: "\(error)")
        }
    }

    /// Starts loading libsecret, connecting and negotiating the transfer session on a thread of
    /// its own (cvk_prefetch), when there is a session bus; the first probe takes the answer.
    public static func prepare(context: BackendContext) {
        guard SecretServiceBackend(context: context).busProblem == nil else { return }
        LibSecret.prefetch()
    }

    /// How to unlock the keyring, for gnome-keyring and for KeePassXC.
    var unlockAdvice: String {
        "unlock it: gnome-keyring unlocks at desktop login, or run `printf '%s' \"$PASSWORD\" | gnome-keyring-daemon --unlock --replace` "
            + "(the login password); KeePassXC: open KeePassXC and unlock the database"
    }

    /// Why a locked keyring cannot be used here, and how to unlock it.
    var lockedReason: String {
        canPrompt ? "the keyring is locked; \(unlockAdvice)"
            : "the keyring is locked and no unlock dialog can be shown here (no DISPLAY or WAYLAND_DISPLAY, or an SSH session); \(unlockAdvice)"
    }

    /// Shows the service's unlock dialog and waits for the person, up to the prompt timeout.
    /// The call deadline limits the service's answers; it never limits the person.
    public func unlockByPrompt() async throws {
        try await askThroughDialog("the keyring's unlock dialog", unlessPossible: lockedReason) { try LibSecret.unlockDefaultCollection($0) }
    }

    /// Runs `work`; when it meets items this client may not read yet (KeePassXC asks the person
    /// to confirm each program's first access to an item), shows the service's access dialog
    /// for them and runs `work` once more.
    private func withItemAccess<T: Sendable>(_ work: @escaping @Sendable (Cancellation) throws -> T) async throws -> T {
        do {
            return try await searching(work)
        } catch let error as CredentialVaultError where error.code == .locked {
            guard let paths = (error.cause as? LibSecretFailure)?.lockedPaths, !paths.isEmpty else { throw error }
            try await askThroughDialog("the keyring's access dialog",
                                       unlessPossible: "the keyring asks to confirm access to this item in a dialog, which cannot be shown here "
                                        + "(no DISPLAY or WAYLAND_DISPLAY, or an SSH session); allow it from the desktop, or in KeePassXC turn off "
                                        + "'Confirm when passwords are retrieved by clients' (Settings > Secret Service Integration)") {
                try LibSecret.unlockItems(paths, $0)
            }
            return try await searching(work)
        }
    }

    /// Shows a dialog of the service (`dialog` runs the libsecret call that shows it) and waits
    /// for the person up to the prompt timeout; Ctrl-C (through the observer), a cancelled task
    /// or the timeout dismisses it. `unlessPossible` is the refusal where no dialog can be shown.
    private func askThroughDialog(_ what: String, unlessPossible: String,
                                  _ dialog: @escaping @Sendable (Cancellation) throws -> KeyringState) async throws {
        guard canPrompt else { throw CredentialVaultError(.locked, unlessPossible) }
        if let problem = LibSecret.loadProblem { throw CredentialVaultError(.unavailable, problem) }
        let cancellation = Cancellation()
        let deadline = RenewableDeadline(promptTimeout)
        // Ctrl-C (through the observer) or a cancelled task: dismiss the dialog and stop waiting.
        @Sendable func interrupt() {
            cancellation.cancel(.interrupted)
            deadline.expireNow()
        }
        promptObserver?.begin(what, promptTimeout, interrupt)
        defer { promptObserver?.end() }
        // At the prompt timeout, or on interruption, the cancellation sends Prompt.Dismiss and
        // flushes it to the service before the wait ends, so no dialog outlives the run.
        let outcome: Result<KeyringState, any Error>? = await withTaskCancellationHandler {
            await runBlocking(until: deadline, onTimeout: { cancellation.cancel(.deadline) }) {
                Result { try dialog(cancellation) }
            }
        } onCancel: {
            interrupt()
        }
        switch cancellation.reason {
        case .deadline?:
            throw CredentialVaultError(.timedOut,
                "nobody answered \(what) within \(promptTimeout.formattedSeconds); it was closed and nothing was read or written. "
                + "Answer it sooner, or allow more time with \(promptVariable)")
        case .interrupted?:
            throw CredentialVaultError(.interrupted, "interrupted while waiting for \(what); it was closed and nothing was read or written")
        case nil: break
        }
        switch outcome {
        case .success(.unlocked)?: return
        case .success?:
            throw CredentialVaultError(.cancelled, "\(what) was cancelled; nothing was read or written. Run the command again to be asked again")
        case .failure(let failure as LibSecretFailure)?:
            throw CredentialVaultError(.unavailable, "the keyring refused: \(failure.message)", cause: failure)
        case .failure(let error)?: throw error
        case nil: throw CredentialVaultError(.timedOut, "the keyring did not answer while showing \(what)")
        }
    }

    public func item(for key: CredentialKey) async throws -> CredentialItem? {
        let attributes = ["service": key.service, "username": key.account]
        // Newest first: another program may have stored its own item under the same key.
        let found = try await searching { try LibSecret.items(matching: attributes, all: true, loadSecrets: true, $0) }
        guard let first = found.first(where: { $0.secret != nil }) ?? found.first else { return nil }
        guard let secret = first.secret else {
            throw CredentialVaultError(.locked, "the keyring item for \(key) is locked; unlock the keyring (for example with Seahorse) and try again")
        }
        return CredentialItem(
            key: key, label: first.label,
            attributes: first.attributes.filter { !reservedAttributeNames.contains($0.key) },
            secret: SecretBytes(secret),
            created: first.created > 0 ? Date(timeIntervalSince1970: TimeInterval(first.created)) : nil,
            modified: first.modified > 0 ? Date(timeIntervalSince1970: TimeInterval(first.modified)) : nil)
    }

    public func secret(for key: CredentialKey) async throws -> SecretBytes? {
        let attributes = ["service": key.service, "username": key.account]
        // An item deleted by another client mid-lookup reads as absent, not as a failure.
        let found = try await withItemAccess { try LibSecret.newestSecret(matching: attributes, $0) }
        if found.matches > 1 {
            verboseNote?("\(found.matches) keyring items answer \(key) (another program stored its own); the newest was read, and the next write keeps one")
        }
        return found.secret.map { SecretBytes($0) }
    }

    public func store(_ item: CredentialItem) async throws {
        var attributes = item.attributes
        attributes["service"] = item.key.service
        attributes["username"] = item.key.account
        attributes["application"] = application
        attributes["xdg:schema"] = "org.freedesktop.Secret.Generic"
        let fixedAttributes = attributes
        let bytes = item.secret.copyBytes()
        let isText = item.secret.utf8String().map { !$0.utf8.contains(0) } ?? false
        let label = item.label
        try await withItemAccess {
            try LibSecret.store(attributes: fixedAttributes, label: label, secret: bytes,
                                contentType: isText ? "text/plain" : "application/octet-stream", $0)
        }
        // Some gnome-keyring versions accept a store and keep the item without its secret.
        guard let stored = try await secret(for: item.key), stored == item.secret else {
            throw CredentialVaultError(.cannotWrite,
                "the keyring accepted the secret for \(item.key) but reading it back did not return it; the keyring daemon may be faulty (restart it and try again)")
        }
    }

    public func removeItem(for key: CredentialKey) async throws -> Bool {
        let attributes = ["service": key.service, "username": key.account]
        return try await withItemAccess { try LibSecret.delete(matching: attributes, $0) } > 0
    }

    /// This app's items (`application=<app>`, which credvault writes on every item, the git and
    /// docker helpers' included), or with ``BackendContext/includeOtherApps`` every item that has
    /// a `service` and a `username`, whichever program stored it.
    public func summaries(service: String?) async throws -> [CredentialSummary] {
        var matching = service.map { ["service": $0] } ?? [:]
        if !includeOtherApps { matching["application"] = application }
        let attributes = matching
        // No attribute to search on: read the collection's items (KeePassXC answers an empty search with nothing).
        let found = try await searching { try LibSecret.items(matching: attributes, all: true, loadSecrets: false, $0) }
        var seen = Set<CredentialKey>()
        var result: [CredentialSummary] = []
        for item in found {
            guard let service = item.attributes["service"], let account = item.attributes["username"],
                  let key = try? CredentialKey(service: service, account: account), seen.insert(key).inserted else { continue }
            result.append(CredentialSummary(
                key: key, label: item.label,
                attributes: item.attributes.filter { !reservedAttributeNames.contains($0.key) },
                created: item.created > 0 ? Date(timeIntervalSince1970: TimeInterval(item.created)) : nil,
                modified: item.modified > 0 ? Date(timeIntervalSince1970: TimeInterval(item.modified)) : nil))
        }
        return result.sorted { $0.key < $1.key }
    }

    public func diagnostics() async -> [Diagnostic] {
        var lines = [Diagnostic("dbus.session_bus_address", environment["DBUS_SESSION_BUS_ADDRESS"] ?? "(not set)",
                                nextStep: busProblem.map { _ in "run inside a D-Bus session (log in to a desktop, or use dbus-run-session)" })]
        lines.append(Diagnostic("secret_service.prompt_possible", canPrompt ? "yes" : "no (no DISPLAY/WAYLAND_DISPLAY, or an SSH session)"))
        if busProblem == nil {
            let provider = await self.provider()
            lines.append(Diagnostic("secret_service.provider", provider.map { "\($0.name) (pid \($0.pid))" } ?? "unknown"))
            if provider?.kind == .credvault, let own = await credvaultProvider() {
                lines.append(Diagnostic("secret_service.credvault_store", "\(own.store) (\(own.locked ? "locked" : "unlocked"))",
                                        nextStep: own.locked ? "run `\(commandName) unlock`: the provider takes the key from the unlock cache" : nil))
            }
            let state: String
            var step: String?
            do {
                switch try await call({ try LibSecret.defaultCollectionState($0) }) {
                case .unlocked: state = "unlocked"
                case .locked:
                    state = "locked"
                    switch provider?.kind {
                    case .keePassXC?:
                        step = "unlock the database in KeePassXC (its window, or start it with: keepassxc --pw-stdin DATABASE); "
                            + "check that a group is exposed under Settings > Secret Service Integration"
                    case .credvault?:
                        step = "run `\(commandName) unlock`: credvault's provider takes the key from the unlock cache"
                    case .gnomeKeyring?:
                        step = "unlock the keyring: log in to the desktop, use Seahorse, or run: printf '%s' \"$PASSWORD\" | gnome-keyring-daemon --unlock --replace"
                    default:
                        step = "unlock the keyring with the tool of \(provider?.name ?? "its provider")"
                    }
                case .noDefaultCollection:
                    state = "no default collection"
                    step = provider?.kind == .keePassXC
                        ? "expose a group of an open database to the Secret Service (KeePassXC: Database > Database Settings > Secret Service Integration)"
                        : "create a default keyring (Seahorse: File > New > Password Keyring, then set it as default)"
                }
            } catch {
                state = "error: \(error)"
                step = "start a Secret Service provider such as gnome-keyring-daemon --start --components=secrets, or KeePassXC with its Secret Service Integration on"
            }
            lines.append(Diagnostic("secret_service.default_collection", state, nextStep: step))
        }
        return lines
    }

    /// The store served, and whether it is locked, when credvault's own provider
    /// (`credvault secret-service`) serves the Secret Service on this bus now; nil when another
    /// program does, or none (no provider is started for the question).
    public func credvaultProvider() async -> (store: String, locked: Bool)? {
        guard busProblem == nil else { return nil }
        return (try? await call({ try LibSecret.credvaultProvider($0) })) ?? nil
    }

    /// Locks credvault's own provider when it serves the Secret Service on this bus. Returns
    /// whether it did (false: no provider, or another program's).
    ///
    /// - Throws: when the provider did not answer.
    public func lockCredvaultProvider() async throws -> Bool {
        guard busProblem == nil else { return false }
        return try await call({ try LibSecret.lockCredvaultProvider($0) })
    }

    /// Hands the store's data key to credvault's own provider (after ``credvaultProvider()``
    /// named the store it serves), encrypted under the transfer session.
    ///
    /// - Throws: when the provider refused it (a key that does not open its store) or did not answer.
    public func unlockCredvaultProvider(dataKey: SecretBytes) async throws {
        try await call({ try LibSecret.unlockCredvaultProvider(dataKey: dataKey, $0) })
    }

    /// Which program serves the Secret Service: the bus names its process, whose name says.
    func provider() async -> ServingProgram? {
        guard let pid = try? await call({ try LibSecret.providerPID($0) }) else { return nil }
        let command = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingWhitespaceAndNewlines() ?? ""
        return ServingProgram(pid: pid, command: command)
    }

    /// Runs a search through ``call(timeout:_:)``, again when an item it found was deleted by
    /// another client before its properties were read (the Secret Service answers
    /// NoSuchObject for the whole search then; found by the soak test with concurrent deletes).
    private func searching<T: Sendable>(_ work: @escaping @Sendable (Cancellation) throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await call(work)
            } catch let error as CredentialVaultError where (error.cause as? LibSecretFailure)?.kind == .noSuchObject && attempt < 5 {
                attempt += 1
            }
        }
    }

    /// Runs `work` on a thread of its own under the deadline, cancelling it when it passes.
    /// The deadline limits each D-Bus call: `work` renews it whenever an answer arrives.
    private func call<T: Sendable>(timeout: Duration? = nil, _ work: @escaping @Sendable (Cancellation) throws -> T) async throws -> T {
        let limit = timeout ?? self.timeout
        if let problem = LibSecret.loadProblem { throw CredentialVaultError(.unavailable, problem) }
        let deadline = RenewableDeadline(limit)
        let cancellation = Cancellation(deadline: deadline)
        let outcome: Result<T, any Error>? = await runBlocking(until: deadline, onTimeout: { cancellation.cancel() }) {
            Result { try work(cancellation) }
        }
        let timedOut = CredentialVaultError(.timedOut,
            "the Secret Service did not answer within \(limit.formattedSeconds); the keyring daemon may be stopped or wedged (restart it, or choose another backend with --backend)")
        guard let outcome else { throw timedOut }
        switch outcome {
        case .success(let value): return value
        case .failure(let failure as LibSecretFailure):
            switch failure.kind {
            case .cancelled: throw timedOut
            case .serviceUnknown:
                throw CredentialVaultError(.unavailable,
                    "no Secret Service provider on the session bus; install and start one (gnome-keyring, KeePassXC) or choose another backend", cause: failure)
            case .locked:
                throw CredentialVaultError(.locked, lockedReason, cause: failure)
            case .noSuchObject, .other:
                throw CredentialVaultError(.unavailable, "the Secret Service refused the request: \(failure.message)", cause: failure)
            }
        case .failure(let error): throw error
        }
    }
}

extension SecretServiceBackend: AttributeSearchingBackend {
    /// Searches with no schema (cvk_list over the matching paths), so items of
    /// any schema match on their attributes alone.
    public func foreignItems(matching attributes: [String: String]) async throws -> [ForeignItem] {
        guard !attributes.isEmpty else { throw CredentialVaultError(.usage, "a keyring search needs at least one attribute") }
        let found = try await searching { try LibSecret.items(matching: attributes, all: true, loadSecrets: true, $0) }
        return found.map { item in
            ForeignItem(label: item.label, attributes: item.attributes, secret: item.secret.map { SecretBytes($0) },
                        modified: item.modified > 0 ? Date(timeIntervalSince1970: TimeInterval(item.modified)) : nil)
        }
    }

    /// Deletes every item with these attributes, whatever its schema.
    public func removeForeignItems(matching attributes: [String: String]) async throws -> Int {
        guard !attributes.isEmpty else { throw CredentialVaultError(.usage, "a keyring removal needs at least one attribute") }
        return try await withItemAccess { try LibSecret.delete(matching: attributes, $0) }
    }
}

/// The program that serves the Secret Service on the bus, for advice that fits it.
struct ServingProgram: Sendable {
    enum Kind: Sendable { case gnomeKeyring, keePassXC, credvault, other }
    let pid: Int32
    /// The process's name (/proc/PID/comm, at most 15 bytes).
    let command: String

    var kind: Kind {
        if command.hasPrefix("gnome-keyring") { return .gnomeKeyring }
        if command.lowercased().hasPrefix("keepassxc") { return .keePassXC }
        if command == "credvault" { return .credvault }
        return .other
    }

    var name: String {
        switch kind {
        case .gnomeKeyring: return "gnome-keyring"
        case .keePassXC: return "KeePassXC"
        case .credvault: return "credvault secret-service"
        case .other: return command.isEmpty ? "unknown" : command
        }
    }
}
