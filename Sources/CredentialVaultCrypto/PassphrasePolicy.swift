import CredentialVaultCore

/// The one rule for a new passphrase (a password set on the file store, a changed one, an
/// export bundle's), whatever its source: prompt, file, descriptor, `<APP>_PASSPHRASE_FILE`,
/// `<APP>_PASSPHRASE_FD` or a systemd credential. Passphrases that open existing data are
/// not checked: a store made before the rule still opens.
public enum PassphrasePolicy {
    /// The fewest Unicode code points a new passphrase may have.
    public static let minimumLength = 12

    /// Refuses a passphrase shorter than ``minimumLength``.
    ///
    /// - Parameter passphrase: the new passphrase (UTF-8; code points are counted).
    /// - Throws: `.usage` (64) naming the length and the rule; nothing was written.
    public static func check(_ passphrase: SecureBuffer) throws {
        let characters = passphrase.codePointCount
        guard characters >= minimumLength else {
            throw CredentialVaultError(.usage,
                "the new passphrase has \(characters) character\(characters == 1 ? "" : "s"); use at least \(minimumLength) (a longer phrase of ordinary words is easier to type than a short random one). Nothing was written")
        }
    }
}
