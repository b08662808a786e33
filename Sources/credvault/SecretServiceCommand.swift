import ArgumentParser
import CredentialVault
import CredentialVaultProvider
import CredentialVaultSystem

/// `credvault secret-service`: the keyring of a machine without a desktop one.
struct SecretServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secret-service",
        abstract: "Serve the Secret Service API (org.freedesktop.secrets) on the session bus from the password-protected store.",
        discussion: """
            secret-tool, Python keyring, git-credential-libsecret and every other libsecret client then keep their \
            secrets in the store, encrypted. Runs until stopped, another program takes the name over, or the bus \
            ends. Unlocked at start from --passphrase-file/--passphrase-fd, the unlock cache, systemd's \
            LoadCredentialEncrypted=credvault.passphrase, CREDVAULT_PASSPHRASE_FILE or the terminal; later by \
            `credvault unlock`. `credvault lock` locks it.
            """)

    @OptionGroup var flags: GlobalFlagsWithoutCode
    var options: GlobalOptions { flags.options }
    @OptionGroup var passphrase: PassphraseOptions
    @Flag(help: "Take org.freedesktop.secrets over from the program serving it now (gnome-keyring, KeePassXC, another credvault).")
    var replace = false

    func run() async throws {
        try await Terminal.run(options) {
            _ = ProcessHardening.disableCoreDumps()
            let context = try options.context()
            let quiet = options.quiet
            let provider = SecretServiceProvider(context: context) { line in
                if !quiet { Terminal.note("secret-service: \(line)") }
            }
            let given = passphrase.isGiven ? try passphrase.read(confirm: false, purpose: context.directory) : nil
            let source = try await provider.unlockAtStart(passphrase: given)
            let stop = try await provider.run(replace: replace) {
                let state = source.map { "unlocked from \($0)" } ?? "locked until `\(options.commandName) unlock`"
                if !quiet { Terminal.note("secret-service: serving org.freedesktop.secrets from \(provider.storePath), \(state)") }
            }
            if !quiet {
                Terminal.note(stop == .replaced ? "secret-service: another program took org.freedesktop.secrets over; stopped"
                                                : "secret-service: the session bus closed; stopped")
            }
        }
    }
}
