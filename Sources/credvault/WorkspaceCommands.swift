import ArgumentParser
import CredentialVault
import CredentialVaultAuth

struct WorkspaceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workspace",
        abstract: "Workspace API keys (<prefix><workspace>_<hex>) and the active workspace of the current mode.",
        subcommands: [WorkspaceKeyCommand.self, WorkspaceListCommand.self, WorkspaceCurrentCommand.self, WorkspaceUseCommand.self])
}

struct WorkspaceKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key", abstract: "Store or remove a workspace's API key.",
        subcommands: [WorkspaceKeySetCommand.self, WorkspaceKeyRemoveCommand.self])
}

/// Warns when an environment variable will win over what a workspace verb changes.
func warnEnvironmentWins(_ session: AuthSession, _ options: GlobalOptions) {
    guard !options.quiet else { return }
    for suffix in ["API_KEY", "AUTH_TOKEN"] {
        if let name = session.settings.variable(suffix)?.name {
            Terminal.warn("\(name) is set and takes precedence over stored workspace keys")
        }
    }
}

struct WorkspaceKeySetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Store workspace NAME's API key, read from standard input (or typed without echo).")

    @OptionGroup var flags: GlobalFlags
    var options: GlobalOptions { flags.options }
    @Argument(help: "The workspace.") var name: String

    func run() async throws {
        try await Terminal.run(options) {
            try APIKey.validateWorkspace(name)
            let session = try await options.openAuthSession()
            let key = try Terminal.readSecret(prompt: "API key for workspace '\(name)': ",
                                              emptyHint: "pipe the key on standard input or type it at the prompt")
            let mode = try await session.setWorkspaceKey(name, key: key)
            if options.json {
                StandardStream.output.write(JSONValue.object(["stored": .bool(true), "workspace": .string(name), "mode": .string(mode.rawValue),
                                                 "location": .string(session.store.location)]).serialized() + "\n")
            } else {
                StandardStream.output.write("Stored the API key of workspace '\(name)' (\(mode) mode) in \(session.store.location).\n")
            }
            warnEnvironmentWins(session, options)
        }
    }
}

struct WorkspaceKeyRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove workspace NAME's API key.")

    @OptionGroup var flags: GlobalFlags
    var options: GlobalOptions { flags.options }
    @Argument(help: "The workspace.") var name: String

    func run() async throws {
        try await Terminal.run(options) {
            let session = try await options.openAuthSession()
            let mode = try await session.removeWorkspaceKey(name)
            options.report(JSONValue.object(["removed": .bool(true), "workspace": .string(name), "mode": .string(mode.rawValue)]), text: "Removed the API key of workspace '\(name)' (\(mode) mode).\n")
        }
    }
}

struct WorkspaceListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "The current mode's workspaces; * marks the active one.")

    @OptionGroup var flags: GlobalFlags
    var options: GlobalOptions { flags.options }

    func run() async throws {
        try await Terminal.run(options) {
            let session = try await options.openAuthSession()
            let (mode, workspaces) = try await session.workspaces()
            if options.json {
                StandardStream.output.write(JSONValue.object(["mode": .string(mode.rawValue), "workspaces": .array(workspaces.map {
                    .object(["name": .string($0.name), "active": .bool($0.isActive), "has_key": .bool($0.hasKey),
                             "masked_key": $0.maskedKey.map { .string($0) } ?? .null])
                })]).serialized() + "\n")
            } else if workspaces.isEmpty {
                StandardStream.output.write("No workspaces in \(mode) mode. Store a key with `\(options.commandName) workspace key set NAME`.\n")
            } else {
                StandardStream.output.write(workspaces.map { "\($0.isActive ? "*" : " ") \($0.name)\t\($0.maskedKey.map { "key \($0)" } ?? "no key")" }
                    .joined(separator: "\n") + "\n")
            }
        }
    }
}

struct WorkspaceCurrentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "current", abstract: "The active workspace of the current mode.")

    @OptionGroup var flags: GlobalFlags
    var options: GlobalOptions { flags.options }

    func run() async throws {
        try await Terminal.run(options) {
            let session = try await options.openAuthSession()
            let current = try await session.currentWorkspace()
            if options.json {
                StandardStream.output.write(JSONValue.object(["mode": .string(current.mode.rawValue), "workspace": current.name.map { .string($0) } ?? .null,
                                                 "source": current.source.map { .string($0) } ?? .null]).serialized() + "\n")
            } else if let name = current.name {
                StandardStream.output.write("\(name)\(current.source == "active workspace" ? "" : " (from \(current.source ?? ""))")\n")
            } else {
                throw CredentialVaultError(.notFound, "no active workspace in \(current.mode) mode; choose one with `\(options.commandName) workspace use NAME`")
            }
        }
    }
}

struct WorkspaceUseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "use", abstract: "Make NAME the active workspace of the current mode.")

    @OptionGroup var flags: GlobalFlags
    var options: GlobalOptions { flags.options }
    @Argument(help: "The workspace.") var name: String

    func run() async throws {
        try await Terminal.run(options) {
            let session = try await options.openAuthSession()
            let (mode, hasKey) = try await session.useWorkspace(name)
            options.report(JSONValue.object(["workspace": .string(name), "mode": .string(mode.rawValue), "has_key": .bool(hasKey)]), text: "Active workspace (\(mode) mode): \(name)\(hasKey ? "" : " (no key stored; the OAuth login or personal access token will be used)")\n")
            if let variable = session.settings.variable("WORKSPACE")?.name, !options.quiet {
                Terminal.warn("\(variable) is set and overrides the active workspace")
            }
            warnEnvironmentWins(session, options)
        }
    }
}

struct ModeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mode",
        abstract: "Show the mode, or switch to prod, dev, or the other one (toggle). Each mode has its own login.")

    @OptionGroup var flags: GlobalFlags
    var options: GlobalOptions { flags.options }
    @Argument(help: "prod, dev or toggle.") var target: String?

    func run() async throws {
        try await Terminal.run(options) {
            let session = try await options.openAuthSession()
            let report: AuthSession.ModeReport
            switch target {
            case nil: report = try await session.modeReport()
            case "toggle"?: report = try await session.switchMode(to: nil)
            case let value?:
                guard let mode = ServiceMode(rawValue: value) else {
                    throw CredentialVaultError(.usage, "unknown mode '\(value)'; use prod, dev or toggle")
                }
                report = try await session.switchMode(to: mode)
            }
            if options.json {
                StandardStream.output.write(JSONValue.object(["mode": .string(report.mode.rawValue), "source": .string(report.source),
                                                 "changed": .bool(report.changed), "logged_in": .bool(report.hasLogin),
                                                 "overridden_by": report.overriddenBy.map { .string($0) } ?? .null]).serialized() + "\n")
            } else {
                var text = target == nil ? "\(report.mode) (\(report.source))\n" : "Mode: \(report.mode)\(report.changed ? "" : " (unchanged)")\n"
                if !report.hasLogin {
                    text += "No OAuth login for \(report.mode) mode yet; run `\(options.commandName) auth login\(report.mode == .prod ? "" : " --mode \(report.mode)")` to log in.\n"
                }
                StandardStream.output.write(text)
            }
            if let variable = report.overriddenBy, !options.quiet {
                Terminal.warn("\(variable) is set and overrides the stored mode")
            }
        }
    }
}
