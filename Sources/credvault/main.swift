import ArgumentParser
import CredentialVault
import CredentialVaultAuth
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

// No verb may leave a core file with keys or secrets in it, and no other process of this user
// may ptrace it: RLIMIT_CORE 0 and PR_SET_DUMPABLE 0 for every run (two system calls).
ProcessHardening.disableCoreDumps()

// The verbs run on Swift's global executor while the main thread waits here until one of them
// ends the process with exit(). An `async` top level would instead hand the main thread to
// dispatch_main(), which ends it with pthread_exit(); that forced unwind searches this large
// binary's unwind tables on every run (0.6 ms of a 5 ms `get`, measured with perf).
Task.detached { await runCredvault(CommandLine.arguments) }
DispatchSemaphore(value: 0).wait()

/// The whole program; it never returns (every path ends in exit()).
func runCredvault(_ argv: [String]) async -> Never {
    // Run as `docker-credential-credvault ACTION`, the binary speaks only docker's helper protocol
    // (no options: docker passes exactly one word); as `git-credential-credvault [OPTIONS] OP`, it
    // is `credvault git-credential [OPTIONS] OP`. The install step makes both links.
    let invokedAs = argv.first.map { String($0.split(separator: "/").last ?? "") } ?? "credvault"
    var commandLine = Array(argv.dropFirst())
    if invokedAs.hasPrefix("docker-credential-") {
        await finish { try await DockerCredentialCommand.perform(options: GlobalOptions(), arguments: commandLine, name: invokedAs) }
    } else if invokedAs.hasPrefix("git-credential-") {
        commandLine.insert("git-credential", at: 0)
    }

    // `get`, `set` and `auth resolve` in their plain shapes are recognised by hand (FastPath,
    // below); everything else, every error and help included, goes through ArgumentParser.
    if let fast = FastPath.command(for: commandLine) { await finish(fast) }

    // As AsyncParsableCommand.main does; with --json, a command-line mistake is reported as
    // the error document too.
    let json = commandLine.prefix { $0 != "--" }.contains("--json")
    await finish(json: json) {
        var command: any ParsableCommand
        do {
            command = try Credvault.parseAsRoot(commandLine)
        } catch {
            // A misspelt verb gets a suggestion, as a misspelt option does.
            if Credvault.exitCode(for: error) != .success, let (given, verb) = VerbSuggestion.suggestion(for: commandLine) {
                let message = "unknown command '\(given)'; did you mean '\(verb)'? (`credvault --help` lists the commands)"
                Terminal.write("credvault: error: \(message)\n")
                if json { Terminal.writeErrorDocument(code: .usage, message: message) }
                exit(CredentialVaultError.Code.usage.exitStatus)
            }
            throw error
        }
        if var asyncCommand = command as? AsyncParsableCommand {
            try await runAsync(&asyncCommand)
        } else {
            try command.run()
        }
    }
}

/// Runs `work` and ends the process: exit 0, an `ExitCode`'s status, or ArgumentParser's
/// message and status for any other error (as AsyncParsableCommand.main does), preceded by
/// the error document on stdout when `json` (help and `--version` stay text).
func finish(json: Bool = false, _ work: () async throws -> Void) async -> Never {
    do {
        try await work()
        exit(0)
    } catch let error as ExitCode {
        exit(error.rawValue)
    } catch {
        if json, Credvault.exitCode(for: error) != .success {
            let message = Credvault.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid command line"
            Terminal.writeErrorDocument(code: .usage, message: message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message)
        }
        Credvault.exit(withError: error)
    }
}

/// Calls the async `run()` through a generic, so the existential opens to the concrete
/// verb (calling it on `any AsyncParsableCommand` picks the synchronous requirement).
func runAsync<Command: AsyncParsableCommand>(_ command: inout Command) async throws {
    try await command.run()
}

/// The verbs scripts run most, `get SERVICE ACCOUNT`, `set SERVICE ACCOUNT` (secret on
/// stdin) and `auth resolve [--raw] [--workspace NAME]`, with only the global options
/// `--backend`, `--app`, `-q` and `-v`, recognised by hand: ArgumentParser's reflection asks the Swift runtime for protocol
/// conformances, and each first lookup scans every conformance record of this large static
/// binary (over half of a `get`'s instructions, measured with callgrind). Any other shape,
/// including every error, goes through ArgumentParser.
///
/// `CREDVAULT_NO_FAST_PATH=1` turns this off, so the tests can check that both paths answer
/// alike.
enum FastPath {
    static func command(for original: [String]) -> (() async throws -> Void)? {
        if let off = Environment.value("CREDVAULT_NO_FAST_PATH"), !off.isEmpty { return nil }
        var backend: String?, app = "credvault", quiet = false, verbose = false, raw = false, workspace: String?
        var words: [String] = []
        var index = 0
        func value(_ name: String) -> String? {
            let argument = original[index]
            if argument.hasPrefix(name + "=") { return String(argument.dropFirst(name.count + 1)) }
            guard argument == name, index + 1 < original.count else { return nil }
            index += 1
            return original[index]
        }
        while index < original.count {
            let argument = original[index]
            if argument == "--backend" || argument.hasPrefix("--backend=") { guard let v = value("--backend") else { return nil }; backend = v }
            else if argument == "--app" || argument.hasPrefix("--app=") { guard let v = value("--app") else { return nil }; app = v }
            else if argument == "--workspace" || argument.hasPrefix("--workspace=") { guard let v = value("--workspace") else { return nil }; workspace = v }
            else if argument == "-q" || argument == "--quiet" { quiet = true }
            else if argument == "-v" || argument == "--verbose" { verbose = true }
            else if argument == "--raw" { raw = true }
            else if argument.hasPrefix("-") || argument.isEmpty { return nil }
            else { words.append(argument) }
            index += 1
        }
        let options = GlobalOptions(backend: backend, app: app, quietFlag: quiet, verboseFlag: verbose)
        // Each of these verbs opens the vault first: the selector names the backend it will probe
        // first now, and that backend starts its work (the keyring: loading libsecret, connecting,
        // the transfer session) while the verb sets up.
        func prepared(_ verb: @escaping () async throws -> Void) -> () async throws -> Void {
            if let profile = try? AppProfile(app) {
                try? VaultSelector(app: profile, registry: .standardWithLogin, options: VaultOptions(backend: backend)).prepare()
            }
            return verb
        }
        if words.count == 3, words[0] == "get", !raw, workspace == nil {
            let (service, account) = (words[1], words[2])
            return prepared { try await GetCommand.perform(options: options, service: service, account: account) }
        }
        if words.count == 3, words[0] == "set", !raw, workspace == nil {
            let (service, account) = (words[1], words[2])
            return prepared { try await SetCommand.perform(options: options, service: service, account: account, label: nil) }
        }
        if words == ["auth", "resolve"] {
            let request = CredentialRequest(workspace: workspace)
            return prepared { try await ResolveCommand.perform(options: options, request: request, raw: raw) }
        }
        return nil
    }
}
