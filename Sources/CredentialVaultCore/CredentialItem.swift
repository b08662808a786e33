#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One stored credential: its key, a label people read, extra attributes, and the secret.
public struct CredentialItem: Sendable, Equatable, CustomStringConvertible {
    public var key: CredentialKey
    /// A human-readable label (shown by Seahorse and `credvault list`).
    public var label: String
    /// Extra string attributes; `service`, `username` and `application` are reserved.
    public var attributes: [String: String]
    public var secret: SecretBytes
    /// When the item was first stored, where the backend records it.
    public var created: Date?
    /// When the item was last stored, where the backend records it.
    public var modified: Date?

    public init(key: CredentialKey, label: String? = nil, attributes: [String: String] = [:],
                secret: SecretBytes, created: Date? = nil, modified: Date? = nil) {
        self.key = key
        self.label = label ?? CredentialItem.defaultLabel(for: key)
        self.attributes = attributes
        self.secret = secret
        self.created = created
        self.modified = modified
    }

    /// The label used when none is given: "Password for ACCOUNT on SERVICE", as Python keyring writes it.
    public static func defaultLabel(for key: CredentialKey) -> String {
        // Concatenation, not interpolation: a store without labels computes this for every item.
        "Password for '" + key.account + "' on '" + key.service + "'"
    }

    /// What can be listed without the secret.
    public var summary: CredentialSummary {
        CredentialSummary(key: key, label: label, attributes: attributes, created: created, modified: modified)
    }

    public var description: String { "CredentialItem(\(key), label: \(label), secret: redacted)" }
}

/// A credential as `list` shows it: everything but the secret.
public struct CredentialSummary: Sendable, Equatable {
    public var key: CredentialKey
    public var label: String
    public var attributes: [String: String]
    public var created: Date?
    public var modified: Date?

    public init(key: CredentialKey, label: String, attributes: [String: String] = [:], created: Date? = nil, modified: Date? = nil) {
        self.key = key
        self.label = label
        self.attributes = attributes
        self.created = created
        self.modified = modified
    }
}

/// Attribute names a caller may not set, because the backends use them to key items.
public let reservedAttributeNames: Set<String> = Set(["service", "username", "application", "xdg:schema"]).union(providerAttributeNames)

/// Attributes a Secret Service provider adds to every item on its own (KeePassXC 2.7: the
/// entry's `Path`, `Uuid`, `Title`, `UserName`, `URL` and `Notes`). They describe the
/// provider's entry, not the credential: they are reserved, never read back into an item, and
/// so never copied into another backend, a bundle or `--json`.
public let providerAttributeNames: Set<String> = ["Path", "Uuid", "Title", "UserName", "URL", "Notes"]
