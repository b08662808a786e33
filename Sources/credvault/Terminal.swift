import ArgumentParser
import CredentialVault
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Writing to stdout and stderr, and reading secrets without echo.
enum Terminal {
    // Messages may quote a server or a stored name: their control characters are made visible.
    static func warn(_ message: String) { write("credvault: warning: \(message.escapingControls(keepingLineBreaks: true))\n") }
    static func note(_ message: String) { write("credvault: \(message.escapingControls(keepingLineBreaks: true))\n") }

    /// Writes whole lines on stderr, with the status line (spinner, countdown) out of the way.
    static func write(_ text: String) {
        ProgressLine.paused { StandardStream.error.write(Array(text.utf8)) }
    }

    /// Runs a verb's body and turns a `CredentialVaultError` into its message and exit status.
    static func run(_ options: GlobalOptions, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as CredentialVaultError {
            write("credvault: error: \(error.message.escapingControls(keepingLineBreaks: true))\n")
            if options.json { writeErrorDocument(code: error.code, message: error.message) }
            throw ExitCode(error.code.exitStatus)
        }
    }

    /// The error document of `--json` (docs/JSON.md), on stdout: every verb's failure,
    /// command-line mistakes included, is this one shape.
    static func writeErrorDocument(code: CredentialVaultError.Code, message: String) {
        StandardStream.output.write(JSONValue.object(["error": errorJSON(code: code, message: message)]).serialized() + "\n")
    }

    /// The `error` object: `code` (a name from docs/JSON.md), `exit_status`, `message`.
    static func errorJSON(code: CredentialVaultError.Code, message: String) -> JSONValue {
        .object(["code": .string(code.description), "exit_status": .number(Double(code.exitStatus)), "message": .string(message)])
    }

    /// The largest secret `set` accepts.
    static let maximumSecretSize = 16 * 1024 * 1024

    /// The secret for `set`: all of stdin with one trailing newline removed, or, on a
    /// terminal, one line typed without echo.
    static func readSecret(prompt: String, emptyHint: String = "pipe it on standard input (printf '%s' \"$SECRET\" | credvault set SERVICE ACCOUNT) or type it at the prompt") throws -> SecretBytes {
        let secret = StandardStream.inputIsTerminal
            ? try ProgressLine.paused { try SecretInput.read(.terminal(prompt: prompt), as: .bytes, limit: maximumSecretSize, what: "the secret") }
            : try SecretInput.read(.descriptor(STDIN_FILENO), as: .bytes, limit: maximumSecretSize, what: "the secret")
        guard secret.count > 0 else { throw CredentialVaultError(.dataError, "the secret is empty; \(emptyHint)") }
        return SecretBytes(secret)
    }

    /// A passphrase typed at the terminal without echo, for the store's unlock prompt; nil
    /// when nothing was typed or there is no terminal.
    static func promptWithoutEcho(_ prompt: String) -> SecureBuffer? {
        try? ask(prompt)
    }

    /// A passphrase or code typed at the controlling terminal without echo after `prompt`,
    /// with any spinner erased while the person types.
    static func ask(_ prompt: String) throws -> SecureBuffer {
        try ProgressLine.paused { try SecretInput.passphrase(from: .terminal(prompt: prompt)) }
    }
}
