import Foundation

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
        let configuration = try VaultConfiguration.load(path: directory + "/config")
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
        self.registry = registry
        self.options = options
        var context = BackendContext(app: app, environment: environment, directory: directory,
                                     configuration: configuration, callTimeout: callTimeout, lockTimeout: lockTimeout)
        context.passphrasePrompt = options.passphrasePrompt
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
        return (verdict ?? .unavailable(reason: "did not answer within \(timeout.formattedSeconds) (is the service stopped or wedged?)", code: .timedOut),
                clock.now - start)
    }

    /// Chooses and creates the backend.
    ///
    /// - Throws: ``CredentialVaultError``: `.usage` for an unknown name, `.unavailable` when
    ///   nothing usable is found or plaintext fallback is refused, `.timedOut` when a named
    ///   backend does not answer.
    /// - Parameter surveyed: verdicts already found by ``survey()``; those backends are not probed again.
    public func select(surveyed: [BackendSelection.Candidate] = []) async throws -> (BackendSelection, any CredentialBackend) {
        let ordered = registry.byPriority
        func availability(of backend: any CredentialBackend) async -> (BackendAvailability, Duration) {
            if let known = surveyed.first(where: { $0.name == type(of: backend).name }), let verdict = known.verdict {
                return (verdict, known.elapsed ?? .zero)
            }
            return await probe(backend)
        }
        if let requested = requestedBackend() {
            guard let type = registry.backend(named: requested.name) else {
                throw CredentialVaultError(.usage,
                    "unknown backend '\(requested.name)' (from \(requested.source)); known backends: \(registry.names.joined(separator: ", "))")
            }
            let backend = try type.init(context: context)
            let (verdict, elapsed) = await availability(of: backend)
            var candidates = ordered.map { candidate($0, verdict: nil, elapsed: nil) }
            if let index = candidates.firstIndex(where: { $0.name == type.name }) {
                candidates[index] = candidate(type, verdict: verdict, elapsed: elapsed)
            }
            if case .unavailable(let reason, let code) = verdict {
                throw CredentialVaultError(code, "backend '\(type.name)' (from \(requested.source)) is not usable: \(reason)")
            }
            return (BackendSelection(backend: type.name, source: requested.source, candidates: candidates, isPlaintextFallback: false), backend)
        }

        var candidates: [BackendSelection.Candidate] = []
        var chosen: (any CredentialBackend)?
        for type in ordered {
            guard type.priority > 0, chosen == nil || options.probeEveryBackend else {
                candidates.append(candidate(type, verdict: nil, elapsed: nil))
                continue
            }
            let backend = try type.init(context: context)
            let (verdict, elapsed) = await availability(of: backend)
            candidates.append(candidate(type, verdict: verdict, elapsed: elapsed))
            if verdict.isAvailable, chosen == nil { chosen = backend }
        }
        guard let backend = chosen else {
            // A precise cause (unsafe modes: 77) beats the generic "unavailable".
            let code = candidates.compactMap { $0.verdict?.failureCode }.first { $0 != .unavailable && $0 != .timedOut } ?? .unavailable
            throw CredentialVaultError(code,
                "no backend is usable: \(Self.reasons(candidates)). Run `\(context.app.name == "credvault" ? "credvault" : "credvault --app \(context.app.name)") doctor` for next steps")
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
