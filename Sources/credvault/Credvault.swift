import ArgumentParser
import CredentialVault

struct Credvault: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credvault",
        abstract: "Keep credentials in the Secret Service keyring, or a hardened 0600 file when there is none.",
        discussion: """
        Secrets are read from standard input or a no-echo prompt, never from arguments.
        Exit codes: 0 ok, 1 not found, 64 usage, 65 data error, 69 unavailable or locked, \
        70 internal, 73 cannot write, 75 timed out, 77 permissions or denied, 78 configuration, \
        80 authentication required, 130 interrupted.
        """,
        version: CredentialVault.version,
        subcommands: [SetCommand.self, GetCommand.self, DeleteCommand.self, ListCommand.self,
                      BackendsCommand.self, DoctorCommand.self, PasswordCommand.self,
                      AuthCommand.self, WorkspaceCommand.self, ModeCommand.self, UnlockCommand.self, LockCommand.self, MigrateCommand.self, SecretServiceCommand.self,
                      GitCredentialCommand.self, DockerCredentialCommand.self]
    )

    /// The global options, declared once here: the root reads them wherever they stand on the
    /// command line (before or after the verb), and each verb's `@OptionGroup var flags:
    /// GlobalFlags` receives the same values.
    @OptionGroup var flags: GlobalFlags
}
