import ArgumentParser
import CredentialVault
import CredentialVaultAuth
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization

struct AuthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auth",
        abstract: "Log in (device code), store tokens, resolve the credential to use, status and logout.",
        subcommands: [LoginCommand.self, TokenCommand.self, ResolveCommand.self, StatusCommand.self, LogoutCommand.self])
}

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Log in with the OAuth device authorization grant (RFC 8628).")

    @OptionGroup var flags: GlobalFlags
    var options: GlobalOptions { flags.options }
    @Flag(help: "Do not open a browser; show the URL and the code only.") var noBrowser = false
    @Option(help: "Stop waiting for approval after this many seconds (never past the server's limit).") var timeout: Int = 600
    @Option(help: "Log in to this mode (prod or dev) instead of the current one.") var mode: String?

    func run() async throws {
        try await Terminal.run(options) {
            guard timeout > 0 else { throw CredentialVaultError(.usage, "--timeout must be a positive number of seconds") }
            let mode = try self.mode.map { try ServiceMode.parse($0, source: "--mode") }
            let session = try await options.openAuthSession()
            let interruption = LoginInterruption.install()
            defer { interruption.cancel() }
            let presenter = LoginPresenter(quiet: options.quiet, countdown: !options.quiet && !options.json)
            let outcome: AuthSession.LoginOutcome
            do {
                defer { presenter.finish() }
                outcome = try await session.login(.init(mode: mode, timeout: .seconds(timeout), openBrowser: !noBrowser)) { presenter.show($0) }
            }
            switch outcome {
            case .zeroAuth(let variable):
                if options.json {
                    StandardStream.output.write(JSONValue.object(["zero_auth": .bool(true), "source": .string(variable)]).serialized() + "\n")
                } else {
                    StandardStream.output.write(Box.render(title: "Auth not required", lines: [
                        "\(session.settings.app.name) is running in local (zero-auth) mode (\(variable)).",
                        "No authentication is required.",
                    ]))
                }
            case .loggedIn(let mode, let identity, let location, let expiresAt):
                // What `auth resolve` will use now: another source may still win over the new token.
                let inUse = try? await session.resolve(CredentialRequest(mode: mode)).source
                let shadowedBy = inUse.flatMap { source -> CredentialSource? in
                    if case .oauth = source { return nil }
                    return source
                }
                if options.json {
                    StandardStream.output.write(JSONValue.object([
                        "logged_in": .bool(true), "mode": .string(mode.rawValue), "location": .string(location),
                        "identity": identity?.displayName.map { .string($0) } ?? .null,
                        "expires_at": expiresAt.map { .string(Timestamp.format($0)) } ?? .null,
                        "resolve_uses": inUse.map { $0.json } ?? .null,
                    ]).serialized() + "\n")
                } else {
                    var lines = ["Logged in (\(mode) mode)."]
                    if let name = identity?.displayName { lines.append("Identity: \(name) (\(identity?.displayClaim ?? "sub"), unverified claim)") }
                    lines.append("Credentials stored in \(location).")
                    if let expiresAt { lines.append("Access token expires \(Timestamp.format(expiresAt)); refreshed automatically.") }
                    if let shadowedBy {
                        lines.append("Note: `auth resolve` still uses \(shadowedBy), which comes before this login; remove it to use the new token.")
                    }
                    StandardStream.output.write(Box.render(title: "Login successful", lines: lines))
                }
            }
        }
    }
}

/// The device-code box, the browser note and the live countdown (the status line,
/// ``ProgressLine``), on stderr.
final class LoginPresenter: Sendable {
    private let quiet: Bool
    private let showsCountdown: Bool
    private let countdown = Mutex<ProgressLine?>(nil)

    /// `quiet`: no notes (--quiet); `countdown`: the live countdown (not with --quiet or --json).
    init(quiet: Bool, countdown: Bool) {
        self.quiet = quiet
        showsCountdown = countdown
    }

    func show(_ event: LoginEvent) {
        switch event {
        case .prompt(let prompt):
            var lines = ["To log in, visit:", "", "  \(prompt.verificationURI)", "", "Enter code:", "", "  \(prompt.userCode)", ""]
            lines.append("The code expires in \(Int(prompt.codeExpires.timeIntervalSinceNow.rounded())) seconds.")
            if prompt.endsAtTimeout {
                lines.append("This command waits \(Int(prompt.deadline.timeIntervalSinceNow.rounded())) seconds for it (--timeout).")
            }
            if let message = prompt.message { lines += ["", message] }
            Terminal.write(Box.render(title: "Authorize", lines: lines))
        case .browser(let opened, let detail):
            if opened { Terminal.note("opened the verification page in your browser") }
            else if !quiet { Terminal.note("Could not open browser automatically (\(detail)); open the URL above and enter the code") }
        case .waiting(let remaining):
            let seconds = max(0, Int(remaining.rounded(.down)))
            let text = "Waiting for approval… \(seconds / 60):\(seconds % 60 < 10 ? "0" : "")\(seconds % 60) left (Ctrl-C cancels)"
            countdown.withLock { line in
                if let line { line.update(text) } else { line = ProgressLine.start(text, quiet: !showsCountdown) }
            }
        case .slowDown(let interval):
            if !quiet { Terminal.note("the server asked to slow down; polling every \(interval) s") }
        case .retrying(let reason, let wait):
            if !quiet { Terminal.warn("\(reason); retrying in \(wait) s") }
        }
    }

    /// Erases the countdown; called when the wait has ended, before anything is stored.
    func finish() {
        countdown.withLock { line in
            line?.finish()
            line = nil
        }
    }
}

/// Ctrl-C during login: say that nothing was stored and exit 130.
struct LoginInterruption {
    private let source: DispatchSourceSignal

    static func install() -> LoginInterruption {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            StandardStream.error.write(Array("\r\u{1B}[K\ncredvault: login cancelled; nothing was stored\n".utf8))
            _exit(CredentialVaultError.Code.interrupted.exitStatus)
        }
        source.resume()
        return LoginInterruption(source: source)
    }

    func cancel() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Store a personal access token read from standard input (or typed without echo).")

    @OptionGroup var flags: GlobalFlags
    var options: GlobalOptions { flags.options }

    func run() async throws {
        try await Terminal.run(options) {
            let session = try await options.openAuthSession()
            let token = try Terminal.readSecret(prompt: "Personal access token: ",
                                                emptyHint: "pipe the token on standard input or type it at the prompt")
            let location = try await session.storePersonalAccessToken(token)
            if options.json {
                StandardStream.output.write(JSONValue.object(["stored": .bool(true), "backend": .string(session.vault.selection.backend),
                                                 "location": .string(location)]).serialized() + "\n")
            } else {
                StandardStream.output.write(Box.render(title: "Token stored", lines: [
                    "Personal Access Token stored successfully!", "",
                    "Credentials stored in \(location).",
                ]))
            }
            for variable in ["AUTH_TOKEN", "API_KEY"] {
                if let name = session.settings.variable(variable)?.name {
                    Terminal.warn("\(name) is set and takes precedence over the stored token")
                }
            }
        }
    }
}

struct ResolveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "Say which credential would be used and where it came from (refreshing an OAuth token when due).")

    @OptionGroup var flags: GlobalFlags
    var options: GlobalOptions { flags.options }
    @OptionGroup var credentials: CredentialOptions
    @Flag(help: "Print only the credential, for scripts.") var raw = false

    func run() async throws {
        try await Self.perform(options: options, request: credentials.request, raw: raw)
    }

    /// The verb's work, shared with the leaf fast path in main.swift.
    static func perform(options: GlobalOptions, request: CredentialRequest, raw: Bool) async throws {
        try await Terminal.run(options) {
            if raw, options.json {
                throw CredentialVaultError(.usage, "--raw and --json do not go together: --raw prints the credential alone, --json a document without it")
            }
            let session = try await options.openAuthSession()
            let resolved = try await session.resolve(request)
            if !options.quiet { resolved.warnings.forEach { Terminal.warn($0) } }
            if raw {
                // Zero-auth: no credential is needed, so nothing is printed and the answer is 0,
                // as for `auth resolve` (a script's `$(… --raw)` is then empty).
                guard let value = resolved.value else { return }
                var bytes = value.copyBytes()
                if StandardStream.output.isTerminal { bytes.append(UInt8(ascii: "\n")) }
                StandardStream.output.write(bytes)
                bytes.wipe()
            } else if options.json {
                StandardStream.output.write(JSONValue.object([
                    "source": resolved.source.json,
                    "masked": resolved.value.map { .string(APIKey.masked($0)) } ?? .null,
                    "shadowed": .array(resolved.shadowed.map(\.json)),
                    "mode": .string(resolved.mode.rawValue),
                    "workspace": resolved.workspace.map { .string($0) } ?? .null,
                    "warnings": .array(resolved.warnings.map { .string($0) }),
                ]).serialized() + "\n")
            } else {
                var text = "source: \(resolved.source)\n"
                text += "credential: \(resolved.value.map(APIKey.masked) ?? "none (zero-auth)")\n"
                if let workspace = resolved.workspace { text += "workspace: \(workspace)\n" }
                for shadowed in resolved.shadowed { text += "shadowed: \(shadowed)\n" }
                StandardStream.output.write(text)
            }
        }
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Identity, workspace, mode, the credential in use and where it lives, expiry, shadowed sources.")

    @OptionGroup var flags: GlobalFlags
    var options: GlobalOptions { flags.options }
    @OptionGroup var credentials: CredentialOptions

    func run() async throws {
        try await Terminal.run(options) {
            let session = try await options.openAuthSession()
            let status = try await session.status(credentials.request)
            if options.json {
                StandardStream.output.write(status.json(exitStatus: { $0.exitStatus }).serialized() + "\n")
            } else if case .zeroAuth? = status.credential?.source {
                StandardStream.output.write(Box.render(title: "Auth not required", lines: [
                    "\(status.app) is running in local (zero-auth) mode.",
                    "No authentication is required.",
                ]))
            } else {
                var text = ""
                if let identity = status.identity, let name = identity.displayName {
                    text += "Identity:   \(name) (\(identity.displayClaim ?? "sub") from the ID token, unverified)\n"
                }
                text += "Mode:       \(status.mode) (\(status.modeSource))\n"
                text += "Workspace:  \(status.workspace ?? "none")\(status.workspaceSource.map { " (\($0))" } ?? "")\n"
                if let credential = status.credential {
                    text += "Source:     \(credential.source)\n"
                    text += "Credential: \(credential.value.map(APIKey.masked) ?? "none")\n"
                    for shadowed in credential.shadowed { text += "Shadowed:   \(shadowed)\n" }
                }
                text += "Storage:    \(status.storage)\n"
                if let expiresAt = status.expiresAt {
                    text += "Expires:    \(Timestamp.format(expiresAt))\(expiresAt < Date() ? " (expired)" : "")\n"
                }
                if let due = status.refreshDueAt { text += "Refresh:    \(due < Date() ? "due now (at the next use)" : "from \(Timestamp.format(due))")\n" }
                if status.needsLogin { text += "Login:      needed (the last refresh was refused)\n" }
                // The identity comes from the ID token: its control characters are made visible.
                StandardStream.output.write(text.escapingControls(keepingLineBreaks: true))
                if let warnings = status.credential?.warnings, !options.quiet { warnings.forEach { Terminal.warn($0) } }
            }
            if let problem = status.problem {
                guard options.json else { throw problem }
                // The status document above already carries the error: one JSON document only.
                Terminal.write("credvault: error: \(problem.message.escapingControls(keepingLineBreaks: true))\n")
                throw ExitCode(problem.code.exitStatus)
            }
        }
    }
}

struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout",
        abstract: "Remove (and revoke at the server) the OAuth tokens of the current mode and the stored personal access token.")

    @OptionGroup var flags: GlobalFlags
    var options: GlobalOptions { flags.options }
    @Flag(help: "Log out of every mode.") var all = false

    func run() async throws {
        try await Terminal.run(options) {
            let session = try await options.openAuthSession()
            let outcome = try await session.logout(all: all)
            if options.json {
                StandardStream.output.write(JSONValue.object([
                    "removed_modes": .array(outcome.removedModes.map { .string($0.rawValue) }),
                    "removed_personal_access_token": .bool(outcome.removedPersonalAccessToken),
                    "revocation": .array(outcome.revocation.map { .string($0) }),
                    "not_revoked_modes": .array(outcome.notRevocable.map { .string($0.rawValue) }),
                    "environment_still_set": .array(outcome.remainingEnvironment.map { .string($0) }),
                ]).serialized() + "\n")
            } else {
                var lines: [String]
                if outcome.removedModes.isEmpty && !outcome.removedPersonalAccessToken {
                    lines = ["Already logged out: no stored tokens."]
                } else {
                    lines = [outcome.notRevocable.isEmpty ? "Logged out successfully." : "Logged out on this machine."]
                    if !outcome.removedModes.isEmpty {
                        lines.append("Removed the OAuth tokens of: \(outcome.removedModes.map(\.rawValue).joined(separator: ", ")).")
                    }
                    if outcome.removedPersonalAccessToken { lines.append("Removed the personal access token.") }
                    lines += outcome.revocation.map { "Revocation: \($0)" }
                    if !outcome.notRevocable.isEmpty {
                        lines.append("Not revoked (\(outcome.notRevocable.map(\.rawValue).joined(separator: ", "))): the server names no revocation endpoint, so those tokens stay valid at the server until they expire.")
                    }
                }
                StandardStream.output.write(Box.render(title: "Logout", lines: lines))
            }
            for name in outcome.remainingEnvironment where !options.quiet {
                Terminal.warn("\(name) is still set and will keep supplying a credential; unset it to be fully logged out")
            }
        }
    }
}
