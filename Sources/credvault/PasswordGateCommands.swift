import ArgumentParser
import CredentialVault
import CredentialVaultOTP
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The current passphrase of a password-protected store: `--passphrase-file`/`--passphrase-fd`
/// when given, else the unlock sources (systemd credential, <APP>_PASSPHRASE_FILE,
/// <APP>_PASSPHRASE_FD, a prompt).
func currentPassphrase(_ given: PassphraseOptions, context: BackendContext, store: String) throws -> SecureBuffer {
    if given.isGiven { return try given.read(confirm: false, purpose: store) }
    return try UnlockSource.passphrase(for: store, in: context).0
}

/// The app's context and the status of its password-protected store, for the verbs that need
/// one (with core dumps off, as they hold keys); refuses when no password is set.
func protectedStore(_ options: GlobalOptions, action: String) throws -> (BackendContext, PasswordProtection.Status) {
    let context = try options.context()
    let status = try PasswordProtection.status(directory: context.directory)
    guard status.enabled else {
        throw CredentialVaultError(.usage, "no password is set for \(context.directory), so there is nothing to \(action); `\(options.commandName) password set` adds one")
    }
    return (context, status)
}

/// New passphrase: an explicit file or descriptor, else a non-prompt unlock source, else the
/// prompt, twice.
func newPassphrase(file: String?, fd: Int32?, context: BackendContext) throws -> SecureBuffer {
    var options = PassphraseOptions()
    options.passphraseFile = file
    options.passphraseFd = fd
    if !options.isGiven, let source = UnlockSource.first(in: context), source != .prompt {
        let passphrase = try UnlockSource.passphrase(for: "the new password", in: context).0
        try PassphrasePolicy.check(passphrase)
        return passphrase
    }
    return try options.read(confirm: true, purpose: "the new store password")
}

struct PasswordSetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Put a password on the file store: encrypt it (one atomic step) and remove the plaintext.")

    @OptionGroup var flags: GlobalFlagsWithoutCode
    var options: GlobalOptions { flags.options }
    @OptionGroup var passphrase: PassphraseOptions
    @Option(help: "Argon2id cost of each unlock: interactive (64 MiB, the default), moderate (256 MiB) or sensitive (1 GiB).")
    var kdf: KDFProfile = .interactive

    func run() async throws {
        try await Terminal.run(options) {
            let context = try options.context()
            // Refused before a new passphrase is asked for (twice, at a prompt).
            let current = try PasswordProtection.status(directory: context.directory)
            guard !current.enabled else {
                throw CredentialVaultError(.usage, "a password is already set for \(current.path); use `\(options.commandName) password change`")
            }
            let key = try newPassphrase(file: passphrase.passphraseFile, fd: passphrase.passphraseFd, context: context)
            try ProgressLine.around("Encrypting the store (Argon2id, \(kdf.rawValue))…", options: options) {
                try PasswordProtection.enable(directory: context.directory, passphrase: key, kdf: kdf, lockTimeout: context.lockTimeout)
            }
            let status = try PasswordProtection.status(directory: context.directory)
            options.report(JSONValue.object(["enabled": .bool(true), "path": .string(status.path)]), text: "Password set: the file store is now \(status.path) (encrypted); the plaintext file was overwritten and removed.\n")
        }
    }
}

struct PasswordClearCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clear", abstract: "Remove the password: decrypt the store back to the plaintext 0600 file.")

    @OptionGroup var flags: GlobalFlags
    var options: GlobalOptions { flags.options }
    @OptionGroup var passphrase: PassphraseOptions
    @Flag(help: "Do not ask for confirmation (for scripts).") var yes = false

    func run() async throws {
        try await Terminal.run(options) {
            let (context, status) = try protectedStore(options, action: "clear")
            if !yes {
                guard StandardStream.inputIsTerminal else {
                    throw CredentialVaultError(.usage, "`password clear` stores every secret in plaintext; confirm on a terminal or pass --yes")
                }
                Terminal.write("Store every secret in \(context.directory) as plaintext (mode 0600)? [y/N] ")
                guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else {
                    throw CredentialVaultError(.usage, "not confirmed; nothing was changed")
                }
            }
            let key = try currentPassphrase(passphrase, context: context, store: status.path)
            try ProgressLine.around("Deriving the key (Argon2id)…", options: options) {
                try PasswordProtection.disable(directory: context.directory, passphrase: key, lockTimeout: context.lockTimeout, context: context)
            }
            options.report(JSONValue.object(["enabled": .bool(false), "path": .string(context.directory + "/credentials.json")]), text: "Password cleared: secrets are in \(context.directory)/credentials.json, protected by its 0600 mode only.\n")
        }
    }
}

struct PasswordChangeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "change", abstract: "Change the store's password (rewraps the data key; the secrets are not re-encrypted).")

    @OptionGroup var flags: GlobalFlags
    var options: GlobalOptions { flags.options }
    @OptionGroup var passphrase: PassphraseOptions
    @Option(help: "Read the new passphrase from this file (mode 0600).") var newPassphraseFile: String?
    @Option(help: "Read the new passphrase from this file descriptor.") var newPassphraseFd: Int32?
    @Option(help: "A new Argon2id cost; the current one is kept by default.") var kdf: KDFProfile?

    func run() async throws {
        try await Terminal.run(options) {
            let (context, status) = try protectedStore(options, action: "change")
            let current = try currentPassphrase(passphrase, context: context, store: status.path)
            var newOptions = PassphraseOptions()
            newOptions.passphraseFile = newPassphraseFile
            newOptions.passphraseFd = newPassphraseFd
            let new = try newOptions.read(confirm: true, purpose: "the new store password")
            try ProgressLine.around("Rewrapping the data key (Argon2id)…", options: options) {
                try PasswordProtection.change(directory: context.directory, current: current, new: new, kdf: kdf, lockTimeout: context.lockTimeout, context: context)
            }
            options.report(JSONValue.object(["changed": .bool(true), "path": .string(status.path)]), text: "Password changed for \(status.path).\n")
        }
    }
}

struct PasswordStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Whether the file store has a password, its KDF cost, and the unlock source that would be used.")

    @OptionGroup var flags: GlobalFlagsWithoutCode
    var options: GlobalOptions { flags.options }

    func run() async throws {
        try await Terminal.run(options) {
            let context = try options.context()
            let status = try PasswordProtection.status(directory: context.directory)
            let source = status.unlockSource(in: context)
            if options.json {
                var document: [String: JSONValue] = ["enabled": .bool(status.enabled), "path": .string(status.path),
                                                     "mfa_enrolled": .bool(status.requiresSecondStep),
                                                     "unlock_cache": status.cachedUntil.map { .object(["cached": .bool(true), "until": .string(Timestamp.format($0))]) }
                                                        ?? .object(["cached": .bool(false)]),
                                                     "unlock_source": source.map { .string($0.description) } ?? .null]
                if status.enabled {
                    document["kdf"] = kdfJSON(opsLimit: status.opsLimit, memLimit: status.memLimit)
                    document["plaintext_leftover"] = .bool(status.plaintextLeftover)
                }
                StandardStream.output.write(JSONValue.object(document).serialized() + "\n")
            } else if status.enabled {
                var text = "Password: set (\(status.path))\n"
                text += "KDF: Argon2id v1.3, \(status.opsLimit) passes, \(status.memLimit / 1_048_576) MiB\n"
                text += "Unlock source: \(source?.description ?? "none (the store is locked for non-interactive use)")\n"
                text += "Unlock cache: \(status.cachedUntil.map { "key cached until \(Timestamp.format($0))" } ?? "empty (`\(options.commandName) unlock` fills it)")\n"
                text += "MFA: \(status.requiresSecondStep ? "enrolled (TOTP)" : "not enrolled")\n"
                if status.plaintextLeftover { text += "Note: a plaintext credentials.json remains beside the encrypted store. The next write removes it if every item in it is in the encrypted store; otherwise it is kept: copy what you need from it (it is plain JSON) with `\(options.commandName) set`, then delete it.\n" }
                StandardStream.output.write(text)
            } else {
                StandardStream.output.write("Password: not set (the file store is plaintext, mode 0600). `\(options.commandName) password set` adds one.\n")
            }
        }
    }
}

struct PasswordMFACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mfa",
        abstract: "Enrol a TOTP second step for unlocking the store (QR code, one confirming code, 10 backup codes), or remove it with --disable.")

    @OptionGroup var flags: GlobalFlags
    var options: GlobalOptions { flags.options }
    @OptionGroup var passphrase: PassphraseOptions
    @Flag(help: "Remove the second step (needs a valid code: --code CODE or the prompt).") var disable = false
    @Flag(help: "Do not draw the QR code (print the URI and the secret only).") var noQr = false

    func run() async throws {
        try await Terminal.run(options) {
            let (context, status) = try protectedStore(options, action: "guard with a second step")
            let enrolled = status.requiresSecondStep
            let current = try currentPassphrase(passphrase, context: context, store: status.path)
            if disable {
                guard enrolled else { throw CredentialVaultError(.usage, "no second step is enrolled") }
                try SecondFactor.remove(directory: context.directory, passphrase: current, lockTimeout: context.lockTimeout, context: context)
                StandardStream.output.write(options.json ? "{\"mfa_enrolled\":false}\n" : "Second step removed: unlocking needs the password only.\n")
                return
            }
            guard !enrolled else { throw CredentialVaultError(.usage, "a second step is already enrolled; remove it with `\(options.commandName) password mfa --disable` first") }
            // The password is checked before the secret is shown.
            _ = try PasswordProtection.dataKey(directory: context.directory, passphrase: current)
            let totp = SecondFactor.begin()
            let account = "\(ProcessInfo.processInfo.environment["USER"] ?? "user")@\(ProcessInfo.processInfo.hostName)"
            let uri = totp.uri(issuer: context.app.name, account: account)
            // With --json, stdout carries the one document; what the person scans goes to stderr.
            let screen = options.json ? StandardStream.error : StandardStream.output
            var text = ""
            if !noQr, screen.isTerminal { text += try QRCode(uri).terminalText() }
            text += "URI: \(uri)\nSecret: \(Base32.encode(totp.secret))\n"
            screen.write(text)
            var code: String
            if let given = context.environment[context.app.variable("MFA_CODE")], !given.isEmpty {
                code = given
            } else {
                // A mistyped code gets another try (three in all): the secret is already scanned.
                var attempt = 1
                while true {
                    Terminal.write("Enter the current code from the app: ")
                    guard let line = readLine(), !line.isEmpty else { throw CredentialVaultError(.usage, "no code given; nothing was enrolled") }
                    code = line
                    if totp.match(code.trimmingBlanks(), at: Date()) != nil || attempt == 3 { break }
                    attempt += 1
                    Terminal.write("That code does not match the secret; check the device's clock and try again.\n")
                }
            }
            let backupCodes = try SecondFactor.enrol(totp, code: code, directory: context.directory, passphrase: current,
                                                     lockTimeout: context.lockTimeout)
            if options.json {
                StandardStream.output.write(JSONValue.object(["mfa_enrolled": .bool(true), "backup_codes": .array(backupCodes.map { .string($0) })]).serialized() + "\n")
            } else {
                StandardStream.output.write("Code confirmed. Unlocking by password now also asks for a code.\n"
                    + "Backup codes (each works once; they are shown only now, so keep them safe):\n"
                    + backupCodes.map { "  \($0)" }.joined(separator: "\n") + "\n")
            }
        }
    }
}
