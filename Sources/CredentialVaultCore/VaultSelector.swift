#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Chooses a backend: by option, environment variable, config file, or automatically by
/// probing the registered backends in priority order under a deadline.
public struct VaultSelector: Sendable {
    public let registry: BackendRegistry
    public let context: BackendContext
    public let options: VaultOptions

    /// Reads the environment and the config file; no backend is probed yet.
    public init(app: AppProfile, registry: BackendRegistry, options: VaultOptions) throws {
        let environment = options.environment ?? ProcessInfo.processInfo.environment
        let directory = try BackendContext.directory(for: app, environment: environment)
        let configuration = try registry.configurationReader.map {
            try VaultConfiguration.load(directory: directory, reader: $0, keys: registry.configurationKeys)
        } ?? VaultConfiguration()
        func seconds(_ variable: String) throws -> Duration? {
            guard let text = environment[app.variable(variable)], !text.isEmpty else { return nil }
            guard let value = Double(text), value > 0, value <= 600 else {
                throw CredentialVaultError(.configuration,
                    "\(app.variable(variable))=\(text) is not valid; expected a number of seconds between 0 and 600")
            }
            return .milliseconds(Int64(value * 1000))
        }
        let callTimeout = try options.probeTimeout ?? seconds("PROBE_TIMEOUT") ?? configuration.probeTimeout ?? .seconds(2)
        let lockTimeout = try seconds("LOCK_TIMEOUT") ?? configuration.lockTimeout ?? .seconds(10)
        let promptTimeout = try seconds("PROMPT_TIMEOUT") ?? configuration.promptTimeout ?? .seconds(60)
        self.registry = registry
        self.options = options
        var context = BackendContext(app: app, environment: environment, directory: directory,
                                     configuration: configuration, callTimeout: callTimeout, lockTimeout: lockTimeout)
        context.passphrasePrompt = options.passphrasePrompt
        context.promptTimeout = promptTimeout
        context.promptObserver = options.promptObserver
        context.includeOtherApps = options.includeOtherApps
        context.verboseNote = options.verboseNote
        self.context = context
    }

    /// The fallback policy in force: option, then `<APP>_NO_PLAINTEXT_FALLBACK`, then the config file.
    public var fallbackPolicy: PlaintextFallbackPolicy {
        if let policy = options.plaintextFallback { return policy }
        let variable = context.app.variable("NO_PLAINTEXT_FALLBACK")
        if let value = context.environment[variable], !value.isEmpty, value != "0" { return .refuse }
        return context.configuration.plaintextFallback ?? .allow
    }

    /// The backend named by option, environment or config file, and where the name came from.
    public func requestedBackend() -> (name: String, source: BackendSelection.Source)? {
        if let name = options.backend { return (name, .option) }
        let variable = context.app.variable("BACKEND")
        if let name = context.environment[variable], !name.isEmpty { return (name, .environment(variable: variable)) }
        if let name = context.configuration.backend, let path = context.configuration.path { return (name, .configFile(path: path)) }
        return nil
    }

    /// Probes one backend under the deadline; a probe that does not answer is "unavailable".
    public func probe(_ backend: any CredentialBackend) async -> (BackendAvailability, Duration) {
        let timeout = context.callTimeout
        let clock = ContinuousClock()
        let start = clock.now
        let verdict = await firstResult(within: timeout) { await backend.probe(timeout: timeout) }
        return (verdict ?? .unavailable(reason: "did not answer within \(timeout.formattedSeconds) (is the service stopped or wedged?)", code: .timedOut,
                                        nextStep: "restart the service (it may be stopped or wedged), or raise \(context.app.variable("PROBE_TIMEOUT"))"),
                clock.now - start)
    }

    /// The backend ``select(surveyed:prompting:)`` will probe first: the one named by option,
    /// environment or config file, else the recorded home, else the highest priority. Nil when
    /// the name is unknown or the home cannot be read (selection will say why).
    public var firstCandidate: (any CredentialBackend.Type)? {
        if let requested = requestedBackend() { return registry.backend(named: requested.name) }
        if let home = try? recordedHome() {
            if home == BackendHome.fileStore { return registry.byPriority.first(where: BackendHome.isFileStore) }
            return registry.backend(named: home)
        }
        return registry.byPriority.first { $0.priority > 0 }
    }

    /// Lets the backend that will be probed first start its work in the background, so that
    /// it overlaps what the caller does before ``select(surveyed:prompting:)``.
    public func prepare() {
        firstCandidate?.prepare(context: context)
    }

    /// The backend recorded as this app's home (see ``BackendHome``), or nil.
    public func recordedHome() throws -> String? {
        try registry.homeStore?.read(context)
    }

    /// Where the home is recorded, or nil when the registry records none.
    public var homeLocation: String? { registry.homeStore?.location(context) }

    /// Chooses and creates the backend.
    ///
    /// A backend named by option, environment or config file wins; else the recorded home
    /// (``BackendHome``) is used and nothing else; else the registered backends are probed in
    /// priority order. A keyring that is there but locked, not answering or whose dialog was
    /// cancelled is never passed over for another backend: it may hold the app's items.
    ///
    /// - Throws: ``CredentialVaultError``: `.usage` for an unknown name, `.unavailable` when
    ///   nothing usable is found or plaintext fallback is refused, `.locked`, `.cancelled` or
    ///   `.timedOut` for a keyring that cannot be used now.
    /// - Parameters:
    ///   - surveyed: verdicts already found by ``survey()``; those backends are not probed again.
    ///   - prompting: whether a locked backend may show its unlock dialog (`backends` and
    ///     `doctor` only report).
    public func select(surveyed: [BackendSelection.Candidate] = [], prompting: Bool = true) async throws -> (BackendSelection, any CredentialBackend) {
        let ordered = registry.byPriority
        func availability(of backend: any CredentialBackend) async -> (BackendAvailability, Duration) {
            if let known = surveyed.first(where: { $0.name == type(of: backend).name }), let verdict = known.verdict {
                return (verdict, known.elapsed ?? .zero)
            }
            return await probe(backend)
        }
        /// A locked backend that can show its unlock dialog is unlocked through it.
        func unlocked(_ backend: any CredentialBackend, _ verdict: BackendAvailability) async throws -> BackendAvailability {
            guard prompting, verdict.failureCode == .locked, let dialog = backend as? any PromptingBackend else { return verdict }
            try await dialog.unlockByPrompt()
            return .available
        }
        var candidates = ordered.map { candidate($0, verdict: nil, elapsed: nil) }
        func record(_ type: any CredentialBackend.Type, _ verdict: BackendAvailability, _ elapsed: Duration) {
            if let index = candidates.firstIndex(where: { $0.name == type.name }) {
                candidates[index] = candidate(type, verdict: verdict, elapsed: elapsed)
            }
        }

        if let requested = requestedBackend() {
            guard let type = registry.backend(named: requested.name) else {
                throw CredentialVaultError(.usage,
                    "unknown backend '\(requested.name)' (from \(requested.source)); known backends: \(registry.names.joined(separator: ", "))")
            }
            let backend = try type.init(context: context)
            let (found, elapsed) = await availability(of: backend)
            record(type, found, elapsed)
            if case .unavailable(let reason, let code, let step) = found, !(prompting && code == .locked && backend is any PromptingBackend) {
                throw CredentialVaultError(code, "backend '\(type.name)' (from \(requested.source)) is not usable: \(reason)" + (step.map { "; \($0)" } ?? ""))
            }
            _ = try await unlocked(backend, found)
            return (BackendSelection(backend: type.name, source: requested.source, candidates: candidates, isPlaintextFallback: false), backend)
        }

        if let home = try recordedHome(), let location = homeLocation {
            let members: [any CredentialBackend.Type]
            if home == BackendHome.fileStore || registry.backend(named: home).map(BackendHome.isFileStore) == true {
                members = ordered.filter(BackendHome.isFileStore)
            } else {
                members = registry.backend(named: home).map { [$0] } ?? []
            }
            guard !members.isEmpty else {
                throw CredentialVaultError(.configuration,
                    "\(location) records '\(home)' as the backend holding this app's credentials, but no such backend is registered "
                    + "(known: \(registry.names.joined(separator: ", "))). Nothing was read or written. Choose one with --backend, or record another home with `\(commandName) migrate --to BACKEND`")
            }
            var failures: [(name: String, reason: String, code: CredentialVaultError.Code)] = []
            for type in members {
                let backend = try type.init(context: context)
                let (found, elapsed) = await availability(of: backend)
                record(type, found, elapsed)
                let verdict = try await unlocked(backend, found)
                if verdict.isAvailable {
                    return (BackendSelection(backend: type.name, source: .home(path: location), candidates: candidates, isPlaintextFallback: false), backend)
                }
                if case .unavailable(let reason, let code, _) = verdict { failures.append((type.name, reason, code)) }
            }
            let code = failures.map(\.code).first { $0 != .unavailable } ?? .unavailable
            throw CredentialVaultError(code,
                "this app's credentials live in \(home) (recorded in \(location)), which is not usable: "
                + failures.map { "\($0.name): \($0.reason)" }.joined(separator: "; ")
                + ". Nothing was read from or written to another backend. Fix it, or move the credentials with `\(commandName) migrate --from \(home) --to BACKEND`")
        }

        var chosen: (any CredentialBackend)?
        for type in ordered {
            guard type.priority > 0, chosen == nil || options.probeEveryBackend else { continue }
            let backend = try type.init(context: context)
            let (found, elapsed) = await availability(of: backend)
            record(type, found, elapsed)
            guard chosen == nil else { continue }
            if type.protection == .keyring, case .unavailable(let reason, let code, _) = found, [.locked, .timedOut, .cancelled].contains(code) {
                // The keyring is there but cannot be used now; it may hold this app's items, so
                // no other backend stands in for it.
                let kept = "Nothing was read from or written to another backend, since the keyring may hold this app's credentials. "
                    + "To keep them in a file instead, set 'backend = file' in \(context.directory)/config"
                if code == .locked, prompting, backend is any PromptingBackend {
                    do {
                        record(type, try await unlocked(backend, found), elapsed)
                    } catch let error as CredentialVaultError where error.code == .locked {
                        throw CredentialVaultError(.locked, "\(type.name): \(error.message). \(kept)", cause: error.cause)
                    }
                    chosen = backend
                    continue
                }
                throw CredentialVaultError(code, "\(type.name): \(reason). \(kept)")
            }
            if found.isAvailable { chosen = backend }
        }
        guard let backend = chosen else {
            // A precise cause (unsafe modes: 77) beats the generic "unavailable".
            let code = candidates.compactMap { $0.verdict?.failureCode }.first { $0 != .unavailable && $0 != .timedOut } ?? .unavailable
            throw CredentialVaultError(code,
                "no backend is usable: \(Self.reasons(candidates)). Run `\(commandName) doctor` for next steps")
        }
        let name = type(of: backend).name
        let isFallback = type(of: backend).protection == .plaintextFile
        let selection = BackendSelection(backend: name, source: .automatic, candidates: candidates, isPlaintextFallback: isFallback)
        if isFallback, fallbackPolicy == .refuse {
            throw CredentialVaultError(.unavailable,
                "no keyring is usable and plaintext fallback is refused (\(context.app.variable("NO_PLAINTEXT_FALLBACK")) or 'fallback = refuse'): "
                + "\(Self.reasons(candidates)). Unlock or start the keyring, or choose a backend with --backend")
        }
        return (selection, backend)
    }

    /// The program as people type it for this app: `credvault` or `credvault --app NAME`.
    private var commandName: String { context.app.commandName }

    /// Probes every registered backend, in priority order, without choosing one.
    public func survey() async throws -> [BackendSelection.Candidate] {
        var candidates: [BackendSelection.Candidate] = []
        for type in registry.byPriority {
            let (verdict, elapsed) = await probe(try type.init(context: context))
            candidates.append(candidate(type, verdict: verdict, elapsed: elapsed))
        }
        return candidates
    }

    private func candidate(_ type: any CredentialBackend.Type, verdict: BackendAvailability?, elapsed: Duration?) -> BackendSelection.Candidate {
        BackendSelection.Candidate(name: type.name, priority: type.priority, protection: type.protection, verdict: verdict, elapsed: elapsed)
    }

    private static func reasons(_ candidates: [BackendSelection.Candidate]) -> String {
        let parts = candidates.compactMap { candidate -> String? in
            guard let reason = candidate.verdict?.reason else { return nil }
            return "\(candidate.name): \(reason)"
        }
        return parts.isEmpty ? "no backend is registered for automatic selection" : parts.joined(separator: "; ")
    }
}
