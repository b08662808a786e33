import ArgumentParser
import CredentialVault
import CredentialVaultAuth

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy credentials between backends (file → keyring, keyring → openbao, …): conflicts first, every item read back before anything is deleted.")

    @OptionGroup var flags: GlobalFlags
    var options: GlobalOptions { flags.options }
    @Option(help: "The backend to copy from.") var from: String
    @Option(help: "The backend to copy to.") var to: String
    @Option(name: .customLong("service"), help: "Only this service (repeatable).") var services: [String] = []
    @Flag(help: "Show what would be copied and the conflicts; write nothing.") var dryRun = false
    @Option(help: "When an item exists in the destination: fail (the default, before writing anything), skip, or overwrite.")
    var onConflict: ConflictPolicy = .fail
    @Flag(help: "Delete the copied items from the source after they were read back from the destination.") var deleteSource = false
    @OptionGroup var scope: AppScopeFlag

    func run() async throws {
        let options = scope.applied(to: self.options)
        try await Terminal.run(options) {
            var sourceOptions = try options.vaultOptions(); sourceOptions.backend = from
            var destinationOptions = try options.vaultOptions(); destinationOptions.backend = to
            let source = try await CredentialVault.open(app: options.appProfile, registry: .standardWithLogin, options: sourceOptions)
            let destination = try await CredentialVault.open(app: options.appProfile, registry: .standardWithLogin, options: destinationOptions)
            let report = try await ProgressLine.around("Migrating from \(from) to \(to)…", options: options) { line in
                try await destination.migrate(from: source, services: services, policy: onConflict,
                                              dryRun: dryRun, deleteSource: deleteSource, progress: line?.handler("Migrating"))
            }
            // The destination becomes the app's home: later runs use it and nothing else.
            if !dryRun { try await destination.recordAsHome() }
            if options.json {
                StandardStream.output.write(JSONValue.object([
                    "from": .string(from), "to": .string(to), "dry_run": .bool(dryRun), "home": .string(dryRun ? "unchanged" : to),
                    "additions": .array(report.plan.additions.map { .string($0.description) }),
                    "conflicts": .array(report.plan.conflicts.map { .string($0.description) }),
                    "written": .number(Double(report.written.count)), "verified": .number(Double(report.verified.count)),
                    "deleted_from_source": .number(Double(report.deletedFromSource.count)),
                ]).serialized() + "\n")
            } else if dryRun {
                var text = "Would copy \(report.plan.additions.count) item(s) from \(from) to \(to).\n"
                if !report.plan.conflicts.isEmpty {
                    text += "Conflicts (\(onConflict.rawValue)): " + report.plan.conflicts.map(\.description).joined(separator: ", ") + "\n"
                }
                StandardStream.output.write(text)
            } else {
                StandardStream.output.write("Copied \(report.written.count) item(s) from \(from) to \(to); \(report.verified.count) read back and verified"
                    + (deleteSource ? "; \(report.deletedFromSource.count) deleted from \(from)" : "") + ". \(to) is now this app's home.\n")
            }
        }
    }
}
