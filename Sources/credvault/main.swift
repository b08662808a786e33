import ArgumentParser
import CredentialVault

// Global options may come before the verb (`credvault --app skillmeat get S A`); the parser
// wants them after it, so move them there, then run as AsyncParsableCommand.main does.
let arguments = GlobalOptions.movingGlobalOptionsAfterVerb(Array(CommandLine.arguments.dropFirst()))
do {
    var command = try Credvault.parseAsRoot(arguments)
    if var asyncCommand = command as? AsyncParsableCommand {
        try await runAsync(&asyncCommand)
    } else {
        try command.run()
    }
} catch {
    Credvault.exit(withError: error)
}

/// Calls the async `run()` through a generic, so the existential opens to the concrete
/// verb (calling it on `any AsyncParsableCommand` picks the synchronous requirement).
func runAsync<Command: AsyncParsableCommand>(_ command: inout Command) async throws {
    try await command.run()
}
