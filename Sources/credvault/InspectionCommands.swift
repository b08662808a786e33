import ArgumentParser
import CredentialVault
import CredentialVaultAuth
import SecretServiceBackend
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What `backends` and `doctor` report: every candidate probed, and the selection or why none.
struct Survey {
    let selector: VaultSelector
    let candidates: [BackendSelection.Candidate]
    let selection: Result<BackendSelection, CredentialVaultError>

    static func take(_ options: GlobalOptions) async throws -> Survey {
        let selector = try VaultSelector(app: options.appProfile, registry: .standardWithLogin, options: options.vaultOptions(probeEveryBackend: true))
        let candidates = try await selector.survey()
        let selection: Result<BackendSelection, CredentialVaultError>
        do {
            selection = .success(try await selector.select(surveyed: candidates, prompting: false).0)
        } catch let error as CredentialVaultError {
            selection = .failure(error)
        }
        return Survey(selector: selector, candidates: candidates, selection: selection)
    }

    var selectedName: String? { try? selection.get().backend }

    /// The recorded home (``BackendHome``), its file, or why it cannot be read.
    var home: (name: String?, location: String, problem: String?) {
        let location = selector.homeLocation ?? "(not recorded)"
        do { return (try selector.recordedHome(), location, nil) } catch let error as CredentialVaultError {
            return (nil, location, error.message)
        } catch { return (nil, location, "\(error)") }
    }

    func homeJSON() -> JSONValue {
        let home = self.home
        var fields: [String: JSONValue] = ["record": .string(home.location), "backend": home.name.map(JSONValue.string) ?? .null]
        if let problem = home.problem { fields["problem"] = .string(problem) }
        return .object(fields)
    }

    var homeLine: String {
        let home = self.home
        if let problem = home.problem { return "home: unreadable: \(problem)\n" }
        guard let name = home.name else { return "home: not recorded yet (the first write records the backend it used, in \(home.location))\n" }
        return "home: \(name) (recorded in \(home.location); change it with `migrate`)\n"
    }

    func candidatesJSON() -> JSONValue {
        .array(candidates.map { candidate in
            var fields: [String: JSONValue] = [
                "name": .string(candidate.name), "priority": .number(Double(candidate.priority)),
                "protection": .string(candidate.protection.rawValue),
                "selected": .bool(candidate.name == selectedName),
                "automatic": .bool(candidate.priority > 0),
            ]
            switch candidate.verdict {
            case .available?: fields["verdict"] = .string("available")
            case .unavailable(let reason, _, _)?: fields["verdict"] = .string("unavailable"); fields["reason"] = .string(reason)
            case nil: fields["verdict"] = .string("not probed")
            }
            if let elapsed = candidate.elapsed { fields["probe_ms"] = .number((elapsed.seconds * 1000).rounded()) }
            return .object(fields)
        })
    }

    func selectionJSON() -> JSONValue {
        switch selection {
        case .success(let selection):
            return .object(["backend": .string(selection.backend), "source": .string(selection.source.description),
                            "plaintext_fallback": .bool(selection.isPlaintextFallback), "explanation": .string(selection.explanation)])
        case .failure(let error):
            return .object(["backend": .null, "error": Terminal.errorJSON(code: error.code, message: error.message)])
        }
    }

    func candidatesTable() -> String {
        let rows = [["BACKEND", "PRIORITY", "PROTECTION", "VERDICT", "REASON"]] + candidates.map { candidate in
            let marker = candidate.name == selectedName ? "* " : "  "
            let verdict: String, reason: String
            switch candidate.verdict {
            case .available?: verdict = "available"; reason = candidate.priority > 0 ? "" : "chosen only by name"
            case .unavailable(let why, _, _)?: verdict = "unavailable"; reason = why
            case nil: verdict = "not probed"; reason = ""
            }
            return [marker + candidate.name, String(candidate.priority), candidate.protection.rawValue, verdict, reason]
        }
        var text = Table.render(rows)
        switch selection {
        case .success(let selection): text += "selected: \(selection.explanation)\n"
        case .failure(let error): text += "selected: none: \(error.message)\n"
        }
        return text
    }
}

struct BackendsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backends", abstract: "List every registered backend with its priority, verdict and reason, and which is selected.")

    @OptionGroup var flags: GlobalFlagsWithoutCode
    var options: GlobalOptions { flags.options }

    func run() async throws {
        try await Terminal.run(options) {
            let survey = try await Survey.take(options)
            // A configured OpenBao server (BAO_ADDR or VAULT_ADDR set): address, health, token TTL and policies.
            let context = survey.selector.context
            var server: [Diagnostic] = []
            if context.environment["BAO_ADDR"] != nil || context.environment["VAULT_ADDR"] != nil {
                server = await OpenBaoBackend(context: context).diagnostics()
            }
            // When the Secret Service on the bus is credvault's own provider: the store it serves.
            var provider: (store: String, locked: Bool)?
            if survey.candidates.contains(where: { $0.name == SecretServiceBackend.name && $0.verdict == .available }) {
                provider = await SecretServiceBackend(context: context).credvaultProvider()
            }
            if options.json {
                var document: [String: JSONValue] = ["backends": survey.candidatesJSON(), "selection": survey.selectionJSON(), "home": survey.homeJSON()]
                if !server.isEmpty { document["openbao"] = .object(Dictionary(uniqueKeysWithValues: server.map { ($0.name, .string($0.value)) })) }
                if let provider { document["secret_service_provider"] = .object(["store": .string(provider.store), "locked": .bool(provider.locked)]) }
                StandardStream.output.write(JSONValue.object(document).serialized() + "\n")
            } else {
                let providerLine = provider.map { "secret-service: served by `\(options.commandName) secret-service` from \($0.store) (\($0.locked ? "locked" : "unlocked"))\n" } ?? ""
                StandardStream.output.write(survey.candidatesTable() + survey.homeLine + providerLine + server.map { "\($0.name): \($0.value)\n" }.joined())
            }
            if case .failure(let error) = survey.selection { throw ExitCode(error.code.exitStatus) }
        }
    }
}

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor", abstract: "Check every backend, paths, permissions and configuration, with a next step for each problem.")

    @OptionGroup var flags: GlobalFlagsWithoutCode
    var options: GlobalOptions { flags.options }

    func run() async throws {
        try await Terminal.run(options) {
            let survey = try await Survey.take(options)
            let context = survey.selector.context
            var facts: [Diagnostic] = [
                Diagnostic("app", context.app.name),
                Diagnostic("app.directory", context.directory),
                Diagnostic("config.file", context.configuration.path ?? "\(context.directory)/config (not present)"),
                Diagnostic("probe_timeout", context.callTimeout.formattedSeconds),
                Diagnostic("plaintext_fallback", survey.selector.fallbackPolicy.rawValue),
            ]
            for variable in ["BACKEND", "HOME", "NO_PLAINTEXT_FALLBACK", "PROBE_TIMEOUT", "LOCK_TIMEOUT"] {
                let name = context.app.variable(variable)
                if let value = context.environment[name] { facts.append(Diagnostic("env.\(name)", value)) }
            }
            for type in survey.selector.registry.byPriority {
                let backend = try type.init(context: context)
                facts += await backend.diagnostics()
            }
            for candidate in survey.candidates {
                if let verdict = candidate.verdict, let reason = verdict.reason, candidate.priority > 0 {
                    facts.append(Diagnostic("backend.\(candidate.name)", "unavailable: \(reason)", nextStep: verdict.nextStep ?? "see the reason above"))
                }
            }
            let home = survey.home
            facts.append(Diagnostic("home", home.problem.map { "unreadable: \($0)" } ?? home.name.map { "\($0) (recorded in \(home.location))" }
                                    ?? "not recorded yet (the first write records it in \(home.location))",
                                    nextStep: home.problem.map { _ in "remove \(home.location) and record the home again with `\(options.commandName) migrate --to BACKEND`" }))
            if let name = home.name, let type = survey.selector.registry.backend(named: name), type.protection == .keyring,
               let store = survey.selector.registry.homeStore {
                let stranded = await store.plaintextItemCount(context)
                if stranded > 0 {
                    facts.append(Diagnostic("home.stranded_plaintext_items", "\(stranded) item(s) in \(context.directory)/credentials.json, not read while the home is \(name)",
                                            nextStep: "move them: \(options.commandName) migrate --from file --to \(name) --delete-source"))
                }
            }
            if case .success(let selection) = survey.selection, selection.isPlaintextFallback {
                facts.append(Diagnostic("selection", "plaintext file fallback",
                    nextStep: "secrets are protected only by file modes; on a server, `\(options.commandName) password set` encrypts the file; on a desktop, unlock or start a keyring; \(context.app.variable("NO_PLAINTEXT_FALLBACK"))=1 refuses the fallback"))
            }
            // Usable means readable: open the selected store and list it (never a secret, never a prompt).
            var unusable: CredentialVaultError?
            switch survey.selection {
            case .failure(let error):
                unusable = error
            case .success(let selection):
                if let type = survey.selector.registry.backend(named: selection.backend), type.protection == .plaintextFile {
                    do {
                        _ = try await type.init(context: context).summaries(service: nil)
                    } catch let error as CredentialVaultError {
                        unusable = error
                        facts.append(Diagnostic("store.readable", "no: \(error.message)", nextStep: "fix or move aside the file named above; nothing was changed"))
                    }
                }
            }
            if options.json {
                StandardStream.output.write(JSONValue.object([
                    "backends": survey.candidatesJSON(), "selection": survey.selectionJSON(), "home": survey.homeJSON(),
                    "checks": .array(facts.map { fact in
                        var fields: [String: JSONValue] = ["name": .string(fact.name), "value": .string(fact.value)]
                        if let step = fact.nextStep { fields["next_step"] = .string(step) }
                        return .object(fields)
                    }),
                ]).serialized() + "\n")
            } else {
                var text = survey.candidatesTable() + survey.homeLine + "\n"
                text += Table.render(facts.map { [$0.name, $0.value] })
                let steps = facts.compactMap { fact in fact.nextStep.map { "- \(fact.name): \($0)" } }
                text += steps.isEmpty ? "\nno problems found\n" : "\nnext steps:\n" + steps.joined(separator: "\n") + "\n"
                StandardStream.output.write(text)
            }
            // Like `backends`: not zero when the app can neither store nor read.
            if let unusable { throw ExitCode(unusable.code.exitStatus) }
        }
    }

}
