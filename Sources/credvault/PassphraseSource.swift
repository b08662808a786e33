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

    /// Reads the passphrase; `confirm` asks twice at a prompt (for new bundles).
    func read(confirm: Bool) throws -> SecureBuffer {
        let passphrase: SecureBuffer
        if let path = passphraseFile {
            passphrase = try SecretInput.passphrase(from: .file(path))
        } else if let fd = passphraseFd {
            passphrase = try SecretInput.passphrase(from: .descriptor(fd))
        } else if StandardStream.hasControllingTerminal {
            let first = try SecretInput.passphrase(from: .terminal(prompt: "Passphrase: "))
            if confirm {
                let second = try SecretInput.passphrase(from: .terminal(prompt: "Passphrase again: "))
                guard first.constantTimeEquals(second) else {
                    throw CredentialVaultError(.usage, "the two passphrases differ; nothing was written")
                }
            }
            passphrase = first
        } else {
            throw CredentialVaultError(.usage,
                "no passphrase: give --passphrase-file PATH (mode 0600) or --passphrase-fd N, or run on a terminal to be asked")
        }
        if confirm { try PassphrasePolicy.check(passphrase) }
        return passphrase
    }
}
