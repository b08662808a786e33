#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A backend over a store that other programs share (the Secret Service), which can find and
/// remove items by any attributes, including items stored by other tools under other schemas
/// (`git-credential-libsecret`'s `server`/`protocol`/`user`/`object` items, for example).
///
/// The git credential helper uses it so that switching from another helper loses nothing.
public protocol AttributeSearchingBackend: CredentialBackend {
    /// Every item whose attributes include all of `attributes`, whatever its schema,
    /// most recently modified first, with its secret.
    func foreignItems(matching attributes: [String: String]) async throws -> [ForeignItem]
    /// Removes every item whose attributes include all of `attributes`; returns how many.
    func removeForeignItems(matching attributes: [String: String]) async throws -> Int
}

/// An item found by attributes rather than by ``CredentialKey``: it may have been stored by
/// another program and carry no `service`/`username` attributes.
public struct ForeignItem: Sendable, CustomStringConvertible {
    public var label: String
    /// All of its attributes, including `xdg:schema` when the store records one.
    public var attributes: [String: String]
    /// The secret, or nil when the item is locked.
    public var secret: SecretBytes?
    public var modified: Date?

    public init(label: String, attributes: [String: String], secret: SecretBytes?, modified: Date? = nil) {
        self.label = label
        self.attributes = attributes
        self.secret = secret
        self.modified = modified
    }

    public var description: String { "ForeignItem(\(label), attributes: \(attributes.keys.sorted()), secret: redacted)" }
}
