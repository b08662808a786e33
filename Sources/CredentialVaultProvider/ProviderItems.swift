import CredentialVaultCore
import CredentialVaultCrypto
import CredentialVaultSystem
import EncryptedFileBackend
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An item as Secret Service clients see it.
struct ProviderItem: Sendable {
    /// The last element of the item's object path: 16 lowercase hex digits.
    var id: String
    var label: String
    /// The attributes exactly as the client wrote them (`xdg:schema` among them).
    var attributes: [String: String]
    var contentType: String
    var secret: SecretBytes
    var created: Date
    var modified: Date
}

/// The provider's items in the password-protected store (docs/FORMAT.md, "Items of the Secret
/// Service provider"): each is a store item whose service is ``service`` and whose account is
/// its id, with the client's attributes and label. The provider holds the store's data key
/// only while unlocked, and the items decrypted only while unlocked and the file unchanged.
final class ProviderItems {
    /// The service of every provider item in the store.
    static let service = "org.freedesktop.secrets"
    /// The store attribute that keeps a content type other than `text/plain`; never shown to clients.
    static let contentTypeAttribute = "credvault:content-type"
    static let defaultContentType = "text/plain"

    private let backend: EncryptedFileBackend
    /// The store's file.
    let path: String
    /// The items as last read, and the stamp of the file they were read from.
    private var cache: (stamp: [Int64], items: [String: ProviderItem])?

    /// `context` should offer the unlock cache only: a passphrase is given at start (``unlock(passphrase:)``).
    init(context: BackendContext) {
        backend = EncryptedFileBackend(context: context)
        path = backend.path
    }

    var isUnlocked: Bool { backend.isUnlocked }

    /// Unlocks with a passphrase (at start).
    func unlock(passphrase: SecureBuffer) throws { try backend.unlock(passphrase: passphrase) }

    /// Unlocks with the store's data key, once it is shown to open the store.
    func unlock(dataKey: SecureBuffer) throws {
        try backend.unlock(dataKey: dataKey)
        cache = nil
    }

    /// Unlocks from the unlock cache when the key is not held; whether the store is unlocked after.
    func unlockFromCache() async -> Bool {
        if backend.isUnlocked { return true }
        return (try? await all()) != nil
    }

    /// Forgets the data key and every decrypted item.
    func lock() {
        backend.forgetKey()
        cache = nil
    }

    /// Every item, by id (read again only when the file changed).
    func all() async throws -> [String: ProviderItem] {
        let stamp = SecureFileSystem.stamp(path) ?? []
        if let cache, cache.stamp == stamp, backend.isUnlocked { return cache.items }
        var items: [String: ProviderItem] = [:]
        for stored in try await backend.allItems(service: Self.service) {
            var attributes = stored.attributes
            let contentType = attributes.removeValue(forKey: Self.contentTypeAttribute) ?? Self.defaultContentType
            let item = ProviderItem(id: stored.key.account, label: stored.label, attributes: attributes, contentType: contentType,
                                    secret: stored.secret, created: stored.created ?? Date(timeIntervalSince1970: 0),
                                    modified: stored.modified ?? Date(timeIntervalSince1970: 0))
            items[item.id] = item
        }
        cache = (stamp, items)
        return items
    }

    /// Items whose attributes include every one of `query` (all items for an empty query), by id.
    func search(_ query: [String: String]) async throws -> [ProviderItem] {
        try await all().values.filter { item in query.allSatisfy { item.attributes[$0.key] == $0.value } }.sorted { $0.id < $1.id }
    }

    /// Stores a new item, or with `replace` overwrites the secret and label of the item that has
    /// exactly these attributes. Returns the item and whether it was created.
    func create(label: String, attributes: [String: String], secret: SecretBytes, contentType: String, replace: Bool) async throws -> (ProviderItem, Bool) {
        let items = try await all()
        if replace, let existing = items.values.filter({ $0.attributes == attributes }).min(by: { $0.id < $1.id }) {
            var item = existing
            item.label = label
            item.secret = secret
            item.contentType = contentType
            try await write(item)
            return (item, false)
        }
        var id: String
        repeat {
            id = Hex.lowercase((0..<8).map { _ in UInt8.random(in: 0...255) })
        } while items[id] != nil
        let now = Date()
        let item = ProviderItem(id: id, label: label, attributes: attributes, contentType: contentType, secret: secret, created: now, modified: now)
        try await write(item)
        return (item, true)
    }

    /// Writes `item` over the stored one with its id.
    func write(_ item: ProviderItem) async throws {
        var attributes = item.attributes
        if item.contentType != Self.defaultContentType { attributes[Self.contentTypeAttribute] = item.contentType }
        try await backend.store(CredentialItem(key: try CredentialKey(service: Self.service, account: item.id), label: item.label,
                                               attributes: attributes, secret: item.secret, created: item.created))
    }

    /// Removes the item; whether there was one.
    func delete(id: String) async throws -> Bool {
        try await backend.removeItem(for: try CredentialKey(service: Self.service, account: id))
    }
}
