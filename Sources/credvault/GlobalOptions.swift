import ArgumentParser
import CredentialVault
import CredentialVaultAuth
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The options every verb accepts, before or after the verb, as ArgumentParser reads them:
/// the root command declares them (so it consumes them anywhere on the line) and a verb holds
/// them as `@OptionGroup var flags: GlobalFlags`, which ArgumentParser fills with the root's
/// values. Verbs work with `options`. Verbs that never open a password-protected store hold
/// ``GlobalFlagsWithoutCode`` instead: the same options, with `--code` left out of their help.
struct GlobalFlags: ParsableArguments {
    @OptionGroup var common: CommonFlags

    @Option(help: ArgumentHelp("The authentication code (TOTP or backup code) when the password-protected store has a second step.", valueName: "code"))
    var code: String?

    /// The values, as the verbs use them.
    var options: GlobalOptions { common.options(code: code) }
}

/// ``GlobalFlags`` for the verbs that never unlock a store (`backends`, `doctor`, `lock`,
/// `password status|set|verify|inspect`, the credential helpers): `--code` is not in their
/// help, and a code given to them is not used.
struct GlobalFlagsWithoutCode: ParsableArguments {
    @OptionGroup var common: CommonFlags

    @Option(help: ArgumentHelp(visibility: .private))
    var code: String?

    var options: GlobalOptions { common.options(code: nil) }
}

/// The options of every verb but `--code`.
struct CommonFlags: ParsableArguments {
    @Option(help: "Use this backend instead of choosing one (see `credvault backends`).",
            completion: .list(["secret-service", "encrypted-file", "file", "memory", "openbao"]))
    var backend: String?

    @Option(help: "The app whose credentials to use; sets the directory and the <APP>_ variable prefix.")
    var app: String = "credvault"

    @Flag(help: "Print one JSON document.")
    var json = false

    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Do not print warnings (such as the plaintext fallback notice); <APP>_LOG_LEVEL=error does the same.")
    var quietFlag = false

    @Flag(name: [.customShort("v"), .customLong("verbose")], help: "Say which backend was chosen and why, and trace HTTP exchanges; <APP>_LOG_LEVEL=debug does the same.")
    var verboseFlag = false

    func options(code: String?) -> GlobalOptions {
        GlobalOptions(backend: backend, app: app, json: json, quietFlag: quietFlag, verboseFlag: verboseFlag, code: code)
    }
}

/// The global options of one run, and what the verbs do with them (open the vault, warn,
/// trace). A plain struct, so the fast path (main.swift) makes one without ArgumentParser,
/// whose property wrappers cost a protocol-conformance scan of the whole binary.
struct GlobalOptions: Sendable {
    var backend: String?
    var app = "credvault"
    var json = false
    var quietFlag = false
    var verboseFlag = false
    var code: String?
    /// `--all-apps` of `list`, `migrate` and `password export`: every program's keyring items.
    var includeOtherApps = false

    /// `<APP>_LOG_LEVEL` (debug, info, warn, error), as cmdop documents it.
    var logLevel: String? {
        // getenv, not ProcessInfo.environment: this is read on every run, and ProcessInfo
        // copies the whole environment into a dictionary each time.
        guard let app = try? AppProfile(app), let value = Environment.value(app.variable("LOG_LEVEL")) else { return nil }
        return value.lowercased()
    }
    var quiet: Bool { quietFlag || logLevel == "error" }
    var verbose: Bool { verboseFlag || logLevel == "debug" }

    var appProfile: AppProfile {
        get throws { try AppProfile(app) }
    }

    /// Vault options from these flags; the fallback notice goes to stderr unless --quiet.
    func vaultOptions(probeEveryBackend: Bool = false) throws -> VaultOptions {
        var options = VaultOptions(backend: backend)
        if let code {
            // A one-time code, read by the store as <APP>_MFA_CODE.
            options.environment = ProcessInfo.processInfo.environment.merging([try appProfile.variable("MFA_CODE"): code]) { $1 }
        }
        options.probeEveryBackend = probeEveryBackend
        options.includeOtherApps = includeOtherApps
        if verbose { options.verboseNote = { Terminal.note($0) } }
        let quiet = self.quiet
        let app = try appProfile
        let command = commandName
        options.plaintextFallbackNotice = { selection in
            if !quiet { Terminal.warn(VaultOptions.fallbackWarning(for: selection, app: app, command: command)) }
        }
        options.notice = { message in if !quiet { Terminal.warn(message) } }
        options.promptObserver = PromptWait.observer(quiet: quiet)
        // A password-protected store asks on the controlling terminal (/dev/tty) when no
        // other unlock source exists, even when standard input carries the secret.
        if StandardStream.hasControllingTerminal {
            // The store wipes the copy it is given as soon as it has derived the key.
            options.passphrasePrompt = { prompt in Terminal.promptWithoutEcho(prompt)?.copyBytes() }
        }
        return options
    }

    /// The app's directory and settings, without choosing a backend.
    func context() throws -> BackendContext {
        try VaultSelector(app: appProfile, registry: .standardWithLogin, options: vaultOptions()).context
    }

    /// The program as people type it, for hints: `credvault` or `credvault --app NAME`.
    var commandName: String { (try? AppProfile(app))?.commandName ?? "credvault --app \(app)" }

    /// Opens the vault and the app's login settings.
    func openAuthSession() async throws -> AuthSession {
        let vault = try await openVault()
        let settings = try AuthSettings(app: vault.context.app, environment: vault.context.environment,
                                        configuration: vault.context.configuration, commandName: commandName)
        var session = AuthSession(vault: vault, settings: settings)
        if verbose { session.http.trace = { Terminal.note("http: \($0)") } }
        return session
    }

    /// Opens the vault, reporting the selection when --verbose.
    func openVault() async throws -> CredentialVault {
        let vault = try await CredentialVault.open(app: appProfile, registry: .standardWithLogin, options: vaultOptions())
        if verbose { Terminal.note("backend: \(vault.selection.explanation)") }
        return vault
    }
}

extension GlobalOptions {
    /// A verb's result on standard output: the JSON document with `--json`, else the text for
    /// people (which carries its own line end), its control characters made visible.
    func report(_ document: @autoclosure () -> JSONValue, text: @autoclosure () -> String) {
        StandardStream.output.write(json ? document().serialized() + "\n" : text().escapingControls(keepingLineBreaks: true))
    }
}

/// `--all-apps`, for the verbs that read a whole shared keyring (list, export, migrate).
struct AppScopeFlag: ParsableArguments {
    @Flag(help: "Include every program's items from a shared keyring (Python keyring's, secret-tool's…), not only this app's.")
    var allApps = false

    /// `options` with the scope applied.
    func applied(to options: GlobalOptions) -> GlobalOptions {
        var options = options
        options.includeOtherApps = allApps
        return options
    }
}
