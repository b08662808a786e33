/// What names one credential: the service it is for and the account within that service.
///
/// These are the `service` and `username` attributes of the Secret Service convention that
/// Python `keyring` and `secret-tool` use. Neither may be empty.
public struct CredentialKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let service: String
    public let account: String

    /// Creates a key, refusing an empty service or account.
    ///
    /// - Throws: ``CredentialVaultError`` with code ``CredentialVaultError/Code/usage``.
    public init(service: String, account: String) throws {
        guard !service.isEmpty else {
            throw CredentialVaultError(.usage, "the service name is empty; give a non-empty SERVICE")
        }
        guard !account.isEmpty else {
            throw CredentialVaultError(.usage, "the account name is empty; give a non-empty ACCOUNT")
        }
        guard !service.utf8.contains(0), !account.utf8.contains(0) else {
            throw CredentialVaultError(.usage, "service and account names may not contain NUL characters")
        }
        self.service = service
        self.account = account
    }

    public var description: String { "\(service)/\(account)" }

    public static func < (lhs: CredentialKey, rhs: CredentialKey) -> Bool {
        (lhs.service, lhs.account) < (rhs.service, rhs.account)
    }
}
