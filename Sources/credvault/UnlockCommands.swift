import ArgumentParser
import CredentialVault
import FileBackend
import SecretServiceBackend
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `15m`, `90s`, `1h`, `2h30m`, or plain seconds, at most 7 days; anything larger, however many
/// digits it has, is refused like any invalid value (exit 64), never an arithmetic overflow.
struct DurationArgument: ExpressibleByArgument {
    static let limit = 7 * 86_400
    let duration: Duration
    init?(argument: String) {
        var total = 0, number = 0, sawDigit = false
        for character in argument {
            if let digit = character.wholeNumberValue, character.isASCII {
                number = number * 10 + digit
                sawDigit = true
                // Past the limit already: no unit can bring it back.
                guard number <= Self.limit else { return nil }
                continue
            }
            guard sawDigit else { return nil }
            let unit: Int
            switch character {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86_400
            default: return nil
            }
            total += number * unit // both at most the limit: no overflow
            guard total <= Self.limit else { return nil }
            number = 0; sawDigit = false
        }
        total += number
        guard total > 0, total <= Self.limit else { return nil }
        duration = .seconds(total)
    }

    init(seconds: Int) { duration = .seconds(seconds) }

    /// How `--help` shows it: in the largest whole unit (`15m`), as it is typed.
    var defaultValueDescription: String {
        let seconds = Int(duration.components.seconds)
        for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60)] where seconds % size == 0 {
            return "\(seconds / size)\(unit)"
        }
        return "\(seconds)s"
    }
}

struct UnlockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unlock",
        abstract: "Unlock the password-protected store for a while: the key waits in the kernel keyring (session), so the next commands neither prompt nor run Argon2id.")

    @OptionGroup var flags: GlobalFlags
    var options: GlobalOptions { flags.options }
    @OptionGroup var passphrase: PassphraseOptions
    @Option(name: .customLong("for"), help: "How long: 15m (the default), 90s, 1h, up to 7d. The kernel forgets the key then.")
    var duration = DurationArgument(seconds: 900)

    func run() async throws {
        try await Terminal.run(options) {
            let (context, status) = try protectedStore(options, action: "unlock")
            let key = try currentPassphrase(passphrase, context: context, store: status.path)
            let (dataKey, header) = try ProgressLine.around("Deriving the key (Argon2id)…", options: options) {
                try PasswordProtection.unlockedKey(directory: context.directory, passphrase: key, context: context)
            }
            // credvault's own Secret Service provider, serving this store on this session bus,
            // is handed the key too: it may run in another kernel session keyring (a systemd
            // user unit does), where the cache below is out of its reach.
            let keyring = SecretServiceBackend(context: context)
            var providerUnlocked = false
            if let provider = await keyring.credvaultProvider(), provider.store == status.path {
                try await keyring.unlockCredvaultProvider(dataKey: dataKey.withUnsafeBytes { SecretBytes($0) })
                providerUnlocked = true
            }
            var until: Date?
            do {
                until = try PasswordProtection.cache(dataKey, header: header, duration: duration.duration)
            } catch let error as CredentialVaultError where error.code == .unavailable && providerUnlocked {
                // The provider has the key: that was the point where no session keyring exists.
                Terminal.warn("the key was not cached for other commands: \(error.message)")
            }
            var text = until.map { "Unlocked \(status.path) until \(Timestamp.format($0)) (kernel keyring, this session). `\(options.commandName) lock` forgets it now.\n" } ?? ""
            if providerUnlocked {
                text += "Unlocked the Secret Service provider (`\(options.commandName) secret-service`) on this session bus; `\(options.commandName) lock` locks it.\n"
            }
            options.report(JSONValue.object(["unlocked": .bool(true), "until": until.map { .string(Timestamp.format($0)) } ?? .null,
                                             "provider_unlocked": .bool(providerUnlocked)]), text: text)
        }
    }
}

struct LockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock", abstract: "Forget the cached key of the password-protected store at once.")

    @OptionGroup var flags: GlobalFlagsWithoutCode
    var options: GlobalOptions { flags.options }

    func run() async throws {
        try await Terminal.run(options) {
            let context = try options.context()
            let removed = try PasswordProtection.lock(directory: context.directory)
            // credvault's own Secret Service provider holds the key of its store while it runs.
            let keyring = SecretServiceBackend(context: context)
            let store = context.directory + "/" + FileBackend.encryptedFileName
            var providerLocked = false
            if let provider = await keyring.credvaultProvider(), provider.store == store {
                providerLocked = try await keyring.lockCredvaultProvider()
            }
            let text = (removed ? "Locked: the cached key was removed from the kernel keyring.\n" : "Already locked: no cached key.\n")
                + (providerLocked ? "Locked the Secret Service provider (`\(options.commandName) secret-service`) on this session bus.\n" : "")
            options.report(JSONValue.object(["locked": .bool(true), "was_cached": .bool(removed), "provider_locked": .bool(providerLocked)]), text: text)
        }
    }
}
