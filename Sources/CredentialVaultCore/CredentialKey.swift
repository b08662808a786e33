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

    // Names are compared as their UTF-8 bytes, in every backend alike (docs/FORMAT.md, "Names"):
    // the keyring, OpenBao, git and docker do, so "café" in NFC and in NFD are two names.
    // Swift's own String equality would treat them as one (canonical equivalence).

    /// Equal when the service and account have the same UTF-8 bytes.
    public static func == (lhs: CredentialKey, rhs: CredentialKey) -> Bool {
        lhs.service.utf8.elementsEqual(rhs.service.utf8) && lhs.account.utf8.elementsEqual(rhs.account.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        for byte in service.utf8 { hasher.combine(byte) }
        hasher.combine(UInt8(0xFF))  // never in UTF-8: separates service from account
        for byte in account.utf8 { hasher.combine(byte) }
    }

    /// Ordered by the service's UTF-8 bytes, then the account's (unsigned, shorter first on a
    /// common prefix): the order of the file store and the bundle.
    public static func < (lhs: CredentialKey, rhs: CredentialKey) -> Bool {
        if !lhs.service.utf8.elementsEqual(rhs.service.utf8) { return lhs.service.utf8.lexicographicallyPrecedes(rhs.service.utf8) }
        return lhs.account.utf8.lexicographicallyPrecedes(rhs.account.utf8)
    }

    /// Whether the key belongs to `service` (byte equality; nil matches every service).
    public func isIn(service: String?) -> Bool {
        service.map { self.service.utf8.elementsEqual($0.utf8) } ?? true
    }
}
