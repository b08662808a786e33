import ArgumentParser
import CredentialVault
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where a passphrase comes from: `--passphrase-file` (must be 0600), `--passphrase-fd`, or
/// a no-echo prompt on the terminal. Never an argument or an environment variable.
struct PassphraseOptions: ParsableArguments {
    @Option(help: "Read the passphrase from this file (mode 0600, owned by you; one line, its line ending ignored).")
    var passphraseFile: String?

    @Option(help: "Read the passphrase from this open file descriptor (to EOF; one line, its line ending ignored).")
    var passphraseFd: Int32?

    /// Whether a file or descriptor was given.
    var isGiven: Bool { passphraseFile != nil || passphraseFd != nil }

    /// Reads the passphrase. `confirm` is for a new one: at a prompt it is checked against
    /// ``PassphrasePolicy`` before it is asked again, and a mismatch or a short one gets
    /// another try (three in all). `purpose` names it in the prompt ("the new store
    /// password", "backup.cvb").
    func read(confirm: Bool, purpose: String) throws -> SecureBuffer {
        let passphrase: SecureBuffer
        if let path = passphraseFile {
            passphrase = try SecretInput.passphrase(from: .file(path))
        } else if let fd = passphraseFd {
            passphrase = try SecretInput.passphrase(from: .descriptor(fd))
        } else if StandardStream.hasControllingTerminal {
            var attempt = 1
            while true {
                let first = try Terminal.ask("Passphrase for \(purpose): ")
                guard confirm else { return first }
                let problem: CredentialVaultError
                do {
                    try PassphrasePolicy.check(first)
                    let second = try Terminal.ask("The same passphrase again: ")
                    if first.constantTimeEquals(second) { return first }
                    problem = CredentialVaultError(.usage, "the two passphrases differ; nothing was written")
                } catch let short as CredentialVaultError where short.code == .usage {
                    problem = short
                }
                guard attempt < 3 else { throw problem }
                attempt += 1
                Terminal.write("\(problem.message.replacing("; nothing was written", with: "").replacing(" Nothing was written", with: "")); try again.\n")
            }
        } else {
            throw CredentialVaultError(.usage,
                "no passphrase: give --passphrase-file PATH (mode 0600) or --passphrase-fd N, or run on a terminal to be asked")
        }
        if confirm { try PassphrasePolicy.check(passphrase) }
        return passphrase
    }
}
