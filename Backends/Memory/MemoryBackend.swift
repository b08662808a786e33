import CredentialVaultCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

/// Keeps credentials in this process's memory: for tests and for programs that want a
/// vault that forgets everything on exit. Never chosen automatically (priority 0).
public final class MemoryBackend: CredentialBackend, Sendable {
    public static let name = "memory"
    public static let priority = 0
    public static let protection = StorageProtection.memory

    private let items = Mutex<[CredentialKey: CredentialItem]>([:])

    public init(context: BackendContext) {}
    /// An empty store, for use outside a vault.
    public init() {}

    public func probe(timeout: Duration) async -> BackendAvailability { .available }

    public func item(for key: CredentialKey) async throws -> CredentialItem? {
        items.withLock { $0[key] }
    }

    public func store(_ item: CredentialItem) async throws {
        items.withLock { items in
            var stored = item
            let now = Date()
            stored.created = items[item.key]?.created ?? now
            stored.modified = now
            items[item.key] = stored
        }
    }

    public func removeItem(for key: CredentialKey) async throws -> Bool {
        items.withLock { $0.removeValue(forKey: key) != nil }
    }

    public func summaries(service: String?) async throws -> [CredentialSummary] {
        items.withLock { items in
            items.values.filter { $0.key.isIn(service: service) }.map(\.summary).sorted { $0.key < $1.key }
        }
    }
}
